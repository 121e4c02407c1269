"""Private folders and files that are never written through a planted link.

Standard library only (the cache writer uses it). Every file we write is opened with
``O_NOFOLLOW`` (a link at our path is replaced by our own file, its target left untouched);
every folder we own is 0700, and a folder owned by another user is refused with one line.
Whole files (the cache, the control key, the autostart entry) go through ``write_atomic``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys

_POSIX = sys.platform != "win32"
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class UnsafePath(OSError):
    """A folder or file we must not use: one line, never a traceback."""

    def __init__(self, path: str | os.PathLike[str], why: str) -> None:
        super().__init__(errno.EPERM, why, os.fspath(path))

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


def os_error_line(exc: OSError) -> str:
    """``<path>: <why>`` in one line, for a file or folder we cannot use."""
    from trayapp.safety.text import clean_line

    where = f"{exc.filename}: " if exc.filename else ""
    return clean_line(f"{where}{exc.strerror or exc}")


def private_dir(directory: str | os.PathLike[str], *, shared: bool = False) -> str:
    """Create ``directory`` (and missing parents) 0700, or tighten ours to 0700.

    Raises UnsafePath when it is owned by another user or is not a folder. Parents that
    already exist are left as they are: only the folder we keep files in is ours. A
    ``shared`` folder (the desktop's autostart folder) is created 0700 when missing, and
    otherwise used as it is: other programs keep files there too.
    """
    path = os.path.abspath(directory)  # noqa: PTH100
    _make(path)
    if not _POSIX or shared:
        return path
    st = os.stat(path)  # noqa: PTH116 - a linked folder is judged by what it points to
    if not _is_dir(st.st_mode):
        raise UnsafePath(path, "not a folder")
    if st.st_uid != os.getuid():
        raise UnsafePath(path, f"folder owned by another user (uid {st.st_uid}); not using it")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)  # noqa: PTH101
    return path


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Replace the file at ``path`` with ``data`` (text is UTF-8): a reader sees the old file
    or the new one, never half, even if we are killed or the machine loses power.

    A temp file beside the target (created 0600, never through a link), fsync, ``os.replace``
    (a link planted at ``path`` is replaced, its target untouched), then fsync of the folder
    where the platform allows it. The folder must exist: make it with ``private_dir``.
    """
    import tempfile  # only writers pay for it

    path = os.fspath(path)
    directory, name = os.path.split(path)
    directory = directory or "."
    if isinstance(data, str):
        data = data.encode()
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:  # mkstemp: O_EXCL | O_NOFOLLOW, mode 0600
            if _POSIX:
                os.fchmod(f.fileno(), 0o600)  # whatever the umask took away
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # noqa: PTH108
        raise
    _fsync_dir(directory)


def _fsync_dir(directory: str) -> None:
    """Make the rename itself durable; Windows cannot open a folder, and needs not."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _make(path: str) -> None:
    if os.path.isdir(path):  # noqa: PTH112
        return
    parent = os.path.dirname(path)  # noqa: PTH120
    if parent != path:
        _make(parent)
    try:
        os.mkdir(path, 0o700)  # noqa: PTH102
    except FileExistsError:
        if not os.path.isdir(path):  # noqa: PTH112
            raise UnsafePath(path, "not a folder") from None


def _is_dir(mode: int) -> bool:
    import stat

    return stat.S_ISDIR(mode)


def open_private(path: str | os.PathLike[str], flags: int = os.O_WRONLY | os.O_APPEND) -> int:
    """A descriptor on our own 0600 regular file at ``path``, created when missing.

    A link planted at ``path`` is removed and replaced by a new file (its target is never
    opened); anything else that is not a regular file is refused.
    """
    path = os.fspath(path)
    flags |= os.O_CREAT | NOFOLLOW | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(3):
        try:
            fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0), 0o600)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.EMLINK) or not os.path.islink(path):  # noqa: PTH114
                raise
            os.unlink(path)  # noqa: PTH108 - the link, never what it points to
            continue
        try:
            _own_regular(fd, path)
        except BaseException:
            os.close(fd)
            raise
        return fd
    raise UnsafePath(path, "keeps being replaced by a link")


def drop_link(path: str | os.PathLike[str]) -> None:
    """Remove a link planted where a library (SQLite's -wal, -shm, -journal) will create a file.

    Such a library opens its side files itself; without this a planted link would make it
    fail to open, or write through the link where it does not refuse links.
    """
    path = os.fspath(path)
    if os.path.islink(path):  # noqa: PTH114
        os.unlink(path)  # noqa: PTH108 - the link, never what it points to


def _own_regular(fd: int, path: str) -> None:
    import stat

    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePath(path, "not a regular file")
    if not _POSIX:
        return
    if st.st_uid != os.getuid():
        raise UnsafePath(path, "file owned by another user")
    if st.st_mode & 0o077:
        os.fchmod(fd, 0o600)
    os.set_blocking(fd, True)  # opened non-blocking only so a planted FIFO cannot hang us


def same_file(fd: int, path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` (not followed) is still the file open on ``fd``."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    here = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (here.st_dev, here.st_ino)
