"""The original design's top-right status widget ("🔥 Warming... 15/38")."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from trayapp.tui.model import Status

STATES = ("starting", "warming", "complete", "paused", "error", "stopped")


class StatusWidget(Static):
    """Shows a ``model.Status``; its state is also a CSS class, so colours live in the .tcss."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.state = "starting"
        self.text = ""

    def show(self, status: Status) -> None:
        if (status.state, status.text) == (self.state, self.text):
            return
        self.remove_class(*(f"-{s}" for s in STATES))
        self.add_class(f"-{status.state}")
        self.state, self.text = status.state, status.text
        self.update(Text(status.text, no_wrap=True, overflow="ellipsis"))
