"""The quota project (``x-goog-user-project``) on every Cloud Quotas request, through the real
google-cloud-quotas client and the emulator in its strict mode, which refuses a request without
one the way Google refuses a user login with no quota project."""

from __future__ import annotations

import json

import pytest
from emulator_fixtures import no_adc  # noqa: F401 - a fixture

from trayapp.config import ConfigError, from_mapping
from trayapp.sources import cloudbuild, compute_family, vertex
from trayapp.sources.cloudquotas import CloudQuotasSource
from trayapp.sources.fetcher.source import HelperSource
from trayapp.sources.quota_project import billed_elsewhere, from_credentials
from trayapp.sources.recipe import SourceRecipe

pytestmark = pytest.mark.usefixtures("no_adc")  # nothing of the developer's login is read
PROJECT = "proj-q"
REQUESTS = [
    compute_family.request(False),  # by ID
    compute_family.request(True),  # the list, by metric
    vertex.request("NVIDIA_T4_GPUS", True),
    cloudbuild.request(),  # the list, over several pages
]


@pytest.fixture
def strict(make_emulator):
    return make_emulator(require_quota_project=True)


@pytest.fixture
def make_source():
    made = []

    def make(url, **kwargs):
        source = CloudQuotasSource(url, timeout_s=3.0, **kwargs)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


def adc_file(tmp_path, monkeypatch, **fields):
    """A fake ``authorized_user`` ADC file, as ``gcloud auth application-default login``
    writes it (the secrets are placeholders), named by GOOGLE_APPLICATION_CREDENTIALS."""
    info = {"type": "authorized_user", "client_id": "x", "client_secret": "y"}
    info["refresh_token"] = "not-a-token"
    path = tmp_path / "adc.json"
    path.write_text(json.dumps({**info, **fields}))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    return path


def billed(emulator):
    return [(r.quota_project, r.status) for r in emulator.requests()]


def test_with_no_quota_project_set_each_request_names_the_checked_project(strict, make_source):
    source = make_source(strict.url)
    for request in REQUESTS:
        assert source.fetch_quota(PROJECT, request) is not None
    seen = billed(strict)
    assert len(seen) > len(REQUESTS)  # the lists span pages: every page carries it
    assert set(seen) == {(PROJECT, 200)}


def test_one_client_names_each_project_its_own(strict, make_source):
    source = make_source(strict.url)
    for project in ("proj-a", "proj-b", "proj-a"):
        source.fetch_quota(project, compute_family.request(False))
    assert [r.quota_project for r in strict.requests()] == ["proj-a", "proj-b", "proj-a"]
    assert all(r.path.split("/")[3] == r.quota_project for r in strict.requests())


def test_the_adc_files_quota_project_wins_over_the_config(
    tmp_path, monkeypatch, strict, make_source
):
    adc_file(tmp_path, monkeypatch, quota_project_id="billing-home")
    source = make_source(strict.url, quota_project="from-config")
    source.fetch_quota(PROJECT, compute_family.request(False))
    assert billed(strict) == [("billing-home", 200)]


def test_google_cloud_quota_project_overrides_the_adc_file(
    tmp_path, monkeypatch, strict, make_source
):
    adc_file(tmp_path, monkeypatch, quota_project_id="billing-home")
    monkeypatch.setenv("GOOGLE_CLOUD_QUOTA_PROJECT", "billing-env")
    make_source(strict.url).fetch_quota(PROJECT, compute_family.request(False))
    assert billed(strict) == [("billing-env", 200)]


def test_the_config_key_is_used_when_the_credentials_name_none(
    tmp_path, monkeypatch, strict, make_source
):
    adc_file(tmp_path, monkeypatch)  # a login without set-quota-project
    make_source(strict.url, quota_project="from-config").fetch_quota(
        PROJECT, compute_family.request(False)
    )
    assert billed(strict) == [("from-config", 200)]


