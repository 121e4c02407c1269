"""Every batch and cycle in SQLite, so ``quota-tray stats`` can say how the API did over days.

Standard library only; it may import ``trayapp.warming`` (the events it records, percentiles),
``trayapp.cache``, ``trayapp.paths`` and ``trayapp.safety``; never the tray or the command line.

The recorder (an observer with a writer thread of its own, opening the file through
:mod:`trayapp.history.database`) and the read-only queries share nothing but the file's layout
in :mod:`trayapp.history.schema`.
"""

from trayapp.history.queries import LEVELS, HistoryError, Series, series, stats
from trayapp.history.recorder import HistoryRecorder
from trayapp.history.schema import FILENAME, SCHEMA_VERSION, default_path

__all__ = [
    "FILENAME",
    "LEVELS",
    "SCHEMA_VERSION",
    "HistoryError",
    "HistoryRecorder",
    "Series",
    "default_path",
    "series",
    "stats",
]
