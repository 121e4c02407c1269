"""Memory and time of the tray with its fetcher process, each against a baseline of this run.

    python benchmarks/footprint.py      # needs the desktop packages of tests/desktop.py

- idle: resident memory of the whole process tree (the tray and every process it started),
  after a full cycle once the fetcher has ended, against a process that only imports the tray
  toolkit (GTK via PyGObject; the X11 backend via pystray's xorg module); GTK both as the first
  GTK client of its X server (a Qt desktop, a bare window manager) and beside another one;
- peak: the largest sum over the tree while the cycle runs;
- fetcher start-up (spawn, imports, client built) against a bare interpreter start;
- per-fetch cost of the process boundary: a fetch through the fetcher against the same fetch
  made in this process, emulator latency 0;
- batch wall time through the fetcher against the latency the emulator injects;
- the fetcher's memory with the Cloud Monitoring client (quota usage, gRPC) loaded, against the
  same fetcher before it was.

Memory is read from /proc (VmRSS of every process whose parent chain leads to the tray).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("NO_GCE_CHECK", "true")

from trayapp.emulator.server import Emulator  # noqa: E402

TOOLKITS = {
    "GTK": (
        "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk",
        {"PYSTRAY_BACKEND": "gtk"},
    ),
    "X11": ("import pystray", {"PYSTRAY_BACKEND": "xorg"}),
}
REPORT_RSS = (
    "\nimport re, sys\n"
    "print(re.search(r'VmRSS:\\s+(\\d+)', open('/proc/self/status').read()).group(1))"
)


def rss_kb(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0  # a zombie has no memory left


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    found, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def tree_mb(pid: int) -> float:
    return sum(rss_kb(p) for p in tree(pid)) / 1024


def mesa_mb(pid: int) -> float:
    """Resident pages of Mesa's software GL (libLLVM, the DRI driver) mapped into ``pid``:
    GTK loads it on some X servers and not on others, so it is reported apart."""
    total, counting = 0, False
    try:
        with Path(f"/proc/{pid}/smaps").open() as smaps:
            for line in smaps:
                head = line.split()
                if head and "-" in head[0] and not head[0].endswith(":"):
                    path = head[5] if len(head) > 5 else ""
                    counting = "libLLVM" in path or "/dri/" in path
                elif counting and head[0] == "Rss:":
                    total += int(head[1])
    except OSError:
        return 0.0
    return total / 1024


def baseline_mb(code: str, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code + REPORT_RSS],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.split()[-1]) / 1024


def tray_footprint(
    desk_env: dict[str, str], backend_env: dict[str, str], url: str, tmp: Path
) -> tuple[float, float, float, float]:
    """(idle MB after the cycle, peak MB during it, cycle seconds, Mesa MB) of `quota-tray run`."""
    env = {k: v for k, v in desk_env.items() if not k.startswith(("GOOGLE_", "CLOUDSDK_"))}
    env.update(backend_env, NO_GCE_CHECK="true", CLOUDSDK_CONFIG=str(tmp / "gcloud"))
    log = Path(env["XDG_STATE_HOME"]) / "quota-tray" / "log" / "cache_warm.log"
    log.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "trayapp", "run", "--project", "bench", "--endpoint", url]
    proc = subprocess.Popen(
        [*argv, "--interval", "0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        started, peak = time.monotonic(), 0.0
        while not (log.exists() and "CACHE_WARM_COMPLETE" in log.read_text()):
            if proc.poll() is not None or time.monotonic() - started > 120:
                raise RuntimeError("the tray did not complete a cycle")
            peak = max(peak, tree_mb(proc.pid))
            time.sleep(0.05)
        cycle_s = time.monotonic() - started
        deadline = time.monotonic() + 30
        while len(tree(proc.pid)) > 1:  # the fetcher ends a grace after the cycle
            if time.monotonic() > deadline:
                left = [Path(f"/proc/{p}/cmdline").read_bytes()[:80] for p in tree(proc.pid)]
                raise RuntimeError(f"the fetcher did not end after the cycle: {left}")
            time.sleep(0.1)
        samples = []
        for _ in range(10):  # idle between cycles
            samples.append(tree_mb(proc.pid))
            time.sleep(0.2)
        return statistics.median(samples), peak, cycle_s, mesa_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


# (case, toolkit baseline, backend, whether another GTK client runs first)
CASES = (
    ("GTK, the first GTK client of its X server", "GTK", True),
    ("GTK, beside another GTK client", "GTK", False),
    ("X11", "X11", True),
)
OTHER_GTK_CLIENT = (
    "import gi, sys; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk; "
    "print('up', flush=True); sys.stdin.read()"
)


def bench_memory(tmp: Path) -> list[tuple[str, str, str]]:
    """Each case on a fresh X server. The first GTK 3 client of an X server used to map Mesa's
    software GL (see ``mesa_mb``) and later ones did not; the tray now starts GTK with GL
    disabled for its own process, so both GTK cases are measured."""
    from desktop import Desktop

    rows = []
    with Emulator(latency=5) as emu:
        for n, (case, toolkit, first) in enumerate(CASES):
            code, backend = TOOLKITS[toolkit]
            desk = Desktop(tmp / f"desk-{n}", with_notifications=False)
            desk.start()
            other = None
            try:
                if not first:  # a GTK client already on this X server, as on a GNOME desktop
                    other = subprocess.Popen(
                        [sys.executable, "-c", OTHER_GTK_CLIENT],
                        env=desk.env,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                    assert other.stdout is not None and other.stdout.readline().strip() == "up"
                idle, peak, cycle_s, mesa = tray_footprint(desk.env, backend, emu.url, tmp)
                env = dict(desk.env, **backend)
                base = statistics.median(baseline_mb(code, env) for _ in range(3))
            finally:
                if other is not None:
                    other.kill()
                    other.wait(10)
                desk.stop()
            rows.append(
                (
                    f"idle RSS after a cycle, tray + children ({case}) "
                    f"vs a process importing only {toolkit}",
                    f"{idle:.0f} MB vs {base:.0f} MB (Mesa GL in the tray: {mesa:.0f} MB)",
                    f"{idle / base:.2f}x",
                )
            )
            rows.append(
                (
                    f"peak RSS during a 38-check cycle ({cycle_s:.0f} s), tray + children "
                    f"({case}) vs idle",
                    f"{peak:.0f} MB vs {idle:.0f} MB",
                    f"{peak / idle:.2f}x",
                )
            )
    return rows


def bench_fetcher() -> list[tuple[str, str, str]]:
    from trayapp.sources.compute import ComputeSource
    from trayapp.sources.fetcher.source import HelperSource
    from trayapp.sources.recipe import SourceRecipe

    rows = []
    with Emulator(latency=0) as emu:
        starts, bare = [], []
        for _ in range(5):
            source = HelperSource(SourceRecipe(emu.url, timeout_s=5.0))
            source.prepare()
            starts.append(source.last_start_s or 0.0)
            source.close()
            began = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            bare.append(time.perf_counter() - began)
        start, floor = statistics.median(starts), statistics.median(bare)
        rows.append(
            (
                "fetcher start-up (spawn, import, client built) vs `python -c pass`",
                f"{start * 1e3:.0f} ms vs {floor * 1e3:.0f} ms",
                f"{start / floor:.1f}x",
            )
        )
        helper = HelperSource(SourceRecipe(emu.url, timeout_s=5.0))
        direct = ComputeSource(emu.url, timeout_s=5.0)
        helper.prepare()
        direct.prepare()
        through, here = [], []
        for i in range(400):  # interleaved, so noise hits both alike
            region = ("us-east1", "us-west1")[i % 2]
            began = time.perf_counter()
            helper.fetch("bench", region)
            through.append(time.perf_counter() - began)
            began = time.perf_counter()
            direct.fetch("bench", region)
            here.append(time.perf_counter() - began)
        helper.close()
        direct.close()
        a, b = statistics.median(through) * 1e3, statistics.median(here) * 1e3
        rows.append(
            (
                "one fetch through the fetcher vs the same fetch in-process (latency 0); "
                "the difference is the IPC cost",
                f"{a:.2f} ms vs {b:.2f} ms (+{a - b:.2f} ms)",
                f"{a / b:.2f}x",
            )
        )
    return rows


def bench_usage_client() -> list[tuple[str, str, str]]:
    """The fetcher's RSS after a regions.get and a QuotaInfo, then after one ListTimeSeries."""
    from trayapp.sources import vertex
    from trayapp.sources.fetcher.source import HelperSource
    from trayapp.sources.recipe import SourceRecipe
    from trayapp.sources.usage import usage_requests

    with Emulator(latency=0) as emu:
        recipe = SourceRecipe(emu.url, timeout_s=5.0, monitoring_endpoint=emu.monitoring_url)
        helper = HelperSource(recipe)
        helper.fetch("bench", "us-east1")
        helper.fetch_quota("bench", vertex.request("NVIDIA_T4_GPUS", False))
        without = rss_kb(helper.pid or 0) / 1024
        quota = {"service": "vertex", "quota_metric": "aiplatform.googleapis.com/x"}
        helper.fetch_usage("bench", usage_requests([quota])[0])
        loaded = rss_kb(helper.pid or 0) / 1024
        helper.close()
    return [
        (
            "fetcher RSS with the Cloud Monitoring client loaded vs without (Compute and "
            "Cloud Quotas loaded, one call each answered)",
            f"{loaded:.0f} MB vs {without:.0f} MB (+{loaded - without:.0f} MB)",
            f"{loaded / without:.2f}x",
        )
    ]


def bench_batches() -> list[tuple[str, str, str]]:
    from run import timed_cycle

    from trayapp.sources.fetcher.source import HelperSource
    from trayapp.sources.recipe import SourceRecipe

    cycle = timed_cycle(lambda url: HelperSource(SourceRecipe(url, timeout_s=5.0)))
    batches, latency_ms = cycle["batches"], cycle["latency_ms"]
    batch = statistics.median(batches)
    return [
        (
            "batch wall time through the fetcher vs injected latency (goal ≤ 1.1x + 20 ms)",
            f"{batch:.0f} ms vs {latency_ms} ms (max {max(batches)} ms)",
            f"{batch / latency_ms:.2f}x",
        )
    ]


def main() -> int:
    rows = []
    with tempfile.TemporaryDirectory() as d:
        rows += bench_fetcher()
        rows += bench_usage_client()
        rows += bench_batches()
        rows += bench_memory(Path(d))
    print("| measure | figures | ratio |")
    print("| --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
