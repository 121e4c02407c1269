"""quota-tray: keeps Google Cloud GPU and C3 quota answers warm on disk.

Importing this package stays cheap: google-cloud-compute, pystray, Pillow and plyer load
lazily, where they are used.
"""

__version__ = "0.1.0"
