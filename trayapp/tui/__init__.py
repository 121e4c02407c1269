"""The terminal view of the cache (``quota-tray tui``): the optional extra ``tui`` (Textual).

It may import Textual, ``trayapp.cache``, ``trayapp.answers``, ``trayapp.launch`` (the
verdicts), ``trayapp.words`` and the naming of ``trayapp.sources`` (``quota_names``,
``preference_states``), ``trayapp.safety``, ``trayapp.warming.levels`` and, for the status
line, ``trayapp.control``; never the warmer.

It reads the cache file through ``trayapp.cache`` only, so it also shows how another program
loads the warm answers. ``model`` and ``launch`` are standard library only; the widgets need
Textual, imported when the view starts.
"""
