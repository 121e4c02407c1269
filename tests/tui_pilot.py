"""Driving the terminal view with Textual's pilot, waiting on conditions with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from trayapp.tui.app import QuotaApp
from trayapp.tui.status import StatusWidget

SIZE = (140, 45)


def drive(
    app: QuotaApp, scenario: Callable[[Any], Awaitable[None]], *, notifications: bool = False
) -> None:
    """Run ``scenario(pilot)`` against ``app`` in a headless terminal; the app must not crash.
    ``notifications`` draws toasts too (the pilot leaves them out unless asked)."""

    async def main() -> None:
        async with app.run_test(size=SIZE, notifications=notifications) as pilot:
            await scenario(pilot)
        assert app.return_code in (None, 0), "the app ended with an error"

    asyncio.run(main())


async def until(pilot: Any, condition: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await pilot.pause(0.02)


async def settle(pilot: Any, hops: int = 8) -> None:
    """Until every message posted so far is handled, bubbled ones too (each hop from a widget
    to its parent is one more turn of the queues): a wait on the app, not on the clock."""
    for _ in range(hops):
        await pilot.pause()


def cells(app: QuotaApp, project: str | None = None) -> list[list[str]]:
    """The table's cells as the user reads them."""
    table = app._tables[project] if project else app.active_table
    assert table is not None
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def status(app: QuotaApp) -> StatusWidget:
    return app.query_one(StatusWidget)
