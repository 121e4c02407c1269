"""A small authenticated channel to the running instance.

Beside the instance lock (``trayapp.instance``), in a 0700 directory, the instance serves
``multiprocessing.connection`` on a Unix socket (a named pipe on Windows).
Only a process that can read the 0600 key file gets past the HMAC challenge, and every message
is JSON, never pickle: ``{"command": "status"}`` in, ``{"ok": true, ...}`` out.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trayapp.instance import default_directory, private_directory, resolve_directory

if TYPE_CHECKING:
    from multiprocessing.connection import Connection, Listener

log = logging.getLogger(__name__)

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

Handler = Callable[[], Mapping[str, Any] | None]


class NotRunning(Exception):
    """No instance answers: no socket, nobody listening, or a file left by a dead one."""

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        super().__init__("no running instance" + (f" ({detail})" if detail else ""))


class ControlError(Exception):
    """An instance is there but refused the request or answered something unusable."""


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
    digest = hashlib.sha256(os.fsencode(directory.resolve())).hexdigest()[:12]
    return rf"\\.\pipe\{name}-{digest}"


def address(directory: str | os.PathLike[str] | None = None) -> tuple[str, str]:
    """(address, family) of the control channel for ``directory``."""
    path = resolve_directory(directory)
    if _WINDOWS:
        return _pipe_name(path), "AF_PIPE"
    sock = path / SOCKET_NAME
    if len(os.fsencode(sock)) >= _UNIX_PATH_MAX:
        raise ControlError(f"socket path too long for a Unix socket: {sock}")
    return str(sock), "AF_UNIX"


# -- connection plumbing -----------------------------------------------------------------------


class _Deadline:
    """Shuts a connection down when time is up, waking the thread blocked reading it."""

    def __init__(self, conn: Connection, seconds: float) -> None:
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
            with contextlib.suppress(OSError):
                sock = socket.fromfd(self._conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                finally:
                    sock.close()

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            if not self._closed:
                self._closed = True
                with contextlib.suppress(OSError):
                    self._conn.close()


def _write_key(path: Path, key: bytes) -> None:
    """Fresh key, atomically: a client never reads half of one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise


def _error(message: str) -> dict[str, Any]:
    return {"ok": False, "error": message}


