"""Single instance and the control channel: real locks, real sockets, real processes."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import AuthenticationError, Client
from pathlib import Path
from types import SimpleNamespace

import pytest
from channel import authenticated
from fakes import FakeSource

from trayapp import control, instance
from trayapp.control import ControlError, ControlServer, NotRunning, wire
from trayapp.instance import AlreadyRunning, InstanceLock
from trayapp.warming.events import EventBus
from trayapp.warming.plan import build_plan
from trayapp.warming.scheduler import Warmer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes and signals")

ROOT = Path(__file__).resolve().parents[2]

HOLD_LOCK = """
import sys
from trayapp.instance import InstanceLock
lock = InstanceLock(sys.argv[1]).acquire()
print("held", flush=True)
sys.stdin.read()
"""

SECOND_START = """
import sys
from trayapp.instance import InstanceLock, claim
sys.exit(0 if isinstance(claim(sys.argv[1]), InstanceLock) else 1)
"""

SERVE = """
import sys
from trayapp.control import ControlServer
server = ControlServer({"status": lambda: {"child": True}}, sys.argv[1]).start()
print("serving", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def base():
    """A short private directory: Unix socket paths must stay under ~100 bytes."""
    path = Path(tempfile.mkdtemp(prefix="qt-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def ctl(base):
    return base / "run"  # not there yet: the code under test creates it


class FakeApp:
    """Handlers that record what they were asked."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def handlers(self) -> dict:
        def make(name, result):
            def handler():
                self.calls.append(name)
                return result

            return handler

        return {
            "status": make("status", {"level": "fire", "done": 3, "total": 38, "pid": os.getpid()}),
            "rewarm": make("rewarm", {}),
            "pause": make("pause", {"paused": True}),
            "resume": make("resume", {"paused": False}),
            "quit": make("quit", None),
        }


@pytest.fixture
def server(ctl):
    app = FakeApp()
    srv = ControlServer(app.handlers(), ctl, timeout=0.5).start()
    srv.app = app
    yield srv
    srv.stop()


def spawn(script: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def read_line(proc: subprocess.Popen, timeout: float = 20.0) -> str:
    """One line of the child's stdout, or fail after ``timeout`` (never hang the suite)."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout).strip()
    except queue.Empty:
        proc.kill()
        raise AssertionError(f"no line from the child in {timeout}s") from None


def kill9(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def wait_until(predicate, timeout: float = 5.0, step: float = 0.01):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        threading.Event().wait(step)


def drain(sock: socket.socket) -> None:
    """Read until the server hangs up (a reset counts: it closed with our bytes unread)."""
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass


def status_within_1s(directory) -> dict:
    started = time.monotonic()
    answer = control.send("status", directory)
    assert time.monotonic() - started < 1.0
    return answer


def authed(srv: ControlServer):
    return authenticated(srv.directory)


# -- single instance ---------------------------------------------------------------------------


def test_second_process_is_refused_naming_the_holder_pid(ctl):
    holder = spawn(HOLD_LOCK, str(ctl))
    try:
        assert read_line(holder) == "held"
        with pytest.raises(AlreadyRunning) as err:
            InstanceLock(ctl).acquire()
        assert err.value.pid == holder.pid
        assert str(err.value) == (
            f"quota-tray is already running (pid {holder.pid}); use `quota-tray rewarm`,"
            " `status` or `quit` to reach it"
        )
        second = spawn(SECOND_START, str(ctl))
        _, stderr = second.communicate(timeout=20)
        assert second.returncode == 1
        assert stderr.strip() == str(err.value)
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_lock_of_a_killed_holder_is_taken_over(ctl):
    holder = spawn(HOLD_LOCK, str(ctl))
    assert read_line(holder) == "held"
    kill9(holder)
    lock_file = ctl / instance.LOCK_NAME
    assert lock_file.read_text().split()[0] == str(holder.pid)  # left behind, stale
    lock = InstanceLock(ctl).acquire()
    try:
        assert lock.held
        assert lock_file.read_text() == f"{os.getpid()}\n"
    finally:
        lock.release()


def test_lock_is_exclusive_in_one_process_too_and_release_frees_it(ctl):
    with InstanceLock(ctl) as lock:
        with pytest.raises(AlreadyRunning) as err:
            InstanceLock(ctl).acquire()
        assert err.value.pid == os.getpid()
        assert instance.claim(ctl) == instance.EXIT_ALREADY_RUNNING
    assert not lock.held
    again = InstanceLock(ctl).acquire()
    again.release()


def test_claim_says_already_running_in_one_line(ctl, capsys):
    lock = instance.claim(ctl)
    assert isinstance(lock, InstanceLock)
    try:
        assert instance.claim(ctl) == instance.EXIT_ALREADY_RUNNING
        err = capsys.readouterr().err
        assert err == (
            f"quota-tray is already running (pid {os.getpid()}); use `quota-tray rewarm`,"
            " `status` or `quit` to reach it\n"
        )
    finally:
        lock.release()


def test_files_are_0600_and_the_directory_0700(ctl, server):
    lock = InstanceLock(ctl).acquire()
    try:
        assert stat.S_IMODE(ctl.stat().st_mode) == 0o700
        for name in (instance.LOCK_NAME, control.KEY_NAME, control.SOCKET_NAME):
            assert stat.S_IMODE((ctl / name).stat().st_mode) == 0o600, name
        assert len((ctl / control.KEY_NAME).read_bytes()) == control.KEY_BYTES
        assert (ctl / control.SOCKET_NAME).is_socket()
    finally:
        lock.release()


def test_an_existing_open_directory_is_tightened(base):
    loose = base / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    with InstanceLock(loose):
        assert stat.S_IMODE(loose.stat().st_mode) == 0o700


def test_each_start_writes_a_fresh_key(ctl):
    keys = []
    for _ in range(2):
        with ControlServer({"status": dict}, ctl) as srv:
            keys.append((ctl / control.KEY_NAME).read_bytes())
            assert control.send("status", ctl) == {"ok": True}
        assert not (ctl / control.KEY_NAME).exists()
        assert not Path(srv.address).exists()
    assert keys[0] != keys[1]


# -- commands ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", control.COMMANDS)
def test_each_command_is_answered_within_1s(server, command):
    started = time.monotonic()
    answer = control.send(command, server.directory)
    assert time.monotonic() - started < 1.0
    assert answer["ok"] is True
    assert server.app.calls == [command]
    if command == "status":
        assert answer["level"] == "fire"
        assert answer["pid"] == os.getpid()


def test_unknown_command_and_failing_handler_are_error_answers(ctl):
    def broken():
        raise RuntimeError("disk on fire")

    with ControlServer({"status": dict, "rewarm": broken}, ctl):
        with pytest.raises(ControlError, match="unknown command 'fly'"):
            control.send("fly", ctl)
        with pytest.raises(ControlError, match="rewarm failed: RuntimeError: disk on fire"):
            control.send("rewarm", ctl)
        assert status_within_1s(ctl)["ok"] is True


def test_wrong_authkey_is_refused_and_the_server_keeps_serving(server):
    conn = Client(server.address, server.family)
    with pytest.raises(AuthenticationError), conn:
        wire.client_handshake(conn, os.urandom(32))
    assert status_within_1s(server.directory)["ok"] is True
    assert server.app.calls == ["status"]

    key_file = server.directory / control.KEY_NAME
    good = key_file.read_bytes()
    key_file.write_bytes(os.urandom(32))
    with pytest.raises(ControlError, match="refused our key"):
        control.send("quit", server.directory)
    key_file.write_bytes(good)
    assert status_within_1s(server.directory)["ok"] is True
    assert "quit" not in server.app.calls


@pytest.mark.parametrize(
    "payload",
    [b"\xff\xfe\x00garbage", b"", b"[1, 2]", b'"status"', b'{"command": 7}', b"[" * 4000],
)
def test_garbage_after_authentication_gets_an_error_answer(server, payload):
    with authed(server) as conn:
        conn.send_bytes(payload)
        answer = json.loads(conn.recv_bytes())
    assert answer["ok"] is False
    assert isinstance(answer["error"], str)
    assert status_within_1s(server.directory)["ok"] is True
    assert server.app.calls == ["status"]


def test_oversized_message_is_refused(server):
    with authed(server) as conn:
        conn.send_bytes(json.dumps({"command": "quit", "pad": "x" * 5000}).encode())
        with pytest.raises((EOFError, OSError)):
            conn.recv_bytes()
    assert status_within_1s(server.directory)["ok"] is True
    assert server.app.calls == ["status"]


def test_raw_garbage_before_authentication_is_dropped(server):
    for junk in (b"\x00" * 3, b"\xff\xff\xff\xff" + b"x" * 100, b"GET / HTTP/1.1\r\n\r\n"):
        with socket.socket(socket.AF_UNIX) as raw:
            raw.settimeout(5)
            raw.connect(server.address)
            raw.sendall(junk)
            raw.shutdown(socket.SHUT_WR)
            drain(raw)  # the challenge, then the server hangs up
    assert status_within_1s(server.directory)["ok"] is True


def test_a_silent_client_neither_blocks_others_nor_stays_forever(server):
    with socket.socket(socket.AF_UNIX) as silent:
        silent.settimeout(5)
        silent.connect(server.address)
        assert status_within_1s(server.directory)["ok"] is True
        started = time.monotonic()
        drain(silent)  # the challenge; then EOF once its time (0.5 s) is up
        assert time.monotonic() - started < 3


def test_service_resumes_when_all_slots_were_held_by_silent_clients(ctl):
    with ControlServer({"status": dict}, ctl, timeout=0.3, max_clients=2):
        hogs = [socket.socket(socket.AF_UNIX) for _ in range(3)]
        try:
            for hog in hogs:
                hog.connect(str(ctl / control.SOCKET_NAME))

            def answers():
                try:
                    return control.send("status", ctl)["ok"]
                except ControlError:
                    return False

            wait_until(answers, timeout=5)
        finally:
            for hog in hogs:
                hog.close()


def test_stop_is_prompt_and_leaves_nothing_to_connect_to(ctl):
    srv = ControlServer({"status": dict}, ctl).start()
    assert control.send("status", ctl)["ok"]
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 1.0
    assert not srv._thread.is_alive()
    assert sorted(p.name for p in ctl.iterdir()) == []
    with pytest.raises(NotRunning):
        control.send("status", ctl)


def test_quit_handler_may_stop_the_server_itself(ctl):
    def quit_now():
        srv.stop()

    srv = ControlServer({"quit": quit_now}, ctl).start()
    assert control.send("quit", ctl) == {"ok": True}
    with pytest.raises(NotRunning):
        control.send("status", ctl)


def test_a_second_server_does_not_steal_a_live_socket(server):
    with pytest.raises(ControlError, match="already serves"):
        ControlServer({"status": dict}, server.directory).start()
    assert status_within_1s(server.directory)["ok"] is True


# -- nothing running ---------------------------------------------------------------------------


def test_not_running_when_nothing_is_there(base):
    with pytest.raises(NotRunning):
        control.send("status", base / "absent")
    with pytest.raises(NotRunning):
        control.send("status", base)


def test_not_running_with_files_left_by_a_killed_server(ctl):
    child = spawn(SERVE, str(ctl))
    assert read_line(child) == "serving"
    assert control.send("status", ctl) == {"ok": True, "child": True}
    kill9(child)
    assert (ctl / control.SOCKET_NAME).is_socket()
    assert (ctl / control.KEY_NAME).exists()
    started = time.monotonic()
    with pytest.raises(NotRunning):
        control.send("status", ctl)
    assert time.monotonic() - started < 1.0
    with ControlServer({"status": dict}, ctl):  # the stale socket is replaced
        assert status_within_1s(ctl) == {"ok": True}


def test_a_hung_instance_gives_a_timely_error(ctl):
    """Something accepts but never answers (a stopped process): no hang past the timeout."""
    ctl.mkdir(mode=0o700)
    (ctl / control.KEY_NAME).write_bytes(os.urandom(32))
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(ctl / control.SOCKET_NAME))
        listener.listen(4)
        started = time.monotonic()
        with pytest.raises(ControlError, match=r"did not answer within 0\.3s"):
            control.send("status", ctl, timeout=0.3)
        assert time.monotonic() - started < 1.0


# -- what the command line prints --------------------------------------------------------------


def test_client_command_without_an_instance(base, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    for name in ("GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    assert control.client_command("status", False, base / "none") == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "quota-tray: no running instance (start it with `quota-tray --project ID`, "
        "ID being your Google Cloud project)\n"
    )


def test_client_command_output(server, capsys):
    directory = server.directory
    assert control.client_command("status", False, directory) == 0
    text = capsys.readouterr().out
    assert f"pid {os.getpid()}" in text
    assert "level: fire" in text
    assert "progress: 3/38 checks" in text
    assert control.client_command("status", True, directory) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 38
    for command, line in [
        ("rewarm", "quota-tray: re-warm started\n"),
        ("pause", "quota-tray: warming paused\n"),
        ("resume", "quota-tray: warming resumed\n"),
        ("quit", "quota-tray: quitting\n"),
    ]:
        assert control.client_command(command, False, directory) == 0
        assert capsys.readouterr().out == line
    assert control.client_command("fly", False, directory) == 1
    assert capsys.readouterr().err == "quota-tray: unknown command 'fly'\n"


def test_status_payload_and_handlers_of_a_runtime(ctl, tmp_path):
    plan = build_plan(["p1", "p2"])
    warmer = Warmer(plan, source=FakeSource(), bus=EventBus())
    warmer.state.new_cycle(0.0)
    first = plan.gpu[0]
    warmer.state.apply_ok(first, {first.metric: (8.0, 1.0)}, "2026-01-01T00:00:00+00:00")
    runtime = SimpleNamespace(warmer=warmer, files=SimpleNamespace(cache=tmp_path / "c.json"))
    quit_asked = threading.Event()
    handlers = control.runtime_handlers(runtime, quit_asked.set, time.monotonic() - 5)
    with ControlServer(handlers, ctl):
        status = status_within_1s(ctl)
        assert status["progress"] == {
            first.project: {"done": 1, "total": 38, "complete": False},
            "p2": {"done": 0, "total": 38, "complete": False},
        }
        assert status["quota"] == {"gpu": "Compute Engine VMs", "c3": "Compute Engine VMs"}
        assert (status["done"], status["total"], status["paused"]) == (1, 76, False)
        assert status["level"] is None and status["last_batch_ms"] is None
        assert status["pid"] == os.getpid()
        assert status["uptime_s"] >= 5
        assert status["cache_path"] == str(tmp_path / "c.json")
        control.send("pause", ctl)
        assert warmer.paused
        control.send("resume", ctl)
        assert not warmer.paused
        rewarms: list[bool] = []
        warmer.force_rewarm = lambda: rewarms.append(True)
        control.send("rewarm", ctl)
        assert rewarms == [True]
        control.send("quit", ctl)
        assert quit_asked.is_set()
    text = control.format_status(status)
    assert "p1 1/38, p2 0/38" in text
    assert "level: no batch yet" in text


def test_a_folder_too_deep_for_a_unix_socket_still_gets_a_channel(base):
    """A long home puts the socket in a private folder of the user's under /tmp, found the same
    way by every client; the key stays in the instance's own folder."""
    deep = base / ("x" * 120)
    lines: list[str] = []
    srv = control.serve({"status": dict}, deep, on_error=lines.append)
    assert srv is not None, lines
    try:
        assert status_within_1s(deep) == {"ok": True}
        sock, _ = control.address(deep)
        assert sock.startswith(f"/tmp/quota-tray-{os.getuid()}/")
        assert stat.S_IMODE(os.stat(Path(sock).parent).st_mode) == 0o700
        assert (deep / control.KEY_NAME).exists()
    finally:
        srv.stop()
    assert not lines


def test_serve_starts_a_server(ctl):
    srv = control.serve({"status": dict}, ctl)
    assert srv is not None
    try:
        assert status_within_1s(ctl) == {"ok": True}
    finally:
        srv.stop()
