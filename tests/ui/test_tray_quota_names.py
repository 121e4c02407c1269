"""The tray names the quota its answers come from: Vertex AI training (Spot) and Cloud Build
private pools head their lines in the Quotas menu, on the real GTK tray too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from desktop import Desktop, desktop, require_gtk, wait_for  # noqa: F401
from test_tray_desktop import (
    TrayProcess,
    click_item,
    doc_with,
    fresh,
    gpu_check,
    open_menu,
    submenu,
)

from trayapp.ui.display import quota_lines, quota_note


def vertex(region: str, limit: float | None, **extra: Any) -> dict[str, Any]:
    check = gpu_check(region, "NVIDIA_H100_GPUS", limit=limit, usage=None)
    return {**check, "source": "cloudquotas", "service": "vertex", "tier": "spot", **extra}


def build(region: str, limit: float | None, **extra: Any) -> dict[str, Any]:
    check = gpu_check(region, "C3_CPUS", limit=limit, usage=None)
    return {**check, "source": "cloudquotas", "service": "cloudbuild", "tier": "on-demand", **extra}


DESIGN = [
    vertex("us-central1", 16.0),
    vertex("europe-west4", 24.0),
    build("us-central1", 176.0),
    build("us-west2", None, unlimited=True),
]
LINES = [
    "GPU quota: Vertex AI training · Spot",
    "H100 · ≤ 24 free europe-west4 · ≤ 16 us-central1",
    "C3 quota: Cloud Build private pools",
    "C3 · unlimited free us-west2 · ≤ 176 us-central1",
]


def test_quota_lines_name_a_quota_other_than_compute_on_demand() -> None:
    assert [line.text for line in quota_lines(doc_with(DESIGN))] == LINES
    assert [line.region for line in quota_lines(doc_with(DESIGN))] == [
        None,  # a heading copies nothing
        "europe-west4",
        None,
        "us-west2",
    ]
    assert quota_note(quota_lines(doc_with(DESIGN))) == (
        "GPU: Vertex AI training · Spot; C3: Cloud Build private pools"
    )
    # Compute VMs on-demand: no heading. H100 comes from the family quota there, usage unknown
    h100 = gpu_check("us-west1", "NVIDIA_H100_GPUS", limit=16.0, usage=None)
    plain = [{**h100, "service": "compute", "tier": "on-demand"}]
    assert [line.text for line in quota_lines(doc_with(plain))] == ["H100 · ≤ 16 free us-west1"]


@pytest.mark.desktop
def test_gtk_quotas_submenu_names_service_and_tier(desktop: Desktop, tmp_path: Path) -> None:  # noqa: F811
    require_gtk()
    tray = TrayProcess(desktop, "gtk", tmp_path)
    try:
        slot = tray.icon()
        tray.event(kind="COMPLETE", done=38, data={"failed": 0}, snapshot=doc_with(fresh(DESIGN)))
        wait_for(
            lambda: tray.state()["title"].endswith(
                " · GPU: Vertex AI training · Spot; C3: Cloud Build private pools"
            ),
            10,
            "the tooltip to name the quota",
        )
        items = open_menu(tray, slot)
        click_item(tray, items["Quotas"])
        sub = wait_for(lambda: submenu(tray), 10, "the Quotas submenu to open")
        assert [i["label"] for i in sub][: len(LINES)] == LINES
        assert [i["sensitive"] for i in sub][: len(LINES)] == [False, True, False, True]
        ask = next(i for i in sub if i["label"] == "Ask for more quota")
        click_item(tray, ask)
        nested = wait_for(
            lambda: next((i.get("submenu") for i in submenu(tray) or () if i.get("submenu")), None),
            10,
            "the Ask for more quota submenu to open",
        )
        assert [i["label"] for i in nested] == ["H100…", "C3…"]
        click_item(tray, nested[0])
        url = (
            "https://console.cloud.google.com/iam-admin/quotas?project=p"
            "&service=aiplatform.googleapis.com"
        )
        wait_for(
            lambda: any(c.startswith(f"open {url}") for c in tray.call_names()),
            10,
            "the console's quotas page for H100 to open",
        )
        opened = next(c for c in tray.call_names() if c.startswith("open "))
        assert "location=europe-west4" in opened  # the best region
    finally:
        tray.close()
