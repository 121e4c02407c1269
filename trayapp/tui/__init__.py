"""The terminal view of the cache (``quota-tray tui``): the optional extra ``tui`` (Textual).

It only reads the cache file through ``trayapp.cache``, so it also shows how another program
loads the warm answers. ``trayapp.tui.model`` is standard library only; the widgets need Textual.
"""
