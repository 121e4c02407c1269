"""Wiring and lifecycle: one warmer, its observers, and the tray or the terminal in front."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trayapp import cache, paths
from trayapp.config import Settings
from trayapp.history import HistoryRecorder
from trayapp.logsink import FileLog, route_logging
from trayapp.sources.base import QuotaSource
from trayapp.warming.capacity_lane import CapacityLane
from trayapp.warming.events import Event, EventBus, WarmEvent
from trayapp.warming.lanes import lanes_for
from trayapp.warming.scheduler import Warmer
from trayapp.warming.state import WarmState
from trayapp.warming.troubles import Troubles
from trayapp.watch import WatchAlerts, alert_line

log = logging.getLogger("trayapp")


@dataclass(frozen=True)
class Files:
    cache: Path
    log: Path
    history: Path

    @classmethod
    def default(cls, demo: bool = False) -> Files:
        """The user's files; the demo keeps its own beside them, so it never clobbers them."""
        sub = Path("demo") if demo else Path()
        return cls(
            cache=cache.default_path(demo),
            log=paths.log_dir() / sub / "cache_warm.log",
            history=paths.state_dir() / sub / "history.sqlite3",
        )


class CycleWatch:
    """Lets the main thread wait for the first cycle's end: complete, or not (failed, unwritten)."""

    def __init__(self) -> None:
        self.complete = threading.Event()
        self.failed, self.ok = 0, False

    def on_event(self, event: Event) -> None:
        ended = event.kind in (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE)
        if ended and not self.complete.is_set():
            self.failed = int(event.data.get("failed", 0))
            self.ok = event.kind is WarmEvent.COMPLETE
            self.complete.set()


class Runtime:
    """A warmer with the cache writer, the log and the metrics, ready to start."""

    def __init__(
        self,
        settings: Settings,
        source: QuotaSource,
        files: Files,
        load_settings: Callable[[], Settings] | None = None,
    ) -> None:
        self.settings = settings
        self.files = files
        self.load_settings = load_settings
        self.quit_requested = threading.Event()  # Quit, Ctrl+C, SIGTERM, `quota-tray quit`
        self.on_reload: list[Callable[[Settings], None]] = []  # told the new settings on SIGHUP
        self.bus = EventBus()
        self.filelog = FileLog(files.log, settings.tone).open()
        self._unroute = route_logging(self.filelog)  # warnings of every module, rate-limited
        plan = settings.plan()
        state = WarmState(plan)
        self._seed(state)
        self.writer = cache.CacheWriter(files.cache, on_error=self.filelog.error)
        self.bus.subscribe(self.writer)
        self.bus.subscribe(self.filelog)
        self.watch = CycleWatch()
        self.bus.subscribe(self.watch)
        self.alerts = WatchAlerts(settings.watch)  # [[watch]] rules, checked per cycle
        self.bus.subscribe(self.alerts)  # after the log: a rule's line follows its cycle's end
        self.alerts.listeners.append(
            lambda groups: [self.filelog.write_line(alert_line(g)) for g in groups]
        )
        self.history = HistoryRecorder(files.history, ",".join(settings.projects)).start()
        self.bus.subscribe(self.history)
        self.troubles = Troubles(  # the tray title, `status` and one notification (a cache
            {  # file that cannot be written is said by the end of the cycle it keeps incomplete)
                "history": lambda: self.history.problem,
                "observers": lambda: "; ".join(self.bus.failing()),
            }
        )
        self.bus.subscribe(self.troubles)
        self.lanes = lanes_for(source, capacity=settings.capacity_enabled)  # the extras
        self.warmer = Warmer(
            plan,
            source,
            self.bus,
            interval_s=settings.interval_s,
            rewarm_s=settings.rewarm_s,
            thresholds=settings.thresholds,
            fetch_deadline_s=settings.timeout_s,
            state=state,
            output=self.writer,  # a cycle is complete only once its answers reached the file
            enrichments=self.lanes,
        )

    def _seed(self, state: WarmState) -> None:
        """Serve the last run's values until new ones replace them; set a bad file aside."""
        try:
            state.seed(cache.load(self.files.cache))
        except cache.CacheError as exc:
            if exc.reason in ("corrupt", "schema"):
                to = os.path.basename(cache.set_aside(exc.path))  # noqa: PTH119
                self.filelog.error(f"{exc.what}; set aside as {to}, starting afresh", terminal=True)
            elif exc.reason == "unreadable":
                self.filelog.error(str(exc))

    def reload(self) -> None:
        """SIGHUP: re-read the config; a bad one keeps the old settings and says so."""
        if self.load_settings is None:
            return
        try:
            new = self.load_settings()
        except Exception as exc:
            self.warmer.reject_config(f"config not reloaded, keeping the old one: {exc}")
            return
        notes = []
        if new.endpoint != self.settings.endpoint:
            notes.append("the endpoint change takes effect at the next start")
        if new.cloudquotas_endpoint != self.settings.cloudquotas_endpoint:
            notes.append("the quotas_endpoint change takes effect at the next start")
        if new.quota_project != self.settings.quota_project:
            notes.append("the auth.quota_project change takes effect at the next start")
        self.warmer.reconfigure(
            new.plan(),
            interval_s=new.interval_s,
            rewarm_s=new.rewarm_s,
            thresholds=new.thresholds,
            fetch_deadline_s=new.timeout_s,
            notes=tuple(notes),
        )
        self.warmer.source.timeout_s = new.timeout_s
        self.filelog.tone = new.tone
        self.history.project_label = ",".join(new.projects)
        self.alerts.set_rules(new.watch)
        for lane in self.lanes:  # [capacity] enabled, as reloaded
            if isinstance(lane, CapacityLane):
                lane.enabled = new.capacity_enabled
        self.settings = new
        for apply in self.on_reload:
            apply(new)
        log.info("config reloaded")

    def subscribe(self, observer: Any) -> None:
        self.bus.subscribe(observer)

    def stop(self) -> None:
        self.warmer.stop()
        self.history.stop(2.0)
        self._unroute()
        self.filelog.close()


