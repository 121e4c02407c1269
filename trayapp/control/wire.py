"""The control channel's wire: where it listens, the HMAC-SHA256 handshake, JSON framing.

Messages travel in ``multiprocessing.connection`` frames (a length, then the bytes), never
pickle. Both sides prove they hold the 0600 key: a SHA-256 HMAC over both sides' nonces,
compared in constant time (``hmac.compare_digest``), on every Python we support.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys

from trayapp.instance import default_directory, resolve_directory

# hashlib, hmac, json, socket and threading load where first used: `quota-tray status` with
# nothing running needs none of them
TYPE_CHECKING = False  # typing costs more to import than `status` may spend waiting on it
if TYPE_CHECKING:
    from collections.abc import Mapping
    from multiprocessing.connection import Connection
    from pathlib import Path
    from typing import Any

COMMANDS = ("status", "rewarm", "pause", "resume", "quit")
SOCKET_NAME = "control.sock"
KEY_NAME = "control.key"
KEY_BYTES = 32
MAX_MESSAGE = 4096  # what a client may send
MAX_ANSWER = 1 << 20  # what a client accepts back (status of many projects)
EXIT_NOT_RUNNING = 3
NOT_RUNNING_LINE = "quota-tray: no running instance (start it with `quota-tray`)"

_WINDOWS = sys.platform == "win32"
_UNIX_PATH_MAX = 104  # sun_path is 108 bytes on Linux, 104 on macOS and the BSDs
_HELLO = b"quota-tray-control-1:"
_NONCE = 32
_REFUSED = b"refused"


class NotRunning(Exception):
    """No instance answers: no socket, nobody listening, or a file left by a dead one."""

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        super().__init__("no running instance" + (f" ({detail})" if detail else ""))


class ControlError(Exception):
    """An instance is there but refused the request or answered something unusable."""


def _auth_error(message: str) -> Exception:
    from multiprocessing import AuthenticationError

    return AuthenticationError(message)


# -- where the channel listens ----------------------------------------------------------------


def _pipe_name(directory: Path) -> str:
    """The user's pipe; a directory other than the default one (tests) gets its own."""
    import getpass

    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "user"
    name = f"quota-tray-{re.sub(r'[^A-Za-z0-9_.-]', '_', user)}"
    with contextlib.suppress(OSError):
        if directory.resolve() == default_directory().resolve():
            return rf"\\.\pipe\{name}"
    import hashlib

    digest = hashlib.sha256(os.fsencode(directory.resolve())).hexdigest()[:12]
    return rf"\\.\pipe\{name}-{digest}"


def address(directory: str | os.PathLike[str] | None = None) -> tuple[str, str]:
    """(address, family) of the control channel for ``directory``."""
    path = resolve_directory(directory)
    if _WINDOWS:
        return _pipe_name(path), "AF_PIPE"
    sock = path / SOCKET_NAME
    if len(os.fsencode(sock)) >= _UNIX_PATH_MAX:
        sock = _short_socket(path)
    return str(sock), "AF_UNIX"


def _short_socket(directory: Path) -> Path:
    """A folder too deep for a Unix socket's path (a long home): the socket goes to a private
    folder of this user's under /tmp, named by the folder it stands for, so every shell of the
    user still finds it the same way. The key stays in ``directory``."""
    import hashlib
    from pathlib import Path

    from trayapp.safety.files import UnsafePath, private_dir

    digest = hashlib.sha256(os.fsencode(directory.resolve())).hexdigest()[:16]
    folder = Path("/tmp") / f"quota-tray-{os.getuid()}"  # noqa: S108 - private, 0700, ours
    try:
        private_dir(folder)  # refuses a folder someone else planted there
    except (UnsafePath, OSError) as exc:
        raise ControlError(f"no private folder for the control socket: {exc}") from None
    return folder / f"{digest}.sock"


# -- the handshake -----------------------------------------------------------------------------


def _mac(key: bytes, side: bytes, server_nonce: bytes, client_nonce: bytes) -> bytes:
    import hashlib
    import hmac

    return hmac.new(key, side + server_nonce + client_nonce, hashlib.sha256).digest()


def _same(proof: bytes, expected: bytes) -> bool:
    import hmac  # constant time, on every Python we support

    return hmac.compare_digest(proof, expected)


def server_handshake(conn: Connection, key: bytes) -> None:
    """Challenge the client, check its proof, prove ourselves; AuthenticationError if wrong."""
    server_nonce = os.urandom(_NONCE)
    conn.send_bytes(_HELLO + server_nonce)
    reply = conn.recv_bytes(2 * 64)
    client_nonce, proof = reply[:_NONCE], reply[_NONCE:]
    expected = _mac(key, b"client", server_nonce, client_nonce)
    if len(client_nonce) != _NONCE or not _same(proof, expected):
        with contextlib.suppress(OSError):
            conn.send_bytes(_REFUSED)
        raise _auth_error("the client does not hold the key")
    conn.send_bytes(_mac(key, b"server", server_nonce, client_nonce))


def client_handshake(conn: Connection, key: bytes) -> None:
    """Answer the server's challenge and check its proof; AuthenticationError if wrong."""
    hello = conn.recv_bytes(len(_HELLO) + _NONCE)
    if not hello.startswith(_HELLO) or len(hello) != len(_HELLO) + _NONCE:
        raise _auth_error("not a quota-tray control channel")
    server_nonce = hello[len(_HELLO) :]
    client_nonce = os.urandom(_NONCE)
    conn.send_bytes(client_nonce + _mac(key, b"client", server_nonce, client_nonce))
    proof = conn.recv_bytes(64)
    if not _same(proof, _mac(key, b"server", server_nonce, client_nonce)):
        raise _auth_error("the server refused our key or does not hold it")


# -- plumbing ----------------------------------------------------------------------------------


class Deadline:
    """Shuts a connection down when time is up, waking the thread blocked reading it."""

    def __init__(self, conn: Connection, seconds: float) -> None:
        import threading

        self._conn = conn
        self._lock = threading.Lock()
        self._closed = False
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        with self._lock:
            if self._closed:  # the descriptor may already belong to someone else
                return
            self.expired = True
            if _WINDOWS:
                self._closed = True
                with contextlib.suppress(OSError):
                    self._conn.close()
                return
            import socket

            with contextlib.suppress(OSError):
                sock = socket.fromfd(self._conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                finally:
                    sock.close()

    def cancel(self) -> None:
        """Stop the timer, leaving the connection open (the next phase gets its own)."""
        self._timer.cancel()

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            if not self._closed:
                self._closed = True
                with contextlib.suppress(OSError):
                    self._conn.close()


def error(message: str) -> dict[str, Any]:
    return {"ok": False, "error": message}


def dump(answer: Mapping[str, Any]) -> bytes:
    import json

    try:
        return json.dumps(answer, default=str, allow_nan=False).encode()
    except (TypeError, ValueError, RecursionError):
        return json.dumps(error("the answer could not be encoded")).encode()
