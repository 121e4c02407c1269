"""Speed and memory figures, each a ratio against a baseline measured in the same run.

    python benchmarks/run.py            # prints a Markdown table for the README

Machines here are noisy: every figure is a median of interleaved repeats, and only ratios
are compared across runs.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trayapp import cache  # noqa: E402
from trayapp.warming.plan import build_plan  # noqa: E402
from trayapp.warming.state import WarmState  # noqa: E402


def full_cache(projects: int) -> dict:
    state = WarmState(build_plan([f"project-{i:02d}" for i in range(projects)]))
    state.new_cycle(0.0)
    now = cache.now_iso()
    for check in state.checks:
        state.apply_ok(check, {check.metric: (16.0, 3.0)}, now)
    return state.document({"pid": 1, "level": "complete", "last_batch_ms": 812, "paused": False})


def bench_load(projects: int, tmp: Path) -> tuple[float, float, float]:
    path = tmp / f"cache-{projects}.json"
    cache.write_atomic(path, full_cache(projects))

    def ours() -> None:
        cache.load(path)

    def bare() -> None:
        with path.open("rb") as f:
            json.load(f)

    n = 2000 if projects == 1 else 200
    a, b = [], []
    for _ in range(7):
        a.append(timeit.timeit(ours, number=n) / n)
        b.append(timeit.timeit(bare, number=n) / n)
    ours_s, bare_s = statistics.median(a), statistics.median(b)
    return ours_s * 1e3, bare_s * 1e3, ours_s / bare_s


def run_wall(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    return time.perf_counter() - started


def bench_import() -> tuple[float, float, float]:
    a, b = [], []
    for _ in range(15):
        a.append(run_wall("import trayapp.cache"))
        b.append(run_wall("import json"))
    ours, bare = statistics.median(a), statistics.median(b)
    return ours * 1e3, bare * 1e3, ours / bare


TUI_FIRST_SCREEN = """
import sys
from trayapp.tui.app import QuotaApp

class FirstScreen(QuotaApp):
    async def on_loaded(self, message):
        await super().on_loaded(message)
        self.exit()

FirstScreen(sys.argv[1]).run(headless=True, size=(140, 45))
"""

TEXTUAL_FLOOR = """
from textual.app import App
from textual.widgets import Static

class Hello(App):
    def compose(self):
        yield Static("hello")

    def on_mount(self):
        self.exit()

