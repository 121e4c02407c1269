"""The notification rules (pure, fake clock) and the Notifier's queue and deadlines."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from trayapp.ui.notices import Notice, NotificationPolicy, redact
from trayapp.ui.notify import Notifier, notification_unavailable_reason
from trayapp.warming.events import Event, Progress, WarmEvent
from trayapp.warming.levels import Level

TOTAL = 38


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def progress(done: int = 0, total: int = TOTAL) -> Progress:
    gpu_total = 20 if total == TOTAL else total // 2
    gpu_done = min(done, gpu_total)
    return Progress(gpu_done, gpu_total, done - gpu_done, total - gpu_total)


def ev(kind: WarmEvent, cycle: int = 1, done: int = 0, **kw: Any) -> Event:
    return Event(kind=kind, cycle=cycle, progress=progress(done), **kw)


def batch(cycle: int, done: int, level: Level, ms: int = 800, **kw: Any) -> Event:
    kind = WarmEvent.BATCH_WARM if level is Level.FIRE else WarmEvent.BATCH_SLOW
    return ev(kind, cycle, done, level=level, elapsed_ms=ms, **kw)


def complete(cycle: int, failures: int = 0, duration: float = 41.0) -> Event:
    return ev(
        WarmEvent.COMPLETE,
        cycle,
        TOTAL,
        level=Level.COMPLETE,
        data={"failed": failures, "duration_s": duration},
    )


def rewarm(cycle: int, reason: str) -> Event:
    return ev(WarmEvent.REWARM, cycle, 0, data={"reason": reason})


def error(message: str, kind: str = "auth", cycle: int = 1) -> Event:
    return ev(WarmEvent.ERROR, cycle, 3, message=message, error_kind=kind)


def kinds(policy: NotificationPolicy, *events: Event) -> list[str]:
    return [notice.kind for event in events for notice in policy.decide(event)]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def policy(clock: FakeClock) -> NotificationPolicy:
    return NotificationPolicy(clock=clock)


# --- complete ---------------------------------------------------------------------------------


def test_first_cycle_after_startup_completes_loudly(policy: NotificationPolicy) -> None:
    policy.decide(ev(WarmEvent.START))
    assert kinds(policy, batch(1, 2, Level.FIRE), batch(1, 4, Level.FIRE)) == []
    [notice] = policy.decide(complete(1))
    assert notice.kind == "complete"
    assert notice.state == "complete"
    assert "38/38" in notice.message and "41 s" in notice.message


def test_periodic_rewarm_completes_silently(policy: NotificationPolicy) -> None:
    assert kinds(policy, ev(WarmEvent.START), complete(1)) == ["complete"]
    assert kinds(policy, rewarm(2, "periodic"), batch(2, 2, Level.FIRE), complete(2)) == []
    assert kinds(policy, rewarm(3, "periodic"), complete(3)) == []


def test_forced_rewarm_completes_loudly(policy: NotificationPolicy) -> None:
    kinds(policy, ev(WarmEvent.START), complete(1))
    assert kinds(policy, rewarm(2, "forced"), batch(2, 2, Level.FIRE), complete(2)) == ["complete"]
    assert kinds(policy, rewarm(3, "periodic"), complete(3)) == []


def test_periodic_rewarm_with_failed_batches_is_reported(policy: NotificationPolicy) -> None:
    kinds(policy, ev(WarmEvent.START), complete(1))
    events = (rewarm(2, "periodic"), ev(WarmEvent.BATCH_FAIL, 2, 3), complete(2))
    assert kinds(policy, *events) == ["complete"]


def test_periodic_rewarm_with_slow_batch_is_reported(
    policy: NotificationPolicy, clock: FakeClock
) -> None:
    kinds(policy, ev(WarmEvent.START), complete(1))
    clock.advance(3600)
    events = (rewarm(2, "periodic"), batch(2, 2, Level.SLOW, 3400), complete(2))
    assert kinds(policy, *events) == ["too_slow", "complete"]


def test_warn_and_slowish_batches_are_not_trouble(policy: NotificationPolicy) -> None:
    kinds(policy, ev(WarmEvent.START), complete(1))
    events = (
        rewarm(2, "periodic"),
        batch(2, 2, Level.WARN, 2100),
        batch(2, 4, Level.SLOWISH, 2700),
        complete(2),
    )
    assert kinds(policy, *events) == []


# --- too slow ---------------------------------------------------------------------------------


def test_too_slow_at_most_once_per_cycle(policy: NotificationPolicy, clock: FakeClock) -> None:
    policy.decide(ev(WarmEvent.START))
    found = []
    for done in range(2, 22, 2):
        clock.advance(700)  # even past the 10-minute limit, the cycle already had one
        found += kinds(policy, batch(1, done, Level.SLOW, 3500))
    assert found == ["too_slow"]


def test_too_slow_at_most_once_per_ten_minutes(
    policy: NotificationPolicy, clock: FakeClock
) -> None:
    assert kinds(policy, ev(WarmEvent.START), batch(1, 2, Level.SLOW, 3500)) == ["too_slow"]
    clock.advance(60)
    assert kinds(policy, complete(1), rewarm(2, "periodic"), batch(2, 2, Level.SLOW)) == [
        "complete"
    ]
    clock.advance(539)  # 599 s after the first one
    assert kinds(policy, rewarm(3, "periodic"), batch(3, 2, Level.SLOW)) == []
    clock.advance(1)  # 600 s
    assert kinds(policy, rewarm(4, "periodic"), batch(4, 2, Level.SLOW)) == ["too_slow"]


def test_too_slow_wording_follows_tone(clock: FakeClock) -> None:
    spicy = NotificationPolicy(tone="spicy", clock=clock)
    plain = NotificationPolicy(tone="plain", clock=clock)
    [loud] = spicy.decide(batch(1, 2, Level.SLOW, 3456))
    [calm] = plain.decide(batch(1, 2, Level.SLOW, 3456))
    assert "FUCK" in loud.message
    assert "3456 ms" in loud.message and "3456 ms" in calm.message
    assert "fuck" not in (calm.title + calm.message).lower()
    assert loud.state == calm.state == "slow"


def test_warn_level_batch_is_not_too_slow(policy: NotificationPolicy) -> None:
    assert kinds(policy, batch(1, 2, Level.WARN, 2200), batch(1, 4, Level.SLOWISH, 2800)) == []


# --- errors -----------------------------------------------------------------------------------


def incomplete(cycle: int, failed: int, reason: str, retry: float | None = 60.0) -> Event:
    return ev(
        WarmEvent.INCOMPLETE,
        cycle,
        TOTAL,
        level=Level.ERROR,
        data={"failed": failed, "checks": TOTAL, "reasons": [reason], "retry_in_s": retry},
    )


def test_a_failed_cycle_notifies_once_never_complete_then_back_to_normal(
    policy: NotificationPolicy,
) -> None:
    policy.decide(ev(WarmEvent.START))
    assert kinds(policy, error("no usable Google Cloud credentials")) == []  # the cycle says it
    [first] = policy.decide(incomplete(1, TOTAL, "no usable Google Cloud credentials"))
    assert first.kind == "error" and first.state == "error"
    assert first.title == "💥 Quota warming failed"
    assert "38 of 38 checks failed: no usable Google Cloud credentials." in first.message
    assert "Retrying in 60 s" in first.message
    assert policy.error_active
    # a retry that fails alike is not news; a successful batch is not healing yet
    retry = ev(WarmEvent.RETRY, 1, 0, data={"failed": TOTAL})
    assert kinds(policy, retry, incomplete(1, TOTAL, "no usable Google Cloud credentials")) == []
    assert kinds(policy, retry, batch(1, 5, Level.FIRE)) == []
    assert policy.error_active
    [healed] = policy.decide(complete(1))
    assert healed.kind == "recovered" and "succeed again" in healed.message
    assert not policy.error_active
    # the same failure coming back is news again
    assert kinds(policy, incomplete(2, 3, "no usable Google Cloud credentials")) == ["error"]


def test_some_failed_checks_make_an_incomplete_notice(policy: NotificationPolicy) -> None:
    kinds(policy, ev(WarmEvent.START), complete(1))
    [notice] = [
        n
        for e in (rewarm(2, "periodic"), incomplete(2, 2, "p/us-east1: not found (HTTP 404)"))
        for n in policy.decide(e)
    ]
    assert notice.title == "💥 Quota warming incomplete" and notice.state == "error"
    assert "2 of 38 checks failed: p/us-east1: not found (HTTP 404)." in notice.message
    assert kinds(policy, incomplete(2, 2, "another reason", retry=None)) == ["error"]


def counted(cycle: int, failed: int, pairs: list, **more: Any) -> Event:
    """A failed cycle as the warmer ends it: reasons counted, most checks first."""
    data = {"failed": failed, "checks": TOTAL, "retry_in_s": 60.0, **more}
    data.update(reasons=[r for r, _ in pairs][:3], reason_counts=[list(p) for p in pairs])
    return ev(WarmEvent.INCOMPLETE, cycle, TOTAL, level=Level.ERROR, data=data)


def test_a_failure_notice_names_every_distinct_reason_counted(policy: NotificationPolicy) -> None:
    denied = "p: permission denied (compute.regions.get): grant Compute Viewer on p"
    gone = "p/us-east9: no such region or project (HTTP 404)"
    [notice] = policy.decide(counted(1, 15, [(denied, 12), (gone, 3)]))
    assert notice.title == "💥 Quota warming incomplete"
    assert notice.message == (
        f"15 of 38 checks failed, 2 reasons: {denied} (12 checks); {gone} (3 checks)."
        " Retrying in 60 s."
    )
    assert "fuck" not in notice.message.lower()  # plain by default
    # the same reasons with other counts (a retry that failed alike) are not news; a new one is
    assert kinds(policy, counted(1, 4, [(gone, 3), (denied, 1)])) == []
    [again] = policy.decide(counted(1, 5, [(gone, 3), (denied, 1), ("timed out", 1)]))
    assert "3 reasons: " in again.message and "timed out (1 check)" in again.message


def test_many_reasons_stay_one_capped_notice(policy: NotificationPolicy) -> None:
    pairs = [(f"p/region-{i}: " + "x" * 120, 2) for i in range(12)]
    notices = policy.decide(counted(1, 24, pairs))
    assert len(notices) == 1
    message = notices[0].message
    assert message.startswith("24 of 38 checks failed, 12 reasons: p/region-0: ")
    assert "p/region-1: " in message and "p/region-11: " not in message
    shown = message.count(" (2 checks)")
    assert f"; {12 - shown} more." in message and len(message) < 600


def test_answers_not_written_say_where_and_why(policy: NotificationPolicy) -> None:
    where = "cannot write /home/u/.cache/quota-tray/quota-cache.json: Read-only file system"
    [notice] = policy.decide(counted(1, 0, [], unwritten=where, retry_in_s=2.0))
    assert notice.title == "💥 Quota cache not written" and notice.state == "error"
    assert notice.message == f"The answers could not be written: {where}. Retrying in 2 s."
    assert kinds(policy, counted(1, 0, [], unwritten=where)) == []  # the same, again
    [healed] = policy.decide(complete(1))
    assert healed.kind == "recovered"
    [both] = policy.decide(counted(2, 3, [("p/us-east1: timed out", 3)], unwritten=where))
    assert both.message.startswith(f"The answers could not be written: {where}. Also 3 of 38")


def test_error_notice_never_carries_credentials(policy: NotificationPolicy) -> None:
    [notice] = policy.decide(
        incomplete(
            1, 3, "token ya29.a0AfH6SMBxyz-secret_Value rejected; Authorization: Bearer abc.def"
        )
    )
    assert "ya29" not in notice.message
    assert "abc.def" not in notice.message
    assert "[redacted]" in notice.message


# --- redaction --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("got ya29.A0ARrdaM-abc_DEF.123 back", "ya29.A0ARrdaM"),
        ("Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig", "eyJhbGciOi"),
        ("bearer sk-12345", "sk-12345"),
        ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\n-----END PRIVATE KEY-----", "MIIEvQ"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEvQIBADANBgkq", "MIIEvQ"),
        ('{"private_key": "-----BEGIN", "x": 1}', "BEGIN"),
        ("refresh_token=1//0gAbCdEfGhIjKlMnOp", "1//0gAbCd"),
        ("client_secret: GOCSPX-abcdef", "GOCSPX"),
        ("key AIzaSyA1234567890abcdefghijklmnopqrstu used", "AIzaSyA123"),
    ],
)
def test_redact_removes_credentials(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert "[redacted]" in cleaned
    assert "\n" not in cleaned


def test_redact_keeps_ordinary_errors_and_makes_one_line() -> None:
    text = "403 Forbidden:\n  compute.regions.get denied on project demo"
    assert redact(text) == "403 Forbidden: compute.regions.get denied on project demo"
    assert len(redact("x" * 1000)) <= 240


# --- the Notifier -----------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[Notice, str, float]] = []
        self.lock = threading.Lock()

    def __call__(self, notice: Notice, icon: str, timeout: float) -> None:
        with self.lock:
            self.sent.append((notice, icon, timeout))


def test_notifier_delivers_on_its_own_thread_with_state_icon() -> None:
    recorder = Recorder()
    notifier = Notifier(send=recorder, probe=lambda: None, display_timeout_s=7)
    notifier.start()
    try:
        notifier.on_event(ev(WarmEvent.START))
        notifier.on_event(complete(1))
        assert notifier.wait_idle(5)
    finally:
        assert notifier.stop(2)
    [(notice, icon, timeout)] = recorder.sent
    assert notice.kind == "complete"
    assert Path(icon).name == "complete.png" and Path(icon).is_file()
    assert timeout == 7
    assert notifier.sent == 1


def test_disabled_notifier_sends_nothing_but_keeps_track() -> None:
    recorder = Recorder()
    notifier = Notifier(send=recorder, probe=lambda: None, enabled=False)
    notifier.start()
    try:
        notifier.on_event(ev(WarmEvent.START))
        notifier.on_event(incomplete(1, TOTAL, "no credentials"))
        notifier.set_enabled(True)
        assert notifier.enabled
        notifier.on_event(incomplete(1, TOTAL, "no credentials"))  # already known
        notifier.on_event(rewarm(2, "forced"))
        notifier.on_event(complete(2))
        assert notifier.wait_idle(5)
    finally:
        notifier.stop(2)
    assert [n.kind for n, _, _ in recorder.sent] == ["recovered"]


def test_on_event_never_waits_for_a_hung_service(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()
    calls = []

    def hung(notice: Notice, icon: str, timeout: float) -> None:
        calls.append(notice)
        release.wait(30)

    notifier = Notifier(send=hung, probe=lambda: None, send_timeout_s=0.2, max_queue=4)
    notifier.start()
    try:
        with caplog.at_level(logging.WARNING, logger="trayapp.ui.notify"):
            started = time.perf_counter()
            for i in range(100):
                notifier.on_event(incomplete(1, 3, f"error number {i}"))
            elapsed = time.perf_counter() - started
            assert elapsed < 0.5, f"100 on_event calls took {elapsed:.3f} s"
            assert notifier.wait_idle(10)
        warnings = [r for r in caplog.records if "cannot be delivered" in r.getMessage()]
        assert len(warnings) == 1
        assert "did not answer within 0.2 s" in warnings[0].getMessage()
        assert len(calls) == 1  # one hung call at a time; the rest dropped, not piled up
        assert notifier.dropped == 100 and notifier.sent == 0
    finally:
        release.set()
        assert notifier.stop(2)


def test_unreachable_service_is_warned_about_once(caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder()
    clock = FakeClock()
    notifier = Notifier(
        send=recorder,
        probe=lambda: "no notification service on the session bus: ServiceUnknown",
        clock=clock,
    )
    notifier.start()
    try:
        with caplog.at_level(logging.WARNING, logger="trayapp.ui.notify"):
            for i in range(5):
                clock.advance(120)  # past the probe interval: asked again each time
                notifier.on_event(incomplete(1, 3, f"error {i}"))
                assert notifier.wait_idle(5)
    finally:
        notifier.stop(2)
    warnings = [r for r in caplog.records if "cannot be delivered" in r.getMessage()]
    assert len(warnings) == 1
    assert "ServiceUnknown" in warnings[0].getMessage()
    assert recorder.sent == []
    assert notifier.unavailable_reason is not None


def test_failing_backend_is_warned_about_once(caplog: pytest.LogCaptureFixture) -> None:
    def broken(notice: Notice, icon: str, timeout: float) -> None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")

    notifier = Notifier(send=broken, probe=lambda: None)
    notifier.start()
    try:
        with caplog.at_level(logging.WARNING, logger="trayapp.ui.notify"):
            for i in range(3):
                notifier.on_event(incomplete(1, 3, f"error {i}"))
            assert notifier.wait_idle(5)
    finally:
        notifier.stop(2)
    warnings = [r for r in caplog.records if "cannot be delivered" in r.getMessage()]
    assert len(warnings) == 1


def test_stale_notifications_are_dropped() -> None:
    recorder = Recorder()
    clock = FakeClock()
    notifier = Notifier(send=recorder, probe=lambda: None, clock=clock, max_age_s=30)
    notifier.on_event(incomplete(1, 3, "no credentials"))  # queued while the thread is not running
    clock.advance(31)
    notifier.start()
    try:
        assert notifier.wait_idle(5)
    finally:
        notifier.stop(2)
    assert recorder.sent == []
    assert notifier.dropped == 1


def test_stop_is_prompt_and_idempotent() -> None:
    notifier = Notifier(send=Recorder(), probe=lambda: None)
    assert notifier.stop(1)  # never started
    notifier.start()
    notifier.start()
    started = time.perf_counter()
    assert notifier.stop(2)
    assert time.perf_counter() - started < 1


def test_no_session_bus_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    reason = notification_unavailable_reason()
    if sys.platform.startswith("linux"):
        assert reason is not None and "DBUS_SESSION_BUS_ADDRESS" in reason


def test_importing_the_ui_loads_no_gui_library() -> None:
    code = (
        "import sys, trayapp.ui, trayapp.ui.tray, trayapp.ui.notify, trayapp.ui.icons\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'PIL', 'pystray', 'plyer', 'gi', 'Xlib'})\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == ""


def test_from_settings_follows_the_config() -> None:
    from trayapp.config import Settings

    quiet = Notifier.from_settings(Settings(notifications=False, tone="plain"), send=Recorder())
    assert not quiet.enabled
    assert quiet.policy.tone == "plain"
    assert Notifier.from_settings(Settings()).enabled


def test_a_refused_config_reload_is_told_once_and_is_no_outage():
    policy = NotificationPolicy()
    bad = ev(WarmEvent.CONFIG_REJECTED, message="config: interval_s must be a number")
    [notice] = policy.decide(bad)
    assert notice.title == "⚠️ Config not reloaded" and "interval_s" in notice.message
    assert not policy.error_active


def test_the_real_warmers_events_reach_the_tray_text_and_the_notices():
    """The warmer's own event data, not hand-made ones: a failed check shows in both."""
    from fakes import FakeSource, Recorder

    from trayapp.sources.base import SourceError
    from trayapp.ui.display import DisplayModel
    from trayapp.warming.events import EventBus
    from trayapp.warming.plan import build_plan
    from trayapp.warming.scheduler import Warmer

    source = FakeSource()
    source.fail["r2"] = [SourceError("not_found", "r2 is gone")] * 3
    source.fail["r3"] = [SourceError("not_found", "r3 is gone too")] * 3
    bus, rec = EventBus(), Recorder()
    bus.subscribe(rec)
    plan = build_plan(["p"], ["NVIDIA_T4_GPUS"], ["r1", "r3"], "C3_CPUS", ["r1", "r2", "r3"])
    warmer = Warmer(plan, source, bus, interval_s=0.02, backoff_ticks=0)
    warmer.start()
    events = rec.wait_for(lambda evs: any(e.kind is WarmEvent.INCOMPLETE for e in evs))
    warmer.stop()
    model, policy = DisplayModel(len(plan)), NotificationPolicy()
    notices = [n for e in events for n in policy.decide(e)]
    for e in events:
        model.apply(e)
    assert model.display.key == "error"
    assert model.display.text.startswith("💥 3/5 failed · ")
    assert [n.kind for n in notices] == ["error"]
    assert "3 of 5 checks failed, 2 reasons: r3 is gone too (2 checks); r2 is gone (1 check)." in (
        notices[-1].message
    )


