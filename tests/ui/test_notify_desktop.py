"""Notifications through plyer to a real dunst on a real session bus (and to no daemon)."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator

import pytest

# Fixtures come from tests/desktop.py (tests/conftest.py imports them as well).
from desktop import Desktop, desktop, desktop_without_notifications  # noqa: F401

from trayapp.ui.notify import Notifier
from trayapp.warming.events import Event, Progress, WarmEvent
from trayapp.warming.levels import Level

pytestmark = pytest.mark.desktop

P0 = Progress(0, 20, 0, 18)
P_ALL = Progress(20, 20, 18, 18)


def batch(cycle: int, done: int, level: Level, ms: int) -> Event:
    gpu = min(done, 20)
    kind = WarmEvent.BATCH_WARM if level is Level.FIRE else WarmEvent.BATCH_SLOW
    return Event(kind, cycle, Progress(gpu, 20, done - gpu, 18), elapsed_ms=ms, level=level)


def complete(cycle: int) -> Event:
    return Event(
        WarmEvent.COMPLETE,
        cycle,
        P_ALL,
        level=Level.COMPLETE,
        data={"failed": 0, "duration_s": 41.2},
    )


@pytest.fixture
def notifier() -> Iterator[Notifier]:
    notifier = Notifier(display_timeout_s=30, send_timeout_s=3)
    notifier.start()
    yield notifier
    assert notifier.stop(5)


def test_complete_notification_reaches_dunst(
    desktop: Desktop,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    notifier: Notifier,
) -> None:
    desktop.activate(monkeypatch)
    notifier.on_event(Event(WarmEvent.START, 1, P0))
    notifier.on_event(batch(1, 2, Level.FIRE, 812))
    notifier.on_event(complete(1))
    assert notifier.wait_idle(10)
    assert notifier.sent == 1, notifier.unavailable_reason

    bubble = desktop.wait_for(desktop.notification_bubbles, 10, "dunst to show the bubble")[0]
    desktop.save_doc_screenshot("notification.png", bubble.box)
    shot = desktop.grab(bubble.box)
    colours = shot.getcolors(maxcolors=1 << 16) or []
    assert len(colours) > 20, "the bubble should have drawn text and an icon"

    history = desktop.dunst_history()
    assert history == [("✅ Quota cache warm", "38/38 checks warm in 41 s.", "quota-tray")]


def test_too_slow_only_once_per_cycle(
    desktop: Desktop,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    notifier: Notifier,
) -> None:
    desktop.activate(monkeypatch)
    notifier.on_event(Event(WarmEvent.START, 1, P0))
    for done in range(2, 14, 2):
        notifier.on_event(batch(1, done, Level.SLOW, 3400 + done))
    notifier.on_event(complete(1))
    notifier.on_event(Event(WarmEvent.REWARM, 2, P0, data={"reason": "periodic"}))
    for done in range(2, 8, 2):  # within 10 minutes of the last one: quiet
        notifier.on_event(batch(2, done, Level.SLOW, 3500))
    assert notifier.wait_idle(15)

    desktop.wait_for(
        lambda: desktop.run("dunstctl", "count", "displayed").strip() == "2",
        10,
        "two bubbles",
    )
    history = desktop.dunst_history()
    summaries = [summary for summary, _, _ in history]
    assert summaries == ["💀 Quota API too slow", "✅ Quota cache warm"]
    assert "3402 ms" in history[0][1]
    assert all(app == "quota-tray" for _, _, app in history)


def failed_cycle(reason: str) -> Event:
    """A cycle that ended with every check failed: one notice per distinct reason."""
    data = {"failed": 38, "checks": 38, "reasons": [reason], "retry_in_s": 60.0}
    return Event(WarmEvent.INCOMPLETE, 1, P0, data=data)


def test_without_a_daemon_on_event_stays_fast_and_warns_once(
    desktop_without_notifications: Desktop,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    desk = desktop_without_notifications
    desk.activate(monkeypatch)
    assert not desk.notification_daemon_ready()
    notifier = Notifier(send_timeout_s=2, probe_interval_s=0)
    notifier.start()
    try:
        with caplog.at_level(logging.WARNING, logger="trayapp.ui.notify"):
            started = time.perf_counter()
            for i in range(100):
                notifier.on_event(failed_cycle(f"no credentials {i}"))
            elapsed = time.perf_counter() - started
            assert notifier.wait_idle(60)
    finally:
        assert notifier.stop(5)
    assert elapsed < 1.0, f"100 on_event calls took {elapsed:.3f} s"
    warnings = [r for r in caplog.records if "cannot be delivered" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "org.freedesktop.Notifications" in warnings[0].getMessage()
    assert notifier.sent == 0


def test_hung_daemon_never_delays_the_caller(
    desktop: Desktop,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    desktop.activate(monkeypatch)
    dunst = desktop.processes["dunst"]
    notifier = Notifier(send_timeout_s=1)
    notifier.start()
    os.kill(dunst.pid, signal.SIGSTOP)  # owns the bus name, answers nothing
    try:
        with caplog.at_level(logging.WARNING, logger="trayapp.ui.notify"):
            started = time.perf_counter()
            notifier.on_event(Event(WarmEvent.START, 1, P0))
            for i in range(50):
                notifier.on_event(failed_cycle(f"denied {i}"))
            notifier.on_event(complete(1))
            elapsed = time.perf_counter() - started
            assert notifier.wait_idle(30)
    finally:
        os.kill(dunst.pid, signal.SIGCONT)
        assert notifier.stop(5)
    assert elapsed < 0.5, f"52 on_event calls took {elapsed:.3f} s"
    warnings = [r for r in caplog.records if "cannot be delivered" in r.getMessage()]
    assert len(warnings) == 1
    assert "did not answer" in warnings[0].getMessage()


def answered(region: str, metric: str, limit: float, usage: float | None) -> dict:
    """As the warmer writes it: a usage from regions.get (source compute); a limit without
    usage from the GPU family quota (source cloudquotas), as on-demand H100 always is."""
    from trayapp.cache import now_iso

    return {
        "kind": "gpu",
        "region": region,
        "metric": metric,
        "status": "ok",
        "limit": limit,
        "usage": usage,
        "fetched_at": now_iso(),
        "error": None,
        "source": "compute" if usage is not None else "cloudquotas",
    }


def test_the_answer_and_a_watch_alert_reach_dunst(
    desktop: Desktop,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    notifier: Notifier,
) -> None:
    """The complete notice names the best region per GPU type; a watch rule met for the first
    time is one bubble naming the region; text that looks like markup shows as text."""
    from trayapp.ui.notices import watch_notice
    from trayapp.watch import WatchAlerts, WatchRule, hits

    desktop.activate(monkeypatch)
    checks = [  # on-demand H100 from the family quota (a limit), A100 from regions.get
        answered("us-west1", "NVIDIA_H100_GPUS", 16.0, None),
        answered("europe-west4", "NVIDIA_H100_GPUS", 8.0, None),
        answered("us-central1", "NVIDIA_A100_GPUS", 8.0, 4.0),
    ]
    snapshot = {"projects": {"my-project": {"cycle": {}, "checks": checks}}}
    alerts = WatchAlerts([WatchRule("NVIDIA_H100_GPUS", 16.0)])
    alerts.listeners.append(lambda groups: notifier.post(*map(watch_notice, groups)))
    done = Event(
        WarmEvent.COMPLETE,
        1,
        P_ALL,
        level=Level.COMPLETE,
        data={"failed": 0, "duration_s": 53},
        snapshot=snapshot,
    )
    notifier.on_event(Event(WarmEvent.START, 1, P0))
    alerts.on_event(done)  # the watch alert first, alone on screen for its picture
    assert notifier.wait_idle(10)
    bubble = desktop.wait_for(desktop.notification_bubbles, 10, "the watch alert on screen")[0]
    desktop.save_doc_screenshot("watch-alert.png", bubble.box)
    notifier.on_event(done)
    alerts.on_event(done)  # still met: no second alert
    [hit] = hits(
        [WatchRule("NVIDIA_A100_GPUS", 1.0)],
        [answered("<b>x</b> & y", "NVIDIA_A100_GPUS", 2.0, 0.0)],
    )
    notifier.post(watch_notice([hit]))
    assert notifier.wait_idle(10)
    assert notifier.sent == 3, notifier.unavailable_reason
    history = desktop.dunst_history()
    assert history[:2] == [
        (
            "🎯 H100: a limit of 16 in us-west1 (usage unknown)",
            "a limit of 16 in us-west1 (usage unknown)\nWatching for 16 × H100.",
            "quota-tray",
        ),
        (
            "✅ Quota cache warm",
            "38/38 checks warm in 53 s.\nH100: ≤ 16 free in us-west1\nA100: 4 free in us-central1",
            "quota-tray",
        ),
    ]
    # dunst got the markup escaped, so it shows the characters and never parses a tag
    assert history[2][1].startswith("2 free in &lt;b&gt;x&lt;/b&gt; &amp; y")


def test_a_granted_request_and_a_launch_now_likely_reach_dunst(
    desktop: Desktop,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    notifier: Notifier,
) -> None:
    """What the warmer tells of a quota request decided, and of a launch whose machines became
    likely: one bubble each, in the plain words, naming the quota, region and new limit; a
    request still under review is no bubble."""
    from trayapp.sources import preference_states as states
    from trayapp.warming.requests_lane import RequestsLane

    desktop.activate(monkeypatch)
    entry = {
        "name": "projects/p/locations/global/quotaPreferences/h100", "id": "h100",
        "service": "compute.googleapis.com", "quota_id": "GPUS-PER-GPU-FAMILY-per-project-region",
        "dimensions": {"region": "us-central1", "gpu_family": "NVIDIA_H100"},
        "region": "us-central1", "metric": "H100", "tier": "on-demand", "preferred": 24,
        "granted": 16, "reconciling": True, "state": "pending", "state_detail": "",
        "trace_id": "", "created_at": None, "updated_at": None,
    }  # fmt: skip
    granted = {**entry, "granted": 24, "reconciling": False, "state": "granted"}
    told = [
        *[(c.log, c.notice, c.state) for c in states.changes([], [entry])],  # under review
        *[(c.log, c.notice, c.state) for c in states.changes([entry], [granted])],
    ]
    assert RequestsLane.name == "preferences"
    for log, plain, state in told:
        data = {"plain": plain, "state": state, "project": "p"}
        notifier.on_event(Event(WarmEvent.REQUEST, 1, P_ALL, message=log, data=data))
    likely = "t4box (n1-standard-8+4xT4 x1) is now likely in us-central1"
    notifier.on_event(
        Event(
            WarmEvent.CAPACITY, 1, P_ALL, message=f"🟢 {likely} (score 0.71, zones us-central1-a)",
            data={"plain": f"Capacity: {likely}", "project": "p"},
        )
    )  # fmt: skip
    assert notifier.wait_idle(10)
    assert notifier.sent == 2, notifier.unavailable_reason
    assert desktop.dunst_history()[:2] == [
        ("🎉 Quota granted", "H100, 24 in us-central1", "quota-tray"),
        ("🟢 Capacity", likely, "quota-tray"),
    ]
