"""Box-masked image cross-attention: how both seed models confine each subject to its box.

Every cross-attention layer of the UNet gets a processor with two attentions over one query:
the ordinary one over the text tokens, and a second over image tokens appended after the text
(``to_k_ip``/``to_v_ip``, IP-Adapter's projections), whose additive bias lets a latent position
see a subject's tokens only inside that subject's box. Their sum, text + scale x image, goes on
through the layer's output projection. This is not diffusers' ``ip_adapter_masks``, which masks
each adapter's *output*: here the subjects share one softmax, so where two boxes overlap the
position splits its attention between them, as the releases were trained.

Which positions see which tokens is the model's own rule (MS-Diffusion and DiffSensei round
boxes differently and treat the background differently): a model passes an ``ImageCall`` whose
``masks`` builds, for one layer's ``(height, width)`` grid, the bias and an optional keep factor.
The call lives on the ``ImageConditioning`` shared by all processors of one UNet, entered for
the length of one pipeline call under the render lock, so inpaint and img2img pipelines made
with ``from_pipe`` draw with the same conditioning, and a render without image tokens
(references, ``scale=0``) is the plain UNet's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from diffusers.models.attention_processor import AttnProcessor2_0
from torch import nn

from storyviz.generators.diffusers.regions import layer_grid

MASKED = -10000.0  # the releases' "not visible" bias: finite, so an all-masked row stays defined

Masks = Callable[[int, int], tuple[torch.Tensor, torch.Tensor | None]]
"""For a layer grid ``(height, width)``: the bias ``[groups, height*width, tokens]`` (0 where a
position may see a token, ``MASKED`` where not) and a keep factor ``[groups, height*width, 1]``
multiplied into the image attention's output (None: keep all). ``groups`` is 1, or 2 for a
classifier-free-guidance batch in the pipelines' order: unconditional first, then conditional."""


@dataclass
class ImageCall:
    """The image tokens of one pipeline call: how many trail the text, their weight, the latent
    size the layer grids derive from, and the model's masking rule."""

    tokens: int
    scale: float
    latent: tuple[int, int]  # (height, width) of the latent image
    masks: Masks
    _cache: dict[tuple[int, int, Any, Any], tuple[torch.Tensor, torch.Tensor | None]] = field(
        default_factory=dict, repr=False
    )

    def for_layer(
        self, positions: int, batch: int, dtype: torch.dtype, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Bias ``[batch, 1, positions, tokens]`` and keep ``[batch, 1, positions, 1]``."""
        key = (positions, batch, dtype, device)
        if key not in self._cache:
            height, width = layer_grid(self.latent, positions)
            bias, keep = self.masks(height, width)
            groups = bias.shape[0]
            if batch % groups:
                raise ValueError(f"a batch of {batch} does not split into {groups} groups")
            repeat = batch // groups
            bias = bias.repeat_interleave(repeat, dim=0)[:, None].to(device=device, dtype=dtype)
            if keep is not None:
                keep = keep.repeat_interleave(repeat, dim=0)[:, None].to(device=device, dtype=dtype)
            self._cache[key] = (bias, keep)
        return self._cache[key]


class ImageConditioning:
    """The one ``ImageCall`` in force on a UNet's processors (None between calls)."""

    def __init__(self) -> None:
        self.call: ImageCall | None = None

    @contextmanager
    def active(self, call: ImageCall | None) -> Iterator[None]:
        self.call = call
        try:
            yield
        finally:
            self.call = None


class SelfAttention(nn.Module):
    """The self-attention layers' processor: plain SDPA, as a parameter-free module so that the
    processors can be indexed as one ``ModuleList`` (MS-Diffusion numbers its weights so)."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = AttnProcessor2_0()

    def forward(self, attn: Any, hidden_states: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        return self.inner(attn, hidden_states, *args, **kwargs)


class MaskedImageAttention(nn.Module):
    """A cross-attention layer's processor: text attention plus box-masked image attention."""

    def __init__(self, cross_dim: int, hidden: int, conditioning: ImageConditioning) -> None:
        super().__init__()
        self.to_k_ip = nn.Linear(cross_dim, hidden, bias=False)
        self.to_v_ip = nn.Linear(cross_dim, hidden, bias=False)
        self.conditioning = conditioning  # shared, not a module: no weights, no state-dict keys

    def forward(
        self,
        attn: Any,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
        **ignored: Any,
    ) -> torch.Tensor:
        residual = hidden_states
        if attn.spatial_norm is not None:
            hidden_states = attn.spatial_norm(hidden_states, temb)
        spatial = hidden_states.ndim == 4
        if spatial:
            b, c, h, w = hidden_states.shape
            hidden_states = hidden_states.view(b, c, h * w).transpose(1, 2)
        batch, positions, _ = hidden_states.shape
        if attention_mask is not None:
            attention_mask = attn.prepare_attention_mask(attention_mask, positions, batch)
            attention_mask = attention_mask.view(batch, attn.heads, -1, attention_mask.shape[-1])
        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)

        query = self._heads(attn, attn.to_q(hidden_states))
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        call = self.conditioning.call
        tokens = call.tokens if call is not None and encoder_hidden_states is not None else 0
        if tokens >= context.shape[1]:
            tokens = 0  # no text left: not a call with image tokens after the prompt
        text = context[:, : context.shape[1] - tokens]
        if attn.norm_cross:
            text = attn.norm_encoder_hidden_states(text)
        out = F.scaled_dot_product_attention(
            query,
            self._heads(attn, attn.to_k(text)),
            self._heads(attn, attn.to_v(text)),
            attn_mask=attention_mask,
        )
        if call is not None and tokens and call.scale != 0.0:
            image = context[:, context.shape[1] - tokens :]
            bias, keep = call.for_layer(positions, batch, query.dtype, query.device)
            seen = F.scaled_dot_product_attention(
                query,
                self._heads(attn, self.to_k_ip(image)),
                self._heads(attn, self.to_v_ip(image)),
                attn_mask=bias,
            )
            if keep is not None:
                seen = seen * keep
            out = out + call.scale * seen

        out = out.transpose(1, 2).reshape(batch, -1, attn.heads * query.shape[-1])
        out = attn.to_out[1](attn.to_out[0](out.to(query.dtype)))
        if spatial:
            out = out.transpose(-1, -2).reshape(b, c, h, w)
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor

    @staticmethod
    def _heads(attn: Any, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        return x.view(batch, -1, attn.heads, x.shape[-1] // attn.heads).transpose(1, 2)


def install(unet: Any, conditioning: ImageConditioning) -> nn.ModuleList:
    """Give every attention layer of ``unet`` its processor, sized from the layer itself, and
    return them all in ``unet.attn_processors`` order (self-attention ones included)."""
    processors: dict[str, nn.Module] = {}
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            processors[name] = SelfAttention()
            continue
        attn = unet.get_submodule(name.removesuffix(".processor"))
        processors[name] = MaskedImageAttention(
            attn.to_k.in_features, attn.to_k.out_features, conditioning
        )
    unet.set_attn_processor(dict(processors))  # diffusers empties the dict it is given
    return nn.ModuleList(processors[name] for name in unet.attn_processors)
