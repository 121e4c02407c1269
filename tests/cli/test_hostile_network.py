"""A hostile or careless server through the real client and the real app: escape-laden
200 kB error messages, bodies of 100 MB, a flood of connections and request bodies at the
emulator, and numbers that would overflow."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import urllib.request

import pytest
from emulator_fixtures import *  # noqa: F403
from test_cli import cache_file, log_file, qt, start_headless, wait_status
from userdirs import headless_env

from trayapp.emulator import server as emulator_module
from trayapp.emulator.faults import Fault
from trayapp.sources.base import SourceError
from trayapp.sources.size_cap import MAX_ANSWER_BYTES

HOSTILE = (
    "\x1b]0;owned\x07\x1b[2J\x1b[31m\u202edecoy\u200b<b>bold</b>&amp;\r\n" + "A\x00B\x1b[K" * 40_000
)  # ~200 kB: a window title, a clear screen, BEL, a right-to-left override, markup
BAD_CHARS = ("\x1b", "\x07", "\x00", "\u202e", "\u200b", "\r")


@pytest.fixture
def env(tmp_path):
    return headless_env(tmp_path / "home")


def inert(text: str) -> bool:
    return not any(ch in text for ch in BAD_CHARS)


def test_a_200kb_escape_laden_error_stays_inert_and_short_everywhere(env, make_emulator):
    assert len(HOSTILE) > 200_000
    emu = make_emulator(faults=[Fault("http", 500, region="us-central1", message=HOSTILE)])
    proc = start_headless(env, emu, "--project", "p", "--interval", "0.02")
    try:
        status = wait_status(env, lambda s: s["failed"] > 0 and s["done"] == s["total"])
        assert all(len(r) <= 300 and inert(r) for r in status["reasons"])
        shown = qt(env, "status")
        assert shown.returncode == 0 and inert(shown.stdout)
        assert max(len(line) for line in shown.stdout.splitlines()) < 400
        assert qt(env, "quit").returncode == 0
        proc.wait(10)
    finally:
        proc.kill()
        out, _ = proc.communicate()
    assert inert(out) and max(len(line) for line in out.splitlines()) < 2100

    log = log_file(env).read_text()
    assert inert(log.replace("\n", ""))
    assert max(len(line) for line in log.splitlines()) < 2100
    raw = cache_file(env).read_bytes()
    assert len(raw) < 50_000  # not 1.2 MB rewritten after every batch
    errors = [c["error"] for c in json.loads(raw)["projects"]["p"]["checks"] if c["error"]]
    assert errors and all(len(e) <= 300 and inert(e) for e in errors)
    assert "<b>bold</b>" in errors[0]  # kept as text: markup is escaped where it is shown


def fetcher_peak_mb(env, *args: str) -> tuple[int, float, str]:
    """Exit status, the fetcher process's peak resident MB and stderr of ``quota-tray *args``.

    The body is read in the fetcher (a child of the app), so that is the process measured: the
    app's children are reaped before the peak of the largest is read."""
    code = (
        "import multiprocessing, resource, sys, time\n"
        "from trayapp.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "deadline = time.monotonic() + 20\n"
        "while multiprocessing.active_children() and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)  # the app closes its fetcher on a thread of its own\n"
        "assert not multiprocessing.active_children(), 'the fetcher did not end'\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print('PEAK', peak, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    peak = [line for line in done.stderr.splitlines() if line.startswith("PEAK")]
    assert peak, done.stderr
    return done.returncode, int(peak[-1].split()[1]) / 1024, done.stderr


def test_a_100mb_answer_is_refused_without_reading_it(env, make_emulator, make_compute_source):
    huge = Fault("huge_body", region="us-central1", size=100 * 1024 * 1024)
    emu = make_emulator(faults=[huge])
    with pytest.raises(SourceError) as caught:
        make_compute_source(emu.url).fetch("p", "us-central1")
    assert caught.value.kind == "bad_response"
    assert f"larger than {MAX_ANSWER_BYTES // (1024 * 1024)} MB refused" in str(caught.value)

    args = ["run", "--once", "--project", "p", "--endpoint", emu.url, "--interval", "0.02"]
    emu.faults.clear()
    rc, baseline, err = fetcher_peak_mb(env, *args)
    assert rc == 0, err
    assert baseline > 60, baseline  # the fetcher, with google-cloud-compute loaded, was measured
    emu.faults.add(huge)
    rc, peak, err = fetcher_peak_mb(env, *args)
    assert rc == 1, err  # the region failed, the cycle ended
    entries = json.loads(cache_file(env).read_text())["projects"]["p"]["checks"]
    assert any("larger than" in (c["error"] or "") for c in entries)
    assert peak < baseline + 40, (baseline, peak)  # a 100 MB body would cost hundreds


def test_config_and_flag_numbers_have_upper_bounds(env, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("timeout_s = 1e300\n")
    out = qt(env, "run", "--once", "--project", "p", "--config", str(config))
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "timeout_s must be at most 600" in out.stderr
    out = qt(env, "run", "--once", "--project", "p", "--interval", "1e300")
    assert out.returncode == 2 and "--interval must be at most 3600, not 1e+300" in out.stderr
    config.write_text("[thresholds]\nslow_ms = 1e20\n")
    out = qt(env, "run", "--once", "--project", "p", "--config", str(config))
    assert out.returncode == 2 and "thresholds.slow_ms must be at most" in out.stderr
    config.write_text('projects = ["ok", "bad\\u001b[2J"]\n')
    out = qt(env, "run", "--once", "--config", str(config))
    assert out.returncode == 2 and "\x1b" not in out.stderr and "printable" in out.stderr


def test_emulator_port_out_of_range_or_busy_is_one_line(env):
    out = qt(env, "emulator", "--port", "99999")
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "0 to 65535" in out.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = qt(env, "emulator", "--port", str(port))
    assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
    assert "cannot listen on 127.0.0.1" in out.stderr and "Traceback" not in out.stderr


def test_emulator_refuses_a_huge_request_body_unread(emulator):
    host, port = emulator.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(
            b"POST /compute/v1/projects/p/regions/us-central1 HTTP/1.1\r\n"
            b"Host: x\r\nContent-Length: 1000000000\r\n\r\n" + b"x" * 1000
        )
        answer = s.recv(200)
    assert answer.startswith(b"HTTP/1.1 413")


def test_emulator_caps_its_connection_threads(emulator):
    host, port = emulator.url.removeprefix("http://").split(":")
    before = threading.active_count()
    idle = []
    try:
        for _ in range(emulator_module.MAX_CONNECTIONS + 40):
            idle.append(socket.create_connection((host, int(port)), timeout=5))
        # each accepted connection gets a thread until the cap; the rest are closed at once
        closed = 0
        for s in idle[emulator_module.MAX_CONNECTIONS + 5 :]:
            s.settimeout(5)
            closed += s.recv(1) == b""
        assert closed == 35
        assert threading.active_count() - before <= emulator_module.MAX_CONNECTIONS
    finally:
        for s in idle:
            s.close()
    # and it still serves once they are gone
    url = f"{emulator.url}/compute/v1/projects/p/regions/us-central1"
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.status == 200
