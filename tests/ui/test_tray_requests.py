"""The tray's Requests menu (one line per quota increase request in the cache, with its state
and age) and its "Ask for more quota" lines, which say whether each quota may be raised before
anything is opened; read from a cache document a real warm cycle wrote (emulator, real
clients), with the requests listed through the real google-cloud-quotas client."""

from __future__ import annotations

import json
import types
from typing import Any

from launch_docs import PROJECT, warmed_doc

from trayapp.emulator.preferences import PreferenceStore
from trayapp.sources import preference_states as follow
from trayapp.sources.preferences import PreferenceSource
from trayapp.ui.display import DisplayModel
from trayapp.ui.tray_menu import TrayMenu, ask_label
from trayapp.warming.events import Event, Progress, WarmEvent

VERTEX = """[gpu]
service = "vertex"
metrics = ["NVIDIA_B200_GPUS", "NVIDIA_A100_GPUS"]
regions = ["us-central1", "us-east1"]
[c3]
regions = ["us-central1"]
"""
A100 = ("aiplatform.googleapis.com", "CustomModelTrainingA100GPUsPerProjectPerRegion")


class Item:
    def __init__(self, text: Any, action: Any, **kwargs: Any) -> None:
        self.text, self.action, self.kwargs = text, action, kwargs


class Menu:
    SEPARATOR = Item("", None)

    def __init__(self, *items: Any) -> None:
        self.items = items


PYSTRAY = types.SimpleNamespace(MenuItem=Item, Menu=Menu)


def shown(doc: dict[str, Any]) -> DisplayModel:
    model = DisplayModel(5)
    done = Progress(5, 5, 0, 0)
    model.apply(Event(WarmEvent.COMPLETE, 1, done, data={"failed": 0}, snapshot=doc))
    return model


class Shown(TrayMenu):
    """The menu half alone, showing what the model shows (as TrayApp does)."""

    @property
    def display(self) -> Any:
        return self.model.display


def menu_of(model: DisplayModel) -> TrayMenu:
    menu = Shown()
    menu.model, menu._copier = model, None
    return menu


def with_requests(doc: dict[str, Any], emulator: Any, lists: int) -> dict[str, Any]:
    raw = json.dumps(
        {
            "service": A100[0],
            "quotaId": A100[1],
            "dimensions": {"region": "us-east1"},
            "quotaConfig": {"preferredValue": "64"},
            "contactEmail": "you@example.com",
        }
    ).encode()
    status, _ = emulator.preferences.answer(
        "PATCH", PROJECT, "a100-us-east1", {"allowMissing": ["true"]}, raw
    )
    assert status == 200
    source = PreferenceSource(emulator.url, timeout_s=3.0)
    try:
        for _ in range(lists):
            found = source.fetch_preferences(PROJECT)
    finally:
        source.close()
    doc = json.loads(json.dumps(doc))
    doc["projects"][PROJECT]["requests"] = follow.entries(found, {A100})
    return doc


def test_the_requests_menu_has_a_line_per_request(tmp_path, make_emulator):
    emulator = make_emulator()
    emulator.preferences = PreferenceStore(outcome="granted", after=2)
    doc = warmed_doc(tmp_path / "home", emulator, VERTEX)
    empty = menu_of(shown(doc))._request_items(PYSTRAY)
    assert [i.text for i in empty] == ["No quota increase requests"]
    for lists, state in ((1, "pending, asked 64"), (2, "granted 64 of 64")):
        menu = menu_of(shown(with_requests(doc, emulator, lists)))
        [line] = menu._request_items(PYSTRAY)
        assert line.text == f"A100, Vertex AI training in us-east1: {state} · just now"
        # the Quotas menu is what it was without requests
        quotas = [i.text for i in menu._quota_items(PYSTRAY)]
        assert quotas == [i.text for i in menu_of(shown(doc))._quota_items(PYSTRAY)]
        assert not any("asked" in str(text) for text in quotas)


def test_ask_for_more_says_whether_the_quota_may_be_raised(tmp_path, make_emulator):
    doc = warmed_doc(tmp_path / "home", make_emulator(), VERTEX)
    lines = [line for line in shown(doc).display.quotas if line.url]
    labels = {ask_label(line) for line in lines}
    assert "B200 (cannot be raised: not enough usage history)…" in labels
    assert "A100 (may be raised)…" in labels
    more = menu_of(shown(doc))._quota_items(PYSTRAY)[-1]
    assert more.text == "Ask for more quota"
    assert {i.text for i in more.action.items} == labels
