"""The terminal view in Textual's pilot, on cache files written the way the warmer writes them."""

from __future__ import annotations

import json
import os
import threading

import pytest
from tui_docs import check, doc, sample_checks
from tui_pilot import cells, drive, settle, status, until

from trayapp import answers, cache
from trayapp.tui.app import QuotaApp
from trayapp.tui.filters import FilterBar

ME = os.getpid()


@pytest.fixture
def path(tmp_path):
    return tmp_path / "cache" / cache.FILENAME


def replace_with_bytes(path, data: bytes) -> None:
    """An atomic replace with arbitrary content, as a broken writer might leave."""
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def free_numbers(app):
    return [float(row[4].removeprefix("≤ ")) for row in cells(app) if row[4][-1:].isdigit()]


def test_filter_and_sort_keys(path):
    cache.write_atomic(path, doc(sample_checks(), pid=ME))
    app = QuotaApp(path)
    snap = cache.load(path)

    def keys(**filters):
        return [f"{c['region']}/{c['metric']}" for c in answers.select(snap.checks("p"), **filters)]

    async def scenario(pilot):
        await until(pilot, lambda: app.loads)
        table = app.active_table
        assert app.focused is table  # the keys work at once
        await pilot.press("slash", *"h100")
        await until(pilot, lambda: table.row_count == 4)
        assert [r.key for r in table.shown] == keys(metrics=["h100"])
        assert {row[1] for row in cells(app)} == {"H100"}
        await pilot.press("tab", "1", "0")
        await until(pilot, lambda: table.row_count == 2)
        assert [r.key for r in table.shown] == keys(metrics=["h100"], min_free=10)
        assert free_numbers(app) == [32, 16]  # both within their limits, most free first

        await pilot.press("backspace", "backspace", "escape")  # min free cleared, back to table
        await until(pilot, lambda: table.row_count == 4)
        assert app.focused is table
        await pilot.press("s")  # cache order -> FREE
        await until(pilot, lambda: app.sort == "free")
        assert free_numbers(app) == [32, 16, 8] and cells(app)[-1][6] == "not reported"
        assert "sort: FREE" in str(app.query_one("#sort-label").render())
        await pilot.press("S")
        await until(pilot, lambda: free_numbers(app) == [8, 16, 32])
        await pilot.press("s")  # FREE -> GPU type
        assert app.sort == "metric" and not app.reverse

        # a header click sorts by that column
        await pilot.click(type(table), offset=(2, 0))  # the REGION header
        await until(pilot, lambda: app.sort == "region")
        regions = [row[0] for row in cells(app)]
        assert regions == sorted(regions)

        # a min free that is not a number is marked and not applied
        await pilot.press("slash", "tab", ".", ".")
        assert app.query_one("#min-free").has_class("-invalid")
        assert table.row_count == 4

    drive(app, scenario)


def test_looking_up_a_check_counts_a_read_and_redraws_do_not(path):
    cache.write_atomic(path, doc(sample_checks(), pid=ME))
    app = QuotaApp(path)

    async def scenario(pilot):
        await until(pilot, lambda: app.loads)
        await until(pilot, lambda: app.reads.hits == 1)  # the cursor starts on the first row
        await pilot.press(*["down"] * 8)  # every check once: 6 of 9 fresh
        await until(pilot, lambda: app.reads.hits + app.reads.misses == 9)
        assert app.reads.hits == 6
        await until(pilot, lambda: "reads 67% fresh" in status(app).text)
        await pilot.press("s", "s", "S")  # refills move the cursor: no new read
        await until(pilot, lambda: (app.sort, app.reverse) == ("metric", True))
        await settle(pilot)  # every highlight the refills caused has been handled
        assert app.reads.hits + app.reads.misses == 9
        await pilot.press("s", "s", "s")  # region, age, back to cache order
        await until(pilot, lambda: app.sort == "cache")
        await pilot.press("up", "up")  # C3 in us-central1 (fresh), T4 in us-west1 (stale)
        await until(pilot, lambda: app.reads.hits + app.reads.misses == 11)
        assert (app.reads.hits, app.reads.misses) == (7, 4)
        assert status(app).text.endswith("reads 64% fresh · cache warming is not keeping up")

    drive(app, scenario)


