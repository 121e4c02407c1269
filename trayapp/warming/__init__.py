"""The warming engine: the plan of checks, the scheduler and its rounds, batches and healing.

Standard library only: it may import ``trayapp.cache``, ``trayapp.safety`` and the protocol in
``trayapp.sources.base``; never Google, the tray, plyer or the terminal view.
"""
