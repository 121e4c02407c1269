"""The warming engine: the plan of checks, the scheduler and its rounds, batches and healing,
and the enrichments asked at a round's end (``extras``, one lane each).

Standard library only: it may import ``trayapp.cache``, ``trayapp.safety``, the protocol in
``trayapp.sources.base``, the standard-library mappings of ``trayapp.sources`` (the GPU family,
usage, capacity advice, request states) and, for capacity advice, ``trayapp.launch`` and
``trayapp.words``; never Google, the tray, plyer or the terminal view.
"""
