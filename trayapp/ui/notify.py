"""Native desktop notifications for the few events a person wants to hear about.

:class:`Notifier` is the observer: ``on_event`` asks the policy (:mod:`trayapp.ui.notices`)
and only enqueues; a thread of its own delivers through plyer with a deadline per
notification, so a missing or hung notification service never delays the warmer.

How a notification reaches the desktop (plyer, the session-bus probe) lives in
:mod:`trayapp.ui.notify_send`; this module owns the queue, its deadlines, and the one warning
logged when notifications cannot be delivered.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trayapp.ui.notices import (
    APP_NAME,
    SLOW_NOTICE_INTERVAL_S,
    Notice,
    NotificationPolicy,
    redact,
)
from trayapp.ui.notify_send import (
    body_markup,
    icon_for,
    notification_unavailable_reason,
    plyer_send,
)
from trayapp.warming.events import Event

__all__ = [
    "APP_NAME",
    "Notice",
    "NotificationPolicy",
    "Notifier",
    "body_markup",
    "notification_unavailable_reason",
    "plyer_send",
    "redact",
]

log = logging.getLogger(__name__)


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
        icon_for: Callable[[str], str] = icon_for,
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
