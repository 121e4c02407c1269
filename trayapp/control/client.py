"""The command line's side of the control channel: connect, prove the key, one request.

Under a flood of other connections the server may be busy (a full backlog: EAGAIN; all slots
taken: closed before the challenge). Until the challenge has been passed nothing was asked, so
the client tries again, briefly, within its ``timeout``.
"""

from __future__ import annotations

import errno
import os
import time

from trayapp.control.wire import (
    KEY_NAME,
    MAX_ANSWER,
    ControlError,
    Deadline,
    NotRunning,
    address,
    client_handshake,
)
from trayapp.instance import default_directory, resolve_directory
from trayapp.safety.text import clean_line

TYPE_CHECKING = False  # typing, json and socket load where first used: `status` starts fast
if TYPE_CHECKING:
    from collections.abc import Sequence
    from multiprocessing.connection import Connection
    from pathlib import Path
    from typing import Any

DEFAULT_TIMEOUT_S = 2.0
_RETRY_S = 0.02
_BUSY = (errno.EAGAIN, errno.EWOULDBLOCK, errno.ECONNRESET, errno.EPIPE)


class _Busy(Exception):
    """The server did not take us this time (backlog full, slots taken): try again."""


def send(
    command: str,
    directory: str | os.PathLike[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> dict[str, Any]:
    """Ask the running instance; the answer within ``timeout`` seconds or an exception.

    Raises NotRunning when nobody answers at the address, ControlError when the instance
    refuses (bad key, failed command) or the answer is unusable.
    """
    path = resolve_directory(directory)
    give_up = time.monotonic() + timeout
    while True:
        try:
            return _send_once(command, path, give_up, timeout)
        except _Busy as busy:
            if time.monotonic() + _RETRY_S >= give_up:
                raise ControlError(
                    f"the running instance is too busy to answer within {timeout:g}s ({busy})"
                ) from None
            time.sleep(_RETRY_S)


def _read_key(path: Path) -> bytes:
    try:
        return (path / KEY_NAME).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise NotRunning("no control key") from None
    except OSError as exc:
        raise ControlError(f"cannot read {path / KEY_NAME}: {exc.strerror or exc}") from None


def _send_once(command: str, path: Path, give_up: float, timeout: float) -> dict[str, Any]:
    key = _read_key(path)  # read each time: a restarted instance wrote a new one
    conn = _connect(path, max(0.01, give_up - time.monotonic()))
    import json
    from multiprocessing.connection import AuthenticationError  # someone answers: now needed

    deadline = Deadline(conn, max(0.01, give_up - time.monotonic()))
    challenged = False
    try:
        try:
            conn.poll(max(0.0, give_up - time.monotonic()))
            client_handshake(conn, key)
            challenged = True
        except EOFError:
            if deadline.expired:
                raise
            raise _Busy("closed before the challenge") from None
        except OSError as exc:
            if exc.errno in _BUSY and not deadline.expired:
                raise _Busy(exc.strerror or "busy") from None
            raise
        conn.send_bytes(json.dumps({"command": command}).encode())
        data = conn.recv_bytes(MAX_ANSWER)
    except AuthenticationError:
        raise ControlError("the running instance refused our key") from None
    except (OSError, EOFError) as exc:
        if deadline.expired:
            raise ControlError(f"the running instance did not answer within {timeout:g}s") from None
        what = "closed the connection" if challenged else "hung up during the handshake"
        raise ControlError(f"the running instance {what} ({exc or 'EOF'})") from None
    finally:
        deadline.close()
    return _parse(data)


def _parse(data: bytes) -> dict[str, Any]:
    import json

    try:
        answer = json.loads(data)
    except (ValueError, RecursionError):
        raise ControlError("the running instance gave a garbled answer") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
        raise ControlError("the running instance gave a garbled answer")
    if not answer["ok"]:
        raise ControlError(clean_line(answer.get("error") or "the running instance refused"))
    return answer


def _connect(directory: Path, timeout: float) -> Connection:
    addr, family = address(directory)
    if family == "AF_PIPE":
        from multiprocessing.connection import Client

        try:
            return Client(addr, family)
        except FileNotFoundError:
            raise NotRunning("no control pipe") from None
        except OSError as exc:
            raise ControlError(f"cannot reach the running instance: {exc}") from None
    import socket

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
        if exc.errno in _BUSY:  # the backlog is full: someone is there, and busy
            raise _Busy(exc.strerror or "busy") from None
        raise ControlError(f"cannot reach the running instance: {exc.strerror or exc}") from None
    from multiprocessing.connection import Connection

    return Connection(sock.detach())


def live_pid(timeout: float = 1.0, demo: bool = False) -> int | None:
    """The pid of an instance (the demo's, with ``demo``) answering on the channel (0 when it
    answers without one), or None. The channel is in one place whatever the environment, so
    this is the same question from every shell."""
    place = default_directory(demo)
    try:
        answer = send("status", place, timeout)
    except NotRunning:
        return None
    except ControlError:
        from trayapp.control.server import probe

        addr, family = address(place)
        return 0 if family == "AF_UNIX" and probe(addr) else None
    pid = answer.get("pid")
    return pid if isinstance(pid, int) and not isinstance(pid, bool) else 0


def warms_others(wanted: Sequence[str], demo: bool) -> str:
    """When the running instance warms other projects than this start asked for, what it
    warms and how to warm them all ("" otherwise: the usual hint)."""
    if not wanted:
        return ""
    try:
        running = send("status", default_directory(demo)).get("projects") or []
    except (ControlError, NotRunning, OSError):
        return ""
    missing = [p for p in wanted if p not in running]
    if not missing or not isinstance(running, list):
        return ""
    every = " ".join(f"--project {p}" for p in dict.fromkeys([*map(str, running), *wanted]))
    command = "quota-tray demo" if demo else "quota-tray"
    quit_ = "quota-tray quit --demo" if demo else "quota-tray quit"
    return clean_line(
        f"and warms {', '.join(map(str, running))}, not {', '.join(missing)}: "
        f"`{quit_}`, then `{command} {every}`",
        400,
    )
