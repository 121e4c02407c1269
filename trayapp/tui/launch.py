"""``quota-tray tui``: starts the terminal view, or says in one line that Textual is missing.

Standard library only until it runs: Textual is imported there, so no other command pays for it.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

TUI_MISSING = (
    "quota-tray: the terminal view needs Textual: in the quota-tray checkout, "
    "pip install '.[tui]' (or pipx install --force '.[tui]')"
)

NOT_A_TERMINAL = (
    "quota-tray: the terminal view needs a terminal (its input or output is not one): "
    "use quota-tray show, or show --json for a program"
)


def tui(args: argparse.Namespace) -> int:
    """Open the terminal view on the file `show` reads; 2 with one line when Textual is
    missing or there is no terminal to draw on (piped, it would write escape codes forever)."""
    try:
        from trayapp.tui.app import QuotaApp
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in ("textual", "rich"):
            raise
        print(TUI_MISSING, file=sys.stderr)
        return 2
    if not (sys.stdout.isatty() and sys.stdin.isatty()):
        print(NOT_A_TERMINAL, file=sys.stderr)
        return 2
    from trayapp.cache import default_path  # the file show reads; the warmer is not loaded

    app = QuotaApp(
        default_path(demo=args.demo), [args.project] if args.project else None, demo=args.demo
    )
    app.run()
    return app.return_code or 0
