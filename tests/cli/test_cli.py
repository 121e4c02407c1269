"""The command line as users run it: real processes, isolated XDG directories."""

from __future__ import annotations

import json
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from userdirs import headless_env, run_cli, start_demo

from trayapp import cache


@pytest.fixture
def env(tmp_path):
    return headless_env(tmp_path / "home")


def cache_file(env, demo=False):
    base = Path(env["XDG_CACHE_HOME"]) / "quota-tray"
    return (base / "demo" if demo else base) / cache.FILENAME


def log_file(env, demo=False):
    base = Path(env["XDG_STATE_HOME"]) / "quota-tray" / "log"
    return (base / "demo" if demo else base) / "cache_warm.log"


def qt(env, *args, timeout=120):
    return run_cli(env, *args, timeout=timeout)


@pytest.fixture
def emulator(make_emulator):
    return make_emulator(latency=2)


def test_run_once_warms_writes_and_shows(env, emulator):
    out = qt(
        env, "run", "--once", "--project", "p", "--endpoint", emulator.url, "--interval", "0.05"
    )
    assert out.returncode == 0, out.stderr
    assert "CACHE_WARM_COMPLETE" in out.stdout and "FINAL_STATS" in log_file(env).read_text()
    assert "run --once finished: complete" in out.stdout.splitlines()[-1]  # the last word
    for text in (out.stdout, log_file(env).read_text()):  # it finished: nothing was cancelled
        assert "CACHE_WARM_CANCELLED" not in text
    path = cache_file(env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for d in (path.parent, log_file(env).parent):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert stat.S_IMODE(log_file(env).stat().st_mode) == 0o600
    assert cache.load(path).is_complete("p")

    shown = qt(env, "show")
    assert shown.returncode == 0
    assert shown.stdout.startswith("p: complete · updated ")
    assert " · cycle 1 38/38\n" in shown.stdout
    assert "H200" in shown.stdout
    as_json = json.loads(qt(env, "show", "--json", "--project", "p").stdout)
    assert as_json["projects"]["p"]["complete"] is True
    assert len(as_json["projects"]["p"]["checks"]) == 38


def test_run_once_with_failures_says_it_finished_and_promises_no_retry(env, emulator):
    emulator.add_fault("503@us-east5")  # a failure a retry could mend, were there one
    out = qt(
        env, "run", "--once", "--project", "p", "--endpoint", emulator.url, "--interval", "0.05"
    )
    assert out.returncode == 1
    for text in (out.stdout, log_file(env).read_text()):
        [end] = [line for line in text.splitlines() if "CACHE_WARM_INCOMPLETE" in line]
        assert " - 1 failed (p/us-east5: " in end
        assert "run --once finished with 1 failed" in end
        assert "retry" not in text.replace("CACHE_WARM_RETRY", "")
        assert "CACHE_WARM_CANCELLED" not in text
    assert "FINAL_STATS" in log_file(env).read_text()  # in the log: nothing after the end line
    assert len([r for r in emulator.requests() if r.region == "us-east5"]) == 3


def test_run_once_exits_1_when_checks_fail(env, emulator):
    emulator.add_fault("404@us-east5")
    out = qt(
        env, "run", "--once", "--project", "p", "--endpoint", emulator.url, "--interval", "0.05"
    )
    assert out.returncode == 1
    assert "1 failed" in out.stdout
    lines = log_file(env).read_text().splitlines()
    [end] = [line for line in lines if "CACHE_WARM_INCOMPLETE" in line]
    assert re.search(
        r" 💥 CACHE_WARM_INCOMPLETE: GPU 20/20, C3 18/18 in [0-9.]+s - 1 failed "
        r"\(p/us-east5: no such region or project \(HTTP 404",
        end,
    ), end
    assert not any("CACHE_WARM_COMPLETE" in line for line in lines)
    snap = cache.load(cache_file(env))
    assert (snap.warmer["level"], snap.cycle("p")["failed"]) == ("error", 1)
    shown = qt(env, "show", "--project", "p")
    assert shown.stdout.splitlines()[0].startswith("p: incomplete (1 in error)"), shown.stdout
    as_json = json.loads(qt(env, "show", "--json", "--project", "p").stdout)
    assert as_json["projects"]["p"]["state"] == "incomplete"

    emulator.add_fault("403")  # nothing can be read now: the project is failed
    out = qt(
        env, "run", "--once", "--project", "p", "--endpoint", emulator.url, "--interval", "0.05"
    )
    assert out.returncode == 1 and "38 failed" in out.stdout
    shown = qt(env, "show", "--project", "p")
    assert shown.stdout.splitlines()[0].startswith("p: failed (38 in error)"), shown.stdout


def test_no_credentials_is_one_clear_line(env):
    out = qt(env, "run", "--once", "--project", "p", "--interval", "0.05")
    assert out.returncode == 1
    errors = [line for line in out.stdout.splitlines() if "CACHE_WARM_ERROR" in line]
    assert len(errors) == 1
    assert "gcloud auth application-default login" in errors[0] and "--endpoint" in errors[0]
    assert "Traceback" not in out.stderr


def test_demo_once_passes_through_every_level(env):
    out = qt(env, "demo", "--once", "--speed", "10")
    assert out.returncode == 0, out.stderr
    for token in (
        "BATCH_WARM",
        "CACHE_WARM_WARN",
        "CACHE_WARM_SLOWISH",
        "CACHE_WARM_SLOW",
        "CACHE_WARM_COMPLETE",
    ):
        assert token in out.stdout
    assert "FUCK OFF" in out.stdout
    assert cache.load(cache_file(env, demo=True)).is_complete("demo-project")
    assert not cache_file(env).exists()  # the demo never touches the user's own cache
    assert qt(env, "show", "--demo").returncode == 0


def test_plain_tone_removes_profanity(env, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('tone = "plain"\n')
    out = qt(env, "demo", "--once", "--speed", "10", "--config", str(config))
    assert out.returncode == 0
    text = (out.stdout + log_file(env, demo=True).read_text()).lower()
    assert "too slow" in text
    assert not any(w in text for w in ("fuck", "shit"))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--bogus"], "unknown option '--bogus'"),
        (["run", "--interval", "0"], "--interval: must be a positive number"),
        (["run", "--interval", "soon"], "--interval: not a number"),
        (["run", "--endpoint", "ftp://x", "--project", "p"], "endpoint must start with http"),
        (["run", "--config", "/nonexistent/c.toml"], "config file not found"),
        (["show", "--max-age", "-5"], "--max-age: must be a positive number"),
        (["emulator", "--fault", "teapot@nowhere"], "fault"),
        (["emulator", "--host", "0.0.0.0"], "loopback"),
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["shw"], "unknown command 'shw'; did you mean show?"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(env, args, needle):
    out = qt(env, *args)
    assert out.returncode == 2
    assert needle in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert out.stdout == ""


def test_bad_config_key_is_named(env):
    path = Path(env["XDG_CONFIG_HOME"]) / "quota-tray" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text("projects = ['p']\ninterval = 2\n")
    out = qt(env, "run", "--once")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        f"quota-tray: config {path}: unknown key 'interval'; did you mean interval_s?"
    )


def test_no_project_is_a_usage_error(env):
    out = qt(env, "run", "--once")
    assert out.returncode == 2 and "no project" in out.stderr


def test_project_from_environment(env, emulator):
    env["GOOGLE_CLOUD_PROJECT"] = "from-env"
    out = qt(env, "run", "--once", "--endpoint", emulator.url, "--interval", "0.05")
    assert out.returncode == 0
    assert cache.load(cache_file(env)).projects == ["from-env"]


def test_project_from_the_login_credentials(env, emulator, tmp_path):
    """No project anywhere but in the Application Default Credentials: that one is warmed."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    adc = tmp_path / "adc.json"
    adc.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "from-adc",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "warmer@from-adc.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": emulator.url + "/token",  # never used: loopback http is anonymous
            }
        )
    )
    env["GOOGLE_APPLICATION_CREDENTIALS"] = str(adc)
    out = qt(env, "run", "--once", "--endpoint", emulator.url, "--interval", "0.05")
    assert out.returncode == 0, out.stderr
    assert cache.load(cache_file(env)).projects == ["from-adc"]
    paths = [r.path for r in emulator.requests()]
    assert paths and {p.split("projects/")[1].split("/")[0] for p in paths} == {"from-adc"}


def test_show_without_a_usable_cache_exits_3(env):
    out = qt(env, "show")
    assert out.returncode == 3 and "no quota cache yet" in out.stderr
    path = cache_file(env)
    path.parent.mkdir(parents=True)
    path.write_text('{"schema_version": 7}')
    out = qt(env, "show")
    assert out.returncode == 3 and "another format" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_corrupt_cache_is_set_aside_at_start(env, emulator):
    path = cache_file(env)
    path.parent.mkdir(parents=True)
    path.write_text('{"schema_version": 1, "written_at": "trunc')
    out = qt(
        env, "run", "--once", "--project", "p", "--endpoint", emulator.url, "--interval", "0.05"
    )
    assert out.returncode == 0
    assert "Traceback" not in out.stderr
    aside = list(path.parent.glob(cache.FILENAME + ".bad-*"))
    assert len(aside) == 1 and aside[0].read_text().endswith("trunc")
    assert cache.load(path).is_complete("p")
    assert "set aside" in log_file(env).read_text()


def test_previous_values_are_served_after_a_restart(env, emulator):
    args = ("run", "--once", "--project", "p", "--endpoint", emulator.url, "--interval", "0.05")
    assert qt(env, *args).returncode == 0
    first = cache.load(cache_file(env)).get("p", "us-east1", "C3_CPUS")
    emulator.add_fault("404@us-east1")
    assert qt(env, *args).returncode == 1
    again = cache.load(cache_file(env)).get("p", "us-east1", "C3_CPUS")
    assert again["status"] == "ok" and again["fetched_at"] == first["fetched_at"]
    assert again["error"]


def test_sigterm_stops_gracefully_within_a_second(env, emulator):
    emulator.add_fault("hang")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trayapp",
            "run",
            "--headless",
            "--project",
            "p",
            "--endpoint",
            emulator.url,
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert emulator.wait_for_requests(lambda log: len(log) >= 1, timeout=30)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
        assert time.monotonic() - started < 1.5  # the process ends, not only the warmer
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "CACHE_WARM_CANCELLED" in out and "FINAL_STATS" in out
    cache.load(cache_file(env))


def test_version(env):
    out = qt(env, "--version")
    assert out.returncode == 0 and out.stdout.startswith("quota-tray ")


def start_headless(env, emulator, *extra):
    proc = subprocess.Popen(
        [sys.executable, "-m", "trayapp", "run", "--headless", "--endpoint", emulator.url, *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if qt(env, "status").returncode == 0:
            return proc
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the instance never answered status")


def wait_status(env, pred, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = qt(env, "status", "--json")
        if out.returncode == 0 and pred(json.loads(out.stdout)):
            return json.loads(out.stdout)
        time.sleep(0.05)
    raise AssertionError(f"status never matched; last: {out.stdout}{out.stderr}")


def test_control_commands_reach_the_running_instance(env, emulator):
    assert qt(env, "status").returncode == 3
    proc = start_headless(env, emulator, "--project", "p", "--interval", "0.05")
    try:
        status = wait_status(env, lambda s: s["done"] == s["total"] == 38)
        assert status["pid"] == proc.pid
        assert status["progress"]["p"] == {"done": 38, "total": 38, "complete": True}
        assert qt(env, "pause").returncode == 0
        assert wait_status(env, lambda s: s["paused"])["paused"] is True
        assert qt(env, "resume").returncode == 0
        before = len(emulator.requests())
        assert qt(env, "rewarm").returncode == 0
        assert emulator.wait_for_requests(lambda log: len(log) >= before + 18, timeout=30)
        assert "CACHE_REWARM" in log_file(env).read_text()

        # a second instance says who runs and touches nothing
        wait_status(env, lambda s: s["cycle"] == 2 and s["done"] == s["total"])
        qt(env, "pause")
        wait_status(env, lambda s: s["paused"])
        cache_before = cache_file(env).read_bytes()
        log_before = log_file(env).read_bytes()
        second = qt(env, "run", "--headless", "--project", "p", "--endpoint", emulator.url)
        assert second.returncode == 0  # not a failure: systemd must not restart it
        assert f"already running (pid {proc.pid})" in second.stderr
        assert "quota-tray rewarm" in second.stderr
        assert cache_file(env).read_bytes() == cache_before
        assert log_file(env).read_bytes() == log_before

        started = time.monotonic()
        assert qt(env, "quit").returncode == 0
        proc.wait(10)
        assert time.monotonic() - started < 5
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 0
    assert qt(env, "status").returncode == 3


def test_the_demo_runs_beside_a_real_instance_and_commands_say_which(env, emulator):
    """The demo has its own lock and control channel; status, pause and quit name the instance
    they reached: the real one when it runs, else the demo; --demo always the demo."""
    demo = start_demo(env)
    real = None
    try:
        # only the demo runs: the commands reach it, and say so
        alone = qt(env, "pause")
        assert (
            alone.stdout == f"quota-tray: warming paused (the demo, pid {demo.pid}, demo-project)\n"
        )
        assert qt(env, "resume").returncode == 0
        assert qt(env, "status").stdout.startswith("the quota-tray demo is running")

        real = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "trayapp",
                "run",
                "--headless",
                "--project",
                "p",
                "--endpoint",
                emulator.url,
                "--interval",
                "0.05",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        status = wait_status(env, lambda s: s["pid"] == real.pid)  # no longer the demo's
        demo_status = json.loads(qt(env, "status", "--demo", "--json").stdout)
        assert (status["pid"], status["demo"], status["projects"]) == (real.pid, False, ["p"])
        assert (demo_status["pid"], demo_status["demo"]) == (demo.pid, True)
        assert demo_status["projects"] == ["demo-project"]
        assert qt(env, "status", "--demo").stdout.startswith(
            f"the quota-tray demo is running (pid {demo.pid},"
        )
        assert qt(env, "status").stdout.startswith(f"quota-tray is running (pid {real.pid},")

        paused = qt(env, "pause", "--demo")
        assert (
            paused.stdout
            == f"quota-tray: warming paused (the demo, pid {demo.pid}, demo-project)\n"
        )
        assert wait_status(env, lambda s: True)["paused"] is False  # the real one warms on
        assert json.loads(qt(env, "status", "--demo", "--json").stdout)["paused"] is True

        again = qt(env, "demo", "--headless")
        assert again.returncode == 0
        assert f"the quota-tray demo is already running (pid {demo.pid})" in again.stderr
        assert "`quota-tray rewarm --demo`" in again.stderr

        assert qt(env, "quit").stdout == f"quota-tray: quitting (pid {real.pid}, p)\n"
        real.wait(10)
        assert demo.poll() is None  # quit reached the real instance only
        assert qt(env, "quit", "--demo").returncode == 0
        demo.wait(10)
    finally:
        for proc in (demo, real):
            if proc is not None:
                proc.kill()
                proc.communicate()
    assert demo.returncode == 0 and real.returncode == 0
    gone = qt(env, "status", "--demo")
    assert gone.returncode == 3 and "no demo is running" in gone.stderr


def test_sighup_reloads_the_config_and_keeps_a_bad_one_out(env, emulator, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('projects = ["p"]\ninterval_s = 0.05\n')
    proc = start_headless(env, emulator, "--config", str(config))
    try:
        wait_status(env, lambda s: s["done"] == s["total"])
        moved = emulator.url.replace("127.0.0.1", "localhost")  # the same server, renamed
        config.write_text(
            f'projects = ["p", "q"]\ninterval_s = 0.05\nquotas_endpoint = "{moved}"\n'
        )
        proc.send_signal(signal.SIGHUP)
        status = wait_status(env, lambda s: s["progress"].get("q", {}).get("done") == 38)
        assert status["progress"]["p"]["total"] == 38
        assert status["cycle"] == 2  # the cycle count goes on, it does not restart at 1
        text = log_file(env).read_text()
        assert (
            "🔧 CACHE_WARM_CONFIG_RELOADED: new plan, re-warming "
            "(the quotas_endpoint change takes effect at the next start)"
        ) in text
        assert "CACHE_WARM_ERROR" not in text  # a note, not an error
        config.write_text('projects = ["p"]\ninterval_s = "soon"\n')
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "config not reloaded" not in log_file(env).read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert "interval_s must be a number" in log_file(env).read_text()
        assert set(wait_status(env, lambda s: True)["progress"]) == {"p", "q"}  # old kept
    finally:
        qt(env, "quit")
        proc.wait(10)


@pytest.mark.parametrize("args", [["show"], ["status"], ["--help"], ["show", "--help"]])
def test_quick_commands_import_only_what_they_need(env, args):
    """`show`, `status` and `--help` start about as fast as the interpreter: they never load
    the warmer, the tray, the history, the emulator or a third-party library but platformdirs
    (figures in benchmarks/run.py). Run as `python -m trayapp`, the way the benchmark runs it."""
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['quota-tray', *{args!r}]\n"
        "try:\n"
        "    runpy.run_module('trayapp', run_name='__main__', alter_sys=True)\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    loaded = set(done.stderr.splitlines()[-1].split())
    heavy = {
        "trayapp.app",
        "trayapp.warming.scheduler",
        "trayapp.history",
        "trayapp.stats",
        "trayapp.autostart",
        "trayapp.emulator.server",
        "trayapp.ui.plot",
        "http.server",
        "sqlite3",
        "google",
        "PIL",
        "pystray",
        "plyer",
    }
    assert loaded & heavy == set()
    if args[0] != "status":  # the control channel's client speaks multiprocessing's frames
        assert "trayapp.config" not in loaded and "tomllib" not in loaded
        assert "multiprocessing" not in loaded
