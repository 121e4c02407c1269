"""Start-up as users run it: the installed `quota-tray` console script of a regular (not
editable) install, against a bare `python -c pass` of the same virtualenv, in the same run.

    python benchmarks/startup.py [--runs 31]

A throwaway virtualenv under the temporary folder gets `pip install --no-deps` of this
checkout (`show`, `status` and `--help` need no third-party package on Linux). The commands
run in turn, A B A B ..., and each figure is the median of the per-pair ratios, so a machine
whose speed drifts during the run still compares like with like.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]


def install(venv: Path) -> Path:
    """A regular install of this checkout in ``venv``; returns its bin folder."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps"]
    subprocess.run([*pip, str(ROOT)], check=True, cwd=venv, capture_output=True)
    return venv / "bin"


def cache_home(home: Path) -> dict[str, str]:
    """An environment whose cache holds a full 38-check project, as `show` prints it."""
    from run import full_cache

    from trayapp import cache

    env = dict(os.environ, XDG_CACHE_HOME=str(home / "c"), XDG_RUNTIME_DIR=str(home / "r"))
    env.update(XDG_CONFIG_HOME=str(home / "cf"), XDG_STATE_HOME=str(home / "s"))
    cache.write_atomic(home / "c" / "quota-tray" / cache.FILENAME, full_cache(1))
    (home / "r").mkdir(mode=0o700)
    return env


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, capture_output=True, check=False)
    return time.perf_counter() - started


def measure(runs: int = 31) -> list[tuple[str, float, float, float]]:
    """(command, median ms, bare median ms, median of the pair-by-pair ratios)."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        bin_dir = install(base / "venv")
        env = cache_home(base / "home")
        bare = [str(bin_dir / "python"), "-c", "pass"]
        script = str(bin_dir / "quota-tray")
        commands = {"show": [script, "show"], "status": [script, "status"]}
        commands["--help"] = [script, "--help"]
        for argv in (bare, *commands.values()):  # warm the file cache once
            timed(argv, env)
        rows = []
        for name, argv in commands.items():
            ours, theirs = [], []
            for _ in range(runs):
                ours.append(timed(argv, env))
                theirs.append(timed(bare, env))
            ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
            rows.append(
                (
                    name,
                    statistics.median(ours) * 1e3,
                    statistics.median(theirs) * 1e3,
                    statistics.median(ratios),
                )
            )
        return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31, help="pairs per command (default 31)")
    args = parser.parse_args()
    print("| measure | figures | ratio |")
    print("| --- | --- | --- |")
    for name, ours, bare, ratio in measure(args.runs):
        print(
            f"| installed `quota-tray {name}` vs `python -c pass` (regular install, whole "
            f"process) | {ours:.0f} ms vs {bare:.0f} ms | {ratio:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
