"""The history, shown: a chart of batch times (Pillow), a text summary, and ``quota-tray stats``.

Pillow is imported when a chart is drawn and SQLite when the history is read, so the command
line can add the ``stats`` options without paying for either.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from trayapp.ui.chart_scale import DAY, STEPS, nice, subtitle, trend, window_text
from trayapp.warming.metrics import percentile

if TYPE_CHECKING:
    from trayapp import history

# Strong colours for points and threshold lines; light tints for the bands behind them.
PALETTE: dict[str, tuple[int, int, int]] = {
    "fire": (34, 150, 64),
    "warn": (206, 158, 0),
    "slowish": (239, 121, 20),
    "slow": (213, 40, 40),
}
BANDS: dict[str, tuple[int, int, int]] = {
    "fire": (228, 244, 230),
    "warn": (255, 246, 204),
    "slowish": (255, 228, 201),
    "slow": (252, 215, 215),
}
CYCLE_COLOUR, CYCLE_LINE = (46, 92, 170), (160, 182, 224)
TREND_COLOUR = (40, 44, 58)
BACKGROUND = (255, 255, 255)
_INK, _MUTED, _GRID = (33, 37, 41), (108, 117, 125), (222, 226, 230)
_S = 2  # drawn at twice the size and scaled down: smooth lines without an antialiasing API


def _font(size: int, bold: bool = False) -> Any:
    """A TrueType font with Pillow's basic layout. The raqm layout (HarfBuzz) mis-measures
    once GTK has drawn text in the process, which cut every label of "Show stats" in the tray
    to one letter; the chart's Latin labels need no shaping."""
    from PIL import ImageFont

    names = (
        ("DejaVuSans-Bold.ttf", "Arial Bold.ttf", "arialbd.ttf")
        if bold
        else ("DejaVuSans.ttf", "Arial.ttf", "arial.ttf")
    )
    for name in names:
        try:
            return ImageFont.truetype(name, size * _S, layout_engine=ImageFont.Layout.BASIC)
        except OSError:
            continue
    return ImageFont.load_default(size * _S)


def draw_chart(
    series: history.Series,
    path: str | os.PathLike[str] | BinaryIO,
    size: tuple[int, int] = (960, 400),
    *,
    warn_ms: float = 2000,
    slowish_ms: float = 2500,
    slow_ms: float = 3000,
    title: str | None = None,
) -> Path:
    """Batch time over time on the level bands, with cycle completions marked; a PNG."""
    chart = _Chart(series, size, (warn_ms, slowish_ms, slow_ms))
    chart.background()
    chart.marks()
    chart.points()
    chart.frame(title or f"quota-tray: batch time, {window_text(series.since_s)}")
    out = chart.img.reduce(_S)  # a box average: flat areas keep their exact colour
    if hasattr(path, "write"):  # an open file: the caller chose how it was opened
        out.save(path, "PNG", optimize=True)
        name = getattr(path, "name", "")
        return Path(name if isinstance(name, str) else "")
    target = Path(path)
    out.save(target, "PNG", optimize=True)
    return target


