"""Watch rules: config, when they fire, what they say, and `status --json` on the real path."""

from __future__ import annotations

import dataclasses
import json
import signal
import time
from pathlib import Path

import pytest
from test_cli import env, log_file, qt, start_headless, wait_status  # noqa: F401

from trayapp import cache
from trayapp.config import ConfigError, from_mapping
from trayapp.ui.notices import watch_notice
from trayapp.warming.events import Event, Progress, WarmEvent
from trayapp.watch import WatchAlerts, WatchRule, alert_text, hits

H100, T4 = "NVIDIA_H100_GPUS", "NVIDIA_T4_GPUS"


def row(region, metric=H100, limit=8.0, usage=0.0, status="ok", project="p"):  # noqa: PLR0917
    return {
        "project": project,
        "kind": "gpu",
        "region": region,
        "metric": metric,
        "status": status,
        "limit": limit,
        "usage": usage,
        "fetched_at": "2026-11-24T10:00:00.000+00:00",
        "error": None,
    }


# --- config ------------------------------------------------------------------------------------


def test_rules_from_config_take_short_names_and_regions():
    settings = from_mapping(
        {
            "watch": [
                {"metric": "h100", "min_free": 8},
                {"metric": "C3", "min_free": 100, "regions": ["US-West1"]},
            ]
        }
    )
    assert settings.watch == (
        WatchRule(H100, 8.0),
        WatchRule("C3_CPUS", 100.0, ("us-west1",)),
    )


@pytest.mark.parametrize(
    ("rules", "needle"),
    [
        ([{"metric": "H10", "min_free": 8}], "unknown metric 'H10'; did you mean H100?"),
        ([{"metric": "B200", "min_free": 8}], "B200 is not warmed: add NVIDIA_B200_GPUS to"),
        ([{"metric": "H100", "min_free": 0}], "min_free must be a positive number"),
        ([{"metric": "H100", "min_free": "8"}], "min_free must be a number"),
        ([{"metric": "H100"}], "needs metric and min_free"),
        ([{"metric": "H100", "min_free": 8, "zone": "a"}], "watch #1: unknown key 'zone'"),
        ([{"metric": "H100", "min_free": 8, "regions": ["us-wst1"]}], "did you mean us-west1?"),
        ([{"metric": "H100", "min_free": 8, "regions": "us-west1"}], "must be a list"),
        ("H100", "watch must be [[watch]] tables"),
    ],
)
def test_bad_rules_are_config_errors(rules, needle):
    with pytest.raises(ConfigError, match=None) as caught:
        from_mapping({"watch": rules})
    assert needle in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_bad_rule_is_one_line_and_exit_2(env, tmp_path):  # noqa: F811
    config = tmp_path / "config.toml"
    config.write_text('projects = ["p"]\n[[watch]]\nmetric = "H1OO"\nmin_free = 8\n')
    out = qt(env, "run", "--headless", "--config", str(config))
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert "watch #1: unknown metric 'H1OO'; did you mean H100?" in out.stderr


# --- when they fire ---------------------------------------------------------------------------


def complete(checks) -> Event:
    projects: dict = {}
    for check in checks:
        body = projects.setdefault(check["project"], {"checks": []})
        body["checks"].append({k: v for k, v in check.items() if k != "project"})
    return Event(WarmEvent.COMPLETE, 1, Progress(1, 1, 0, 0), snapshot={"projects": projects})


def test_a_region_is_announced_when_it_newly_meets_a_rule():
    alerts = WatchAlerts([WatchRule(H100, 8.0)])
    heard: list = []
    alerts.listeners.append(heard.extend)
    # the first complete cycle announces every region that meets it, most free first
    alerts.on_event(complete([row("us-west1", limit=16.0, usage=8.0), row("us-east1", limit=9.0)]))
    assert [[(h.region, h.free) for h in group] for group in heard] == [
        [("us-east1", 9.0), ("us-west1", 8.0)]
    ]
    # still met: quiet; a batch event is never a reason to look
    alerts.on_event(complete([row("us-west1", limit=16.0, usage=8.0), row("us-east1", limit=9.0)]))
    alerts.on_event(Event(WarmEvent.BATCH_WARM, 2, Progress(1, 1, 0, 0)))
    assert len(heard) == 1
    # us-west1 drops below, then comes back: announced again, alone
    alerts.on_event(complete([row("us-west1", limit=16.0, usage=9.0), row("us-east1", limit=9.0)]))
    assert len(heard) == 1
    assert [m["met_in"] for m in alerts.met_now()] == [
        [{"project": "p", "region": "us-east1", "free": 9.0, "exact": True}]
    ]
    back = complete([row("us-west1", limit=16.0, usage=0.0), row("us-east1", limit=9.0)])
    alerts.on_event(dataclasses.replace(back, kind=WarmEvent.INCOMPLETE))  # another region failed
    assert [[h.region for h in group] for group in heard[1:]] == [["us-west1"]]


