"""The plan's cast boxes as regional prompts: cross-attention masks in the UNet.

A panel prompt names everyone at once ("Mia, red hair ... and Bolt, a silver robot dog ..."),
and a text-to-image model mixes them: red hair on the dog, Mia in the middle when the plan put
her left. Regional prompting gives each cast member its own prompt (``prompts/region.j2``) and
lets only the pixels inside that member's box attend to it, while every pixel attends to the
panel prompt. The token sequences are concatenated (panel, then one block per region) and an
attention bias of 0 / -inf per (pixel, token) is added in every cross-attention layer; a masked
attention in the spirit of "regional prompting" and DenseDiffusion, with no extra weights.

It applies to SD 1.5 and SDXL pipelines (UNets whose prompts are cached embeddings here); FLUX's
transformer has no per-layer cross-attention to mask, and GLIGEN, which takes boxes natively, is
deprecated in diffusers 0.42. With an IP-Adapter the cross-attention processors are the
adapter's, and the boxes act through its image masks instead (``identity``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from diffusers.models.attention_processor import AttnProcessor2_0

from storyviz.geometry import pixels_nearest
from storyviz.schemas import RegionPrompt


def regional_embeds(base: dict[str, Any], regions: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The panel's embeddings followed by each region's, on the sequence axis; pooled SDXL
    embeddings stay the panel's (they describe the whole picture)."""
    merged = dict(base)
    for key in ("prompt_embeds", "negative_prompt_embeds"):
        if base.get(key) is not None:
            merged[key] = torch.cat([base[key], *(r[key] for r in regions)], dim=1)
    return merged


class RegionalAttnProcessor:
    """Scaled-dot-product attention with region masks on cross-attention.

    ``boxes[i]`` gates token block ``i + 1`` of the text sequence (block 0, the panel prompt,
    is open everywhere); ``blocks`` are the blocks' lengths in tokens (77 each, or a multiple
    of 77 for a prompt encoded in windows) and ``latent`` the latent size (height, width) from
    which each layer's grid is derived."""

    def __init__(
        self,
        boxes: Sequence[tuple[float, float, float, float]],
        blocks: Sequence[int],
        latent: tuple[int, int],
    ) -> None:
        if len(blocks) != len(boxes) + 1:
            raise ValueError(f"{len(boxes)} boxes need {len(boxes) + 1} token blocks")
        self.boxes = list(boxes)
        self.blocks = list(blocks)
        self.starts = [sum(self.blocks[:i]) for i in range(len(self.blocks) + 1)]
        self.latent = latent
        self.inner = AttnProcessor2_0()
        self._bias: dict[tuple[int, int, Any, Any], torch.Tensor] = {}

    def __call__(
        self,
        attn: Any,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        if encoder_hidden_states is not None and attention_mask is None:
            pixels = (
                hidden_states.shape[2] * hidden_states.shape[3]
                if hidden_states.ndim == 4
                else hidden_states.shape[1]
            )
            tokens = encoder_hidden_states.shape[1]
            if tokens == self.starts[-1]:
                bias = self.bias(pixels, tokens, hidden_states.dtype, hidden_states.device)
                attention_mask = bias.expand(hidden_states.shape[0], -1, -1)
        return self.inner(attn, hidden_states, encoder_hidden_states, attention_mask, temb)

    def bias(self, pixels: int, tokens: int, dtype: Any, device: Any) -> torch.Tensor:
        key = (pixels, tokens, dtype, device)
        if key not in self._bias:
            height, width = layer_grid(self.latent, pixels)
            allowed = torch.zeros(height, width, tokens, dtype=torch.bool)
            allowed[:, :, : self.starts[1]] = True
            for index, box in enumerate(self.boxes, start=1):
                x0, y0, x1, y1 = pixels_nearest(box, width, height)
                start, end = self.starts[index], self.starts[index + 1]
                allowed[y0:y1, x0:x1, start:end] = True
            bias = torch.zeros(height * width, tokens, dtype=dtype)
            bias.masked_fill_(~allowed.reshape(height * width, tokens), float("-inf"))
            self._bias[key] = bias.unsqueeze(0).to(device)
        return self._bias[key]


def layer_grid(latent: tuple[int, int], pixels: int) -> tuple[int, int]:
    """The (height, width) of a UNet level with ``pixels`` positions: the latent halved, rounding
    up as strided convolutions do, until the count matches (else the nearest aspect fit)."""
    height, width = latent
    while height * width > pixels:
        height, width = math.ceil(height / 2), math.ceil(width / 2)
    if height * width == pixels:
        return height, width
    height = max(1, round(math.sqrt(pixels * latent[0] / latent[1])))
    return height, max(1, pixels // height)


@contextmanager
def regional_attention(unet: Any, processor: RegionalAttnProcessor) -> Iterator[None]:
    """Cross-attention layers use ``processor`` inside the block and what they had after it."""
    original = dict(unet.attn_processors)
    unet.set_attn_processor(
        {
            name: processor if name.endswith("attn2.processor") else current
            for name, current in original.items()
        }
    )
    try:
        yield
    finally:
        unet.set_attn_processor(original)


def usable_regions(regions: Sequence[RegionPrompt]) -> list[RegionPrompt]:
    """Regions worth a block of tokens: a box smaller than the whole panel."""
    return [r for r in regions if tuple(r.box) != (0.0, 0.0, 1.0, 1.0)]
