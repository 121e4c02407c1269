"""Watch rules on a launch (``launch = "name"``): config, when they fire (a region newly fits),
what they say (``fits ≤`` said as such), and on the real path (a running instance against the
emulator, its log, terminal and ``status``)."""

from __future__ import annotations

import pytest
from launch_docs import COMPUTE, PLAIN, PROJECT, VERTEX, warmed_doc
from test_cli import env, qt, start_headless, wait_status  # noqa: F401
from test_watch import wait_log

from trayapp import answers
from trayapp.config import ConfigError, from_mapping
from trayapp.ui.notices import watch_notice
from trayapp.watch import WatchAlerts, WatchRule, alert_line, alert_text

LAUNCH = {"name": "t4box", "shape": "n1-standard-8+4xT4", "count": 2}
T4 = {"metrics": ["NVIDIA_T4_GPUS"]}
MET = [
    {
        "launch": "t4box",
        "met_in": [{"project": PROJECT, "region": "us-central1", "verdict": "fits"}],
    }
]


def test_a_rule_names_a_launch():
    settings = from_mapping({"gpu": T4, "launch": [LAUNCH], "watch": [{"launch": "t4box"}]})
    assert settings.watch == (WatchRule("", 0.0, launch="t4box"),)
    assert settings.watch[0].describe() == "launch t4box"


@pytest.mark.parametrize(
    ("watch", "launches", "needle"),
    [
        ({"launch": "t4bx"}, [LAUNCH], "watch #1: unknown launch 't4bx'; did you mean t4box?"),
        ({"launch": "t4box"}, [], "watch #1: launch 't4box' is not a [[launch]] name: add one"),
        ({"launch": "t4box", "min_free": 8}, [LAUNCH], "launch takes no min_free"),
        ({"launch": 4}, [LAUNCH], "watch #1 launch must be a non-empty string"),
        ({"regions": ["us-central1"]}, [LAUNCH], "needs metric and min_free, or launch"),
    ],
)
def test_a_bad_launch_rule_says_what_to_fix(watch, launches, needle):
    data = {"gpu": T4, "watch": [watch], **({"launch": launches} if launches else {})}
    with pytest.raises(ConfigError) as caught:
        from_mapping(data)
    assert needle in str(caught.value)


def fire(alerts: WatchAlerts, doc):
    return alerts.update(answers.document_checks(doc), doc)


def test_a_rule_fires_when_a_region_newly_fits(tmp_path, make_emulator):
    emulator = make_emulator()
    doc = warmed_doc(tmp_path / "launches", emulator, COMPUTE)
    rule = WatchRule("", 0.0, launch="t4box")
    blocked = WatchRule("", 0.0, launch="n1-standard-8+4xT4")  # the x3 one: fits nowhere
    alerts = WatchAlerts([rule, blocked])
    [group] = fire(alerts, doc)
    assert alert_text(group) == (
        "🎯 t4box (n1-standard-8+4xT4 x2) fits in us-central1",
        "fits in us-central1\nWatching for t4box (n1-standard-8+4xT4 x2).",
    )
    assert alert_line(group) == (
        "🎯 CACHE_WARM_WATCH: t4box (n1-standard-8+4xT4 x2) fits in us-central1"
    )
    assert watch_notice(group).title == "🎯 t4box (n1-standard-8+4xT4 x2) fits in us-central1"
    assert fire(alerts, doc) == []  # still fits: not news
    assert alerts.met_now() == MET
    # a cycle in which it fits nowhere (no launch written: nothing judged), then fits again
    assert fire(alerts, warmed_doc(tmp_path / "plain", emulator, PLAIN)) == []
    assert alerts.met_now() == []
    assert [h.region for h in fire(alerts, doc)[0]] == ["us-central1"]


def test_a_launch_that_fits_only_on_a_limit_is_said_so(tmp_path, make_emulator):
    doc = warmed_doc(tmp_path / "home", make_emulator(), VERTEX)
    [group] = fire(WatchAlerts([WatchRule("", 0.0, launch="a3-highgpu-8g")]), doc)
    title, body = alert_text(group)
    assert title == "🎯 a3-highgpu-8g x1 fits ≤ in us-central1 (if nothing else is running)"
    assert body.splitlines()[0] == "fits ≤ in us-central1 (if nothing else is running)"
    assert "fits in" not in title + body


def test_a_running_instance_tells_the_log_the_terminal_and_status(env, make_emulator, tmp_path):  # noqa: F811
    config = tmp_path / "config.toml"
    body = COMPUTE + '[[watch]]\nlaunch = "t4box"\n'
    config.write_text(f'projects = ["{PROJECT}"]\ninterval_s = 0.05\n{body}')
    proc = start_headless(env, make_emulator(latency=2), "--config", str(config))
    try:
        text = wait_log(env, "CACHE_WARM_WATCH")
        status = wait_status(env, lambda s: s["watch_met"])
        said = qt(env, "status").stdout
    finally:
        qt(env, "quit")
        out, _ = proc.communicate(timeout=10)
    expected = "🎯 CACHE_WARM_WATCH: t4box (n1-standard-8+4xT4 x2) fits in us-central1"
    assert expected in text and expected in out
    assert status["watch_met"] == MET
    assert "watch met: launch t4box: us-central1 (fits)" in said
