"""The desktop face: tray icon (pystray), notifications (plyer) and state icons.

Importing this package or its modules loads no GUI library: pystray, Pillow and plyer are
imported where they are first needed, off the warmer's hot path.
"""
