"""What keeps failing in the app's own parts (the cache writer, the history, an observer of the
bus), for the user to see: the tray's title, ``status`` and one notification, not only the log.

Standard library only, like the rest of the engine: each part is a probe, a plain callable.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

from trayapp.safety.text import clean_line
from trayapp.warming.events import Event


class Troubles:
    """The app's own parts that keep failing (the cache writer, the history, an observer),
    told to the tray, ``status`` and a notification, not only to the log.

    Each probe returns one line while its part fails, else None; a failure becomes a trouble
    once it has lasted ``persist_s`` (a one-off hiccup is only logged). An observer of the bus,
    so it looks again at every event; ``current()`` looks at once. Listeners are told
    ``(shown, new)`` when a trouble begins or ends: every trouble, and those just begun.
    """

    def __init__(
        self,
        probes: dict[str, Callable[[], str | None]],
        persist_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.probes, self.persist_s, self.clock = probes, persist_s, clock
        self.listeners: list[Callable[[list[str], list[str]], None]] = []
        self._since: dict[str, float] = {}
        self._shown: dict[str, str] = {}
        self._lock = threading.Lock()

    def on_event(self, event: Event) -> None:
        self.current()

    def current(self) -> list[str]:
        """The troubles now, one line each."""
        now, failing = self.clock(), {}
        for name, probe in self.probes.items():
            with contextlib.suppress(Exception):  # a probe never breaks the caller
                line = probe()
                if line:
                    failing[name] = clean_line(line, 300)
        with self._lock:
            self._since = {name: self._since.get(name, now) for name in failing}
            shown = {
                n: line for n, line in failing.items() if now - self._since[n] >= self.persist_s
            }
            new = [line for n, line in shown.items() if n not in self._shown]
            changed = shown != self._shown
            self._shown = shown
        if changed:
            for listener in list(self.listeners):
                with contextlib.suppress(Exception):
                    listener(list(shown.values()), new)
        return list(shown.values())
