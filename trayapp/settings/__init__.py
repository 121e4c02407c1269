"""Which names are valid (project IDs, regions, quota metrics, config keys) and the closest
valid one when a name is not. Standard library only: ``show`` uses it on its error path.

It may import ``trayapp.sources`` (metric names), ``trayapp.answers``, ``trayapp.watch`` and
``trayapp.safety``; never the tray, the warmer's threads or Google. ``options`` adds each
command's options to its parser, importing that command's module when its parser is built.
"""
