"""What a person must do about a refused call: one line per reason Google gives, with the
command or role that mends it, for Cloud Quotas and for Compute.

Google says why a call was refused in the ``google.rpc.ErrorInfo`` of its error (a reason and
metadata such as ``consumer``, the project billed); Compute's older errors say it in
``errors[0].reason``. The command comes early in each line so that a line cut at the end of a
narrow surface never loses it. Standard library only: the exception's parts come in as values.
"""

from __future__ import annotations

from collections.abc import Mapping

from trayapp.safety.text import clean_line
from trayapp.sources.quota_project import billed_elsewhere

SET_QUOTA_PROJECT = "gcloud auth application-default set-quota-project"
USE_ROLE = '"Service Usage Consumer" (roles/serviceusage.serviceUsageConsumer)'
CLOUD_QUOTAS_ROLE = '"Cloud Quotas Viewer" (roles/cloudquotas.viewer)'
COMPUTE_ROLE = '"Compute Viewer" (roles/compute.viewer)'
_MAX_META = 20  # metadata entries read from one error


def error_info(exc: object) -> tuple[str, dict[str, str]]:
    """The reason and metadata of an error's ErrorInfo (``google.api_core`` exposes them as
    ``exc.reason`` and ``exc.metadata``), cleaned and capped: they came over the network."""
    reason = clean_line(getattr(exc, "reason", None) or "", 80)
    raw = getattr(exc, "metadata", None)
    metadata: dict[str, str] = {}
    if isinstance(raw, Mapping):
        for key, value in list(raw.items())[:_MAX_META]:
            metadata[clean_line(key, 80)] = clean_line(value, 200)
    return reason, metadata


def cloud_quotas(
    reason: str, metadata: Mapping[str, str], project: str, billed: str, what: str
) -> str:
    """The one line for a 403 of Cloud Quotas about ``project``, whose request named
    ``billed`` as its quota project."""
    elsewhere = billed_elsewhere(metadata.get("consumer"), project, billed)
    to_quota_project = f'run "{SET_QUOTA_PROJECT} {project}"'
    if reason == "SERVICE_DISABLED" and elsewhere:
        return (  # the project named in the command is the one to be allowed to bill
            f"Cloud Quotas calls for {project} are billed to {elsewhere}, where the API is off: "
            f"{to_quota_project} (you need serviceusage.services.use on it: role Service Usage "
            "Consumer)"
        )
    if reason == "SERVICE_DISABLED":
        return (
            f"the Cloud Quotas API is disabled for project {project}: run "
            f'"gcloud services enable cloudquotas.googleapis.com --project {project}" '
            f"to see {what}"
        )
    if reason == "USER_PROJECT_DENIED" and elsewhere:
        return (
            f"no permission serviceusage.services.use on quota project {elsewhere}: "
            f"{to_quota_project}, or get the role Service Usage Consumer on {elsewhere}"
        )
    if reason == "USER_PROJECT_DENIED":
        return (
            f"no permission serviceusage.services.use on {project}, the quota project Cloud "
            f"Quotas bills: grant the role {USE_ROLE} there; or set [auth] quota_project"
        )
    if reason == "BILLING_DISABLED" and elsewhere:
        return (
            f"billing is disabled for quota project {elsewhere}: {to_quota_project}, or link "
            f"a billing account to {elsewhere}"
        )
    if reason == "BILLING_DISABLED":
        return (
            f"billing is disabled for {project}, the quota project Cloud Quotas bills: run "
            f'"gcloud billing projects link {project} --billing-account ACCOUNT_ID"'
        )
    if reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT":
        return (
            'the login lacks the cloud-platform scope: run "gcloud auth application-default '
            f'login" again (it asks for that scope) to see {what}'
        )
    return (  # IAM_PERMISSION_DENIED, and any other refusal
        f"no permission cloudquotas.quotas.get on project {project}: grant the role "
        f"{CLOUD_QUOTAS_ROLE} to see {what}"
    )


def compute(reason: str, project: str, where: str) -> str | None:
    """The one line for a 403 of Compute's regions.get (``reason`` from ErrorInfo or from
    ``errors[0].reason``); None leaves it to the generic wording."""
    if reason in ("accessNotConfigured", "SERVICE_DISABLED"):
        return (
            f"{where}: the Compute Engine API is disabled for project {project}: run "
            f'"gcloud services enable compute.googleapis.com --project {project}"'
        )
    if reason in ("forbidden", "IAM_PERMISSION_DENIED"):
        return (
            f"{where}: permission denied (HTTP 403 {reason}): grant the role {COMPUTE_ROLE} "
            f"for compute.regions.get on project {project}"
        )
    return None