def test_a_cache_the_warmer_cannot_write_is_in_the_tray_text_and_one_notice(tmp_path):
    """The real warmer and cache writer: every answer arrives, none reaches the file."""
    from fakes import FakeSource, Recorder

    from trayapp import cache
    from trayapp.ui.display import DisplayModel
    from trayapp.warming.events import EventBus
    from trayapp.warming.plan import build_plan
    from trayapp.warming.scheduler import Warmer

    path = tmp_path / cache.FILENAME
    path.mkdir()  # a folder took the file's place: no write succeeds, for root too
    writer, bus, rec = cache.CacheWriter(path), EventBus(), Recorder()
    bus.subscribe(writer)
    bus.subscribe(rec)
    plan = build_plan(["p"], ["NVIDIA_T4_GPUS"], ["r1"], "C3_CPUS", ["r1", "r2"])
    warmer = Warmer(plan, FakeSource(), bus, interval_s=0.02, output=writer)
    warmer.start()
    events = rec.wait_for(lambda evs: any(e.kind is WarmEvent.INCOMPLETE for e in evs))
    warmer.stop()
    model, policy = DisplayModel(len(plan)), NotificationPolicy()
    notices = [n for e in events for n in policy.decide(e)]
    for e in events:
        model.apply(e)
    where = f"cannot write {path}: Is a directory"
    assert model.display.key == "error"
    assert model.display.text == f"💥 not written · {where} · retry in 0 s"
    assert [(n.kind, n.title) for n in notices] == [("error", "💥 Quota cache not written")]
    assert where in notices[0].message


