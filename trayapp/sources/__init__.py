"""Where quota answers come from: the QuotaSource protocol and its implementations."""

from trayapp.sources.base import ERROR_KINDS, FATAL_KINDS, QuotaSource, RegionQuotas, SourceError

__all__ = ["ERROR_KINDS", "FATAL_KINDS", "QuotaSource", "RegionQuotas", "SourceError"]