def _probe(path: str) -> bool:
    """Whether something accepts connections on the Unix socket ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        try:
            s.connect(path)
        except OSError:
            return False
        return True


# -- server ------------------------------------------------------------------------------------


class ControlServer:
    """Answers control commands on a daemon thread, one short-lived thread per connection.

    Each connection gets ``timeout`` seconds in all (challenge, one message, the answer), so a
    silent client cannot hold a slot; at most ``max_clients`` are served at once and the rest
    are closed at once. Start it while holding the InstanceLock of the same directory.
    """

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        directory: str | os.PathLike[str] | None = None,
        *,
        timeout: float = 2.0,
        max_clients: int = 8,
    ) -> None:
        self.handlers = dict(handlers)
        self._given = directory
        self.timeout = timeout
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
            if _probe(addr):
                raise ControlError(f"another instance already serves {addr}")
            Path(addr).unlink()  # left by a run that died
        self._key = os.urandom(KEY_BYTES)
        _write_key(directory / KEY_NAME, self._key)
        try:
            self._listener = Listener(addr, family, backlog=16)
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
                    conn.close()
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
        from multiprocessing.connection import answer_challenge, deliver_challenge

        deadline = _Deadline(conn, self.timeout)
        try:
            deliver_challenge(conn, self._key)
            answer_challenge(conn, self._key)
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
        """The JSON answer to one request; never raises."""
        try:
            request = json.loads(data)
        except (ValueError, RecursionError):
            return _dump(_error("the request is not JSON"))
        command = request.get("command") if isinstance(request, dict) else None
        if not isinstance(command, str):
            return _dump(_error('expected {"command": "status" | "rewarm" | ...}'))
        handler = self.handlers.get(command)
        if handler is None:
            return _dump(_error(f"unknown command {command[:40]!r}"))
        try:
            result = dict(handler() or {})
        except Exception as exc:
            log.warning("control command %s failed: %s", command, exc)
            return _dump(_error(f"{command} failed: {type(exc).__name__}: {exc}"))
        return _dump({**result, "ok": True})


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


def _dump(answer: Mapping[str, Any]) -> bytes:
    try:
        return json.dumps(answer, default=str, allow_nan=False).encode()
    except (TypeError, ValueError, RecursionError):
        return json.dumps(_error("the answer could not be encoded")).encode()


# -- client ------------------------------------------------------------------------------------


def send(
    command: str, directory: str | os.PathLike[str] | None = None, timeout: float = 1.0
) -> dict[str, Any]:
    """Ask the running instance; the answer within ``timeout`` seconds or an exception.

    Raises NotRunning when nobody answers at the address, ControlError when the instance
    refuses (bad key, failed command) or the answer is unusable.
    """
    from multiprocessing.connection import AuthenticationError, answer_challenge, deliver_challenge

    path = resolve_directory(directory)
    try:
        key = (path / KEY_NAME).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise NotRunning("no control key") from None
    except OSError as exc:
        raise ControlError(f"cannot read {path / KEY_NAME}: {exc.strerror or exc}") from None
    give_up = time.monotonic() + timeout
    conn = _connect(path, timeout)
    deadline = _Deadline(conn, max(0.01, give_up - time.monotonic()))
    try:
        answer_challenge(conn, key)
        deliver_challenge(conn, key)
        conn.send_bytes(json.dumps({"command": command}).encode())
        data = conn.recv_bytes(MAX_ANSWER)
    except AuthenticationError:
        raise ControlError("the running instance refused our key") from None
    except (OSError, EOFError) as exc:
        if deadline.expired:
            raise ControlError(f"the running instance did not answer within {timeout:g}s") from None
        raise ControlError(f"the running instance closed the connection ({exc or 'EOF'})") from None
    finally:
        deadline.close()
    try:
        answer = json.loads(data)
    except (ValueError, RecursionError):
        raise ControlError("the running instance gave a garbled answer") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
        raise ControlError("the running instance gave a garbled answer")
    if not answer["ok"]:
        raise ControlError(str(answer.get("error") or "the running instance refused"))
    return answer


def _connect(directory: Path, timeout: float) -> Connection:
    from multiprocessing.connection import Client, Connection

    addr, family = address(directory)
    if family == "AF_PIPE":
        try:
            return Client(addr, family)
        except FileNotFoundError:
            raise NotRunning("no control pipe") from None
        except OSError as exc:
            raise ControlError(f"cannot reach the running instance: {exc}") from None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(addr)
        sock.setblocking(True)
    except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError) as exc:
        sock.close()
        raise NotRunning(exc.strerror or "no socket") from None
    except TimeoutError:
        sock.close()
        raise ControlError(f"the running instance did not answer within {timeout:g}s") from None
    except OSError as exc:
        sock.close()
        raise ControlError(f"cannot reach the running instance: {exc.strerror or exc}") from None
    return Connection(sock.detach())


# -- what the app and the command line plug in ---------------------------------------------------


def status_payload(runtime: Any, started_monotonic: float) -> dict[str, Any]:
    """What `quota-tray status` shows, read from the Runtime without stopping the warmer."""
    warmer = runtime.warmer
    state = warmer.state
    done = frozenset(state.done)  # one C-level copy: the warmer may add to it meanwhile
    plan = state.plan
    progress: dict[str, dict[str, int]] = {p: {"done": 0, "total": 0} for p in plan.projects}
    for check in (*plan.gpu, *plan.c3):
        entry = progress[check.project]
        entry["total"] += 1
        entry["done"] += int(check in done)
    level = warmer.level
    return {
        **warmer.health(),  # failed, reasons, retry_in_s, not_found
        "level": level.value if level is not None else None,
        "progress": progress,
        "done": sum(p["done"] for p in progress.values()),
        "total": sum(p["total"] for p in progress.values()),
        "cycle": state.cycle.id,
        "last_batch_ms": warmer.last_batch_ms,
        "paused": warmer.paused,
        "pid": os.getpid(),
        "uptime_s": round(time.monotonic() - started_monotonic, 1),
        "cache_path": str(runtime.files.cache),
        "watch_met": runtime.alerts.met_now() if hasattr(runtime, "alerts") else [],
    }


def runtime_handlers(
    runtime: Any, on_quit: Callable[[], None], started_monotonic: float | None = None
) -> dict[str, Handler]:
    """The five commands for a Runtime; ``on_quit`` must only signal the main loop to stop."""
    started = time.monotonic() if started_monotonic is None else started_monotonic
    warmer = runtime.warmer

    def status() -> dict[str, Any]:
        return status_payload(runtime, started)

    def rewarm() -> dict[str, Any]:
        warmer.force_rewarm()
        return {}

    def pause() -> dict[str, Any]:
        warmer.pause()
        return {"paused": True}

    def resume() -> dict[str, Any]:
        warmer.resume()
        return {"paused": False}

    def quit_() -> dict[str, Any]:
        on_quit()
        return {}

    return {"status": status, "rewarm": rewarm, "pause": pause, "resume": resume, "quit": quit_}


_CONFIRM = {
    "rewarm": "re-warm started",
    "pause": "warming paused",
    "resume": "warming resumed",
    "quit": "quitting",
}


def client_command(
    command: str, as_json: bool, directory: str | os.PathLike[str] | None = None
) -> int:
    """`quota-tray status|rewarm|pause|resume|quit`: 0 done, 3 nothing runs, 1 refused."""
    try:
        answer = send(command, directory)
    except NotRunning:
        print(NOT_RUNNING_LINE, file=sys.stderr)
        return EXIT_NOT_RUNNING
    except ControlError as exc:
        print(f"quota-tray: {exc}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(answer, indent=2, sort_keys=True))
    elif command == "status":
        print(format_status(answer))
    else:
        print(f"quota-tray: {_CONFIRM.get(command, command + ' done')}")
    return 0


def format_status(status: Mapping[str, Any]) -> str:
    """A few readable lines of a status answer."""
    lines = [f"quota-tray is running (pid {status.get('pid')}, up {_duration(status)})"]
    level = status.get("level") or "no batch yet"
    ms = status.get("last_batch_ms")
    lines.append(f"level: {level}" + (f", last batch {ms} ms" if ms is not None else ""))
    progress = status.get("progress") or {}
    per_project = ", ".join(
        f"{name} {p.get('done')}/{p.get('total')}"
        for name, p in progress.items()
        if isinstance(p, Mapping)
    )
    lines.append(
        f"progress: {status.get('done')}/{status.get('total')} checks"
        + (f" ({per_project})" if per_project else "")
    )
    failed = status.get("failed") or 0
    if failed:
        reasons = [str(r) for r in status.get("reasons") or ()]
        retry = status.get("retry_in_s")
        then = f"retry in {retry:g}s" if isinstance(retry, int | float) else "no retry"
        lines.append(f"failed: {failed} checks ({then})")
        lines.extend(f"  {reason}" for reason in reasons)
    missing = status.get("not_found") or ()
    if missing:
        lines.append("not found (not asked again until a re-warm): " + ", ".join(map(str, missing)))
    lines.append("warming: paused" if status.get("paused") else "warming: active")
    if status.get("cache_path"):
        lines.append(f"cache: {status['cache_path']}")
    for rule in status.get("watch_met") or ():
        if isinstance(rule, Mapping):
            lines.append(f"watch met: {_watch_line(rule)}")
    return "\n".join(lines)


def _watch_line(rule: Mapping[str, Any]) -> str:
    """``≥ 8 NVIDIA_H100_GPUS: us-west1 (8), europe-west4 (≤ 16)``."""
    places = ", ".join(
        f"{w.get('region')} ({'' if w.get('exact') else '≤ '}{w.get('free'):g})"
        for w in rule.get("met_in") or ()
        if isinstance(w, Mapping) and isinstance(w.get("free"), int | float)
    )
    return f"≥ {rule.get('min_free'):g} {rule.get('metric')}: {places}"


def _duration(status: Mapping[str, Any]) -> str:
    try:
        seconds = int(float(status.get("uptime_s") or 0))
    except (TypeError, ValueError):
        return "?"
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