# --- the answer in the notification, plain by default -------------------------------------------


def gpu(region: str, metric: str, status: str = "ok", limit: Any = 8.0, usage: Any = 0.0) -> dict:
    """A check as the warmer writes it: a usage only from regions.get (source compute), a
    limit without usage from the GPU family quota (source cloudquotas)."""
    source = {"ok": "compute" if usage is not None else "cloudquotas", "absent": "compute"}
    return {
        "kind": "gpu",
        "region": region,
        "metric": metric,
        "status": status,
        "limit": limit,
        "usage": usage,
        "fetched_at": "2026-11-24T10:00:00.000+00:00",
        "error": None,
        "source": source.get(status),
    }


def test_complete_names_the_region_with_the_most_free_per_gpu_type() -> None:
    checks = [
        gpu("us-central1", "NVIDIA_A100_GPUS", limit=8.0, usage=6.0),  # regions.get: usage
        gpu("us-west1", "NVIDIA_A100_GPUS", limit=16.0, usage=8.0),
        gpu("us-west1", "NVIDIA_H100_GPUS", limit=8.0, usage=None),  # family quota: usage unknown
        gpu("us-west1", "NVIDIA_H200_GPUS", "absent", 0.0, 0.0),
        gpu("us-west1", "NVIDIA_L4_GPUS", limit=4.0, usage=4.0),
        {**gpu("us-west1", "C3_CPUS", limit=100.0), "kind": "c3"},
    ]
    event = Event(
        WarmEvent.COMPLETE,
        1,
        progress(TOTAL),
        level=Level.COMPLETE,
        data={"failed": 0, "duration_s": 53},
        snapshot={"projects": {"p": {"cycle": {}, "checks": checks}}},
    )
    [notice] = NotificationPolicy().decide(event)
    assert notice.message.splitlines() == [
        "38/38 checks warm in 53 s.",
        "A100: 8 free in us-west1",
        "H100: ≤ 8 free in us-west1",
        "H200: not reported",
        "L4: none free",
    ]