def run_headless(runtime: Runtime, *, once: bool) -> int:
    """Warm until quit (Ctrl+C, SIGTERM, `quota-tray quit`), or for one cycle with ``once``."""
    from trayapp.ui.progress import TerminalProgress

    progress = TerminalProgress(sys.stdout, runtime.settings.tone)
    runtime.subscribe(progress)
    runtime.on_reload.append(lambda new: setattr(progress, "tone", new.tone))
    runtime.alerts.listeners.append(lambda groups: [progress.say(alert_line(g)) for g in groups])
    restore = on_signals(runtime)
    runtime.warmer.start(once=once)
    try:
        while not runtime.quit_requested.wait(0.2):
            if once and runtime.watch.complete.is_set():
                break
    finally:
        runtime.stop()
        restore()
    if once:
        return 0 if runtime.watch.complete.is_set() and runtime.watch.ok else 1
    return 0


def on_signals(runtime: Runtime) -> Callable[[], None]:
    """SIGINT/SIGTERM ask to quit, SIGHUP reloads the config; returns a restorer."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    actions: dict[int, Callable[[], None]] = {
        signal.SIGINT: runtime.quit_requested.set,
        signal.SIGTERM: runtime.quit_requested.set,
    }
    if hasattr(signal, "SIGHUP"):
        # the handler only starts a thread: reloading reads files, never in a signal handler
        actions[signal.SIGHUP] = lambda: threading.Thread(
            target=runtime.reload, name="quota-reload", daemon=True
        ).start()
    old = {sig: signal.getsignal(sig) for sig in actions}
    for sig, action in actions.items():
        signal.signal(sig, lambda _sig, _frame, action=action: action())

    def restore() -> None:
        for sig, handler in old.items():
            signal.signal(sig, handler)

    return restore


def resolve_projects(settings: Settings, *, detect: bool) -> tuple[str, ...]:
    """Config or flags, then GOOGLE_CLOUD_PROJECT, CLOUDSDK_CORE_PROJECT, then ADC's project."""
    if settings.projects:
        return settings.projects
    for var in ("GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"):
        if os.environ.get(var, "").strip():
            return (os.environ[var].strip(),)
    if detect:
        from trayapp.sources.fetcher.source import detect_project  # google.auth loads elsewhere

        found = detect_project()
        if found:
            return (found,)
    return ()


def run(runtime: Runtime, *, headless: bool, once: bool) -> int:
    """The tray where one can be shown; otherwise say why in one line and run headless. The
    log says which (CACHE_WARM_TRAY), so an icon missing at login can be explained."""
    reason: str | None = "headless as asked"
    if not headless:
        from trayapp.ui.tray import tray_unavailable_reason

        reason = tray_unavailable_reason()
        if reason is None:
            return run_tray(runtime)
        print(f"quota-tray: {reason}; running headless", file=sys.stderr)
    runtime.filelog.write_line(f"🖥️ CACHE_WARM_TRAY: none: {reason}; running headless")
    return run_headless(runtime, once=once)


def run_tray(runtime: Runtime) -> int:
    """The icon on the main thread; the warmer, notifier and history on threads of their own."""
    from trayapp.stats import show_from_tray
    from trayapp.ui.notices import watch_notice
    from trayapp.ui.notify import Notifier
    from trayapp.ui.tray import TrayApp

    notifier = Notifier.from_settings(runtime.settings)
    tray = TrayApp(
        runtime.warmer,
        total=len(runtime.warmer.plan),
        notifier=notifier,
        on_quit=runtime.quit_requested.set,
        log_path=runtime.files.log,
        cache_dir=runtime.files.cache.parent,
        show_stats=lambda: show_from_tray(runtime),
    )
    runtime.filelog.write_line(f"🖥️ CACHE_WARM_TRAY: the icon shown by the {tray.backend} backend")
    runtime.subscribe(tray)
    runtime.subscribe(notifier)
    runtime.troubles.listeners.append(tray.show_troubles)
    threading.Thread(target=_look_for_troubles, args=(runtime,), daemon=True).start()
    runtime.on_reload.append(notifier.apply)
    runtime.alerts.listeners.append(
        lambda groups: notifier.post(*(watch_notice(group) for group in groups))
    )
    notifier.start()
    restore = on_signals(runtime)
    threading.Thread(
        target=lambda: (runtime.quit_requested.wait(), tray.stop()),
        name="quota-quit",
        daemon=True,
    ).start()
    runtime.warmer.start()
    try:
        tray.run()
    finally:
        runtime.quit_requested.set()
        runtime.stop()
        notifier.stop(1.0)
        restore()
    return 0


def _look_for_troubles(runtime: Runtime) -> None:
    """Between cycles no event comes to look: a failure that outlasts a cycle is still told."""
    while not runtime.quit_requested.wait(min(5.0, runtime.troubles.persist_s)):
        runtime.troubles.current()
