"""Native desktop notifications for the few events a person wants to hear about.

:class:`Notifier` is the observer: ``on_event`` asks the policy (:mod:`trayapp.ui.notices`)
and only enqueues; a thread of its own delivers through plyer with a deadline per
notification, so a missing or hung notification service never delays the warmer.

plyer fails silently (its notify-send path discards the exit status and only prints to stderr),
so the notifier asks the session bus itself whether ``org.freedesktop.Notifications`` answers
and logs one warning when notifications cannot be delivered.
"""

from __future__ import annotations

import collections
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trayapp.events import Event
from trayapp.ui.notices import (
    APP_NAME,
    SLOW_NOTICE_INTERVAL_S,
    Notice,
    NotificationPolicy,
    redact,
)

__all__ = [
    "APP_NAME",
    "Notice",
    "NotificationPolicy",
    "Notifier",
    "notification_unavailable_reason",
    "plyer_send",
    "redact",
]

log = logging.getLogger(__name__)

# --- delivery ---------------------------------------------------------------------------------


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


def _icon_for(state: str) -> str:
    try:
        from trayapp.ui.icons import icon_path

        return str(icon_path(state, scale=1))
    except (KeyError, OSError):
        return ""


@dataclass
class _Item:
    notice: Notice
    queued_at: float


class Notifier:
    """The notifications observer: ``on_event`` decides and enqueues, never blocks.

    A thread of its own (``start()``) delivers each notification with a deadline of
    ``send_timeout_s``; a notification still waiting after ``max_age_s`` is dropped, and at
    most ``max_queue`` wait at once. ``send``, ``probe`` and ``clock`` are injectable for tests.
    """

    def __init__(
        self,
        *,
        enabled: bool = True,
        tone: str = "plain",
        display_timeout_s: float = 10.0,
        send_timeout_s: float = 5.0,
        max_age_s: float = 60.0,
        max_queue: int = 16,
        probe_interval_s: float = 60.0,
        slow_interval_s: float = SLOW_NOTICE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        send: Callable[[Notice, str, float], None] | None = None,
        probe: Callable[[], str | None] | None = None,
        icon_for: Callable[[str], str] = _icon_for,
    ) -> None:
        self.policy = NotificationPolicy(tone=tone, slow_interval_s=slow_interval_s, clock=clock)
        self._enabled = enabled
        self.display_timeout_s = display_timeout_s
        self.send_timeout_s = send_timeout_s
        self.max_age_s = max_age_s
        self.max_queue = max_queue
        self.probe_interval_s = probe_interval_s
        self._clock = clock
        self._send = send or plyer_send
        self._probe = probe or (lambda: notification_unavailable_reason(send_timeout_s))
        self._icon_for = icon_for
        self._policy_lock = threading.Lock()
        self._cond = threading.Condition()
        self._pending: collections.deque[_Item] = collections.deque()
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._hung: threading.Thread | None = None
        self._last_probe: float | None = None
        self._unavailable: str | None = None
        self._warned = False
        self.sent = 0
        self.dropped = 0

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> Notifier:
        """A notifier configured from ``Settings`` (``notifications`` on/off, plain or spicy)."""
        return cls(
            enabled=bool(getattr(settings, "notifications", True)),
            tone=str(getattr(settings, "toast_tone", "plain")),
            **kwargs,
        )

    # -- configuration

    @property
    def enabled(self) -> bool:
        """Whether notifications are shown (the tray menu toggles this)."""
        return self._enabled

    def apply(self, settings: Any) -> None:
        """Settings re-read on SIGHUP: the on/off switch and the wording."""
        self.set_enabled(bool(getattr(settings, "notifications", True)))
        self.policy.tone = str(getattr(settings, "toast_tone", "plain"))

    def set_enabled(self, enabled: bool) -> None:
        """Turn notifications on or off; the rules keep tracking state either way."""
        self._enabled = bool(enabled)
        if not enabled:
            with self._cond:
                self.dropped += len(self._pending)
                self._pending.clear()

    # -- observer

    def on_event(self, event: Event) -> None:
        """Decide and enqueue; returns at once whatever the notification service does."""
        with self._policy_lock:
            notices = self.policy.decide(event)
        self.post(*notices)

    def post(self, *notices: Notice) -> None:
        """Enqueue notices decided elsewhere (watch alerts); returns at once."""
        if not notices or not self._enabled:
            return
        now = self._clock()
        with self._cond:
            for notice in notices:
                if len(self._pending) >= self.max_queue:
                    self.dropped += 1
                    continue
                self._pending.append(_Item(notice, now))
            self._cond.notify()

    # -- lifecycle

    def start(self) -> None:
        """Start the delivery thread (idempotent)."""
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop the thread; pending notifications are dropped. True if it ended in time."""
        with self._cond:
            self._stopping = True
            self.dropped += len(self._pending)
            self._pending.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or being sent; True if that happened in time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    @property
    def unavailable_reason(self) -> str | None:
        """Why the last delivery attempt found no notification service (None if it did)."""
        return self._unavailable

    # -- the delivery thread

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                item = self._pending.popleft()
                self._busy = True
            try:
                self._deliver(item)
            except Exception:
                log.exception("notification delivery failed")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _deliver(self, item: _Item) -> None:
        if self._clock() - item.queued_at > self.max_age_s or not self._enabled:
            self.dropped += 1
            return
        if self._hung is not None:
            if self._hung.is_alive():
                self.dropped += 1  # one hung call at a time; do not pile up threads
                return
            self._hung = None
        if not self._available():
            self.dropped += 1
            return
        error: list[BaseException] = []

        def call() -> None:
            try:
                self._send(item.notice, self._icon_for(item.notice.state), self.display_timeout_s)
            except BaseException as exc:
                error.append(exc)

        worker = threading.Thread(target=call, name="notifier-send", daemon=True)
        worker.start()
        worker.join(self.send_timeout_s)
        if worker.is_alive():
            self._hung = worker
            self._mark_unavailable(
                f"the notification service did not answer within {self.send_timeout_s:g} s"
            )
            self.dropped += 1
        elif error:
            exc = error[0]
            self._mark_unavailable(f"{type(exc).__name__}: {redact(str(exc), 160)}")
            self.dropped += 1
        else:
            self.sent += 1

    def _available(self) -> bool:
        now = self._clock()
        if self._last_probe is None or now - self._last_probe >= self.probe_interval_s:
            self._last_probe = now
            try:
                reason = self._probe()
            except Exception as exc:  # a broken probe must not stop delivery
                reason = None
                log.debug("notification probe failed: %s", exc)
            if reason is None:
                if self._unavailable is not None and self._warned:
                    log.info("desktop notifications can be delivered again")
                    self._warned = False
                self._unavailable = None
            else:
                self._mark_unavailable(reason)
        return self._unavailable is None

    def _mark_unavailable(self, reason: str) -> None:
        self._unavailable = reason
        self._last_probe = self._clock()  # retry after probe_interval_s
        if not self._warned:
            self._warned = True
            log.warning("desktop notifications cannot be delivered: %s", reason)
