"""The local emulator of the Compute regions and Cloud Quotas APIs, and of Cloud Monitoring's
ListTimeSeries, for tests and the demo.

Loopback only and standard library only; it may import the ``trayapp.sources`` mappings (quota
IDs, family names, usage metrics) and ``trayapp.sources.base``; never a Google library, but
``monitoring``, which imports grpc and Monitoring's messages when its server starts (gRPC is
the only transport google-cloud-monitoring has); nothing of
``trayapp.warming``: its regions and quota tables are its own, so the warmer's defaults are
checked against an independent stand-in, not against themselves.
"""
