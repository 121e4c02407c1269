"""The view's one door to the running instance: the control channel's client.

Called from worker threads only: a hung instance must never freeze the terminal.
"""

from __future__ import annotations

from trayapp import control

NOT_RUNNING_DEMO = "no demo is running: start it with `quota-tray demo`"
_DONE = {"rewarm": "re-warm started", "pause": "warming paused", "resume": "warming resumed"}


def not_running() -> str:
    """No instance: how to start one, naming --project when nothing else names a project."""
    return f"no quota-tray instance is running: start it with {control.start_command()}"


def ask(command: str, timeout: float = 2.0, *, demo: bool = False) -> tuple[bool, str]:
    """(ok, one line to show) for ``rewarm`` or ``toggle-pause``, to the demo with ``demo``."""
    from trayapp.instance import default_directory

    where = default_directory(demo)
    try:
        if command == "toggle-pause":
            paused = control.send("status", where, timeout=timeout).get("paused") is True
            command = "resume" if paused else "pause"
        control.send(command, where, timeout=timeout)
    except control.NotRunning:
        return False, NOT_RUNNING_DEMO if demo else not_running()
    except control.ControlError as exc:
        return False, f"the running instance said: {exc}"
    return True, _DONE.get(command, f"{command} done")
