"""Can I launch this, here, now: the shapes a launch names, the quotas it consumes, the verdict.
It may import trayapp.answers, cache, words, safety and sources.quota_names; standard library only.
"""
