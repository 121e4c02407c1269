"""Where the state icons live and how they are loaded.

The PNGs ship as package data of ``trayapp.icons`` (``trayapp/icons/``), so they are found
through ``importlib.resources`` wherever the app runs from: a wheel, an editable install, a
checkout on ``PYTHONPATH`` or a frozen build. Pillow is imported on first load, not here.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib.resources
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

# The display states of the tray; every one has an icon file.
STATES: tuple[str, ...] = (
    "fire",
    "warn",
    "slowish",
    "slow",
    "complete",
    "error",
    "paused",
    "stale",
)

_PACKAGE = "trayapp.icons"
_lock = threading.Lock()
_extracted = contextlib.ExitStack()  # files pulled out of a zip import, kept until exit
atexit.register(_extracted.close)


@functools.cache
def _icon_root() -> Path | None:
    """Directory holding the PNGs as a real path (None when the package cannot be found)."""
    try:
        root = importlib.resources.files(_PACKAGE)
    except ModuleNotFoundError:  # a build that left the icons out
        return None
    if isinstance(root, Path):
        return root
    return None  # a zip import: resolved file by file in _resolve()


def _file_name(state: str, scale: int) -> str:
    if state not in STATES:
        raise KeyError(f"unknown icon state {state!r}; known: {', '.join(STATES)}")
    if scale not in (1, 2):
        raise ValueError("scale must be 1 (64 px) or 2 (128 px)")
    return f"{state}.png" if scale == 1 else f"{state}@2x.png"


@functools.cache
def _resolve(name: str) -> Path:
    root = _icon_root()
    if root is not None:
        path = root / name
    else:
        # Packaged in a zip: extract once, keep the file for the life of the process.
        resource = importlib.resources.files(_PACKAGE) / name
        with _lock:
            path = _extracted.enter_context(importlib.resources.as_file(resource))
    if not path.is_file():
        raise FileNotFoundError(f"state icon {name} is missing from {path.parent}")
    return path


def icon_path(state: str, scale: int = 1) -> Path:
    """Path of a state's PNG: ``scale=1`` is 64 px, ``scale=2`` is 128 px."""
    return _resolve(_file_name(state, scale))


_images: dict[tuple[str, int], Image.Image] = {}


def load_icon(state: str, scale: int = 2) -> Image.Image:
    """A state's icon as a fully loaded RGBA Pillow image, read from disk once and cached.

    Callers must not modify the returned image; copy it first.
    """
    key = (state, scale)
    with _lock:
        cached = _images.get(key)
    if cached is not None:
        return cached
    from PIL import Image

    with Image.open(icon_path(state, scale)) as opened:
        image = opened.convert("RGBA")
    image.load()
    with _lock:
        return _images.setdefault(key, image)


def load_icons(scale: int = 2) -> dict[str, Image.Image]:
    """Every state's icon (see :func:`load_icon`), so nothing is read from disk later."""
    return {state: load_icon(state, scale) for state in STATES}


def flatten(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """The icon composited onto an opaque colour, for trays that cannot show transparency."""
    from PIL import Image

    base = Image.new("RGBA", image.size, (*background, 255))
    base.alpha_composite(image.convert("RGBA"))
    return base.convert("RGB")