def test_not_reported_errors_and_other_regions_never_meet_a_rule():
    rule = WatchRule(H100, 1.0, ("us-west1",))
    rows = [
        row("us-west1", status="absent", limit=0.0),
        row("us-east1", limit=64.0),
        row("us-west1", metric=T4, limit=64.0),
    ]
    assert hits([rule], rows) == []
    assert hits([rule], [row("us-west1", status="error", limit=None, usage=None)]) == []


def test_a_family_quota_meets_a_rule_as_an_upper_bound():
    [hit] = hits([WatchRule(H100, 8.0)], [row("us-west1", limit=16.0, usage=None)])
    assert (hit.free, hit.exact) == (16.0, False)
    title, body = alert_text([hit])
    assert title == "🎯 up to 16 × H100 free in us-west1"
    assert "usage unknown" in body


def test_reloaded_rules_start_unmet_and_kept_rules_stay_quiet():
    kept, added = WatchRule(H100, 8.0), WatchRule(T4, 1.0)
    alerts = WatchAlerts([kept])
    rows = [row("us-west1"), row("us-west1", metric=T4)]
    assert len(alerts.update(rows)) == 1
    alerts.set_rules([kept, added])
    assert [[h.rule for h in g] for g in alerts.update(rows)] == [[added]]


def test_the_notification_names_the_region():
    [hit] = hits([WatchRule(H100, 8.0)], [row("us-west1", limit=16.0, usage=8.0)])
    notice = watch_notice([hit])
    assert notice.kind == "watch"
    assert notice.title == "🎯 8 × H100 free in us-west1"
    assert notice.message.splitlines() == ["8 free in us-west1", "Watching for 8 × H100."]
    several = hits([WatchRule(H100, 8.0)], [row("a", limit=9.0), row("b", limit=8.0)])
    assert watch_notice(several).title == "🎯 H100: 8 or more free in 2 regions"
    other_project = hits([WatchRule(H100, 8.0)], [row("a"), row("a", project="q")])
    assert "a (q)" in watch_notice(other_project).message


# --- the real path: a running instance ------------------------------------------------------


def test_status_lists_the_rules_met_and_sighup_refuses_a_bad_rule(env, make_emulator, tmp_path):  # noqa: F811
    emulator = make_emulator(latency=2)
    config = tmp_path / "config.toml"
    good = 'projects = ["p"]\ninterval_s = 0.05\n[[watch]]\nmetric = "H100"\nmin_free = 1\n'
    config.write_text(good)
    proc = start_headless(env, emulator, "--config", str(config))
    try:
        status = wait_status(env, lambda s: s["done"] == s["total"] and s["watch_met"])
        snap = cache.load(Path(env["XDG_CACHE_HOME"]) / "quota-tray" / cache.FILENAME)
        expected = hits([WatchRule(H100, 1.0)], snap.checks())
        assert expected, "the emulator has free H100s somewhere"
        [met] = status["watch_met"]
        assert (met["metric"], met["min_free"], met["regions"]) == (H100, 1.0, [])
        assert [w["region"] for w in met["met_in"]] == [h.region for h in expected]
        text = qt(env, "status")
        assert f"watch met: ≥ 1 H100: {expected[0].region}" in text.stdout  # as notices say it

        config.write_text(good.replace('"H100"', '"H1OO"'))
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "CACHE_WARM_CONFIG_REJECTED" not in log_file(env).read_text():
            assert time.monotonic() < deadline, log_file(env).read_text()
            time.sleep(0.05)
        assert "unknown metric 'H1OO'; did you mean H100?" in log_file(env).read_text()
        assert json.loads(qt(env, "status", "--json").stdout)["watch_met"] == status["watch_met"]
    finally:
        qt(env, "quit")
        proc.wait(10)