Hello().run(headless=True, size=(140, 45))
"""


def bench_tui(tmp: Path) -> tuple[float, float, float]:
    """`quota-tray tui` from process start to a drawn table of 38 checks, against the smallest
    Textual app's start to its first mount: what the view adds to Textual's own floor."""
    path = tmp / "tui-cache.json"
    cache.write_atomic(path, full_cache(1))
    a, b = [], []
    for _ in range(7):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", TUI_FIRST_SCREEN, str(path)], check=True, cwd=ROOT)
        a.append(time.perf_counter() - started)
        b.append(run_wall(TEXTUAL_FLOOR))
    ours, bare = statistics.median(a), statistics.median(b)
    return ours * 1e3, bare * 1e3, ours / bare


def peak_rss_mb(args: list[str], env: dict[str, str]) -> float:
    """Peak resident memory of the largest process of one child's tree (the kernel keeps the
    largest of the waited-for descendants), measured by a wrapper process of its own."""
    code = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=False, "
        "stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, check=True, capture_output=True, text=True
    )
    return int(out.stdout.strip()) / 1024


def timed_cycle(make_source: Callable[[str], Any], latency_ms: int = 200) -> dict[str, Any]:
    """One default cycle against the emulator (both APIs) through ``make_source(url)``: the API
    time of every batch that made calls, and the COMPLETE event."""
    from trayapp.emulator.server import Emulator
    from trayapp.warming.events import EventBus, WarmEvent
    from trayapp.warming.scheduler import Warmer

    done = threading.Event()
    batches: list[int] = []
    complete: list[Any] = []

    class Watch:
        def on_event(self, event) -> None:
            if event.kind in (WarmEvent.BATCH_WARM, WarmEvent.BATCH_SLOW) and event.data.get(
                "api_calls"
            ):
                batches.append(event.elapsed_ms)
            if event.kind is WarmEvent.COMPLETE:
                complete.append(event)
                done.set()

    with Emulator(latency=latency_ms) as emu:
        bus = EventBus()
        bus.subscribe(Watch())
        source = make_source(emu.url)
        warmer = Warmer(build_plan(["bench"]), source, bus, interval_s=0.3)
        warmer.start()
        done.wait(120)
        warmer.stop()
        source.close()
    if not complete:
        raise SystemExit("the benchmark cycle did not complete within 120 s")
    return {"batches": batches, "latency_ms": latency_ms, "complete": complete[0]}


def bench_warm() -> dict[str, float]:
    from trayapp.sources.google import GoogleSource

    cycle = timed_cycle(lambda url: GoogleSource(url, url))  # both APIs, as the app runs
    batch, latency_ms = statistics.median(cycle["batches"]), cycle["latency_ms"]
    return {
        "batch_ms": batch,
        "latency_ms": latency_ms,
        "batch_ratio": batch / latency_ms,
        "api_calls": cycle["complete"].data["api_calls"],
        "checks": cycle["complete"].data["checks"],
    }


def main() -> int:
    env = dict(os.environ, NO_GCE_CHECK="true")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for projects in (1, 20):
            ours, bare, ratio = bench_load(projects, tmp)
            rows.append(
                (
                    f"`cache.load()` vs `json.load`, {projects} project{'s' * (projects != 1)}",
                    f"{ours:.3f} ms vs {bare:.3f} ms",
                    f"{ratio:.2f}x",
                )
            )
        ours, bare, ratio = bench_import()
        rows.append(
            (
                "`import trayapp.cache` vs `import json` (whole process)",
                f"{ours:.0f} ms vs {bare:.0f} ms",
                f"{ratio:.2f}x",
            )
        )
        ours, bare, ratio = bench_tui(tmp)
        rows.append(
            (
                "terminal view to a drawn table of 38 checks vs a bare Textual app (whole process)",
                f"{ours:.0f} ms vs {bare:.0f} ms",
                f"{ratio:.2f}x",
            )
        )

        from startup import measure  # the console script of a regular install, as users run it

        for name, ours, bare, ratio in measure():
            rows.append(
                (
                    f"installed `quota-tray {name}` vs `python -c pass` (regular install, "
                    "whole process, median of pair-by-pair ratios)",
                    f"{ours:.0f} ms vs {bare:.0f} ms",
                    f"{ratio:.2f}x",
                )
            )
        warm = bench_warm()
        rows.append(
            (
                "batch wall time vs injected latency (real client, emulator)",
                f"{warm['batch_ms']:.0f} ms vs {warm['latency_ms']} ms",
                f"{warm['batch_ratio']:.2f}x",
            )
        )
        rows.append(
            (
                "API calls per cycle vs checks per cycle",
                f"{warm['api_calls']} vs {warm['checks']}",
                f"{warm['api_calls'] / warm['checks']:.2f}x",
            )
        )
        home = tmp / "home"
        env.update(
            HOME=str(home),
            XDG_CACHE_HOME=str(home / "c"),
            XDG_STATE_HOME=str(home / "s"),
            XDG_CONFIG_HOME=str(home / "cf"),
        )
        once = peak_rss_mb(
            [sys.executable, "-m", "trayapp", "demo", "--once", "--speed", "20"], env
        )
        lib = peak_rss_mb([sys.executable, "-c", "import google.cloud.compute_v1"], env)
        rows.append(
            (
                "peak RSS of `demo --once`'s largest process (the fetcher) "
                "vs importing google-cloud-compute alone",
                f"{once:.0f} MB vs {lib:.0f} MB",
                f"{once / lib:.2f}x",
            )
        )
    print("| measure | figures | ratio |")
    print("| --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
