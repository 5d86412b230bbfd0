"""Boxes: what a box is, how boxes combine, and how a normalised box becomes whole pixels.

A box is ``(x0, y0, x1, y1)``, left-top corner first. Plans, findings and repair regions hold
boxes normalised to 0..1 of the image, so a plan means the same at any render size; lettering and
labels work on the same boxes scaled to pixels (`scaled`).

Whole pixels need a rounding, and the callers need different ones, so each is named here rather
than written out at the call site:

- `pixels_nearest`: every edge to the nearest pixel boundary. Masks and regional-prompt grids
  use it: a mask should cover the box as drawn, no more and no less.
- `pixels_inside`: only the pixels lying wholly inside the box (rounded inward). The colour
  auditor samples these, so a region's edge never mixes in its neighbour's colour.
- `pixels_covering`: every pixel the box touches (rounded outward). A figure in front hides
  every pixel it partly covers.
- `pixel_edges`: the start edges (left, top) and the end edges (right, bottom) each rounded as
  the caller names, for a conversion that is none of the three (an identity crop).

The same box may land on different pixels under each, and measurements and drawings depend on
which: changing a caller's rounding changes its images.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Literal, TypeVar

Box = tuple[float, float, float, float]
"""A box ``(x0, y0, x1, y1)``; normalised to 0..1 of the image unless the caller says pixels."""

PixelBox = tuple[int, int, int, int]
"""Whole pixels ``(left, top, right, bottom)``, right and bottom exclusive (as Pillow crops)."""

Rounding = Literal["down", "nearest", "up"]
"""How a scaled edge becomes a whole pixel: floor, Python's `round` (ties to even), or ceiling."""

_ROUND: dict[Rounding, Callable[[float], int]] = {
    "down": math.floor,
    "nearest": round,
    "up": math.ceil,
}

N = TypeVar("N", int, float)


def as_box(values: Sequence[float]) -> Box:
    """Four numbers as a box; a JSON list of another length is refused, naming what it got."""
    if len(values) != 4:
        raise ValueError(f"a box needs 4 numbers [x0, y0, x1, y1], got {list(values)}")
    x0, y0, x1, y1 = values
    return (x0, y0, x1, y1)


def clamp(box: Box) -> Box:
    """Every coordinate moved into 0..1: a box reaching past the image's edge stops at it."""
    x0, y0, x1, y1 = (min(1.0, max(0.0, float(v))) for v in box)
    return (x0, y0, x1, y1)


def ordered(box: Box) -> Box:
    """The same box with x0 <= x1 and y0 <= y1, whichever corners it was given by."""
    x0, y0, x1, y1 = box
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def rounded(box: Box, places: int = 4) -> Box:
    """Coordinates rounded for JSON: four places are a tenth of a pixel on a 1000-pixel panel."""
    x0, y0, x1, y1 = (round(v, places) for v in box)
    return (x0, y0, x1, y1)


def scaled(box: Box, width: float, height: float) -> Box:
    """A normalised box in the pixel coordinates of a `width` x `height` image, unrounded."""
    x0, y0, x1, y1 = box
    return (x0 * width, y0 * height, x1 * width, y1 * height)


def grown(box: Box, margin: float) -> Box:
    """The box widened by `margin` of its own width and height on every side (unclamped)."""
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    return (x0 - dx, y0 - dy, x1 + dx, y1 + dy)


def place_in_panel(box: Box) -> str:
    """Where a box sits, in words a prompt can use: "bottom left", "right", "centre"."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    horizontal = "left" if cx < 0.36 else "right" if cx > 0.64 else ""
    vertical = "top" if cy < 0.36 else "bottom" if cy > 0.64 else ""
    return " ".join(w for w in (vertical, horizontal) if w) or "centre"


def area(box: Box) -> float:
    """Width times height (negative for an inverted box: callers pass real boxes)."""
    x0, y0, x1, y1 = box
    return (x1 - x0) * (y1 - y0)


def union(boxes: Iterable[Box]) -> Box:
    """The smallest box holding every box given (at least one)."""
    listed = list(boxes)
    if not listed:
        raise ValueError("the union of no boxes is undefined")
    return (
        min(b[0] for b in listed),
        min(b[1] for b in listed),
        max(b[2] for b in listed),
        max(b[3] for b in listed),
    )


def intersection(a: tuple[N, N, N, N], b: tuple[N, N, N, N]) -> tuple[N, N, N, N] | None:
    """The box two boxes share, or None when they share no area (touching edges share none).

    Works on pixel boxes as well as normalised ones, and keeps their type."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    if x1 - x0 > 0 and y1 - y0 > 0:
        return (x0, y0, x1, y1)
    return None


def intersection_area(a: Box, b: Box) -> float:
    """The area two boxes share; 0.0 when they are apart or only touch."""
    shared = intersection(a, b)
    return 0.0 if shared is None else area(shared)


def overlaps(a: Box, b: Box) -> bool:
    """Whether two boxes of positive size share some area (touching edges do not)."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def iou(a: Box, b: Box) -> float:
    """Intersection over union: 1.0 for the same box, 0.0 for boxes that share no area."""
    shared = intersection_area(a, b)
    total = area(a) + area(b) - shared
    return shared / total if total > 0 else 0.0


def pixel_edges(box: Box, width: int, height: int, start: Rounding, end: Rounding) -> PixelBox:
    """The box's edges in whole pixels of a `width` x `height` image, clamped to the image.

    `start` rounds the left and top edges, `end` the right and bottom ones. May be empty: see
    `at_least_one_pixel`."""
    first, last = _ROUND[start], _ROUND[end]
    x0, y0, x1, y1 = box
    return (
        min(max(first(x0 * width), 0), width),
        min(max(first(y0 * height), 0), height),
        min(max(last(x1 * width), 0), width),
        min(max(last(y1 * height), 0), height),
    )


def at_least_one_pixel(pixels: PixelBox, width: int, height: int) -> PixelBox:
    """An empty pixel box grown to one pixel past its start (unless that is off the image)."""
    left, top, right, bottom = pixels
    return left, top, min(max(left + 1, right), width), min(max(top + 1, bottom), height)


def pixels_nearest(box: Box, width: int, height: int) -> PixelBox:
    """The box clamped to the image, corners in either order, each edge at its nearest pixel
    boundary; never empty inside the image (a box thinner than a pixel keeps one)."""
    return at_least_one_pixel(
        pixel_edges(ordered(clamp(box)), width, height, "nearest", "nearest"), width, height
    )


def pixels_inside(box: Box, width: int, height: int) -> PixelBox:
    """The pixels lying wholly inside the box (rounded inward), clamped to the image.

    Never empty: a box thinner than a pixel keeps the pixel nearest its centre."""
    x0, y0, x1, y1 = box
    left, right = math.ceil(x0 * width), math.floor(x1 * width)
    top, bottom = math.ceil(y0 * height), math.floor(y1 * height)
    if right <= left:
        left = min(max(int((x0 + x1) / 2 * width), 0), width - 1)
        right = left + 1
    if bottom <= top:
        top = min(max(int((y0 + y1) / 2 * height), 0), height - 1)
        bottom = top + 1
    return max(left, 0), max(top, 0), min(right, width), min(bottom, height)


def pixels_covering(box: Box, width: int, height: int) -> PixelBox:
    """Every pixel the box touches (rounded outward), clamped to the image; empty for a box of
    no area that lies on pixel boundaries."""
    return pixel_edges(box, width, height, "down", "up")
