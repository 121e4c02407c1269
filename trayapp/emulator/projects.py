"""Compute's ``projects.get`` as the emulator serves it: the project-wide quotas a launch
consumes besides the regional ones (``GPUS_ALL_REGIONS``, ``CPUS_ALL_REGIONS``), in the shape
of the live API's Project body (integers, ``quotas`` of ``metric``/``limit``/``usage``; the
other quotas a live body lists are left out). Standard library only."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

ROUTE = re.compile(r"^/compute/v1/projects/([^/]+)/?$")
TARGET = "project"  # the fault target of projects.get requests

# metric -> (limit, usage): a project with room for a few 8-GPU machines
DEFAULT_QUOTAS: dict[str, tuple[float, float]] = {
    "CPUS_ALL_REGIONS": (2400, 96),
    "GPUS_ALL_REGIONS": (64, 8),
    "SNAPSHOTS": (10000, 0),
    "NETWORKS": (30, 1),
}


def project_quotas(
    project: str, overrides: Mapping[str, Mapping[str, tuple[float, float]]] | None = None
) -> dict[str, tuple[float, float]]:
    """The quotas ``project`` reports; ``overrides`` (project -> metric -> (limit, usage))
    stand in for a project whose global quota a test or the demo sets."""
    quotas = dict(DEFAULT_QUOTAS)
    quotas.update((overrides or {}).get(project, {}))
    return quotas


def project_json(
    base_url: str,
    project: str,
    overrides: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
) -> dict[str, object]:
    return {
        "kind": "compute#project",
        "id": str(int.from_bytes(hashlib.blake2b(project.encode(), digest_size=7).digest())),
        "name": project,
        "quotas": [
            {"metric": metric, "limit": limit, "usage": usage}
            for metric, (limit, usage) in project_quotas(project, overrides).items()
        ],
        "selfLink": f"{base_url}/compute/v1/projects/{project}",
        "xpnProjectStatus": "UNSPECIFIED_XPN_PROJECT_STATUS",
    }