def test_the_fetcher_process_reads_the_adc_file_and_carries_the_config(
    tmp_path, monkeypatch, strict
):
    adc_file(tmp_path, monkeypatch, quota_project_id="billing-home")
    source = HelperSource(SourceRecipe(strict.url, timeout_s=5.0, prepare_compute=False))
    try:
        source.fetch_quota(PROJECT, compute_family.request(False))
    finally:
        source.close()
    configured = HelperSource(
        SourceRecipe(strict.url, timeout_s=5.0, prepare_compute=False, quota_project="cfg-q")
    )
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS")
    try:
        configured.fetch_quota(PROJECT, compute_family.request(False))
    finally:
        configured.close()
    assert billed(strict) == [("billing-home", 200), ("cfg-q", 200)]


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        json.dumps({"quota_project_id": "Not A Project; rm -rf"}).encode(),
        json.dumps({"quota_project_id": ["x"]}).encode(),
        json.dumps(["quota_project_id"]).encode(),
        json.dumps({"quota_project_id": "too-big", "pad": "x" * 70_000}).encode(),
    ],
)
def test_an_adc_file_without_a_usable_quota_project_is_passed_over(tmp_path, content):
    path = tmp_path / "adc.json"
    path.write_bytes(content)
    environ = {"GOOGLE_APPLICATION_CREDENTIALS": str(path)}
    assert from_credentials(environ) is None
    assert from_credentials({**environ, "GOOGLE_CLOUD_QUOTA_PROJECT": "Bad Name"}) is None


def test_gclouds_own_adc_file_is_found_where_google_auth_looks(tmp_path):
    folder = tmp_path / "gcloud"
    folder.mkdir()
    (folder / "application_default_credentials.json").write_text(
        json.dumps({"type": "authorized_user", "quota_project_id": "from-gcloud"})
    )
    assert from_credentials({"CLOUDSDK_CONFIG": str(folder)}) == "from-gcloud"
    assert from_credentials({"HOME": str(tmp_path / "nobody")}) is None


def test_the_strict_emulator_refuses_a_request_without_one_as_google_does(strict):
    """The real client, sent without the header: 403, ErrorInfo SERVICE_DISABLED, billed to
    the Cloud SDK's project."""
    from google.api_core.exceptions import Forbidden
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import cloudquotas_v1

    client = cloudquotas_v1.CloudQuotasClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options={"api_endpoint": strict.url},
    )
    with pytest.raises(Forbidden) as caught:
        client.get_quota_info(name=compute_family.quota_info_name(PROJECT), retry=None)
    assert caught.value.reason == "SERVICE_DISABLED"
    assert caught.value.metadata["consumer"] == "projects/764086051850"
    assert "requires a quota project" in caught.value.message
    assert billed(strict) == [(None, 403)]


def test_config_auth_quota_project_is_a_project_id():
    assert from_mapping({"auth": {"quota_project": "billing-home"}}).quota_project == (
        "billing-home"
    )
    assert from_mapping({}).quota_project is None
    with pytest.raises(ConfigError, match=r"auth\.quota_project: 'Billing Home' is not a"):
        from_mapping({"auth": {"quota_project": "Billing Home"}})
    with pytest.raises(ConfigError, match=r"did you mean auth\.quota_project"):
        from_mapping({"auth": {"quota_projet": "x"}})
    with pytest.raises(ConfigError, match="did you mean auth"):
        from_mapping({"auht": {}})


@pytest.mark.parametrize(
    ("consumer", "sent", "elsewhere"),
    [
        ("projects/proj-q", "proj-q", None),
        ("projects/123456789", "proj-q", None),  # Google names the project by number
        ("projects/123456789", "billing-home", "billing-home"),
        ("projects/billing-home", "billing-home", "billing-home"),
        ("projects/764086051850", "proj-q", "projects/764086051850 (the Cloud SDK's project)"),
        ("", "proj-q", None),
        (None, "proj-q", None),
    ],
)
def test_which_consumer_is_another_project(consumer, sent, elsewhere):
    assert billed_elsewhere(consumer, PROJECT, sent) == elsewhere