def test_plain_is_the_default_and_spicy_opts_in() -> None:
    from trayapp.config import Settings, from_mapping

    [calm] = NotificationPolicy().decide(batch(1, 2, Level.SLOW, 3404))
    assert calm.message == "Cache warming slow: 3404 ms (GPU 2/20, C3 0/18)."
    assert Notifier.from_settings(Settings()).policy.tone == "plain"  # though the log is spicy
    spicy = from_mapping({"notifications": {"tone": "spicy"}})
    assert Notifier.from_settings(spicy).policy.tone == "spicy"
    never = from_mapping({"tone": "plain", "notifications": {"tone": "spicy"}})
    assert Notifier.from_settings(never).policy.tone == "plain"  # plain means plain everywhere


def test_body_is_escaped_for_freedesktop_markup(monkeypatch: pytest.MonkeyPatch) -> None:
    from trayapp.ui import notify_send

    monkeypatch.setattr(notify_send.sys, "platform", "linux")
    assert notify_send.body_markup("<b>403</b> & 'x'") == "&lt;b&gt;403&lt;/b&gt; &amp; 'x'"
    monkeypatch.setattr(notify_send.sys, "platform", "win32")
    assert notify_send.body_markup("<b>") == "<b>"


def test_a_reload_keeps_the_notifications_wording_of_the_new_config() -> None:
    from trayapp.config import from_mapping

    notifier = Notifier.from_settings(from_mapping({}), send=Recorder())
    notifier.apply(from_mapping({"notifications": {"tone": "spicy"}}))
    assert notifier.policy.tone == "spicy"
    notifier.apply(from_mapping({"tone": "spicy"}))  # the log's tone says nothing about toasts
    assert notifier.policy.tone == "plain"
