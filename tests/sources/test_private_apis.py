"""Private parts of other libraries that the sources rely on, each checked on its own, so an
upgrade that moves one fails here with the reason instead of somewhere far away (or never).

Versions tested are pinned in pyproject.toml; when one of these fails, read the named module
of the new version, adapt the code named in the message, and widen the pin.
"""

from __future__ import annotations

import inspect
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from packaging.requirements import Requirement

from trayapp.sources.size_cap import cap_client

ROOT = Path(__file__).resolve().parents[2]


def _why(library: str, what: str, used_by: str, pinned: bool = True) -> str:
    pin = " and the pin in pyproject.toml" if pinned else ""
    return f"{library} changed: {what}. {used_by} relies on it; adapt that code{pin}."


def test_requests_response_keeps_its_body_in_content_and_content_consumed():
    source = inspect.getsource(requests.models.Response)
    for name in ("_content", "_content_consumed"):
        assert f"self.{name} = " in source, _why(
            f"requests {requests.__version__}",
            f"Response no longer sets {name}",
            "trayapp/sources/size_cap.py (the capped body is handed to the client there)",
        )
    response = requests.models.Response()
    response._content, response._content_consumed = b"capped", True
    assert response.content == b"capped", _why(
        f"requests {requests.__version__}",
        "Response.content no longer returns the body kept in _content",
        "trayapp/sources/size_cap.py",
    )


def _compute_client():
    from google.cloud import compute_v1

    return compute_v1.RegionsClient(
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": "http://127.0.0.1:9"},  # never contacted
    )


def _quotas_client():
    from google.cloud import cloudquotas_v1

    return cloudquotas_v1.CloudQuotasClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options={"api_endpoint": "http://127.0.0.1:9"},
    )


@pytest.mark.parametrize(
    ("library", "make"),
    [("google-cloud-compute", _compute_client), ("google-cloud-quotas", _quotas_client)],
)
def test_a_google_rest_transport_sends_with_a_requests_session_at_session(library, make):
    client = make()
    session = getattr(client.transport, "_session", None)
    assert isinstance(session, requests.Session), _why(
        library,
        f"{type(client.transport).__name__} has no requests Session at _session "
        f"(found {type(session).__name__})",
        "trayapp/sources/size_cap.py cap_client (answers over 4 MB are refused there)",
    )
    cap_client(client, 1024)
    assert len(session.hooks["response"]) == 1


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX only: no resource tracker")
def test_multiprocessing_resource_tracker_can_be_stopped():
    from multiprocessing import resource_tracker

    tracker = getattr(resource_tracker, "_resource_tracker", None)
    assert tracker is not None and callable(getattr(tracker, "_stop", None)), _why(
        f"Python {sys.version.split()[0]}",
        "multiprocessing.resource_tracker._resource_tracker._stop is gone (it exists from "
        "3.11.7 and 3.12.1); without it the tracker (~10 MB) outlives every cycle",
        "trayapp/sources/fetcher/process.py stop_resource_tracker",
        pinned=False,
    )


@pytest.mark.parametrize("library", ["requests", "google-cloud-compute", "google-cloud-quotas"])
def test_the_installed_library_is_within_its_pinned_range(library):
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [Requirement(d) for d in deps if Requirement(d).name == library]
    assert pins and pins[0].specifier, f"{library} is not pinned: its private parts are used"
    assert version(library) in pins[0].specifier, (
        f"{library} {version(library)} is outside the tested range {pins[0].specifier}"
    )
