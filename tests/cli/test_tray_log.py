"""Where no tray icon can be shown, the log says why (and that the app runs headless), so an
icon missing at login can be explained from the log alone; the terminal says it too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from userdirs import headless_env, run_cli, wait_until


def tray_lines(log: Path) -> list[str]:
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    return [line for line in text.splitlines() if " CACHE_WARM_TRAY: " in line]


def test_without_a_graphical_session_the_log_says_why_there_is_no_icon(tmp_path):
    env = headless_env(tmp_path / "home")  # no DISPLAY, no WAYLAND_DISPLAY
    log = Path(env["XDG_STATE_HOME"]) / "quota-tray" / "log" / "demo" / "cache_warm.log"
    demo = subprocess.Popen(
        [sys.executable, "-m", "trayapp", "demo", "--speed", "20"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: tray_lines(log), "a CACHE_WARM_TRAY line in the log", proc=demo)
        assert run_cli(env, "quit", "--demo").returncode == 0
        _, err = demo.communicate(timeout=30)
    finally:
        demo.kill()
    why = "no graphical session: neither DISPLAY nor WAYLAND_DISPLAY is set; running headless"
    [line] = tray_lines(log)
    assert line.endswith(f"🖥️ CACHE_WARM_TRAY: none: {why}")
    assert f"quota-tray: {why}" in err  # and on the terminal, as before


def test_a_run_asked_to_be_headless_says_so_in_the_log_only(tmp_path, make_emulator):
    env = headless_env(tmp_path / "home")
    emulator = make_emulator()
    args = ("--project", "p", "--endpoint", emulator.url, "--interval", "0.05")
    out = run_cli(env, "run", "--once", *args)
    assert out.returncode == 0, out.stderr
    log = Path(env["XDG_STATE_HOME"]) / "quota-tray" / "log" / "cache_warm.log"
    [line] = tray_lines(log)
    assert line.endswith("CACHE_WARM_TRAY: none: headless as asked; running headless")
    assert "CACHE_WARM_TRAY" not in out.stdout + out.stderr
