"""How one notification reaches the desktop: plyer, and asking D-Bus whether anyone listens.

Kept apart from the queue in :mod:`trayapp.ui.notify` because this is the platform-facing part:
plyer's quirks, the freedesktop markup, and the session-bus probe that plyer itself does not
make (its notify-send path fails silently).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

from trayapp.ui.notices import APP_NAME, Notice, redact

__all__ = ["body_markup", "icon_for", "notification_unavailable_reason", "plyer_send"]


def notification_unavailable_reason(timeout_s: float = 3.0) -> str | None:
    """One line saying why desktop notifications cannot be delivered, or None if they can.

    Asks the session bus whether ``org.freedesktop.Notifications`` answers (which also starts a
    D-Bus-activated daemon). Only Linux and the BSDs are checked; elsewhere plyer talks to the
    platform directly and None is returned.
    """
    freedesktop = sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd"))
    if not freedesktop or Path("/app").is_dir():  # elsewhere, or Flatpak (desktop portal)
        return None
    reason = _missing_prerequisite()
    ask = _bus_query_command(timeout_s)
    if reason is not None or ask is None:
        return reason  # with nothing to ask the bus with, trust it
    try:
        done = subprocess.run(
            ask,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s + 1.0,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"the notification service did not answer within {timeout_s:g} s"
    except OSError as exc:
        return f"cannot ask the session bus: {exc.strerror or exc}"
    return _bus_answer_problem(done, timeout_s)


def _bus_answer_problem(done: subprocess.CompletedProcess[str], timeout_s: float) -> str | None:
    """What a failed GetServerInformation call says about the service (None on success)."""
    if done.returncode == 0:
        return None
    detail = (done.stderr or done.stdout).strip().splitlines()
    first = detail[0] if detail else f"exit status {done.returncode}"
    if "NoReply" in first or "Timeout" in first:
        return f"the notification service did not answer within {timeout_s:g} s"
    return f"no notification service on the session bus: {redact(first, 160)}"


def _missing_prerequisite() -> str | None:
    """No session bus, or nothing plyer could talk to it with."""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if not address and not (runtime_dir and Path(runtime_dir, "bus").exists()):
        return "no session D-Bus (DBUS_SESSION_BUS_ADDRESS is unset)"
    try:
        import dbus  # noqa: F401  (plyer prefers dbus-python when present)
    except ImportError:
        if shutil.which("notify-send") is None:
            return "neither dbus-python nor notify-send (package libnotify-bin) is available"
    return None


def _bus_query_command(timeout_s: float) -> list[str] | None:
    """A command asking the notification service for its name (dbus-send, else gdbus)."""
    if shutil.which("dbus-send"):
        return [
            "dbus-send",
            "--session",
            "--print-reply",
            f"--reply-timeout={max(1, int(timeout_s * 1000))}",
            "--dest=org.freedesktop.Notifications",
            "/org/freedesktop/Notifications",
            "org.freedesktop.Notifications.GetServerInformation",
        ]
    if shutil.which("gdbus"):
        return [
            "gdbus",
            "call",
            "--session",
            f"--timeout={max(1, round(timeout_s))}",
            "--dest",
            "org.freedesktop.Notifications",
            "--object-path",
            "/org/freedesktop/Notifications",
            "--method",
            "org.freedesktop.Notifications.GetServerInformation",
        ]
    return None


def plyer_send(notice: Notice, icon: str, timeout_s: float) -> None:
    """Deliver one notification through plyer.

    plyer's public ``notify()`` passes ``app_icon`` and ``timeout``, but its notify-send backend
    reads ``icon`` and ``expire_time`` (and would otherwise never expire the bubble), so the
    backend is called with both spellings.
    """
    with warnings.catch_warnings():
        # plyer warns on every first use when dbus-python is absent; notify-send is fine.
        warnings.simplefilter("ignore")
        from plyer import notification

        backend = getattr(notification, "_notify", None)
    kwargs = {
        "title": notice.title,
        "message": body_markup(notice.message),
        "app_name": APP_NAME,
        "app_icon": icon,
        "timeout": max(1, round(timeout_s)),
    }
    if backend is None:
        notification.notify(**kwargs)
        return
    backend(
        **kwargs,
        icon=icon,
        expire_time=str(max(1, round(timeout_s * 1000))),
        ticker="",
        toast=False,
        hints={},
    )


def body_markup(text: str) -> str:
    """``text`` escaped for the freedesktop body markup, where servers (GNOME, KDE, dunst)
    read ``<``, ``>`` and ``&`` as markup: an error message quoting ``<html>`` must show as
    text. Elsewhere (Windows, macOS) the body is plain text and stays as it is."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return text
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def icon_for(state: str) -> str:
    """The state icon's file for the bubble, or "" when it cannot be found."""
    try:
        from trayapp.ui.icons import icon_path

        return str(icon_path(state, scale=1))
    except (KeyError, OSError):
        return ""