def test_follows_a_write_every_20ms_without_flicker_or_lost_updates(path):
    """The view keeps up with a fast writer: values only move forward, the table is never
    blanked or rebuilt, the cursor stays on its check, and the last write is what stays."""
    base = [check(f"region-{i:02d}", "NVIDIA_T4_GPUS", limit=100, usage=0) for i in range(38)]
    cache.write_atomic(path, doc(base, pid=ME, done=0, total=38))
    app = QuotaApp(path)
    polls = []
    poll = app.poll
    app.poll = lambda: (polls.append(1), poll())  # counted, then run
    writes = 150
    stop = threading.Event()

    def writer():
        for n in range(1, writes + 1):
            checks = [dict(c) for c in base]
            checks[5] = {**checks[5], "limit": 100 + n}
            cache.write_atomic(path, doc(checks, pid=ME, done=min(n, 38), total=38))
            if stop.wait(0.02):
                return

    async def scenario(pilot):
        await until(pilot, lambda: app.loads)
        table = app.active_table
        await pilot.press("down", "down", "down")
        key = table.cursor_key
        assert key == "region-03/NVIDIA_T4_GPUS"
        thread = threading.Thread(target=writer)
        thread.start()
        seen = []
        try:
            while thread.is_alive():
                assert table.row_count == 38
                assert table.cursor_key == key
                seen.append(int(cells(app)[5][4]))
                await pilot.pause(0.01)
        finally:
            stop.set()
            thread.join()
        last = 100 + writes
        await until(pilot, lambda: cells(app)[5][4] == str(last))
        assert seen == sorted(seen), "an older copy replaced a newer one"
        assert len(set(seen)) > 3, "the view did not follow the writes as they came"
        assert table.rebuilds == 1 and table.cursor_key == key
        assert status(app).text.startswith("🔥 Warming... 38/38")
        loads, seen = app.loads, len(polls)
        await until(pilot, lambda: len(polls) >= seen + 5)  # five polls of an unchanged file
        await settle(pilot)
        assert app.loads == loads, "an unchanged file was read again"

    drive(app, scenario)


def test_a_missing_cache_is_one_message_until_the_warmer_writes_it(path):
    app = QuotaApp(path)

    async def scenario(pilot):
        message = app.query_one("#message")
        await until(pilot, lambda: message.has_class("-shown"))
        text = str(message.render())
        assert text.startswith(f"no quota cache yet: {path}")
        assert "quota-tray demo" in text and "Traceback" not in text
        assert not app.query_one("TabbedContent").display
        cache.write_atomic(path, doc(sample_checks(), pid=ME))
        await until(pilot, lambda: app.loads)
        assert not message.has_class("-shown") and app.query_one("TabbedContent").display
        assert len(cells(app)) == len(sample_checks())

    drive(app, scenario)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"schema_version": 1, "written', "quota cache is corrupt"),
        (b'{"schema_version": 7}', "quota cache has another format"),
        (b"\xff\xfe", "quota cache is corrupt"),
    ],
)
def test_a_bad_cache_is_one_message_and_a_bad_copy_keeps_the_last_good_view(
    path, content, expected
):
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    app = QuotaApp(path)

    async def scenario(pilot):
        message = app.query_one("#message")
        await until(pilot, lambda: message.has_class("-shown"))
        text = str(message.render())
        assert text.startswith(expected) and "Traceback" not in text
        assert "sets a bad file aside" in text

        cache.write_atomic(path, doc(sample_checks(), pid=ME))
        await until(pilot, lambda: app.loads == 1)
        good = app.snap

        def values():  # all but the ages, which move on with the clock
            return [row[:5] + row[6:] for row in cells(app)]

        shown = values()
        replace_with_bytes(path, content)
        await until(pilot, lambda: app.notices)
        assert app.notices == [f"{expected}: {path}" + app.notices[0].split(str(path))[1]]
        assert app.notices[0].endswith("; showing the last good copy")
        assert app.snap is good and values() == shown
        assert status(app).text.startswith("🔥 Warming... 9/9 · batch 812 ms")
        assert not message.has_class("-shown")

    drive(app, scenario)


