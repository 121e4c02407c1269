"""Asking Google for more quota from the command line (``quota-tray request``): the quota a
check reads, found in the cache, and the one QuotaPreference filed for it.

May import ``cache``, ``answers``, ``words``, ``settings``, ``sources`` and ``safety``; Google's
library only through ``sources.preferences``, when a request is sent.
"""
