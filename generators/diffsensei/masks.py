"""Which latent positions see which of DiffSensei's image tokens, on any panel shape.

The release's rule (``docs/seeds/diffsensei.md`` section 3): positions take coordinates from
``linspace(0, 1)`` over each axis (the first and last cells at exactly 0 and 1), a character's
tokens are visible where the position lies inside its box (inclusive on every side), and the
dummy tokens where it lies inside none. Unlike MS-Diffusion nothing is zeroed after: outside the
boxes the dummy tokens are attended. The release recovers each layer's grid by factorising the
token count with the panel's aspect; here every layer's grid is its real ``(height, width)``.
Padding slots and the unconditional half have ``(0, 0, 0, 0)`` boxes, which the inclusive test
places on the top-left position, as in the release.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from storyviz.generators.seed_models.masked_attention import MASKED, Masks
from storyviz.schemas import NormBox


def box_points(box: NormBox, height: int, width: int) -> torch.Tensor:
    """``[height*width]`` bool, row-major: the grid points inside the box, edges included."""
    x0, y0, x1, y1 = box
    xs = torch.linspace(0.0, 1.0, width, dtype=torch.float64)
    ys = torch.linspace(0.0, 1.0, height, dtype=torch.float64)
    cols = (xs >= x0) & (xs <= x1)
    rows = (ys >= y0) & (ys <= y1)
    return (rows[:, None] & cols[None, :]).flatten()


def character_masks(
    boxes: Sequence[NormBox], slots: int, queries: int, dummies: int, guided: bool
) -> Masks:
    """The ``Masks`` for characters in ``boxes`` padded to ``slots`` with empty boxes (token
    order: dummies, then ``queries`` per slot); ``guided``: the batch is [uncond, cond]."""
    empty: NormBox = (0.0, 0.0, 0.0, 0.0)
    conditional = list(boxes) + [empty] * (slots - len(boxes))

    def one(slot_boxes: list[NormBox], height: int, width: int) -> torch.Tensor:
        positions = height * width
        inside = [box_points(box, height, width) for box in slot_boxes]
        anywhere = torch.zeros(positions, dtype=torch.bool)
        for points in inside:
            anywhere |= points
        visible = torch.zeros(positions, dummies + queries * len(slot_boxes), dtype=torch.bool)
        visible[:, :dummies] = ~anywhere[:, None]
        for index, points in enumerate(inside):
            start = dummies + index * queries
            visible[:, start : start + queries] = points[:, None]
        return torch.where(visible, 0.0, MASKED)

    def build(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        bias = one(conditional, height, width)[None]
        if guided:
            bias = torch.cat([one([empty] * slots, height, width)[None], bias])
        return bias, None

    return build
