"""Watch rules: config, when they fire, what they say, and `status --json` on the real path."""

from __future__ import annotations

import dataclasses
import json
import signal
import time

import pytest
from test_cli import env, log_file, qt, start_headless, wait_status  # noqa: F401

from trayapp.config import ConfigError, from_mapping
from trayapp.ui.notices import watch_notice
from trayapp.warming.events import Event, Progress, WarmEvent
from trayapp.watch import WatchAlerts, WatchRule, alert_text, hits

H100, A100, T4 = "NVIDIA_H100_GPUS", "NVIDIA_A100_GPUS", "NVIDIA_T4_GPUS"


def row(region, metric=A100, limit=8.0, usage=0.0, status="ok", project="p"):  # noqa: PLR0917
    """A check as the warmer writes it: a usage only from regions.get (A100, T4: source
    compute); a limit without usage from Cloud Quotas. On-demand H100 comes only from the GPU
    family quota, so a usage for it cannot happen and is refused."""
    if metric == H100 and status == "ok" and usage is not None:
        raise ValueError("on-demand H100 comes from the GPU family quota: usage unknown")
    source = None
    if status == "ok":
        source = "compute" if usage is not None else "cloudquotas"
    elif status == "absent":
        source = "compute"
    return {
        "project": project,
        "kind": "c3" if metric == "C3_CPUS" else "gpu",
        "region": region,
        "metric": metric,
        "status": status,
        "limit": limit,
        "usage": usage,
        "fetched_at": "2026-11-24T10:00:00.000+00:00",
        "error": None,
        "source": source,
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
    alerts = WatchAlerts([WatchRule(A100, 8.0)])
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
        row("us-west1", H100, status="absent", limit=0.0),
        row("us-east1", H100, limit=64.0, usage=None),
        row("us-west1", metric=T4, limit=64.0),
    ]
    assert hits([rule], rows) == []
    assert hits([rule], [row("us-west1", H100, status="error", limit=None, usage=None)]) == []


def test_a_family_limit_is_said_to_be_a_limit_never_free():
    [hit] = hits([WatchRule(H100, 8.0)], [row("us-west1", H100, limit=16.0, usage=None)])
    assert (hit.free, hit.exact) == (16.0, False)
    title, body = alert_text([hit])
    assert title == "🎯 H100: a limit of 16 in us-west1 (usage unknown)"
    assert body.splitlines()[0] == "a limit of 16 in us-west1 (usage unknown)"
    both = [row("a", H100, limit=16.0, usage=None), row("b", H100, limit=24.0, usage=None)]
    title, body = alert_text(hits([WatchRule(H100, 16.0)], both))
    assert title == "🎯 H100: a limit of 16 or more (usage unknown) in 2 regions"
    assert "free" not in title + body.replace("Watching for", "")
    # A100 from regions.get in a; from the family quota where regions.get did not list it
    mixed = [row("a", limit=9.0), row("b", limit=24.0, usage=None), row("c", limit=8.0, usage=None)]
    title, body = alert_text(hits([WatchRule(A100, 8.0)], mixed))
    assert title == (
        "🎯 A100: 8 or more free in 1 region, a limit of 8 or more (usage unknown) in 2 regions"
    )
    assert body.splitlines()[:3] == [
        "a limit of 24 in b (usage unknown)",
        "9 free in a",
        "a limit of 8 in c (usage unknown)",
    ]


def snapshot_event(kind, checks) -> Event:
    return dataclasses.replace(complete(checks), kind=kind)


