"""The control channel under a flood, and its handshake: SHA-256 HMAC, constant-time compare."""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Client
from pathlib import Path

import pytest

from trayapp import control
from trayapp.control import ControlServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets")


@pytest.fixture
def ctl():
    base = Path(tempfile.mkdtemp(prefix="qt-fl-"))  # short: a Unix socket path has ~100 bytes
    yield base / "run"
    shutil.rmtree(base, ignore_errors=True)


def flood(address: str, count: int) -> list[socket.socket]:
    """``count`` connections opened in parallel, each sending garbage and then holding on."""
    held: list[socket.socket] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        try:
            s.connect(address)
            s.sendall(b"\x00\x00\x00\x10" + os.urandom(8) if n % 2 else b"GET / HTTP/1.1\r\n")
        except OSError:
            s.close()
            return
        with lock:
            held.append(s)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return held


def test_status_answers_within_2s_under_200_garbage_connections(ctl):
    with ControlServer({"status": lambda: {"pid": os.getpid()}}, ctl) as srv:
        held = flood(srv.address, 200)
        try:
            started = time.monotonic()
            answer = control.send("status", ctl)
            took = time.monotonic() - started
        finally:
            for s in held:
                s.close()
        assert answer["ok"] is True and answer["pid"] == os.getpid()
        assert took < 2.0, took
        assert len(held) > 0


SERVER = """
import os, sys, threading
from trayapp.control import ControlServer
srv = ControlServer({"status": lambda: {"pid": os.getpid()}}, sys.argv[1]).start()
print(srv.address, flush=True)
sys.stdin.read()  # until the test closes our stdin
srv.stop()
"""


def stopped(pid: int) -> bool:
    """Every thread of ``pid`` has stopped (SIGSTOP is delivered some time after kill())."""
    states = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        states.append((task / "stat").read_text().rsplit(")", 1)[1].split()[0])
    return all(state in "tT" for state in states)


def fill_backlog(address: str) -> list[socket.socket]:
    """Connections queued at a server that accepts nothing, until the kernel says EAGAIN."""
    held: list[socket.socket] = []
    for _ in range(10_000):
        s = socket.socket(socket.AF_UNIX)
        s.setblocking(False)
        try:
            s.connect(address)
        except BlockingIOError:  # the backlog is full
            s.close()
            return held
        held.append(s)
    raise AssertionError("the backlog never filled")


class ConnectSpy(socket.socket):
    """The client's real socket; only tells when the kernel refused a connect as busy."""

    refused = threading.Event()

    def connect(self, address):
        try:
            return super().connect(address)
        except BlockingIOError:
            ConnectSpy.refused.set()
            raise


def test_a_full_backlog_is_retried_not_reported(ctl, monkeypatch):
    """The instance accepts nothing for a moment (stopped, its backlog full for real): the
    client waits its turn instead of reporting the instance gone or broken."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(ctl)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    held: list[socket.socket] = []
    try:
        address = proc.stdout.readline().decode().strip()
        assert address, "the server did not start"
        assert control.send("status", ctl)["pid"] == proc.pid
        os.kill(proc.pid, signal.SIGSTOP)  # its accept loop stands still: nothing is taken
        deadline = time.monotonic() + 10
        while not stopped(proc.pid):
            assert time.monotonic() < deadline, "the server did not stop"
            time.sleep(0.01)
        held = fill_backlog(address)
        monkeypatch.setattr(socket, "socket", ConnectSpy)  # the client imports it when it connects
        ConnectSpy.refused.clear()
        resume = threading.Thread(
            target=lambda: (ConnectSpy.refused.wait(10), os.kill(proc.pid, signal.SIGCONT))
        )
        resume.start()
        answer = control.send("status", ctl, timeout=5)
        resume.join(10)
        assert ConnectSpy.refused.is_set()  # the client did meet the full backlog
        assert answer["ok"] is True and answer["pid"] == proc.pid
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        for s in held:
            s.close()
        proc.stdin.close()
        proc.wait(10)


def test_the_handshake_is_an_hmac_sha256_over_both_nonces(ctl):
    with ControlServer({"status": dict}, ctl) as srv:
        key = (ctl / control.KEY_NAME).read_bytes()
        with Client(srv.address, srv.family) as conn:
            hello = conn.recv_bytes()
            server_nonce = hello[-32:]
            client_nonce = os.urandom(32)
            proof = hmac.new(key, b"client" + server_nonce + client_nonce, hashlib.sha256)
            conn.send_bytes(client_nonce + proof.digest())
            answer = conn.recv_bytes()
            expected = hmac.new(key, b"server" + server_nonce + client_nonce, hashlib.sha256)
            assert hmac.compare_digest(answer, expected.digest())
            conn.send_bytes(b'{"command": "status"}')
            assert b'"ok": true' in conn.recv_bytes()
        with Client(srv.address, srv.family) as conn:  # an MD5 proof is refused
            server_nonce = conn.recv_bytes()[-32:]
            client_nonce = os.urandom(32)
            md5 = hmac.new(key, b"client" + server_nonce + client_nonce, hashlib.md5).digest()
            conn.send_bytes(client_nonce + md5 + md5)
            assert conn.recv_bytes() == b"refused"
        assert control.send("status", ctl)["ok"] is True