@pytest.mark.parametrize(
    ("kwargs", "state", "head"),
    [
        ({"pid": ME, "level": "fire", "done": 4, "total": 9}, "warming", "🔥 Warming... 4/9"),
        # a check of the sample is in error: its finished cycle is not "complete"
        ({"pid": ME, "level": "complete", "completed": True}, "error", "💥 1 failed: 503"),
        (
            {"pid": ME, "level": "error", "completed": True, "failed": 1},
            "error",
            "💥 1 failed: 503 Service Unavailable · 9/9",
        ),
        ({"level": "complete", "completed": True}, "stopped", "no warmer running · 9/9"),
    ],
)
def test_the_status_widget_states(path, kwargs, state, head):
    cache.write_atomic(path, doc(sample_checks(), **kwargs))
    app = QuotaApp(path)

    async def scenario(pilot):
        await until(pilot, lambda: app.loads)
        widget = status(app)
        assert widget.state == state and widget.has_class(f"-{state}")
        assert widget.text.startswith(head), widget.text
        assert str(widget.render()) == widget.text
        # top right: the widget ends at the screen's right edge, on the first line
        assert widget.region.y == 0 and widget.region.right == app.size.width

    drive(app, scenario)


def test_a_writer_pid_no_process_can_have_is_no_warmer_and_no_crash(path):
    cache.write_atomic(path, doc(sample_checks(), pid=2**63, level="complete", completed=True))
    app = QuotaApp(path, refresh_s=0.05)
    checks = []
    check_liveness = app.refresh_ages
    app.refresh_ages = lambda: (checks.append(1), check_liveness())  # counted, then run

    async def scenario(pilot):
        await until(pilot, lambda: app.loads)
        assert status(app).text.startswith("no warmer running · 9/9")
        seen = len(checks)
        await until(pilot, lambda: len(checks) >= seen + 2)  # it ran again on its timer
        assert app.is_running and status(app).state == "stopped"

    drive(app, scenario)


