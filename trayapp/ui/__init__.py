"""The desktop face: tray icon (pystray), notifications (plyer), state icons, the stats chart.

It may import ``trayapp.warming`` (events, levels), ``trayapp.answers``, ``trayapp.launch``,
``trayapp.watch``, ``trayapp.history``, ``trayapp.logsink`` and ``trayapp.safety``; never the
command line.

Importing this package or its modules loads no GUI library: pystray, Pillow and plyer are
imported where they are first needed, off the warmer's hot path.
"""
