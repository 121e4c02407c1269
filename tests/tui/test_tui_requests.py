"""The terminal view says the quota requests the warmer follows, above the table, and where
nothing is free whether the quota may be raised, in the words `show` uses."""

from __future__ import annotations

import json
import time

from tui_docs import check, doc
from tui_pilot import cells, drive, until

from trayapp import cache
from trayapp.tui import model
from trayapp.tui.app import QuotaApp


def request(state: str, granted: int | None) -> dict:
    return {
        "name": "projects/p/locations/global/quotaPreferences/h100",
        "id": "h100",
        "service": "aiplatform.googleapis.com",
        "quota_id": "CustomModelTrainingPreemptibleNvidiaH100GPUsPerProjectPerRegion",
        "dimensions": {"region": "us-central1"},
        "region": "us-central1",
        "metric": "H100",
        "tier": "spot",
        "preferred": 16,
        "granted": granted,
        "reconciling": state == "pending",
        "state": state,
        "state_detail": "",
        "trace_id": "",
        "created_at": cache.now_iso(),
        "updated_at": cache.now_iso(),
    }


def written(tmp_path, state="granted", granted=16):
    full = check("us-central1", "NVIDIA_H100_GPUS", limit=0.0, usage=0.0)
    full["eligibility"] = "not_enough_usage_history"
    room = check("us-east1", "NVIDIA_H100_GPUS", limit=8.0, usage=0.0)
    room["eligibility"] = "eligible"  # free: nothing to ask, nothing said
    body = doc([full, room])
    body["projects"]["p"]["requests"] = [request(state, granted)]
    path = tmp_path / cache.FILENAME
    path.write_text(json.dumps(body))
    return path


def test_requests_and_eligibility_in_the_model(tmp_path):
    snap = cache.load(written(tmp_path))
    lines = model.request_lines(snap, ["p"], time.time())
    assert lines == [
        "request: H100 Spot, Vertex AI training in us-central1: granted 16 of 16 · just now"
    ]
    rows = {r.key: r.cells for r in model.rows(snap, "p")}
    assert rows["us-central1/NVIDIA_H100_GPUS"][6].endswith(
        "cannot be raised: not enough usage history"
    )
    assert "raised" not in rows["us-east1/NVIDIA_H100_GPUS"][6]


def test_the_view_shows_them(tmp_path):
    app = QuotaApp(written(tmp_path, "pending", None))

    async def scenario(pilot):
        await until(pilot, lambda: app.loads)
        box = app.query_one("#launches")
        await until(pilot, lambda: box.has_class("-shown"))
        assert "request: H100 Spot, Vertex AI training in us-central1: pending, asked 16" in str(
            box.render()
        )
        assert any("cannot be raised" in row[6] for row in cells(app))

    drive(app, scenario)
