"""The emulator's strict mode and refusals: a Cloud Quotas request without
``x-goog-user-project`` is refused as Google refuses a user login with no quota project, and an
injected refusal names the request's quota project as ``metadata.consumer``."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from trayapp.sources.compute_family import quota_info_name

SDK = "projects/764086051850"


def get(url, quota_project=None):
    headers = {"x-goog-user-project": quota_project} if quota_project else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def error_info(body):
    [info] = body["error"]["details"]
    return info["reason"], info["metadata"].get("consumer")


def test_the_command_line_strict_mode_refuses_a_request_without_a_quota_project():
    with subprocess.Popen(
        [sys.executable, "-m", "trayapp", "emulator", "--require-quota-project"],
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            url = process.stdout.readline().split(" at ")[1].split()[0]
            target = f"{url}/v1/{quota_info_name('p')}"
            status, body = get(target)
            assert status == 403 and error_info(body) == ("SERVICE_DISABLED", SDK)
            assert "requires a quota project" in body["error"]["message"]
            assert get(target, "p")[0] == 200
            assert get(f"{url}/compute/v1/projects/p/regions/us-east1")[0] == 200  # Compute
        finally:
            process.terminate()
            process.wait(10)


@pytest.mark.parametrize(
    "reason",
    ["SERVICE_DISABLED", "USER_PROJECT_DENIED", "BILLING_DISABLED"],
)
def test_a_refusal_names_the_quota_project_sent_as_its_consumer(make_emulator, reason):
    emulator = make_emulator(faults=[f"403:{reason}@cloudquotas"])
    target = f"{emulator.url}/v1/{quota_info_name('p')}"
    status, body = get(target, "billing-home")
    assert status == 403 and error_info(body) == (reason, "projects/billing-home")
    assert emulator.requests()[-1].quota_project == "billing-home"


def test_a_scope_refusal_has_its_own_reason(make_emulator):
    emulator = make_emulator(faults=["403:ACCESS_TOKEN_SCOPE_INSUFFICIENT@cloudquotas"])
    status, body = get(f"{emulator.url}/v1/{quota_info_name('p')}", "p")
    assert status == 403 and error_info(body)[0] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    assert "insufficient authentication scopes" in body["error"]["message"]
