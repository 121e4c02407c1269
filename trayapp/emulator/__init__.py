"""The local emulator of the Compute regions and Cloud Quotas APIs, for tests and the demo.

Loopback only and standard library only; it may import ``trayapp.warming.plan``, the
``trayapp.sources`` mappings (quota IDs, family names) and ``trayapp.sources.base``; never a
Google library.
"""
