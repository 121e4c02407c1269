"""Plan order, levels, config validation and the event bus."""

from __future__ import annotations

import logging

import pytest

from trayapp import config
from trayapp.warming.events import Event, EventBus, Progress, WarmEvent
from trayapp.warming.levels import Level, Thresholds, phrase
from trayapp.warming.plan import DEFAULT_C3_REGIONS, build_plan


def test_default_plan_has_20_gpu_and_18_c3_checks_in_order():
    plan = build_plan(["p"])
    assert len(plan.gpu) == 20 and len(plan.c3) == 18 and len(plan) == 38
    assert [(c.metric, c.region) for c in plan.gpu[:5]] == [
        ("NVIDIA_T4_GPUS", "us-central1"),
        ("NVIDIA_T4_GPUS", "us-east1"),
        ("NVIDIA_T4_GPUS", "us-west1"),
        ("NVIDIA_T4_GPUS", "europe-west4"),
        ("NVIDIA_L4_GPUS", "us-central1"),
    ]
    assert [c.region for c in plan.c3] == list(DEFAULT_C3_REGIONS)
    assert {c.metric for c in plan.c3} == {"C3_CPUS"}


def test_projects_interleave():
    plan = build_plan(["a", "b"], ["M"], ["r1", "r2"], "C3", ["r1"])
    assert [(c.project, c.region) for c in plan.gpu] == [
        ("a", "r1"),
        ("b", "r1"),
        ("a", "r2"),
        ("b", "r2"),
    ]
    assert [c.project for c in plan.c3] == ["a", "b"]
    assert plan.projects == ("a", "b")
    with pytest.raises(ValueError, match="project"):
        build_plan([])


@pytest.mark.parametrize(
    ("ms", "level"),
    [
        (0, Level.FIRE),
        (1999, Level.FIRE),
        (2000, Level.WARN),
        (2499, Level.WARN),
        (2500, Level.SLOWISH),
        (2999, Level.SLOWISH),
        (3000, Level.SLOW),
        (60000, Level.SLOW),
    ],
)
def test_levels(ms, level):
    assert Thresholds().level(ms) is level


def test_thresholds_must_be_ordered():
    with pytest.raises(ValueError, match="warn_ms"):
        Thresholds(3000, 2500, 2000)


def test_plain_tone_has_no_profanity():
    words = ("fuck", "shit", "bullshit", "damn")
    for key in (*Level, "low_hit_rate"):
        assert not any(w in phrase(key, "plain").lower() for w in words)
    assert "FUCK OFF" in phrase(Level.SLOW, "spicy")


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_config_full_example(tmp_path):
    settings = config.load(
        write(
            tmp_path,
            """
projects = ["a", "b"]
interval_s = 0.5
rewarm_s = 60
timeout_s = 3
endpoint = "http://127.0.0.1:9/"
tone = "plain"
[thresholds]
warn_ms = 100
slowish_ms = 200
slow_ms = 300
[gpu]
metrics = ["NVIDIA_T4_GPUS"]
regions = ["us-central1"]
[c3]
metric = "C3_CPUS"
regions = ["us-east1"]
[notifications]
enabled = false
""",
        )
    )
    assert settings.projects == ("a", "b") and settings.interval_s == 0.5
    assert settings.endpoint == "http://127.0.0.1:9" and settings.tone == "plain"
    assert settings.thresholds == Thresholds(100, 200, 300)
    assert settings.notifications is False
    assert len(settings.plan()) == 4


def test_missing_config_means_defaults_unless_asked_for(tmp_path):
    assert config.load(tmp_path / "none.toml") == config.Settings()
    with pytest.raises(config.ConfigError, match="not found"):
        config.load(tmp_path / "none.toml", required=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 'red'", "unknown key 'colour'"),
        ("[gpu]\nregion = ['x']", "unknown key 'gpu.region'; did you mean gpu.regions?"),
        ("interval_s = 0", "interval_s must be a positive number"),
        ("interval_s = -1", "interval_s must be a positive number"),
        ("interval_s = 'fast'", "interval_s must be a number"),
        ("interval_s = nan", "interval_s must be a positive number"),
        ("rewarm_s = true", "rewarm_s must be a number"),
        ("tone = 'rude'", "tone must be one of spicy, plain"),
        ("projects = 'p'", "projects must be a list"),
        ("projects = []", "projects must be a non-empty list"),
        ("projects = ['']", "projects must be a non-empty list"),
        ("endpoint = 'ftp://x'", "endpoint must start with http"),
        ("[thresholds]\nwarn_ms = 5000", "thresholds must satisfy"),
        ("notifications = true", "[notifications] must be a table"),
        ("[notifications]\nenabled = 'yes'", "notifications.enabled must be true or false"),
        ("this is not toml", "config"),
    ],
)
def test_bad_config_is_one_line_naming_it(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(config.ConfigError) as err:
        config.load(path)
    assert message in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_not_utf8_config(tmp_path):
    path = tmp_path / "c.toml"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(config.ConfigError, match="UTF-8"):
        config.load(path)


def test_flags_override_and_are_validated():
    settings = config.Settings().with_overrides(interval_s=0.02, projects=["x"], rewarm_s=None)
    assert settings.interval_s == 0.02 and settings.projects == ("x",)
    assert settings.rewarm_s == 1800
    with pytest.raises(config.ConfigError):
        config.Settings().with_overrides(timeout_s=0)


def event(kind=WarmEvent.START):
    return Event(kind, 1, Progress(0, 20, 0, 18))


def test_event_bus_isolates_a_failing_observer(caplog):
    seen = []

    class Bad:
        def on_event(self, e):
            raise RuntimeError("observer bug")

    class Good:
        def on_event(self, e):
            seen.append(e.kind)

    bus = EventBus()
    bus.subscribe(Bad())
    bus.subscribe(Good())
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            bus.emit(event())
    assert seen == [WarmEvent.START] * 3
    assert len([r for r in caplog.records if "observer Bad failed" in r.getMessage()]) == 1


@pytest.mark.parametrize("tone", ["spicy", "plain"])
@pytest.mark.parametrize(("retry", "then"), [(60.0, "retry in 60s"), (None, "no retry")])
def test_an_incomplete_cycle_says_whether_it_is_retried_and_nothing_else(tone, retry, then):
    from trayapp.logsink import format_event

    line = format_event(
        Event(
            WarmEvent.INCOMPLETE,
            cycle=1,
            progress=Progress(20, 20, 0, 18),
            data={
                "failed": 18,
                "duration_s": 3.0,
                "reasons": ["p/us-east1: 503"],
                "retry_in_s": retry,
            },
        ),
        tone,
    )
    assert line.startswith(
        "💥 CACHE_WARM_INCOMPLETE: GPU 20/20, C3 0/18 in 3.0s - 18 failed (p/us-east1: 503) - "
    )
    assert then in line
    assert ("etry" in line.replace(then, "")) is False, line  # no second, contradicting word


def test_progress_text():
    assert str(Progress(3, 20, 2, 18)) == "GPU 3/20, C3 2/18"
    assert Progress(3, 20, 2, 18).done == 5
