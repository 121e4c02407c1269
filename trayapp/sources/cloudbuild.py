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


def request() -> QuotaRequest:
    return QuotaRequest(SERVICE, None, METRIC)