def test_a_rule_added_by_a_reload_is_judged_at_once_against_the_latest_cache():
    kept, added = WatchRule(T4, 1.0), WatchRule(A100, 8.0)
    alerts = WatchAlerts([kept])
    heard: list = []
    alerts.listeners.append(heard.extend)
    alerts.on_event(snapshot_event(WarmEvent.COMPLETE, [row("us-west1", metric=T4)]))
    assert [[h.rule for h in g] for g in heard] == [[kept]]
    # mid-cycle: the cache now has an A100 answer, no cycle has ended since
    rows = [row("us-west1", metric=T4), row("us-east1", limit=9.0)]
    alerts.on_event(snapshot_event(WarmEvent.BATCH_WARM, rows))
    assert len(heard) == 1
    alerts.set_rules([kept, added])
    assert [[(h.rule, h.region) for h in g] for g in heard[1:]] == [[(added, "us-east1")]]
    assert [m["metric"] for m in alerts.met_now()] == [T4, A100]
    alerts.on_event(snapshot_event(WarmEvent.COMPLETE, rows))  # the cycle ends: said once
    assert len(heard) == 2


def test_reloaded_rules_start_unmet_and_kept_rules_stay_quiet():
    kept, added = WatchRule(A100, 8.0), WatchRule(T4, 1.0)
    alerts = WatchAlerts([kept])
    rows = [row("us-west1"), row("us-west1", metric=T4)]
    assert len(alerts.update(rows)) == 1
    alerts.set_rules([kept, added])
    assert [[h.rule for h in g] for g in alerts.update(rows)] == [[added]]


def test_the_notification_names_the_region():
    [hit] = hits([WatchRule(A100, 8.0)], [row("us-west1", limit=16.0, usage=8.0)])
    notice = watch_notice([hit])
    assert notice.kind == "watch"
    assert notice.title == "🎯 8 × A100 free in us-west1"
    assert notice.message.splitlines() == ["8 free in us-west1", "Watching for 8 × A100."]
    several = hits([WatchRule(A100, 8.0)], [row("a", limit=9.0), row("b", limit=8.0)])
    assert watch_notice(several).title == "🎯 A100: 8 or more free in 2 regions"
    assert watch_notice(several).message.splitlines()[:2] == ["9 free in a", "8 free in b"]
    other_project = hits([WatchRule(A100, 8.0)], [row("a"), row("a", project="q")])
    assert "a (q)" in watch_notice(other_project).message


# --- the real path: a running instance ------------------------------------------------------


# What the emulator's family quota answers for H100 where regions.get does not report it
# (trayapp/emulator/quotas.py FAMILY_ENTRIES): a limit, usage unknown. Written out by hand.
H100_LIMITS = {"europe-west4": 24.0, "us-central1": 16.0, "us-east1": 8.0, "us-west1": 8.0}


def wait_log(env, needle, timeout=30):  # noqa: F811
    deadline = time.monotonic() + timeout
    while needle not in (text := log_file(env).read_text(encoding="utf-8")):
        assert time.monotonic() < deadline, text
        time.sleep(0.05)
    return text


def test_status_lists_the_rules_met_and_sighup_refuses_a_bad_rule(env, make_emulator, tmp_path):  # noqa: F811
    emulator = make_emulator(latency=2)
    config = tmp_path / "config.toml"
    good = 'projects = ["p"]\ninterval_s = 0.05\n[[watch]]\nmetric = "H100"\nmin_free = 10\n'
    config.write_text(good)
    proc = start_headless(env, emulator, "--config", str(config))
    try:
        status = wait_status(env, lambda s: s["done"] == s["total"] and s["watch_met"])
        [met] = status["watch_met"]
        assert (met["metric"], met["min_free"], met["regions"]) == (H100, 10.0, [])
        assert met["met_in"] == [
            {"project": "p", "region": "europe-west4", "free": 24.0, "exact": False},
            {"project": "p", "region": "us-central1", "free": 16.0, "exact": False},
        ]
        text = qt(env, "status")
        assert "watch met: ≥ 10 H100: europe-west4 (≤ 24), us-central1 (≤ 16)" in text.stdout

        config.write_text(good.replace('"H100"', '"H1OO"'))
        proc.send_signal(signal.SIGHUP)
        assert "unknown metric 'H1OO'; did you mean H100?" in wait_log(
            env, "CACHE_WARM_CONFIG_REJECTED"
        )
        assert json.loads(qt(env, "status", "--json").stdout)["watch_met"] == status["watch_met"]
    finally:
        qt(env, "quit")
        proc.wait(10)


