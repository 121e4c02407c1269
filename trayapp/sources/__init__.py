"""Where quota answers come from: the QuotaSource protocol, one module per API, the mappings.

It may import ``trayapp.warming.plan``, ``trayapp.answers``, ``trayapp.words`` and
``trayapp.safety``. ``base``
and the mappings are standard library only (the warmer depends on them); the API modules
import Google's libraries lazily, when their client is built (Cloud Monitoring, ``monitoring``,
over gRPC); ``fetcher`` runs them in a helper process.
"""
