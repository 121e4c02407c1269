"""The terminal view on the real path: a cache written by warm cycles through the real client
against the emulator, a running instance reached over the control channel, and the command as
users start it in a terminal.

``QUOTA_TRAY_DOCS=1`` (or a missing file) redraws docs/tui.svg from a real run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tui_pilot import cells, drive, status, until
from userdirs import isolated_env, run_cli, start_demo

from trayapp import answers, cache, words
from trayapp.tui import model, remote
from trayapp.tui.app import QuotaApp

DOCS_SHOT = Path(__file__).resolve().parents[2] / "docs" / "tui.svg"


@pytest.fixture
def env(tmp_path, monkeypatch):
    """An isolated user; this process uses it too, so the view and the instance meet."""
    e = isolated_env(tmp_path / "home", PYTHONUNBUFFERED="1")
    e.pop("DISPLAY", None)
    e.pop("WAYLAND_DISPLAY", None)
    for name in ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"):
        monkeypatch.setenv(name, e[name])
    return e


@pytest.fixture
def emulator(make_emulator):
    return make_emulator(latency=2)


def cache_file(env) -> Path:
    return Path(env["XDG_CACHE_HOME"]) / "quota-tray" / cache.FILENAME


def qt(env, *args, timeout=120):
    return run_cli(env, *args, timeout=timeout)


def warm_once(env, emulator) -> Path:
    out = qt(
        env, "run", "--once", "--project", "p", "--endpoint", emulator.url, "--interval", "0.02"
    )
    assert out.returncode == 0, out.stderr
    return cache_file(env)


def joined(state: str, check: dict) -> str:
    """The status cell: the state, and where nothing is free whether more may be asked for."""
    said = words.eligibility_text(check.get("eligibility")) if answers.nothing_free(check) else ""
    return f"{state} · {said}" if said else state


def test_first_screen_equals_a_cache_written_by_a_warm_cycle(env, emulator):
    path = warm_once(env, emulator)
    snap = cache.load(path)
    checks = snap.checks("p")
    requests = len(emulator.requests())
    app = QuotaApp(path)

    async def scenario(pilot):
        await until(pilot, lambda: app.loads)
        rows = cells(app)
        assert len(rows) == len(checks) == 38
        for row, check in zip(rows, checks, strict=True):
            assert row[1] == answers.short_name(check["metric"])
            assert row[0] == check["region"]
            assert row[4] == answers.format_free(check)
            if check["status"] == "ok":
                assert float(row[2]) == check["limit"]
                if check["usage"] is None:  # a GPU family quota answer: a limit, no usage
                    assert check["source"] == "cloudquotas" and row[3] == "unknown"
                else:
                    assert float(row[3]) == check["usage"]
                assert row[6] == joined("ok", check)
            else:
                assert check["status"] == "absent"
                assert row[2:5] == ["-", "-", "-"] and row[6] == joined("not reported", check)
        assert (
            sum(r[6].startswith("not reported") for r in rows)
            == sum(c["status"] == "absent" for c in checks)
            > 0
        )
        family = [r for r in rows if r[3] == "unknown"]
        assert family and all(r[4].startswith("≤ ") for r in family)  # a bound, never exact

        # FREE is right-aligned: every value ends where the header's FREE ends
        table = app.active_table
        lines = [table.render_line(y).text for y in range(len(rows) + 1)]
        right = lines[0].index("FREE") + len("FREE")
        for line, row in zip(lines[1:], rows, strict=True):
            assert line[right - len(row[4]) : right] == row[4], line

        # the warmer has exited: the status says so, with its progress and the data's age
        await until(pilot, lambda: app.reads.hits == 1)  # the cursor's first row, fresh
        text = status(app).text
        assert status(app).state == "stopped"
        assert text == "no warmer running · 38/38 · updated just now · reads 100% fresh"

        # FREE and the filters say what `quota-tray show` says about the same file
        assert {(r[0], r[1]): r[4] for r in rows} == shown_free(env)
        await pilot.press("slash", *"H100", "tab", "8", "escape")
        await until(pilot, lambda: app.filters == model.Filters(("H100",), 8.0))
        picked = [((r[0], r[1]), r[4]) for r in cells(app)]
        assert picked == list(shown_free(env, "--metric", "H100", "--min-free", "8").items())
        assert len(picked) == 4

    drive(app, scenario)
    assert len(emulator.requests()) == requests  # the view never asked the network


def shown_free(env, *filters: str) -> dict[tuple[str, str], str]:
    """(region, GPU type) -> FREE as `quota-tray show` prints it, in its order."""
    out = qt(env, "show", "--project", "p", *filters)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[1].split() == ["REGION", "METRIC", "LIMIT", "USAGE", "FREE", "AGE", "STATUS"]
    rows = [re.split(r" {2,}", line.strip()) for line in lines[2:]]
    return {(row[0], row[1]): row[4] for row in rows}


def test_a_cycle_with_failed_checks_shows_the_error_and_its_reason(env, emulator):
    emulator.add_fault("503@us-east5")  # every attempt fails for one region
    app = QuotaApp(cache_file(env))
    proc = start_instance(env, emulator, "--project", "p", "--interval", "0.05")

    async def scenario(pilot):
        declared = lambda: app.snap and app.snap.warmer["level"] == "error"  # noqa: E731
        await until(pilot, lambda: status(app).state == "error" and declared(), timeout=60)
        failed = [c for c in app.snap.checks("p") if c["status"] == "error"]
        assert failed and app.snap.warmer["level"] == "error"
        reason = model.clean(failed[0]["error"], 60)
        assert status(app).text.startswith(f"💥 {len(failed)} failed: {reason} · 38/38")
        assert status(app).has_class("-error")
        rows = {f"{r[0]}/{r[1]}": r for r in cells(app)}
        assert rows["us-east5/C3"][6] == f"error: {words.reason(failed[0]['error'])}"

    try:
        drive(app, scenario)
    finally:
        qt(env, "quit")
        proc.wait(15)


def start_instance(env, emulator, *extra) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "trayapp", "run", "--headless", "--endpoint", emulator.url, *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_status_and_keys_follow_a_running_instance(env, make_emulator):
    emulator = make_emulator(latency=5)
    app = QuotaApp(cache_file(env))
    proc = None

    async def scenario(pilot):
        nonlocal proc
        await until(pilot, lambda: app.query_one("#message").has_class("-shown"))
        proc = start_instance(env, emulator, "--project", "p", "--interval", "0.15")
        states = set()

        def watch(state):
            states.add(status(app).state)
            return status(app).state == state

        await until(pilot, lambda: watch("complete"), timeout=60)
        assert "warming" in states, states  # the original design's "🔥 Warming... 15/38"
        assert status(app).text.startswith("✅ Complete 38/38 · batch ")
        assert app.active_table.row_count == 38

        before = len(emulator.requests())
        await pilot.press("r")
        await until(pilot, lambda: app.control_answers)
        assert app.control_answers == [(True, "re-warm started")]
        assert app.notices[-1] == "re-warm started"
        await until(pilot, lambda: app.snap.cycle("p")["id"] == 2, timeout=30)
        # the new cycle is in the file at once; its first request follows at the next tick
        await until(pilot, lambda: len(emulator.requests()) > before, timeout=30)
        await until(  # the second cycle's end, not the first one's level still in the file
            pilot,
            lambda: app.snap.cycle("p")["completed_at"] and status(app).state == "complete",
            timeout=60,
        )

        await pilot.press("p")
        await until(pilot, lambda: len(app.control_answers) == 2)
        assert app.control_answers[1] == (True, "warming paused")
        await until(pilot, lambda: status(app).state == "paused")
        assert status(app).text.startswith("⏸ Paused ")
        await pilot.press("p")
        await until(pilot, lambda: len(app.control_answers) == 3)
        assert app.control_answers[2] == (True, "warming resumed")
        await until(pilot, lambda: status(app).state in ("warming", "complete"))

        assert qt(env, "quit").returncode == 0
        proc.wait(15)
        await until(pilot, lambda: status(app).state == "stopped")
        assert status(app).text.startswith("no warmer running · 38/38")

        await pilot.press("r")
        await until(pilot, lambda: len(app.control_answers) == 4)
        assert app.control_answers[3] == (False, remote.not_running())

    try:
        drive(app, scenario)
    finally:
        if proc is not None:
            proc.kill()
            proc.communicate()


def test_r_and_p_without_an_instance_say_so(env, emulator, monkeypatch):
    for name in ("GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    path = warm_once(env, emulator)
    app = QuotaApp(path)

    async def scenario(pilot):
        await until(pilot, lambda: app.loads)
        await pilot.press("r", "p")
        await until(pilot, lambda: len(app.control_answers) == 2)
        hint = (
            "no quota-tray instance is running: start it with `quota-tray --project ID`, "
            "ID being your Google Cloud project"
        )  # no project in the config or the environment: bare `quota-tray` would not start
        assert app.control_answers == [(False, hint)] * 2
        assert app.notices == [hint] * 2

    drive(app, scenario)


def test_without_textual_the_command_says_what_to_install(env):
    """An interpreter without site-packages: Textual (and Rich) are really not installed."""
    root = str(Path(__file__).resolve().parents[2])
    bare = [sys.executable, "-S"]
    probe = "import importlib.util as u; print(u.find_spec('textual'), u.find_spec('rich'))"
    run_env = {**env, "PYTHONPATH": root}
    out = subprocess.run(
        [*bare, "-c", probe], env=run_env, capture_output=True, text=True, check=True
    )
    assert out.stdout == "None None\n", out.stderr
    out = subprocess.run(
        [*bare, "-m", "trayapp", "tui"], env=run_env, capture_output=True, text=True, check=False
    )
    assert out.returncode == 2
    assert out.stderr == (
        "quota-tray: the terminal view needs Textual: in the quota-tray checkout, "
        "pip install '.[tui]' (or pipx install --force '.[tui]')\n"
    )
    assert out.stdout == ""


def test_other_commands_do_not_import_textual(env):
    code = (
        "import sys\nfrom trayapp.cli import main\n"
        "main(['status'])\nprint('textual' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert out.stdout.strip() == "False", out.stderr


def in_terminal(env, args, out_dir: Path, name: str, seconds: int = 2) -> Path:
    """``quota-tray tui`` in a pseudo-terminal of 140x45; Textual saves an SVG and exits."""
    script = shutil.which("script")
    assert script, "util-linux's script is needed to give the view a terminal"
    command = " ".join([sys.executable, "-m", "trayapp", "tui", *args])
    run_env = {
        **env,
        "TERM": "xterm-256color",
        "TEXTUAL_SCREENSHOT": str(seconds),
        "TEXTUAL_SCREENSHOT_LOCATION": str(out_dir),
        "TEXTUAL_SCREENSHOT_FILENAME": name,
    }
    out = subprocess.run(
        [script, "-qec", f"stty cols 140 rows 45; {command}", "/dev/null"],
        env=run_env,
        capture_output=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stdout[-2000:]
    return out_dir / name


def test_the_command_in_a_terminal_shows_a_running_instance(env, make_emulator, tmp_path):
    """The view as a user starts it, beside a warmer: also what docs/tui.svg shows."""
    emulator = make_emulator(latency=120)
    proc = start_instance(env, emulator, "--project", "my-project", "--interval", "0.05")
    try:
        deadline = time.monotonic() + 60
        while not (cache_file(env).exists() and cache.load(cache_file(env)).is_complete()):
            assert proc.poll() is None and time.monotonic() < deadline, "no complete cycle"
            time.sleep(0.05)
        redraw = not DOCS_SHOT.exists() or os.environ.get("QUOTA_TRAY_DOCS") == "1"
        out_dir = DOCS_SHOT.parent if redraw else tmp_path
        shot = in_terminal(env, [], out_dir, DOCS_SHOT.name).read_text()
    finally:
        qt(env, "quit")
        proc.wait(15)
    # the view as drawn today, and the README's copy of it: family answers (usage unknown,
    # FREE a bound) and not-reported rows, the status widget, the footer
    needles = (
        "my-project",
        "METRIC",
        "FREE",
        "not reported",
        "unknown",
        "≤ 8",
        "✅ Complete 38/38",
        "quota-tray · ~/cache/quota-tray/quota-cache.json",
        "Re-warm",
        "Quit",
    )
    for drawn in (shot, DOCS_SHOT.read_text()):
        text = drawn.replace("&#160;", " ")
        for needle in needles:
            assert needle in text, needle
        assert text.index(" REGION ") < text.index(" METRIC ")  # show's words, in its order


@pytest.mark.parametrize("demo", [False, True])
def test_the_command_opens_the_file_show_reads_and_loads_no_warmer(env, demo):
    """`quota-tray tui` needs the cache reader, not the warmer: its start stays light."""
    code = (
        "import sys\n"
        "from trayapp.tui.app import QuotaApp\n"
        "QuotaApp.run = lambda self: print(self.path, self.only)\n"
        "class Tty:  # a terminal, as far as the command can tell\n"
        "    def __init__(self, f): self.f = f\n"
        "    def isatty(self): return True\n"
        "    def __getattr__(self, name): return getattr(self.f, name)\n"
        "sys.stdin, sys.stdout = Tty(sys.stdin), Tty(sys.stdout)\n"
        "from trayapp.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "heavy = sorted(m for m in ('trayapp.app', 'trayapp.warming.scheduler', 'trayapp.history')"
        " if m in sys.modules)\n"
        "print(heavy); sys.exit(code)"
    )
    args = ["tui", "--project", "p", *(["--demo"] if demo else [])]
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    path = Path(env["XDG_CACHE_HOME"]) / "quota-tray" / ("demo" if demo else "") / cache.FILENAME
    assert out.stdout.splitlines() == [f"{path} ['p']", "[]"]


def test_the_demos_view_asks_the_demo(env):
    """`tui --demo` keys reach the demo's own instance; the real cache's view never does."""
    demo = start_demo(env)
    try:
        path = Path(env["XDG_CACHE_HOME"]) / "quota-tray" / "demo" / cache.FILENAME
        app = QuotaApp(path, demo=True)

        async def scenario(pilot):
            await until(pilot, lambda: app.loads)
            await pilot.press("p")
            await until(pilot, lambda: app.control_answers)
            assert app.control_answers == [(True, "warming paused")]

        drive(app, scenario)
        status = json.loads(qt(env, "status", "--demo", "--json").stdout)
        assert status["paused"] is True and status["pid"] == demo.pid

        real_view = QuotaApp(cache_file(env))

        async def not_the_demo(pilot):
            await pilot.press("r")
            await until(pilot, lambda: real_view.control_answers)
            assert real_view.control_answers == [(False, remote.not_running())]

        drive(real_view, not_the_demo)
        assert qt(env, "quit", "--demo").returncode == 0
        demo.wait(15)
    finally:
        demo.kill()
        demo.communicate()
