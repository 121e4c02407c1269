"""``python -m trayapp``, and the entry point of the frozen (PyInstaller) app."""

import sys

if __name__ == "__main__":
    if getattr(sys, "frozen", False):
        # first: in a frozen app, a fetcher process starts as this program with
        # multiprocessing's arguments, and freeze_support() runs it instead of the command
        # line. Elsewhere multiprocessing stays unloaded: `show` need not pay for it.
        import multiprocessing

        multiprocessing.freeze_support()

    from trayapp.cli import main

    raise SystemExit(main())
