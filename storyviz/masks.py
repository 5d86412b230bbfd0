"""Repair masks: a normalised box becomes a feathered greyscale mask, and back again.

Pure Pillow, in the core: the graph writes a repair's mask file, and generators that inpaint
read it. A hard-edged mask leaves a visible seam where the inpainted region meets the original,
so the edge is blurred; the same mask is then used to paste the original back outside the
region, because not every inpainting pipeline keeps the unmasked pixels exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import Image, ImageChops, ImageFilter

from storyviz.geometry import as_box, pixels_nearest


def box_mask(
    size: tuple[int, int], boxes: Sequence[Sequence[float]], feather: float | None = None
) -> Image.Image:
    """An L-mode mask, white (255) inside the boxes, black outside, with a Gaussian-blurred edge.

    ``feather`` is the blur radius in pixels; by default 2% of the image's long side, enough to
    hide the seam. The soft edge lies outside the box (it is grown by the radius before the
    blur), so every pixel of the box is redrawn in full: a small figure's box would otherwise be
    half blend, and the drift near its edge (hair at the top of a box) would survive the repair."""
    width, height = size
    radius = max(width, height) * 0.02 if feather is None else feather
    grow = math.ceil(2 * radius)  # the Gaussian's reach: inside the grown edge it is still 255
    mask = Image.new("L", (width, height), 0)
    for box in boxes:
        left, top, right, bottom = pixels_nearest(as_box(box), width, height)
        mask.paste(
            255,
            (
                max(0, left - grow),
                max(0, top - grow),
                min(width, right + grow),
                min(height, bottom + grow),
            ),
        )
    if radius > 0:
        mask = mask.filter(ImageFilter.GaussianBlur(radius))
        inside = Image.new("L", (width, height), 0)
        for box in boxes:
            inside.paste(255, pixels_nearest(as_box(box), width, height))
        mask = ImageChops.lighter(mask, inside)
    return mask


def keep_outside(original: Image.Image, repaired: Image.Image, mask: Image.Image) -> Image.Image:
    """The repaired image inside the mask, the original outside it, blended along the feather."""
    size = original.size
    repaired = repaired.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    mask = mask.convert("L").resize(size, Image.Resampling.BILINEAR)
    return Image.composite(repaired, original.convert("RGB"), mask)
