"""The tray's state icons, shipped as package data (``trayapp.icons``)."""
