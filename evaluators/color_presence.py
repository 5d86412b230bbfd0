"""Is the character there at all? Presence evidence that the scenery cannot fake.

A region that matches its sheet colour proves little when the scenery around the figure has that
colour too (pavement is ΔE 18 from silver, sand 7 from beige), so such a match is set aside as
"blended". A character is present when a region matches with a colour its surroundings lack (for a
region too small to judge, when a quarter of its pixels match),
when every measured region matches (a complete figure, however well it blends in), or when its
distinctive colours cover a share of the figure frame (a figure drawn off the anatomy places,
as a diffusion model's might be). Otherwise it is missing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from storyviz.anatomy import ColourPart
from storyviz.colors import RGB, rgb_to_lab
from storyviz.geometry import Box, clamp, grown

from .color_findings import Measurement
from .color_measure import share_near, shares_near, visible_pixels
from .color_thresholds import Thresholds

DISTINCTIVE_CHROMA = 25.0
"""Lab chroma from which a colour can prove presence anywhere in the frame.

Neutrals and skin tones (white, grey, silver, black, beige, pale to light skin) stay below it:
the muted scenery is close to them, so finding them somewhere in a frame proves nothing.
"""

SURROUNDING_MARGIN = 0.25
"""How far around the frame, in frame widths and heights, counts as its surroundings."""

COMMON_SHARE = 0.2
"""A colour covering this share of the surroundings is scenery, not evidence."""

GLIMPSE_SHARE = 0.25
"""A region too small to judge still shows the character when this share of it matches."""

_STRIDE = 2  # shares need no more than every other row and column


@dataclass(frozen=True)
class Presence:
    present: bool
    share: float = 1.0
    distinctive: list[ColourPart] = field(default_factory=list)
    blended: list[Measurement] = field(default_factory=list)


def _chroma(rgb: RGB) -> float:
    _, a, b = rgb_to_lab(rgb)
    return math.hypot(a, b)


def judge_presence(
    image: NDArray[np.uint8],
    frame: Box,
    in_front: list[Box],
    expected: Sequence[ColourPart],
    measured: Sequence[Measurement],
    thresholds: Thresholds,
) -> Presence:
    """Whether the character is in its frame, with the evidence a missing finding reports."""
    sized = [m for m in measured if m.measurable]
    matched = [m for m in sized if m.distance < thresholds.minor]
    if len(matched) == len(sized):
        return Presence(True)
    matched += [m for m in measured if (m.match_share or 0.0) >= GLIMPSE_SHARE]
    ring, _ = visible_pixels(
        image, clamp(grown(frame, SURROUNDING_MARGIN)), [frame], stride=_STRIDE
    )
    colours = list(expected)
    common_share = shares_near(ring, [p.rgb for p in colours], thresholds.minor)
    common = {p.part for p, s in zip(colours, common_share, strict=True) if s >= COMMON_SHARE}
    if any(m.colour.part not in common for m in matched):
        return Presence(True)
    distinctive = [
        p for p in colours if _chroma(p.rgb) >= DISTINCTIVE_CHROMA and p.part not in common
    ]
    pixels, _ = visible_pixels(image, frame, in_front, stride=_STRIDE)
    share = share_near(pixels, [p.rgb for p in distinctive], thresholds.minor)
    return Presence(share >= thresholds.presence, share, distinctive, matched)
