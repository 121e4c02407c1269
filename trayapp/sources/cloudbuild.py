"""Cloud Build private pool C3 quota: which QuotaInfo a C3 check reads, and which pool fits.

``cloudbuild.googleapis.com/concurrent_private_pool_c3_build_cpus`` has the dimensions
``region`` and ``build_origin``; ``gcloud builds submit`` counts against
``build_origin=default``, so for region R the entry for (R, default) wins, then R alone, then
default alone, then the catch-all. Other origins and other quotas (all-family or E2 private pool
CPUs) never count. The quota ID is not documented: the service's list is matched by metric, and
one list answers every region. Standard library only.
"""

from __future__ import annotations

from trayapp.sources.quota_rule import QuotaRequest

SERVICE = "cloudbuild.googleapis.com"
METRIC = f"{SERVICE}/concurrent_private_pool_c3_build_cpus"
WANTED = {"build_origin": "default"}  # the dimensions a check wants besides its region
POOL_VCPUS = (4, 8, 22, 44, 88, 176)  # c3-standard-N machine sizes a private pool can use


def request() -> QuotaRequest:
    return QuotaRequest(SERVICE, None, METRIC)


def largest_pool(free: float | None) -> int | None:
    """The vCPUs of the largest c3-standard machine ``free`` CPUs hold, or None."""
    if free is None:
        return None
    fits = [n for n in POOL_VCPUS if n <= free]
    return fits[-1] if fits else None
