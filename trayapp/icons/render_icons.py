"""Render the tray's state icons from Noto Color Emoji.

Run ``python trayapp/icons/render_icons.py`` to (re)write the PNGs next to this file, or
``python trayapp/icons/render_icons.py --check`` to verify the committed ones still match what the
font renders. Every backend resizes the one image it is given to the tray's slot (16 to 48 px
on common panels), so two sizes are shipped: ``<state>.png`` (64 px, notifications and normal
DPI) and ``<state>@2x.png`` (128 px, the source the tray downsamples from, crisp on HiDPI).

Noto Color Emoji is a bitmap (CBDT) font with a single 109 px strike: Pillow only renders it at
that size, and only with ``embedded_color=True``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
FONT_SIZE = 109  # the font's only bitmap strike
OUT_DIR = Path(__file__).resolve().parent

# state -> emoji; the variation selector asks for the colour presentation.
STATES: dict[str, str] = {
    "fire": "\U0001f525",  # 🔥
    "warn": "\u26a0\ufe0f",  # ⚠️
    "slowish": "\U0001f624",  # 😤
    "slow": "\U0001f480",  # 💀
    "complete": "\u2705",  # ✅
    "error": "\U0001f4a5",  # 💥
    "paused": "\u23f8\ufe0f",  # ⏸️
    "stale": "\U0001f570\ufe0f",  # 🕰️
}

SIZES: dict[str, int] = {"": 64, "@2x": 128}
MARGIN = 0.04  # transparent border, as a fraction of the side, so glyphs never touch the edge


def render(emoji: str, size: int, font: ImageFont.FreeTypeFont) -> Image.Image:
    """One emoji as a square RGBA image of ``size`` px, centred, transparent elsewhere."""
    canvas = Image.new("RGBA", (FONT_SIZE * 3, FONT_SIZE * 3), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text(
        (FONT_SIZE // 2, FONT_SIZE // 2), emoji, font=font, embedded_color=True
    )
    bbox = canvas.getchannel("A").getbbox()
    if bbox is None:
        raise RuntimeError(f"the font rendered nothing for {emoji!r}")
    glyph = canvas.crop(bbox)
    side = max(glyph.size)
    side += 2 * round(side * MARGIN)
    square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    square.paste(glyph, ((side - glyph.width) // 2, (side - glyph.height) // 2))
    return square.resize((size, size), Image.Resampling.LANCZOS)


def outputs(font_path: Path = FONT) -> dict[str, Image.Image]:
    """File name -> image for every state and size."""
    font = ImageFont.truetype(str(font_path), FONT_SIZE)
    images: dict[str, Image.Image] = {}
    for state, emoji in STATES.items():
        for suffix, size in SIZES.items():
            images[f"{state}{suffix}.png"] = render(emoji, size, font)
    return images


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    """Whether two RGBA images are equal pixel for pixel (PNG bytes may differ by encoder)."""
    if a.size != b.size:
        return False
    diff = ImageChops.difference(a.convert("RGBA"), b.convert("RGBA"))
    return all(high == 0 for _, high in diff.getextrema())


def main(argv: list[str] | None = None) -> int:
    """Write the icons, or with ``--check`` report the ones that differ from a fresh render."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--font", type=Path, default=FONT)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    if not args.font.is_file():
        print(
            f"render_icons: {args.font} is missing (apt-get install fonts-noto-color-emoji)",
            file=sys.stderr,
        )
        return 2
    stale = []
    for name, image in outputs(args.font).items():
        path = args.out / name
        if args.check:
            if not path.is_file():
                stale.append(name)
                continue
            with Image.open(path) as committed:
                if not same_pixels(committed, image):
                    stale.append(name)
        else:
            image.save(path, optimize=True)
    if stale:
        print("render_icons: out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
