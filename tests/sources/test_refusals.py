"""Every 403 has its own fix: the reason and the project billed are read from the error's
ErrorInfo whole, through the real google-cloud-quotas and google-cloud-compute clients against
the emulator's faults."""

from __future__ import annotations

import pytest
from emulator_fixtures import no_adc  # noqa: F401 - a fixture

from trayapp.safety.secrets import MAX_MESSAGE_CHARS
from trayapp.safety.text import MAX_LINE
from trayapp.sources import compute_family
from trayapp.sources.base import SourceError
from trayapp.sources.cloudquotas import CloudQuotasSource, explain
from trayapp.sources.compute import ComputeSource

pytestmark = pytest.mark.usefixtures("no_adc")  # the quota project is ours to say
LONG = "a-project-id-of-thirty-chars-x"  # the longest a project ID may be
BILLING = "billing-home-of-thirty-chars-x"
ENABLE = f'"gcloud services enable cloudquotas.googleapis.com --project {LONG}"'
SET_QUOTA_PROJECT = f'"gcloud auth application-default set-quota-project {LONG}"'
USE_ROLE = '"Service Usage Consumer" (roles/serviceusage.serviceUsageConsumer)'
COMMANDS = (ENABLE, SET_QUOTA_PROJECT, "gcloud billing", "application-default login")


def refusal(emulator, quota_project=None):
    source = CloudQuotasSource(emulator.url, timeout_s=3.0, quota_project=quota_project)
    try:
        with pytest.raises(SourceError) as caught:
            source.fetch_quota(LONG, compute_family.request(False))
    finally:
        source.close()
    error = caught.value
    assert error.kind == "permission"
    assert_whole(error.message)
    return error.message


def assert_whole(message):
    """One line, never cut; every command it gives ends within what a notification shows."""
    assert len(message) <= MAX_LINE and "…" not in message
    assert message.count('"') % 2 == 0
    assert message.rfind('"') < MAX_MESSAGE_CHARS, message


@pytest.mark.parametrize(
    ("fault", "quota_project", "says"),
    [
        ("403:SERVICE_DISABLED", None, [ENABLE, "disabled for project " + LONG]),
        (
            "403:SERVICE_DISABLED",
            BILLING,
            [f"for {LONG} are billed to {BILLING}", SET_QUOTA_PROJECT, "Service Usage Consumer"],
        ),
        (
            "403:USER_PROJECT_DENIED",
            None,
            [f"serviceusage.services.use on {LONG}", USE_ROLE, "[auth] quota_project"],
        ),
        (
            "403:USER_PROJECT_DENIED",
            BILLING,
            [f"serviceusage.services.use on quota project {BILLING}", SET_QUOTA_PROJECT],
        ),
        (
            "403:BILLING_DISABLED",
            None,
            [f'"gcloud billing projects link {LONG} --billing-account ACCOUNT_ID"'],
        ),
        (
            "403:BILLING_DISABLED",
            BILLING,
            [f"billing is disabled for quota project {BILLING}", SET_QUOTA_PROJECT],
        ),
        (
            "403:ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            None,
            ["cloud-platform scope", '"gcloud auth application-default login"'],
        ),
        ("403:IAM_PERMISSION_DENIED", None, ["cloudquotas.quotas.get", "roles/cloudquotas.viewer"]),
        ("403", None, ["cloudquotas.quotas.get", "roles/cloudquotas.viewer"]),
    ],
)
def test_each_cloud_quotas_refusal_gets_its_own_fix(make_emulator, fault, quota_project, says):
    message = refusal(make_emulator(faults=[f"{fault}@cloudquotas"]), quota_project)
    for words in says:
        assert words in message
    others = [c for c in COMMANDS if not any(c in w or w in c for w in says)]
    assert not [c for c in others if c in message], message  # no other fix offered


def test_no_quota_project_reaching_google_is_not_called_a_disabled_api(make_emulator):
    """The strict emulator refuses the real client's request sent without the header (as
    Google refuses a user login with no quota project): the fix is the quota project, not
    ``gcloud services enable``, which would change nothing."""
    from google.api_core.exceptions import Forbidden
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import cloudquotas_v1

    strict = make_emulator(require_quota_project=True)
    client = cloudquotas_v1.CloudQuotasClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options={"api_endpoint": strict.url},
    )
    with pytest.raises(Forbidden) as caught:
        client.get_quota_info(name=compute_family.quota_info_name(LONG), retry=None)
    message = explain(caught.value, LONG, 3.0, billed=LONG).message
    assert f"for {LONG} are billed to projects/764086051850 (the Cloud SDK's project)" in message
    assert SET_QUOTA_PROJECT in message
    assert "services enable" not in message
    assert_whole(message)


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        (
            "403:accessNotConfigured",
            [
                f"the Compute Engine API is disabled for project {LONG}",
                f'"gcloud services enable compute.googleapis.com --project {LONG}"',
            ],
        ),
        (
            "403",
            [
                "permission denied",
                "compute.regions.get",
                '"Compute Viewer" (roles/compute.viewer)',
                LONG,
            ],
        ),
    ],
)
def test_compute_refusals_name_the_api_or_the_role(make_emulator, fault, says):
    emulator = make_emulator(faults=[f"{fault}@us-east1"])
    source = ComputeSource(emulator.url, timeout_s=3.0)
    try:
        with pytest.raises(SourceError) as caught:
            source.fetch(LONG, "us-east1")
    finally:
        source.close()
    assert caught.value.kind == "permission"
    for words in says:
        assert words in caught.value.message
    assert_whole(caught.value.message)
