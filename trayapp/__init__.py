"""quota-tray: keeps Google Cloud GPU and C3 quota answers warm on disk.

Importing this package imports nothing: Google's clients, pystray, Pillow, plyer and Textual
load lazily, where they are used. The packages and what each may import: docs/architecture.md.
"""

__version__ = "0.1.0"
