"""The instance's side of the control channel: a daemon thread answering JSON commands.

A flood of connections (garbage, or silent) must not lock out the owner's `quota-tray status`:
the handshake gets ``auth_timeout`` seconds, at most ``max_clients`` connections are served at
once, the rest are closed at once, and clients retry briefly (``trayapp.control.client``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trayapp.control.wire import (
    KEY_BYTES,
    KEY_NAME,
    MAX_MESSAGE,
    ControlError,
    Deadline,
    address,
    dump,
    error,
    server_handshake,
)
from trayapp.instance import private_directory
from trayapp.safety.files import write_atomic
from trayapp.safety.text import clean_line

if TYPE_CHECKING:
    from multiprocessing.connection import Connection, Listener

log = logging.getLogger("trayapp.control")

Handler = Callable[[], Mapping[str, Any] | None]


def probe(path: str) -> bool:
    """Whether something accepts connections on the Unix socket ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        try:
            s.connect(path)
        except BlockingIOError:
            return True  # a full backlog: someone is listening, and busy
        except OSError:
            return False
        return True


class ControlServer:
    """Answers control commands on a daemon thread, one short-lived thread per connection.

    Each connection gets ``auth_timeout`` seconds to prove it holds the key and ``timeout``
    seconds in all, so a silent client cannot hold a slot for long. Start it while holding the
    InstanceLock.
    """

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        directory: str | os.PathLike[str] | None = None,
        *,
        timeout: float = 2.0,
        auth_timeout: float = 0.5,
        max_clients: int = 32,
    ) -> None:
        self.handlers = dict(handlers)
        self._given = directory
        self.timeout = timeout
        self.auth_timeout = min(auth_timeout, timeout)
        self.directory: Path | None = None
        self.address: str | None = None
        self.family: str | None = None
        self._key = b""
        self._listener: Listener | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._slots = threading.BoundedSemaphore(max_clients)
        self._active: set[threading.Thread] = set()
        self._active_lock = threading.Lock()

    def start(self) -> ControlServer:
        """Write a new key, bind, serve; raises ControlError or OSError when it cannot."""
        from multiprocessing.connection import Listener

        directory = self.directory = private_directory(self._given)
        addr, family = address(directory)
        if family == "AF_UNIX" and os.path.lexists(addr):
            if probe(addr):
                raise ControlError(f"another instance already serves {addr}")
            Path(addr).unlink()  # left by a run that died
        self._key = os.urandom(KEY_BYTES)
        write_atomic(directory / KEY_NAME, self._key)  # a client never reads half a key
        try:
            self._listener = Listener(addr, family, backlog=128)
            if family == "AF_UNIX":
                Path(addr).chmod(0o600)
        except BaseException:
            with contextlib.suppress(OSError):
                (directory / KEY_NAME).unlink()
            if self._listener is not None:
                with contextlib.suppress(OSError):
                    self._listener.close()
                self._listener = None
            raise
        self.address, self.family = addr, family
        self._thread = threading.Thread(target=self._serve, name="quota-control", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, drop the socket and the key; safe from a handler's thread."""
        if self._listener is None or self._stopping.is_set():
            return
        self._stopping.set()
        self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(1.0)
        with contextlib.suppress(OSError):
            self._listener.close()  # also unlinks the Unix socket
        self._finish_answers(deadline=time.monotonic() + 0.5)
        if self.family == "AF_UNIX" and self.address:
            with contextlib.suppress(FileNotFoundError):
                Path(self.address).unlink()
        if self.directory is not None:
            with contextlib.suppress(FileNotFoundError):
                (self.directory / KEY_NAME).unlink()

    def __enter__(self) -> ControlServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _finish_answers(self, deadline: float) -> None:
        """Let answers being sent (the one to `quit` above all) reach their clients."""
        with self._active_lock:
            active = [t for t in self._active if t is not threading.current_thread()]
        for thread in active:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _wake(self) -> None:
        """A blocked accept() is not woken by close() everywhere: connect to ourselves."""
        try:
            if self.family == "AF_UNIX":
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(0.5)
                    s.connect(self.address)
            else:
                from multiprocessing.connection import Client

                Client(self.address, self.family).close()
        except OSError:
            pass

    def _serve(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                conn = self._listener.accept()
            except Exception:  # closed under us, or out of descriptors for a moment
                if self._stopping.wait(0.05):
                    return
                continue
            if self._stopping.is_set() or not self._slots.acquire(blocking=False):
                with contextlib.suppress(OSError):
                    conn.close()  # the client sees EOF before the challenge and retries
                continue
            thread = threading.Thread(
                target=self._handle, args=(conn,), name="quota-control-conn", daemon=True
            )
            with self._active_lock:
                self._active.add(thread)
            try:
                thread.start()
            except RuntimeError:  # no thread to be had
                self._done(thread)
                with contextlib.suppress(OSError):
                    conn.close()

    def _done(self, thread: threading.Thread) -> None:
        with self._active_lock:
            self._active.discard(thread)
        self._slots.release()

    def _handle(self, conn: Connection) -> None:
        deadline = Deadline(conn, self.auth_timeout)
        try:
            server_handshake(conn, self._key)
            deadline.cancel()
            deadline = Deadline(conn, self.timeout)
            data = conn.recv_bytes(MAX_MESSAGE)  # longer: the connection is closed
            conn.send_bytes(self.answer(data))
        except (OSError, EOFError, ValueError):
            pass  # AuthenticationError is a ProcessError; caught below
        except Exception as exc:
            log.debug("control connection dropped: %s", exc)
        finally:
            deadline.close()
            self._done(threading.current_thread())

    def answer(self, data: bytes) -> bytes:
        """The JSON answer to one request; never raises. The request is outside text."""
        try:
            request = json.loads(data)
        except (ValueError, RecursionError):
            return dump(error("the request is not JSON"))
        command = request.get("command") if isinstance(request, dict) else None
        if not isinstance(command, str):
            return dump(error('expected {"command": "status" | "rewarm" | ...}'))
        handler = self.handlers.get(command)
        if handler is None:
            return dump(error(f"unknown command {clean_line(command, 40)!r}"))
        try:
            result = dict(handler() or {})
        except Exception as exc:
            log.warning("control command %s failed: %s", command, exc)
            return dump(error(clean_line(f"{command} failed: {type(exc).__name__}: {exc}")))
        return dump({**result, "ok": True})


def serve(
    handlers: Mapping[str, Handler],
    directory: str | os.PathLike[str] | None = None,
    on_error: Callable[[str], None] | None = None,
) -> ControlServer | None:
    """A started server, or None after one line to ``on_error`` (stderr when not given).

    Warming goes on without the channel: `status` and friends then report no instance.
    """
    try:
        return ControlServer(handlers, directory).start()
    except (OSError, ControlError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        message = f"quota-tray: control channel unavailable: {detail}"
        if on_error is None:
            print(message, file=sys.stderr)
        else:
            on_error(message)
        return None
