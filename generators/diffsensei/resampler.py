"""DiffSensei's resampler: one character's CLIP features and Magi vector -> its image tokens.

IP-Adapter-Plus's perceiver with fixed learned queries (``latents``), whose keys and values are
the character's CLIP patch features plus one more token: the Magi crop embedding (a manga
character encoder's CLS vector) through its own projection. ``dummy_tokens`` are the learned
"no character" tokens that positions outside every box attend to. Every size is read from the
``image_proj_model`` weights except the heads split (an option, checked by ``PerceiverShape``);
the key layout is the release's (``docs/seeds/diffsensei.md`` section 1b).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from storyviz.errors import BackendError
from storyviz.generators.seed_models.checkpoint import tensor
from storyviz.generators.seed_models.perceiver import PerceiverShape, PerceiverStack

WHAT = "image_proj_model"


@dataclass(frozen=True)
class ResamplerShape:
    perceiver: PerceiverShape
    queries: int  # tokens per character
    features: int  # CLIP hidden width
    magi: int  # Magi hidden width
    output: int  # UNet cross-attention width
    dummies: int

    @classmethod
    def read(cls, state: Mapping[str, Any], heads: int, backend: str) -> ResamplerShape:
        perceiver = PerceiverShape.read(state, heads, WHAT, backend)
        latents = tensor(state, "latents", WHAT, backend)
        proj_in = tensor(state, "proj_in.weight", WHAT, backend)
        magi = tensor(state, "proj_in_magi.weight", WHAT, backend)
        proj_out = tensor(state, "proj_out.weight", WHAT, backend)
        dummy = tensor(state, "dummy_tokens", WHAT, backend)
        if latents.ndim != 3 or dummy.ndim != 2 or proj_in.ndim != 2 or magi.ndim != 2:
            raise BackendError(f"backend '{backend}': {WHAT} has tensors of the wrong rank")
        return cls(
            perceiver=perceiver,
            queries=int(latents.shape[1]),
            features=int(proj_in.shape[1]),
            magi=int(magi.shape[1]),
            output=int(proj_out.shape[0]),
            dummies=int(dummy.shape[0]),
        )


class CharacterResampler(PerceiverStack):
    """``layers.*`` at the top level beside the projections, as in the release's state dict."""

    def __init__(self, shape: ResamplerShape) -> None:
        super().__init__(shape.perceiver)
        dim = shape.perceiver.dim
        self.shape = shape
        self.latents = nn.Parameter(torch.zeros(1, shape.queries, dim))
        self.proj_in = nn.Linear(shape.features, dim)
        self.proj_in_magi = nn.Linear(shape.magi, dim)
        self.proj_out = nn.Linear(dim, shape.output)
        self.norm_out = nn.LayerNorm(shape.output)
        self.dummy_tokens = nn.Parameter(torch.zeros(shape.dummies, shape.output))

    def forward(self, features: torch.Tensor, magi: torch.Tensor) -> torch.Tensor:
        """``[characters, queries, output]`` from CLIP features ``[characters, patches,
        features]`` and Magi vectors ``[characters, magi]``."""
        keys = torch.cat([self.proj_in(features), self.proj_in_magi(magi)[:, None]], dim=1)
        latents = self.latents.expand(features.shape[0], -1, -1)
        return self.norm_out(self.proj_out(super().forward(keys, latents)))
