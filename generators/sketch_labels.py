"""Name labels for the sketch renderer, placed where they cover no figure's colour regions.

A label painted over someone's hair would read as drift to the offline auditor, so each label
tries under the figure's feet, then above its head, and is left out when neither spot is clear
of every sample box in the panel (and of the labels already placed).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from storyviz import anatomy
from storyviz.colors import RGB
from storyviz.geometry import overlaps, scaled

from .sketch_figures import OUTLINE, Figure

LABEL_PAPER: RGB = (250, 248, 240)

Rect = tuple[float, float, float, float]


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, ImportError, TypeError):  # Pillow built without FreeType
        return ImageFont.load_default()


def _sample_rects(figures: Sequence[Figure], width: int, height: int) -> list[Rect]:
    """Every colour region of every figure, in pixels, whether or not its sheet names a colour."""
    aspect = width / height
    rects: list[Rect] = []
    for figure in figures:
        for part in anatomy.parts(figure.species):
            box = anatomy.part_box(figure.species, part, figure.box, aspect)
            if box is not None:
                rects.append(scaled(box, width, height))
    return rects


def paint_labels(image: Image.Image, figures: Sequence[Figure], scale: float = 1.0) -> None:
    """Each figure's name under its feet or above its head, wherever that covers nothing sampled."""
    width, height = image.size
    size = max(9, min(round(18 * scale), round(min(width, height) / 32 * scale)))
    font = _font(size)
    draw = ImageDraw.Draw(image)
    pad = max(2, size // 4)
    keep_clear = _sample_rects(figures, width, height)
    for figure in figures:
        text = figure.name[:24]
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        label_w, label_h = right - left + 2 * pad, bottom - top + 2 * pad
        frame = anatomy.figure_frame(figure.species, figure.box, width / height)
        centre = (frame[0] + frame[2]) / 2 * width
        x = min(max(centre - label_w / 2, 0), width - label_w)
        for y in (frame[3] * height + 2, frame[1] * height - label_h - 2):
            rect = (x, y, x + label_w, y + label_h)
            if y < 0 or y + label_h > height or any(overlaps(rect, r) for r in keep_clear):
                continue
            draw.rounded_rectangle(
                [x, y, x + label_w - 1, y + label_h - 1],
                radius=pad,
                fill=LABEL_PAPER,
                outline=OUTLINE,
            )
            draw.text((x + pad - left, y + pad - top), text, fill=OUTLINE, font=font)
            keep_clear.append(rect)
            break