def test_the_status_widget_notices_when_the_warmer_goes(path):
    """No write comes when a warmer dies: the view checks the writer's pid on its own."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        known = [c for c in sample_checks() if answers.known(c)]
        cache.write_atomic(path, doc(known, pid=proc.pid, level="complete", completed=True))
        app = QuotaApp(path, refresh_s=0.1)

        async def scenario(pilot):
            await until(pilot, lambda: app.loads)
            assert status(app).state == "complete"
            proc.stdin.close()
            proc.wait(10)
            await until(pilot, lambda: status(app).state == "stopped")
            assert status(app).text.startswith("no warmer running")
            assert app.loads == 1  # the file did not change

        drive(app, scenario)
    finally:
        proc.kill()
        proc.wait()


def test_project_option_shows_only_that_project(path):
    document = doc(sample_checks(), pid=ME)
    document["projects"]["other"] = {
        "cycle": {**document["projects"]["p"]["cycle"], "done": 1, "total": 1},
        "checks": [check("us-central1", "C3_CPUS", limit=50, usage=0)],
    }
    cache.write_atomic(path, document)

    def tabs_of(app):
        return [str(t.label) for t in app.query("Tab")]

    both = QuotaApp(path)

    async def both_tabs(pilot):
        await until(pilot, lambda: both.loads)
        assert tabs_of(both) == ["p", "other"]
        [row] = cells(both, "other")
        assert row[:5] + row[6:] == ["us-central1", "C3", "50", "0", "50", "ok"]
        assert row[5] == "just now"  # 5 s old

    drive(both, both_tabs)

    only = QuotaApp(path, ["other"])

    async def one_tab(pilot):
        await until(pilot, lambda: only.loads)
        assert tabs_of(only) == ["other"]
        assert status(only).text.startswith("🔥 Warming... 1/1")

    drive(only, one_tab)

    missing = QuotaApp(path, ["nope"])

    async def no_tab(pilot):
        await until(pilot, lambda: missing.query_one("#message").has_class("-shown"))
        assert str(missing.query_one("#message").render()) == f"project 'nope' is not in {path}"

    drive(missing, no_tab)


def test_text_from_the_cache_is_never_markup(path):
    cache.write_atomic(
        path,
        doc(
            [check("[bold]r[/]", "NVIDIA_T4_GPUS", "error", error="[link=x]boom\x1b[2J")],
            pid=ME,
            level="error",
        ),
    )
    app = QuotaApp(path)

    async def scenario(pilot):
        await until(pilot, lambda: app.loads)
        assert cells(app)[0][0] == "[bold]r[/]"
        assert cells(app)[0][6] == "error: [link=x]boom [2J"
        drawn = app.active_table.render_line(1).text  # as drawn, not as stored
        assert "[bold]r[/]" in drawn and "error: [link=x]boom [2J" in drawn
        assert status(app).text.startswith("💥 1 failed: [link=x]boom [2J · 1/1")
        assert str(status(app).render()) == status(app).text

    drive(app, scenario)


def test_the_footer_lists_the_keys(path):
    cache.write_atomic(path, doc(sample_checks(), pid=ME))
    app = QuotaApp(path)

    async def scenario(pilot):
        await until(pilot, lambda: app.loads)
        await until(pilot, lambda: app.query("FooterKey"))
        shown = {k.key: k.description for k in app.query("FooterKey")}
        assert shown == {
            "r": "Re-warm",
            "p": "Pause/resume",
            "slash": "Filter",
            "s": "Sort",
            "S": "Reverse",
            "q": "Quit",
        }
        assert app.query_one(FilterBar).region.y == 1  # under the title and status line
        await pilot.press("q")
        await until(pilot, lambda: app.return_code == 0)

    drive(app, scenario)


def test_project_names_and_notices_from_the_cache_are_never_markup(path):
    """A project's name is the tab's label and a bad copy's reason a notification: both are
    outside text, drawn as written (an unbalanced closing tag would even end the app)."""
    hostile = "[bold red]x[/]"
    cache.write_atomic(path, doc(sample_checks(), project=hostile, pid=ME))
    app = QuotaApp(path)

    async def scenario(pilot):
        await until(pilot, lambda: app.loads)
        tab = app.query_one("Tab")
        assert tab.label.plain == hostile and str(tab.render()) == hostile
        assert cells(app, hostile)[0][1] == "T4"

        broken = doc(sample_checks(), project=hostile, pid=ME)
        broken["projects"]["[/oops]"] = {"checks": []}  # no cycle: the copy is refused
        replace_with_bytes(path, json.dumps(broken).encode())
        await until(pilot, lambda: app.notices)
        assert "project '[/oops]' has no cycle" in app.notices[0]
        await until(pilot, lambda: app.query("Toast"))
        drawn = str(app.query_one("Toast").render())
        assert "'[/oops]'" in drawn and drawn == app.notices[0]
        await settle(pilot)  # the toast is drawn: the app is still there
        assert app.is_running and app.return_code is None

    drive(app, scenario, notifications=True)


def test_a_project_that_leaves_the_cache_loses_its_tab(path):
    """Projects come and go with the config: the tabs are the cache's projects, no more."""

    def document(*names):
        document = doc(sample_checks(), pid=ME)
        body = document["projects"].pop("p")
        document["projects"] = dict.fromkeys(names, body)
        return document

    cache.write_atomic(path, document("a", "b"))
    app = QuotaApp(path)

    def tabs():
        return [str(t.label) for t in app.query("Tab")]

    async def scenario(pilot):
        await until(pilot, lambda: app.loads)
        assert tabs() == ["a", "b"]
        cache.write_atomic(path, document("b"))
        await until(pilot, lambda: app.loads == 2)
        await until(pilot, lambda: tabs() == ["b"])
        assert app.focused is app.active_table is app._tables["b"]  # the keys still work
        cache.write_atomic(path, document("b", "c"))
        await until(pilot, lambda: app.loads == 3)
        await until(pilot, lambda: tabs() == ["b", "c"])
        assert len(cells(app, "c")) == len(sample_checks())
        assert app.is_running and app.return_code is None

    drive(app, scenario)
