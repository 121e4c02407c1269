"""``python -m trayapp``, and the entry point of the frozen (PyInstaller) app."""

import multiprocessing

if __name__ == "__main__":
    # first: in a frozen app, a fetcher process starts as this program with multiprocessing's
    # arguments, and freeze_support() runs it instead of the command line
    multiprocessing.freeze_support()

    from trayapp.cli import main

    raise SystemExit(main())
