"""The local emulator of the Compute regions and Cloud Quotas APIs, for tests and the demo.

Loopback only and standard library only; it may import the ``trayapp.sources`` mappings (quota
IDs, family names) and ``trayapp.sources.base``; never a Google library, and nothing of
``trayapp.warming``: its regions and quota tables are its own, so the warmer's defaults are
checked against an independent stand-in, not against themselves.
"""
