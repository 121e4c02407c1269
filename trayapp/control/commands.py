"""What the app plugs into the control channel (the five commands) and what the command line
prints of their answers."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping

from trayapp.control.client import send
from trayapp.control.wire import EXIT_NOT_RUNNING, NOT_RUNNING_LINE, ControlError, NotRunning
from trayapp.safety.text import clean_line

TYPE_CHECKING = False  # typing and json load where first used: `status` starts faster
if TYPE_CHECKING:
    from typing import Any

    from trayapp.control.server import Handler


def identity(runtime: Any, demo: bool) -> dict[str, Any]:
    """Which instance answers: every answer carries it, so the command line can say whether
    it reached the demo or the real instance."""
    settings = getattr(runtime, "settings", None)
    return {"pid": os.getpid(), "demo": demo, "projects": list(getattr(settings, "projects", ()))}


def status_payload(runtime: Any, started_monotonic: float, demo: bool = False) -> dict[str, Any]:
    """What `quota-tray status` shows, read from the Runtime without stopping the warmer."""
    from trayapp.sources import quota_names

    warmer = runtime.warmer
    state = warmer.state
    done = frozenset(state.done)  # one C-level copy: the warmer may add to it meanwhile
    plan = state.plan
    progress: dict[str, dict[str, Any]] = {p: {"done": 0, "total": 0} for p in plan.projects}
    failing = {c.project for c in state.failed()}
    quota: dict[str, str] = {}
    for check in (*plan.gpu, *plan.c3):
        entry = progress[check.project]
        entry["total"] += 1
        entry["done"] += int(check in done)
        quota.setdefault(check.kind, quota_names.quota_name(check.service, check.tier))
    health = warmer.health()  # failed, reasons, retry_in_s, not_found, unwritten
    for project, entry in progress.items():  # complete: all answered, none failed, written
        entry["complete"] = (
            entry["done"] == entry["total"]
            and project not in failing
            and not health.get("unwritten")
        )
    level = warmer.level
    return {
        **health,
        "level": level.value if level is not None else None,
        "progress": progress,
        "quota": quota,  # which quota each kind of check reads
        "done": sum(p["done"] for p in progress.values()),
        "total": sum(p["total"] for p in progress.values()),
        "cycle": state.cycle.id,
        "last_batch_ms": warmer.last_batch_ms,
        "paused": warmer.paused,
        **identity(runtime, demo),
        "uptime_s": round(time.monotonic() - started_monotonic, 1),
        "cache_path": str(runtime.files.cache),
        "watch_met": runtime.alerts.met_now() if hasattr(runtime, "alerts") else [],
        # quota increase requests followed, per project (each list is replaced whole)
        "requests": {p: list(state.extras.entries(p, "requests")) for p in plan.projects},
        "troubles": runtime.troubles.current() if hasattr(runtime, "troubles") else [],
        "running": True,
    }


def runtime_handlers(
    runtime: Any,
    on_quit: Callable[[], None],
    started_monotonic: float | None = None,
    *,
    demo: bool = False,
) -> dict[str, Handler]:
    """The five commands for a Runtime; ``on_quit`` must only signal the main loop to stop."""
    started = time.monotonic() if started_monotonic is None else started_monotonic
    warmer = runtime.warmer

    def status() -> dict[str, Any]:
        return status_payload(runtime, started, demo)

    def rewarm() -> dict[str, Any]:
        was_paused = warmer.paused  # a re-warm resumes a paused warmer: say so
        warmer.force_rewarm()
        return {**identity(runtime, demo), "resumed": was_paused}

    def pause() -> dict[str, Any]:
        already = warmer.paused
        warmer.pause()
        return {**identity(runtime, demo), "paused": True, "already": already}

    def resume() -> dict[str, Any]:
        already = not warmer.paused
        warmer.resume()
        return {**identity(runtime, demo), "paused": False, "already": already}

    def quit_() -> dict[str, Any]:
        on_quit()
        return identity(runtime, demo)

    return {"status": status, "rewarm": rewarm, "pause": pause, "resume": resume, "quit": quit_}


_CONFIRM = {
    "rewarm": "re-warm started",
    "pause": "warming paused",
    "resume": "warming resumed",
    "quit": "quitting",
}
_ALREADY = {"pause": "already paused", "resume": "already warming"}


def confirmation(command: str, answer: Mapping[str, Any]) -> str:
    """What was done, as the instance answered: ``already paused``, ``re-warm started;
    warming resumed``."""
    if answer.get("already") is True and command in _ALREADY:
        return _ALREADY[command]
    text = _CONFIRM.get(command, command + " done")
    return text + ("; warming resumed" if answer.get("resumed") is True else "")


def not_running_line() -> str:
    """The hint names a start that works as printed (``start_command``)."""
    return NOT_RUNNING_LINE.replace("`quota-tray`", start_command())


def start_command() -> str:
    """```quota-tray``` when the config or the environment names a project, else the start
    with ``--project``: a start that works as printed."""
    from trayapp import paths

    try:
        text = paths.config_file().read_text("utf-8")
        if "projects" in text:  # tomllib (not the config module: twice as slow) only then
            import tomllib

            known = bool(tomllib.loads(text).get("projects"))
        else:
            known = False
    except (OSError, ValueError):  # no file, not UTF-8, not TOML
        known = False
    known = known or any(os.environ.get(v, "").strip() for v in _PROJECT_VARIABLES)
    return "`quota-tray`" if known else _START


_PROJECT_VARIABLES = ("GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT")
_START = "`quota-tray --project ID`, ID being your Google Cloud project"
NOT_RUNNING_DEMO_LINE = "quota-tray: no demo is running (start it with `quota-tray demo`)"


def client_command(
    command: str,
    as_json: bool,
    directory: str | os.PathLike[str] | None = None,
    *,
    demo: bool = False,
) -> int:
    """`quota-tray status|rewarm|pause|resume|quit [--demo]`: 0 done, 3 nothing runs, 1 refused.

    The demo has a channel of its own. Without ``demo`` the real instance is asked, and the
    demo when only the demo runs; every answer says which instance it came from.
    """
    from trayapp.instance import default_directory

    if directory is not None:
        places = [directory]
    else:
        places = (
            [default_directory(True)] if demo else [default_directory(), default_directory(True)]
        )
    for place in places:
        try:
            answer = send(command, place)
        except NotRunning:
            continue
        except ControlError as exc:
            print(f"quota-tray: {clean_line(exc)}", file=sys.stderr)
            return 1
        break
    else:
        if as_json:
            import json

            print(json.dumps({"running": False}))
        else:
            print(NOT_RUNNING_DEMO_LINE if demo else not_running_line(), file=sys.stderr)
        return EXIT_NOT_RUNNING
    if as_json:
        import json

        from trayapp import words

        print(json.dumps(words.whole_numbers(answer), indent=2, sort_keys=True))
    elif command == "status":
        from trayapp.control.status_text import format_status

        print(format_status(answer))
    else:
        reached = who(answer)
        where = f" ({reached})" if reached else ""
        print(f"quota-tray: {confirmation(command, answer)}{where}")
    return 0


def who(answer: Mapping[str, Any]) -> str:
    """``pid 4242, my-project`` or ``the demo, pid 4243, demo-project``: which instance
    answered ("" when the answer does not say)."""
    parts = ["the demo"] if answer.get("demo") is True else []
    if isinstance(answer.get("pid"), int):
        parts.append(f"pid {answer['pid']}")
    projects = answer.get("projects")
    if isinstance(projects, list) and projects:
        parts.append(clean_line(", ".join(map(str, projects)), 80))
    return ", ".join(parts)
