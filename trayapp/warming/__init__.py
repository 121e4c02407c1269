"""The warming engine: the plan of checks, the scheduler and its rounds, batches and healing.

Standard library only: it may import ``trayapp.cache``, ``trayapp.safety``, the protocol in
``trayapp.sources.base`` and the GPU family mapping in ``trayapp.sources.compute_family``;
never Google, the tray, plyer or the terminal view.
"""
