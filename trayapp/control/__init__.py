"""A small authenticated channel to the running instance: the wire, both ends, the commands.

It may import the standard library, ``trayapp.instance`` (where the instance lives) and
``trayapp.safety``; never the warmer, the tray or the terminal view, which hand it callables.

Beside the instance's socket, in a 0700 directory, the instance serves
``multiprocessing.connection`` frames on a Unix socket (a named pipe on Windows). Only a process
that can read the 0600 key file passes the HMAC-SHA256 handshake, and every message is JSON,
never pickle: ``{"command": "status"}`` in, ``{"ok": true, ...}`` out.

``wire`` holds the address, the handshake and the framing; ``server`` the instance's side;
``client`` the command line's; ``commands`` the five commands and how their answers print.
"""

from trayapp.control.client import DEFAULT_TIMEOUT_S, live_pid, send
from trayapp.control.commands import (
    client_command,
    format_status,
    runtime_handlers,
    start_command,
    status_payload,
    warms_others,
)
from trayapp.control.server import ControlServer, Handler, serve
from trayapp.control.wire import (
    COMMANDS,
    EXIT_NOT_RUNNING,
    KEY_BYTES,
    KEY_NAME,
    MAX_ANSWER,
    MAX_MESSAGE,
    NOT_RUNNING_LINE,
    SOCKET_NAME,
    ControlError,
    NotRunning,
    address,
)

__all__ = [
    "COMMANDS",
    "DEFAULT_TIMEOUT_S",
    "EXIT_NOT_RUNNING",
    "KEY_BYTES",
    "KEY_NAME",
    "MAX_ANSWER",
    "MAX_MESSAGE",
    "NOT_RUNNING_LINE",
    "SOCKET_NAME",
    "ControlError",
    "ControlServer",
    "Handler",
    "NotRunning",
    "address",
    "client_command",
    "format_status",
    "live_pid",
    "runtime_handlers",
    "send",
    "serve",
    "start_command",
    "status_payload",
    "warms_others",
]
