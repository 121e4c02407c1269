"""Usage Cloud Monitoring gave, as `show` and the terminal view say it: FREE exact, where the
usage came from and how old it is; a point older than the cache's max age said as old."""

from __future__ import annotations

import json
import time

import pytest
from test_show import entry, iso, qt, table, write
from userdirs import isolated_env

from trayapp import cache, words
from trayapp.tui import model

T4, H100 = "NVIDIA_T4_GPUS", "NVIDIA_H100_GPUS"
VERTEX = "aiplatform.googleapis.com"


@pytest.fixture
def env(tmp_path):
    return isolated_env(tmp_path / "home")


def vertex(region, metric, limit, usage=None, usage_minutes_ago=None):
    """A Vertex AI training check (Cloud Quotas: a limit), with a usage from Monitoring when
    given (as the warmer writes it: usage, usage_source, usage_at)."""
    check = entry(region, metric, limit=limit, usage=None)
    check.update(
        service="vertex",
        tier="on-demand",
        source="cloudquotas",
        quota_metric=f"{VERTEX}/custom_model_training_nvidia_{metric.split('_')[1].lower()}_gpus",
    )
    if usage is not None:
        check.update(usage=usage, usage_source="monitoring", usage_at=iso(usage_minutes_ago))
    return check


def checks():
    return [
        vertex("us-central1", T4, 16.0, 12.0, 3),
        vertex("europe-west4", H100, 24.0, 8.0, 120),  # older than the 30 min max age
        vertex("us-central1", H100, 16.0),  # no point: the limit only
    ]


def test_free_is_exact_and_the_row_says_where_usage_came_from(env):
    write(env, {"p": checks()})
    out = qt(env, "show")
    assert out.returncode == 0, out.stderr
    rows = {(r[0], r[1]): r[2:] for r in table(out.stdout)}
    assert rows["us-central1", "T4"][:3] == ["16", "12", "4"]
    assert rows["us-central1", "T4"][4] == "ok · usage 12, Cloud Monitoring, 3 min old"
    assert rows["europe-west4", "H100"][:3] == ["24", "8", "16"]
    assert rows["europe-west4", "H100"][4] == "ok · usage 8 as of 2.0 h ago"  # never "now"
    assert rows["us-central1", "H100"][:3] == ["16", "unknown", "≤ 16"]
    assert rows["us-central1", "H100"][4] == "ok"


def test_json_passes_the_usage_and_its_source_through(env):
    write(env, {"p": checks()})
    out = qt(env, "show", "--json")
    assert out.returncode == 0, out.stderr
    got = {(c["region"], c["metric"]): c for c in json.loads(out.stdout)["projects"]["p"]["checks"]}
    t4 = got["us-central1", T4]
    assert (t4["usage"], t4["free"], t4["usage_source"]) == (12, 4, "monitoring")
    assert abs(cache.parse_time(t4["usage_at"]) - (time.time() - 180)) < 60
    bare = got["us-central1", H100]
    assert (bare["usage"], bare["free"], bare["free_at_most"]) == (None, None, 16)
    assert "usage_source" not in bare


def test_the_terminal_view_says_it_the_same_way(env):
    path = write(env, {"p": checks()})
    rows = {r.key: r for r in model.rows(cache.load(path), "p")}
    t4 = rows[f"us-central1/{T4}"]
    assert t4.cells[3:5] == ("12", "4")
    assert t4.cells[6] == "ok · usage 12, Cloud Monitoring, 3 min old"
    assert rows[f"europe-west4/{H100}"].cells[6] == "ok · usage 8 as of 2.0 h ago"


def test_usage_words_stay_quiet_for_other_sources_and_hostile_values():
    now = time.time()
    assert words.usage_text({"usage": 2.0, "source": "compute"}, 1800, now) == ""
    odd = {"usage": 2.0, "usage_source": "\x1b[2Jmonitoring", "usage_at": iso(1)}
    assert words.usage_text(odd, 1800, now) == ""
    unknown_time = {"usage": 2.0, "usage_source": "monitoring", "usage_at": "yesterday"}
    assert words.usage_text(unknown_time, 1800, now) == (
        "usage 2 from Cloud Monitoring, of an unknown time"
    )