class _Chart:
    """One drawing at ``_S`` times the final size, with its scales."""

    def __init__(self, series: history.Series, size: tuple[int, int], limits: Any) -> None:
        from PIL import Image, ImageDraw

        self.series, self.limits = series, limits
        width, height = size
        self.img = Image.new("RGB", (width * _S, height * _S), BACKGROUND)
        self.d = ImageDraw.Draw(self.img)
        self.small, self.label = _font(11), _font(12)
        self.left, self.top = 64 * _S, 58 * _S
        self.right, self.bottom = (width - 88) * _S, (height - 34) * _S  # labels on the right
        self.edge = (width - 12) * _S
        self.ms = sorted(p[1] for p in series.batches)
        slow = limits[2]
        high = percentile(self.ms, 99) * 1.15  # rarer outliers sit on the top edge
        self.top_ms = max(slow * 1.2, min(high, 2 * slow))
        times = [p[0] for p in series.batches] + series.completes + series.errors
        t0, t1 = (min(times), max(times)) if times else (time.time() - 3600, time.time())
        if t1 - t0 < 60:
            t0, t1 = (t0 + t1) / 2 - 30, (t0 + t1) / 2 + 30
        pad = (t1 - t0) * 0.02
        self.t0, self.t1 = t0 - pad, t1 + pad

    def x(self, at: float) -> float:
        return self.left + (at - self.t0) / (self.t1 - self.t0) * (self.right - self.left)

    def y(self, value: float) -> float:
        return self.bottom - min(value, self.top_ms) / self.top_ms * (self.bottom - self.top)

    def background(self) -> None:
        d, (warn, slowish, slow) = self.d, self.limits
        edges = [
            ("fire", 0, warn),
            ("warn", warn, slowish),
            ("slowish", slowish, slow),
            ("slow", slow, self.top_ms),
        ]
        for name, lo, hi in edges:
            if hi > lo:
                d.rectangle((self.left, self.y(hi), self.right, self.y(lo)), fill=BANDS[name])
        step = nice(self.top_ms / 6)
        for i in range(int(self.top_ms // step) + 1):
            at_y = self.y(i * step)
            d.line((self.left, at_y, self.right, at_y), fill=_GRID, width=1)
            text = f"{i * step:g} ms" if i else "0"
            d.text((self.left - 8 * _S, at_y), text, fill=_MUTED, font=self.small, anchor="rm")
        for name, value in zip(("warn", "slowish", "slow"), self.limits, strict=True):
            at_y = self.y(value)
            self.dashed((self.left, at_y), (self.right, at_y), PALETTE[name])
            d.text(
                (self.right + 6 * _S, at_y),
                f"{name} {value:g}",
                fill=PALETTE[name],
                font=self.small,
                anchor="lm",
            )
        self.time_axis()

    def time_axis(self) -> None:
        t0, t1 = self.t0, self.t1
        most = max(2, (self.right - self.left) / (90 * _S))  # labels about 90 px apart
        step = next((s for s in STEPS if (t1 - t0) / s <= most), STEPS[-1])
        fmt = "%H:%M" if t1 - t0 <= 1.5 * DAY else "%a %H:%M" if step < DAY else "%b %d"
        offset = time.localtime(t0).tm_gmtoff  # ticks on local hours and midnights
        tick = math.ceil((t0 + offset) / step) * step - offset
        while tick <= t1:
            at_x = self.x(tick)
            self.d.line((at_x, self.bottom, at_x, self.bottom + 5 * _S), fill=_MUTED, width=_S)
            self.d.text(
                (at_x, self.bottom + 8 * _S),
                time.strftime(fmt, time.localtime(tick)),
                fill=_MUTED,
                font=self.small,
                anchor="mt",
            )
            tick += step

    def marks(self) -> None:
        for at in self.series.completes:
            self.d.line((self.x(at), self.top, self.x(at), self.bottom), fill=CYCLE_LINE, width=_S)
            _check(self.d, self.x(at), self.top - 7 * _S, 5 * _S, CYCLE_COLOUR)
        for at in self.series.errors:
            self.dashed((self.x(at), self.top), (self.x(at), self.bottom), PALETTE["slow"])
            _cross(self.d, self.x(at), self.top - 7 * _S, 4 * _S, PALETTE["slow"])

    def points(self) -> None:
        d, top, batches = self.d, self.top, self.series.batches
        r = 3 * _S if len(batches) < 400 else 2 * _S
        for at, value, level, failed in batches:
            colour = PALETTE.get(level or "", _MUTED)
            cx, cy = self.x(at), self.y(value)
            if value > self.top_ms:  # off the scale: a triangle pinned to the top edge
                d.polygon(
                    [(cx, top), (cx - 1.5 * r, top + 2.5 * r), (cx + 1.5 * r, top + 2.5 * r)],
                    fill=colour,
                )
            elif failed:
                _cross(d, cx, cy, r * 1.2, PALETTE["slow"])
            else:
                d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
        buckets = int(self.right - self.left) // (8 * _S)
        for segment in trend(batches, self.t0, self.t1, buckets):
            if len(segment) > 1:
                line = [(self.x(at), self.y(v)) for at, v in segment]
                d.line(line, fill=TREND_COLOUR, width=2 * _S, joint="curve")

    def frame(self, title: str) -> None:
        d = self.d
        d.rectangle((self.left, self.top, self.right, self.bottom), outline=_MUTED, width=_S)
        if not self.ms:
            d.text(
                ((self.left + self.right) / 2, (self.top + self.bottom) / 2),
                "no batches recorded in this period",
                fill=_MUTED,
                font=self.label,
                anchor="mm",
            )
        bold = _font(16, bold=True)
        d.text((self.left, 10 * _S), title, fill=_INK, font=bold)
        room = self.edge - self.left - d.textlength(title, font=bold) - 24 * _S
        if self.ms:
            first, last = self.series.batches[0][0], self.series.batches[-1][0]
            span = " – ".join(
                time.strftime("%a %d %b %H:%M", time.localtime(t)) for t in (first, last)
            )
            if d.textlength(span, font=self.label) <= room:
                d.text((self.edge, 12 * _S), span, fill=_MUTED, font=self.label, anchor="ra")
        summary = subtitle(self.ms, self.series)
        d.text((self.left, 32 * _S), summary, fill=_MUTED, font=self.label)
        pos, cy = self.edge, 38 * _S
        used = self.left + d.textlength(summary, font=self.label) + 24 * _S
        legend = [
            ("cycle complete", None),
            (f"slow ≥ {self.limits[2]:g}", "slow"),
            ("slowish", "slowish"),
            ("warn", "warn"),
            (f"fire < {self.limits[0]:g}", "fire"),
        ]
        width = sum(d.textlength(text, font=self.small) + 26 * _S for text, _ in legend)
        for text, name in legend if pos - width >= used else ():  # no room: no legend
            pos -= d.textlength(text, font=self.small)
            d.text((pos, cy), text, fill=_INK, font=self.small, anchor="lm")
            if name is None:
                _check(d, pos - 12 * _S, cy, 4 * _S, CYCLE_COLOUR)
            else:
                d.ellipse(
                    (pos - 14 * _S, cy - 4 * _S, pos - 6 * _S, cy + 4 * _S), fill=PALETTE[name]
                )
            pos -= 26 * _S

    def dashed(self, a: tuple[float, float], b: tuple[float, float], colour: Any) -> None:
        length = math.dist(a, b)
        dash = 7 * _S
        for start in range(0, int(length), 2 * dash):
            f0, f1 = start / length, min(start + dash, length) / length
            self.d.line(
                (
                    a[0] + (b[0] - a[0]) * f0,
                    a[1] + (b[1] - a[1]) * f0,
                    a[0] + (b[0] - a[0]) * f1,
                    a[1] + (b[1] - a[1]) * f1,
                ),
                fill=colour,
                width=2 * _S,
            )


def _check(d: Any, cx: float, cy: float, r: float, colour: Any) -> None:
    d.line(
        [(cx - r, cy), (cx - r * 0.3, cy + r * 0.7), (cx + r, cy - r * 0.8)],
        fill=colour,
        width=2 * _S,
        joint="curve",
    )


def _cross(d: Any, cx: float, cy: float, r: float, colour: Any) -> None:
    d.line((cx - r, cy - r, cx + r, cy + r), fill=colour, width=_S + 1)
    d.line((cx - r, cy + r, cx + r, cy - r), fill=colour, width=_S + 1)
