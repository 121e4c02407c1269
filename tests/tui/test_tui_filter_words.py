"""The terminal view's filter says what `show --metric` says when nothing matches, instead of an
empty table."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tui_docs import doc, sample_checks
from tui_pilot import drive, until
from userdirs import isolated_env, run_cli

from trayapp import cache
from trayapp.safety.files import private_dir
from trayapp.tui.app import QuotaApp


@pytest.mark.parametrize("typed", ["B200", "H1OO"])
def test_the_filter_says_what_show_says(tmp_path, typed):
    env = isolated_env(tmp_path / "home")
    path = Path(env["XDG_CACHE_HOME"]) / "quota-tray" / cache.FILENAME
    private_dir(path.parent)
    cache.write_atomic(path, doc(sample_checks(), pid=os.getpid()))
    shown = run_cli(env, "show", "--metric", typed)
    said = shown.stderr.removeprefix("quota-tray: --metric: ").rstrip("\n")
    assert shown.returncode in (1, 2) and "\n" not in said and said != shown.stderr
    app = QuotaApp(path)

    async def scenario(pilot):
        await until(pilot, lambda: app.loads)
        await pilot.press("slash", *typed)
        box = app.query_one("#message")
        await until(pilot, lambda: str(box.render()) == f"GPU type: {said}")
        await pilot.press(*["backspace"] * len(typed), "h", "1", "0", "0")
        await until(pilot, lambda: app.active_table.row_count == 4)
        assert not box.has_class("-shown")

    drive(app, scenario)