def test_a_rule_added_by_sighup_is_judged_at_once_in_the_log_and_the_terminal(
    env,  # noqa: F811
    make_emulator,
    tmp_path,
):
    emulator = make_emulator(latency=2)
    config = tmp_path / "config.toml"
    base = 'projects = ["p"]\ninterval_s = 0.05\n'  # the next cycle is 30 minutes away
    config.write_text(base)
    proc = start_headless(env, emulator, "--config", str(config))
    try:
        wait_log(env, "CACHE_WARM_COMPLETE")
        config.write_text(base + '[[watch]]\nmetric = "H100"\nmin_free = 16\n')
        proc.send_signal(signal.SIGHUP)
        text = wait_log(env, "CACHE_WARM_WATCH")
        status = json.loads(qt(env, "status", "--json").stdout)
    finally:
        qt(env, "quit")
        out, _ = proc.communicate(timeout=10)
    expected = (
        "🎯 CACHE_WARM_WATCH: 16 × H100 met: a limit of 24 in europe-west4 (usage unknown); "
        "a limit of 16 in us-central1 (usage unknown)"
    )
    assert expected in text and expected in out
    assert text.count("CACHE_WARM_COMPLETE") == 1 and "CACHE_REWARM" not in text
    assert [w["region"] for w in status["watch_met"][0]["met_in"]] == [
        r for r, limit in H100_LIMITS.items() if limit >= 16
    ]


def test_an_alert_names_the_quota_it_was_met_in():
    """A rule met in Vertex AI training's Spot quota says so; Compute VMs' alone keeps its
    short words. Cloud Quotas gives limits only, so these rows hold no usage (as the cache
    does) and the alert says a limit, never "8 free"."""
    vertex = {
        **row("us-central1", H100, limit=8.0, usage=None),
        "service": "vertex",
        "tier": "spot",
    }
    [hit] = hits([WatchRule(H100, 8.0)], [vertex])
    title, body = alert_text([hit])
    assert title == "🎯 H100 Spot, Vertex AI training: a limit of 8 in us-central1 (usage unknown)"
    assert body.splitlines()[0] == "a limit of 8 in us-central1 (usage unknown)"
    pool = {**row("us-east1", metric="C3_CPUS", limit=176.0, usage=None), "service": "cloudbuild"}
    [c3] = hits([WatchRule("C3_CPUS", 176.0)], [pool])
    assert alert_text([c3])[0] == (
        "🎯 C3, Cloud Build private pools: a limit of 176 in us-east1 (usage unknown)"
    )


def test_a_vertex_spot_rule_is_told_in_the_log_with_its_quota(
    env,  # noqa: F811
    make_emulator,
    tmp_path,
):
    """Through the real google-cloud-quotas client and the emulator: the hit names the quota
    it was read from, so nobody launches a VM on the strength of a training quota."""
    emulator = make_emulator(latency=2)
    config = tmp_path / "config.toml"
    config.write_text(
        'projects = ["p"]\ninterval_s = 0.05\n[gpu]\nservice = "vertex"\nspot = true\n'
        '[c3]\nservice = "cloudbuild"\n[[watch]]\nmetric = "H100"\nmin_free = 8\n'
    )
    proc = start_headless(env, emulator, "--config", str(config))
    try:
        text = wait_log(env, "CACHE_WARM_WATCH")
    finally:
        qt(env, "quit")
        proc.communicate(timeout=10)
    [line] = [x for x in text.splitlines() if "CACHE_WARM_WATCH" in x]
    assert "8 × H100 (H100 Spot, Vertex AI training) met: a limit of" in line, line
    # the emulator's Spot H100 training limits (emulator/quota_data.py), written out by hand
    assert line.endswith(
        "met: a limit of 48 in europe-west4 (usage unknown); a limit of 32 in us-central1 "
        "(usage unknown); a limit of 16 in us-east1 (usage unknown); a limit of 16 in us-west1 "
        "(usage unknown)"
    ), line
