"""One instance per user: an OS lock held for the process's life, in a private directory.

A crashed run leaves nothing to clean up: the OS drops the lock with the process, and the next
start takes it over. The same 0700 directory holds the control channel's socket and key.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from trayapp import paths

LOCK_NAME = "instance.lock"
DEMO = "demo"  # the demo's lock and channel: a folder of that name beside the real ones
_WINDOWS = sys.platform == "win32"
_WIN_LOCK_OFFSET = 1 << 20  # Windows locks are mandatory: lock a byte far from the pid text


class AlreadyRunning(Exception):
    """Another process holds the instance lock; ``pid`` is its pid when it could be read."""

    def __init__(self, pid: int | None, demo: bool = False) -> None:
        self.pid = pid
        who = f" (pid {pid})" if pid else ""
        name, flag = ("the quota-tray demo", " --demo") if demo else ("quota-tray", "")
        super().__init__(
            f"{name} is already running{who}; use `quota-tray rewarm{flag}`, `status{flag}`"
            f" or `quit{flag}` to reach it"
        )


# -- where the files live ----------------------------------------------------------------------


def default_directory(demo: bool = False) -> Path:
    """The control channel's folder: the lock's own, whatever the environment says.

    A shell without ``XDG_RUNTIME_DIR`` (ssh, cron, a systemd timer) must find the instance a
    desktop session started, and a start with the variable must find one started without it,
    so the socket and its key never follow that variable. Someone who deletes the lock file
    does not delete the socket: a second start asks it before running (``claim``). The demo's
    is a ``demo`` folder inside, so a demo runs beside a real instance.
    """
    return lock_directory(demo)


def lock_directory(demo: bool = False) -> Path:
    """Where the instance lock lives: the state folder, whatever ``XDG_RUNTIME_DIR`` says, so
    a start with the variable and one without take the same lock (the demo: its ``demo``
    folder, where its history is too). Never a shared temporary folder."""
    return paths.state_dir() / DEMO if demo else paths.state_dir()


def resolve_directory(directory: str | os.PathLike[str] | None) -> Path:
    return default_directory() if directory is None else Path(directory)


def private_directory(directory: str | os.PathLike[str] | None = None) -> Path:
    """Create the directory 0700 (or tighten ours to 0700); refuse one owned by someone else."""
    from trayapp.safety.files import UnsafePath, private_dir

    path = resolve_directory(directory)
    private_dir(path)
    if not _WINDOWS and path.is_symlink():
        raise UnsafePath(path, "a link, not a folder")
    return path


# -- single instance ---------------------------------------------------------------------------


class InstanceLock:
    """An OS lock held until release() or process exit, with the holder's pid in the file.

    The descriptor is a plain int, so dropping this object does not release the lock by
    accident; only release() or the end of the process does.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self._given = lock_directory() if directory is None else directory
        self._fd: int | None = None
        self.path: Path | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> InstanceLock:
        """Take the lock or raise AlreadyRunning naming the holder; OSError if it cannot try."""
        if self._fd is not None:
            return self
        directory = private_directory(self._given)
        self.path = directory / LOCK_NAME
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(self.path, flags, 0o600)
        try:
            if not _try_lock(fd):
                raise AlreadyRunning(_holder_pid(fd))
            if not _WINDOWS:
                os.fchmod(fd, 0o600)
            data = f"{os.getpid()}\n".encode()
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, data)  # the first line is the pid even before the truncate
            os.ftruncate(fd, len(data))
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def release(self) -> None:
        """Let another instance start; the file stays (removing it would race a newcomer)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if _WINDOWS:
                import msvcrt

                os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
                with contextlib.suppress(OSError):
                    msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        finally:
            os.close(fd)

    def __enter__(self) -> InstanceLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _try_lock(fd: int) -> bool:
    if _WINDOWS:
        import msvcrt

        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EDEADLK):
                return False
            raise
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _holder_pid(fd: int, wait_s: float = 0.5) -> int | None:
    """The holder writes its pid just after locking: give it a moment to do so."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            first = os.read(fd, 64).split(b"\n", 1)[0].strip()
            if first.isdigit():
                return int(first)
        except OSError:
            return None
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.01)


EXIT_ALREADY_RUNNING = 0  # not a failure: a service manager must not restart it in a loop


def claim(
    directory: str | os.PathLike[str] | None = None,
    live_pid: Callable[[], int | None] | None = None,
    *,
    demo: bool = False,
) -> InstanceLock | int:
    """The instance lock, or the exit status after one line on stderr.

    ``live_pid`` asks whether an instance answers on the control channel (its pid, or 0 when
    it answers without one): someone who deleted the lock file does not make a second
    instance. Already running is exit 0; a lock that cannot be taken at all is exit 1.
    ``demo`` names the demo in that line (its lock is in another ``directory``).
    """
    try:
        lock = InstanceLock(directory).acquire()
    except AlreadyRunning as exc:
        print(AlreadyRunning(exc.pid, demo), file=sys.stderr)
        return EXIT_ALREADY_RUNNING
    except OSError as exc:
        where = exc.filename or resolve_directory(directory)
        print(
            f"quota-tray: cannot take the instance lock in {where}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    pid = live_pid() if live_pid is not None else None
    if pid is not None:
        lock.release()
        print(AlreadyRunning(pid or None, demo), file=sys.stderr)
        return EXIT_ALREADY_RUNNING
    return lock
