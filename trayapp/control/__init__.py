"""A small authenticated channel to the running instance: the wire, both ends, the commands.

It may import the standard library, ``trayapp.instance`` (where the instance lives) and
``trayapp.safety``; never the warmer, the tray or the terminal view, which hand it callables.

Beside the instance's socket, in a 0700 directory, the instance serves
``multiprocessing.connection`` frames on a Unix socket (a named pipe on Windows). Only a process
that can read the 0600 key file passes the HMAC-SHA256 handshake, and every message is JSON,
never pickle: ``{"command": "status"}`` in, ``{"ok": true, ...}`` out.

``wire`` holds the address, the handshake and the framing; ``server`` the instance's side;
``client`` the command line's; ``commands`` the five commands and how their answers print;
``status_text`` `status` in words.
"""

# Each name loads its module when first asked for: `quota-tray status` with nothing running
# loads the client's side only (the server, logging and the status words are not needed).
_WHERE = {
    "DEFAULT_TIMEOUT_S": "client",
    "live_pid": "client",
    "send": "client",
    "client_command": "commands",
    "format_status": "status_text",
    "runtime_handlers": "commands",
    "start_command": "commands",
    "status_payload": "commands",
    "warms_others": "client",
    "ControlServer": "server",
    "Handler": "server",
    "serve": "server",
    "COMMANDS": "wire",
    "EXIT_NOT_RUNNING": "wire",
    "KEY_BYTES": "wire",
    "KEY_NAME": "wire",
    "MAX_ANSWER": "wire",
    "MAX_MESSAGE": "wire",
    "NOT_RUNNING_LINE": "wire",
    "SOCKET_NAME": "wire",
    "ControlError": "wire",
    "NotRunning": "wire",
    "address": "wire",
}


def __getattr__(name: str) -> object:
    # plain import statements, so a freezer (PyInstaller) and the house test see every module
    where = _WHERE.get(name)
    if where == "client":
        from trayapp.control import client as module
    elif where == "commands":
        from trayapp.control import commands as module
    elif where == "server":
        from trayapp.control import server as module
    elif where == "status_text":
        from trayapp.control import status_text as module
    elif where == "wire":
        from trayapp.control import wire as module
    else:
        raise AttributeError(f"module 'trayapp.control' has no attribute {name!r}")
    return getattr(module, name)


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
