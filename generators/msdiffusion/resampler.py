"""MS-Diffusion's grounded resampler: one subject's CLIP features, phrase and box -> its tokens.

IP-Adapter-Plus's perceiver turns a reference into a few tokens from fixed learned queries;
MS-Diffusion starts the queries instead from *what and where* the subject is: the pooled CLIP-L
embedding of its phrase ("girl") joined to a Fourier embedding of its box, through a two-layer
MLP and a LayerNorm. So the same reference drawn in another box, or named as another thing,
gives other tokens, which is how the model learnt to keep several subjects apart.

Every size comes from the checkpoint's ``image_proj`` part except two that no weight shows: the
heads of the attention width (an option, checked by ``PerceiverShape``) and how the MLP's input
splits into phrase width and Fourier frequencies, which is checked against the text encoder.
The key layout is the release's (``docs/seeds/msdiffusion.md`` section 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from diffusers.models.embeddings import get_fourier_embeds_from_boundingbox
from torch import nn

from storyviz.errors import BackendError
from storyviz.generators.seed_models.checkpoint import tensor
from storyviz.generators.seed_models.perceiver import PerceiverShape, PerceiverStack

WHAT = "ms_adapter.bin's image_proj"


@dataclass(frozen=True)
class ResamplerShape:
    perceiver: PerceiverShape
    queries: int  # tokens per subject
    features: int  # CLIP hidden width
    output: int  # UNet cross-attention width
    phrase: int  # pooled text-embedding width
    fourier_freqs: int

    @property
    def grounding(self) -> int:
        """The MLP's input width: phrase + sin and cos of four coordinates per frequency."""
        return self.phrase + self.fourier_freqs * 8

    @classmethod
    def read(
        cls, state: Mapping[str, Any], heads: int, fourier_freqs: int, phrase: int, backend: str
    ) -> ResamplerShape:
        perceiver = PerceiverShape.read(state, heads, WHAT, backend)
        latents = tensor(state, "grounding_latents", WHAT, backend)
        first = tensor(state, "latent_proj.0.weight", WHAT, backend)
        proj_in = tensor(state, "proj_in.weight", WHAT, backend)
        proj_out = tensor(state, "proj_out.weight", WHAT, backend)
        if latents.ndim != 3 or first.ndim != 2 or proj_in.ndim != 2 or proj_out.ndim != 2:
            raise BackendError(f"backend '{backend}': {WHAT} has tensors of the wrong rank")
        shape = cls(
            perceiver=perceiver,
            queries=int(latents.shape[1]),
            features=int(proj_in.shape[1]),
            output=int(proj_out.shape[0]),
            phrase=phrase,
            fourier_freqs=fourier_freqs,
        )
        if int(first.shape[1]) != shape.grounding:
            raise BackendError(
                f"backend '{backend}': {WHAT} takes {int(first.shape[1])}-wide grounding "
                f"inputs, but a {phrase}-wide phrase embedding with fourier_freqs={fourier_freqs} "
                f"makes {shape.grounding}: a different text encoder or fourier_freqs"
            )
        return shape


class GroundedResampler(PerceiverStack):
    """``layers.*`` (the perceiver) at the top level beside the grounding and projection keys,
    as in the release's state dict."""

    def __init__(self, shape: ResamplerShape) -> None:
        super().__init__(shape.perceiver)
        dim = shape.perceiver.dim
        self.shape = shape
        self.grounding_latents = nn.Parameter(torch.zeros(1, shape.queries, dim))
        self.latent_proj = nn.Sequential(
            nn.Linear(shape.grounding, shape.grounding * 2),
            nn.GELU(),
            nn.Linear(shape.grounding * 2, dim * shape.queries),
        )
        self.latent_norm = nn.LayerNorm(dim)
        self.proj_in = nn.Linear(shape.features, dim)
        self.attention_norm = nn.LayerNorm(dim)
        self.proj_out = nn.Linear(dim, shape.output)
        self.norm_out = nn.LayerNorm(shape.output)

    def starting_latents(self, phrases: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """``[subjects, queries, dim]`` from ``phrases [subjects, phrase]`` and normalised
        ``boxes [subjects, 4]`` (x0, y0, x1, y1)."""
        fourier = get_fourier_embeds_from_boundingbox(self.shape.fourier_freqs, boxes[:, None])
        grounding = torch.cat([phrases, fourier[:, 0].to(phrases.dtype)], dim=-1)
        latents = self.latent_proj(grounding).view(
            boxes.shape[0], self.shape.queries, self.shape.perceiver.dim
        )
        return self.latent_norm(latents)

    def forward(  # type: ignore[override]
        self, features: torch.Tensor, phrases: torch.Tensor, boxes: torch.Tensor
    ) -> torch.Tensor:
        """``[subjects, queries, output]`` image tokens from each subject's CLIP features
        ``[subjects, patches, features]``, phrase embedding and box."""
        latents = self.starting_latents(phrases, boxes)
        latents = super().forward(self.proj_in(features), latents)
        return self.norm_out(self.proj_out(self.attention_norm(latents)))
