"""``quota-tray tui``: starts the terminal view, or says in one line that Textual is missing.

Standard library only until it runs: Textual is imported there, so no other command pays for it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

TUI_MISSING = "quota-tray: the terminal view needs Textual: pip install 'quota-tray[tui]'"


def tui(args: argparse.Namespace) -> int:
    """The terminal view of the cache ``show`` reads; exit 2 when Textual is not installed."""
    try:
        from trayapp.tui.app import QuotaApp
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in ("textual", "rich"):
            raise
        print(TUI_MISSING, file=sys.stderr)
        return 2
    from trayapp.cache import default_path  # the file show reads; the warmer is not loaded

    app = QuotaApp(
        default_path(demo=args.demo), [args.project] if args.project else None, demo=args.demo
    )
    app.run()
    return app.return_code or 0
