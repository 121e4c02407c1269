"""Which project a Cloud Quotas request is billed to: the ``x-goog-user-project`` header.

With user credentials (``gcloud auth application-default login``) Google bills such a request
to a *quota project* and refuses it when none is set (the Cloud SDK's own project is billed
then). The order, as Google's libraries apply it: ``GOOGLE_CLOUD_QUOTA_PROJECT``, else the
``quota_project_id`` of the ADC file; then ours: ``[auth] quota_project``, else the project
checked. The ADC file is read here, capped and for that one field only, so a request to the
emulator (made with anonymous credentials) carries the header a request to Google would.
Standard library only.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

HEADER = "x-goog-user-project"
ENV = "GOOGLE_CLOUD_QUOTA_PROJECT"  # google-auth: overrides the ADC file's quota_project_id
MAX_ADC_BYTES = 64 * 1024  # an ADC file is well under 4 KB; a larger one is not read
# Google's rule: lower-case letters, digits and hyphens, a letter first, no hyphen last, at
# most 30 characters; old projects may carry a domain (example.com:my-project).
PROJECT_ID = re.compile(r"(?:[a-z0-9.-]+\.[a-z]{2,}:)?[a-z](?:[a-z0-9-]{0,28}[a-z0-9])?")
# Projects of the Cloud SDK's own OAuth clients (application-default login, gcloud auth login):
# the consumer Google names when a user's call carried no quota project.
SDK_PROJECTS = frozenset({"764086051850", "32555940559"})


def adc_path(environ: Mapping[str, str] | None = None) -> Path:
    """The ADC file google-auth reads: ``GOOGLE_APPLICATION_CREDENTIALS``, else gcloud's
    ``application_default_credentials.json`` (``CLOUDSDK_CONFIG``, ``~/.config/gcloud``, or
    ``%APPDATA%\\gcloud`` on Windows)."""
    env = os.environ if environ is None else environ
    if env.get("GOOGLE_APPLICATION_CREDENTIALS"):
        return Path(env["GOOGLE_APPLICATION_CREDENTIALS"])
    if env.get("CLOUDSDK_CONFIG"):
        folder = Path(env["CLOUDSDK_CONFIG"])
    elif os.name == "nt":
        folder = Path(env.get("APPDATA", "C:\\"), "gcloud")
    else:
        folder = Path(env.get("HOME") or Path.home(), ".config", "gcloud")
    return folder / "application_default_credentials.json"


def from_credentials(environ: Mapping[str, str] | None = None) -> str | None:
    """The quota project the user's credentials set (``GOOGLE_CLOUD_QUOTA_PROJECT``, else the
    ADC file's ``quota_project_id``), or None. A value that is no project ID is not used."""
    env = os.environ if environ is None else environ
    named = env.get(ENV, "").strip()
    if named:
        return named if PROJECT_ID.fullmatch(named) else None
    try:
        with adc_path(env).open("rb") as file:
            raw = file.read(MAX_ADC_BYTES + 1)
        info = json.loads(raw) if len(raw) <= MAX_ADC_BYTES else None
    except (OSError, ValueError, RecursionError):
        return None
    value = info.get("quota_project_id") if isinstance(info, dict) else None
    if isinstance(value, str) and PROJECT_ID.fullmatch(value.strip()):
        return value.strip()
    return None


def choose(project: str, from_adc: str | None, configured: str | None) -> str:
    """The quota project of a request about ``project``: the credentials' own, else the
    configured one, else ``project`` itself."""
    return from_adc or configured or project


def billed_elsewhere(consumer: object, project: str, quota_project: str) -> str | None:
    """The project an error's ``metadata.consumer`` says was billed when it is not
    ``project`` (None when it is). Google names it ``projects/<number>`` as a rule: a number
    that is the Cloud SDK's is foreign; another number is the quota project sent."""
    name = str(consumer or "").strip().removeprefix("projects/")
    if not name or name == project:
        return None
    if name in SDK_PROJECTS:
        return f"projects/{name} (the Cloud SDK's project)"
    if PROJECT_ID.fullmatch(name):
        return name
    return None if quota_project == project else quota_project
