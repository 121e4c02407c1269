"""A control connection that has passed the handshake, for tests that speak frames themselves
(garbage after the handshake, oversized requests): what a hostile local client could do."""

from __future__ import annotations

import os
from multiprocessing.connection import Client, Connection
from pathlib import Path

from trayapp.control.wire import KEY_NAME, address, client_handshake


def authenticated(directory: str | os.PathLike[str]) -> Connection:
    addr, family = address(directory)
    conn = Client(addr, family)
    try:
        client_handshake(conn, (Path(directory) / KEY_NAME).read_bytes())
    except BaseException:
        conn.close()
        raise
    return conn
