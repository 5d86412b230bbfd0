"""Pixel measurements behind the colour auditor: regions, robust colours, CIELAB distances.

Colours are compared in CIELAB (storyviz.colors.rgb_to_lab_array, CIE76 ΔE) on whole arrays, so a
panel's regions are measured in a few milliseconds.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from storyviz.colors import RGB, rgb_to_lab_array
from storyviz.geometry import Box, PixelBox, intersection, pixels_covering, pixels_inside

Pixels = NDArray[np.uint8]
"""An (N, 3) array of RGB pixels."""


def region_mask(
    size: tuple[int, int], box: Box, hidden: list[Box] | None = None
) -> tuple[PixelBox, NDArray[np.bool_] | None]:
    """The pixels wholly inside `box` and which of them no `hidden` box covers.

    Hidden boxes are the frames of figures drawn in front; they take every pixel they touch, so
    a pixel they partly cover never counts as visible. The mask is None when nothing is hidden.
    """
    width, height = size
    region = pixels_inside(box, width, height)
    left, top, right, bottom = region
    mask: NDArray[np.bool_] | None = None
    for hidden_box in hidden or []:
        covered = intersection(region, pixels_covering(hidden_box, width, height))
        if covered is not None:
            if mask is None:
                mask = np.ones((bottom - top, right - left), dtype=bool)
            hl, ht, hr, hb = covered
            mask[ht - top : hb - top, hl - left : hr - left] = False
    return region, mask


def visible_pixels(
    image: NDArray[np.uint8], box: Box, hidden: list[Box] | None = None, stride: int = 1
) -> tuple[Pixels, int]:
    """The visible pixels of `box` as (N, 3), and how many pixels the whole box has.

    A `stride` above 1 samples every stride-th row and column, for shares that need no more.
    """
    height, width = image.shape[:2]
    (left, top, right, bottom), mask = region_mask((width, height), box, hidden)
    region = image[top:bottom:stride, left:right:stride]
    total = (bottom - top) * (right - left)
    if mask is None:
        return region.reshape(-1, 3), total
    return region[mask[::stride, ::stride]], total


def visible_share(size: tuple[int, int], box: Box, hidden: list[Box] | None = None) -> float:
    """The share of `box` that no hidden box covers."""
    _, mask = region_mask(size, box, hidden)
    return 1.0 if mask is None else float(mask.mean())


def median_colour(pixels: Pixels) -> RGB:
    """Per-channel median: a fill colour survives outlines, eyes, rain streaks and labels."""
    r, g, b = (int(round(float(v))) for v in np.median(pixels.reshape(-1, 3), axis=0))
    return (r, g, b)


def _near(pixels: Pixels, targets: list[RGB], threshold: float) -> NDArray[np.bool_]:
    """(N, T): whether pixel n lies within `threshold` ΔE of target t."""
    lab = rgb_to_lab_array(pixels.reshape(-1, 3))
    wanted = rgb_to_lab_array(np.array(targets))
    near: NDArray[np.bool_] = (
        np.linalg.norm(lab[:, None, :] - wanted[None, :, :], axis=2) < threshold
    )
    return near


def shares_near(pixels: Pixels, targets: list[RGB], threshold: float) -> list[float]:
    """For each target, the share of pixels within `threshold` ΔE of it."""
    if len(pixels) == 0 or not targets:
        return [0.0] * len(targets)
    return [float(v) for v in _near(pixels, targets, threshold).mean(axis=0)]


def share_near(pixels: Pixels, targets: list[RGB], threshold: float) -> float:
    """The share of pixels within `threshold` ΔE of any target colour."""
    if len(pixels) == 0 or not targets:
        return 0.0
    return float(_near(pixels, targets, threshold).any(axis=1).mean())
