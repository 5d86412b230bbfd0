"""DiffSensei's dialog regions: a learned vector written into the UNet's features in each box.

The release adds, right after ``conv_in``, one learned ``dialog_bbox_embedding`` (as wide as the
first block) at every latent cell of every dialog box (box edges scaled to the latent size and
truncated; overlapping boxes write, not add, the same vector), in the conditional half only. The
model learnt to leave those regions for text. storyviz's boxes are where its own lettering will
put the caption and balloons (``RenderRequest.text_regions``), so the page and its text agree.
Installed as a forward hook on ``conv_in``, so the UNet's keys stay the release's and the
inpaint and img2img pipelines that share the UNet honour the regions too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from storyviz.generators.seed_models.subjects import area
from storyviz.schemas import NormBox

EMBEDDING = "dialog_bbox_embedding"


@dataclass(frozen=True)
class DialogCall:
    boxes: tuple[NormBox, ...]
    guided: bool  # the batch is [uncond, cond]: only the second half gets the regions


class DialogRegions:
    """The dialog boxes in force for one pipeline call on a UNet (none between calls)."""

    def __init__(self, unet: Any) -> None:
        width = int(unet.config.block_out_channels[0])
        unet.register_parameter(EMBEDDING, nn.Parameter(torch.zeros(width)))
        self.unet = unet
        self.call: DialogCall | None = None
        unet.conv_in.register_forward_hook(self._after_conv_in)

    @contextmanager
    def active(self, call: DialogCall | None) -> Iterator[None]:
        self.call = call
        try:
            yield
        finally:
            self.call = None

    def _after_conv_in(self, _module: Any, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
        call = self.call
        if call is None or not call.boxes:
            return output
        _, _, height, width = output.shape
        cells = torch.zeros(height, width, dtype=torch.bool, device=output.device)
        for x0, y0, x1, y1 in call.boxes:
            cells[int(y0 * height) : int(y1 * height), int(x0 * width) : int(x1 * width)] = True
        embedding = getattr(self.unet, EMBEDDING).to(output.dtype)
        added = cells[None, None].to(output.dtype) * embedding[None, :, None, None]
        if call.guided:
            half = output.shape[0] // 2
            added = torch.cat([torch.zeros_like(added).expand(half, -1, -1, -1),
                               added.expand(output.shape[0] - half, -1, -1, -1)])  # fmt: skip
        return output + added


def chosen_dialogs(regions: Sequence[NormBox], limit: int) -> tuple[list[NormBox], int]:
    """At most ``limit`` of the regions, the largest, in their order; and how many were left."""
    ranked = sorted(range(len(regions)), key=lambda i: (-area(regions[i]), i))
    keep = sorted(ranked[:limit])
    return [regions[i] for i in keep], len(regions) - len(keep)
