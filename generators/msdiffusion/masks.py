"""Which latent positions see which of MS-Diffusion's image tokens, on any panel shape.

The release's rule (``docs/seeds/msdiffusion.md`` section 4): a subject's tokens are visible
only at positions its box touches (start rounded down, end rounded up), the dummy tokens only
where no box is, and the image attention's output is zeroed where no box is, so the image path
adds nothing outside the boxes. The unconditional half of a guided batch has no boxes at all:
plain SDXL with the negative prompt. The release derives the grid as ``sqrt(positions)``
square, which breaks (or silently misplaces boxes) on non-square latents; here every layer's
grid is its real ``(height, width)``, x over width and y over height. On a square grid the two
agree exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from storyviz.generators.seed_models.masked_attention import MASKED, Masks
from storyviz.geometry import pixels_covering
from storyviz.schemas import NormBox


def box_cells(box: NormBox, height: int, width: int) -> torch.Tensor:
    """``[height*width]`` bool, row-major: the grid cells the box touches."""
    left, top, right, bottom = pixels_covering(box, width, height)
    cells = torch.zeros(height, width, dtype=torch.bool)
    cells[top:bottom, left:right] = True
    return cells.flatten()


def subject_masks(boxes: Sequence[NormBox], queries: int, dummies: int, guided: bool) -> Masks:
    """The ``Masks`` for subjects in ``boxes`` (token order: dummies, then ``queries`` tokens
    per subject); ``guided``: the batch is [unconditional, conditional]."""

    def build(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        positions = height * width
        tokens = dummies + queries * len(boxes)
        cells = [box_cells(box, height, width) for box in boxes]
        covered = torch.zeros(positions, dtype=torch.bool)
        for inside in cells:
            covered |= inside
        visible = torch.zeros(positions, tokens, dtype=torch.bool)
        visible[:, :dummies] = ~covered[:, None]
        for index, inside in enumerate(cells):
            start = dummies + index * queries
            visible[:, start : start + queries] = inside[:, None]
        bias = torch.where(visible, 0.0, MASKED)[None]
        keep = covered.float()[None, :, None]
        if guided:
            background = torch.full((1, positions, tokens), MASKED)
            background[..., :dummies] = 0.0
            bias = torch.cat([background, bias])
            keep = torch.cat([torch.zeros_like(keep), keep])
        return bias, keep

    return build
