"""The local emulator of the Compute regions and Cloud Quotas APIs, for tests and the demo.

Loopback only and standard library only; it may import ``trayapp.warming.plan`` and the
``trayapp.sources`` mappings (quota IDs, family names), never a Google library.
"""
