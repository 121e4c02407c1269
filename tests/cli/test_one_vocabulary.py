"""One vocabulary: the cache a running instance writes, read through every surface (`show`,
`status`, the terminal view, the tray's Quotas menu, notifications), says each thing in the
same words: the columns, numbers nobody knows, the data's age, the state, GPU names, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from emulator_fixtures import *  # noqa: F403
from test_cli import cache_file, qt, start_headless, wait_status
from tui_pilot import cells, drive, status, until
from userdirs import headless_env

from trayapp.tui import model
from trayapp.tui.app import QuotaApp
from trayapp.ui.display import DisplayModel, quota_lines
from trayapp.ui.notices import NotificationPolicy, best_free_lines
from trayapp.warming.events import Event, Progress, WarmEvent

CONFIG = 'projects = ["p"]\ninterval_s = 0.02\n[[watch]]\nmetric = "H100"\nmin_free = 1\n'


@pytest.fixture
def env(tmp_path):
    return headless_env(tmp_path / "home")


def show_rows(text: str) -> tuple[list[str], dict[tuple[str, str], list[str]]]:
    lines = text.splitlines()
    header = lines[1].split()
    rows = [re.split(r" {2,}", line.strip()) for line in lines[2:]]
    return header, {(r[0], r[1]): r for r in rows}


def test_every_surface_says_the_same_cache_the_same_way(env, emulator, tmp_path):
    emulator.add_fault("503@us-east5")  # one C3 check fails, and is retried later
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    proc = start_headless(env, emulator, "--config", str(config))
    try:
        # declared: the round's extras asked, its level decided
        wait_status(
            env, lambda s: s["done"] == s["total"] and s["failed"] == 1 and s["level"] == "error"
        )
        said_status = qt(env, "status").stdout
        said_show = qt(env, "show").stdout
        doc = json.loads(cache_file(env).read_text())
    finally:
        qt(env, "quit")
        proc.wait(15)
    header, shown = show_rows(said_show)
    state = said_show.splitlines()[0].split(" · ")[0].removeprefix("p: ")
    age = next(p for p in said_show.splitlines()[0].split(" · ") if p.startswith("updated"))

    # the terminal view: the same columns, the same cells, the same age words
    app = QuotaApp(cache_file(env))

    async def scenario(pilot):
        await until(pilot, lambda: app.loads)
        assert [label for _, label in model.COLUMNS] == header
        viewed = {(r[0], r[1]): r for r in cells(app)}
        assert viewed == shown
        assert f" · {age} · " in f"{status(app).text} · "

    drive(app, scenario)

    # the failed check: the same status text everywhere, without repeating where it is
    [failed] = [r for r in shown.values() if r[6].startswith("error: ")]
    assert failed[0] == "us-east5" and "p/us-east5" not in failed[6]
    assert failed[2:6] == ["unknown", "unknown", "unknown", "never"]  # not "-": not "no quota"
    assert state == "incomplete (1 in error)"
    assert f"level: {state}" in said_status

    # GPU names and FREE as the tray's menu, notifications and status say them
    free = {(region, metric): row[4] for (region, metric), row in shown.items()}
    lines = quota_lines(doc)
    assert [line.text.split(" · ")[0] for line in lines] == list(
        dict.fromkeys(metric for _, metric in shown)
    )
    for line in lines:
        name, _, rest = line.text.partition(" · ")
        best = re.match(r"(≤ \d+|\d+) free (\S+)", rest)
        if best:
            assert free[best.group(2), name] == best.group(1), line.text
    event = Event(WarmEvent.INCOMPLETE, 1, Progress(20, 20, 18, 18), snapshot=doc)
    for sentence in best_free_lines(event):
        found = re.fullmatch(r"(\S+): (≤ \d+|\d+) free in (\S+)", sentence)
        if found:
            assert free[found.group(3), found.group(1)] == found.group(2), sentence
    [watch] = [line for line in said_status.splitlines() if line.startswith("watch met: ")]
    assert watch.startswith("watch met: ≥ 1 H100: ")
    for region, bound in re.findall(r"(\S+) \(((?:≤ )?\d+)\)", watch):
        assert free[region, "H100"] == bound, watch
    assert "NVIDIA_" not in said_status + said_show

    # how long until the retry: the same words in status, the tray and the notification
    retry = re.search(r"^failed: 1 checks \(retry in (\d+) s\)$", said_status, re.MULTILINE)
    assert retry, said_status
    event = Event(
        WarmEvent.INCOMPLETE,
        1,
        Progress(20, 20, 17, 18),
        snapshot=doc,
        data={"failed": 1, "reasons": ["x"], "retry_in_s": float(retry.group(1))},
    )
    assert DisplayModel(38).apply(event).text.endswith(f" · retry in {retry.group(1)} s")
    [notice] = NotificationPolicy().decide(event)
    assert notice.message.endswith(f" Retrying in {retry.group(1)} s.")
    assert Path(cache_file(env)).exists()
