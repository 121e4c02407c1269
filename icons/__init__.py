"""The tray's state icons, shipped as package data (``trayapp.icons``).

Data files only: it imports nothing; ``trayapp.ui.icons`` finds the PNGs here.
"""
