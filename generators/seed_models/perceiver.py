"""The perceiver stack both seed resamplers use (IP-Adapter-Plus's design).

A fixed set of query latents attends, layer after layer, over the image features together with
the latents themselves, so a reference picture of any size becomes a few tokens the UNet's
cross-attention can read. MS-Diffusion starts the latents from a subject's phrase and box,
DiffSensei from learned ones with an extra Magi token among the features; the stack between is
the same, and so is its key layout: ``layers.{l}.0`` the attention (``norm1`` on the features,
``norm2`` on the latents, bias-free ``to_q``, ``to_kv``, ``to_out``), ``layers.{l}.1`` the
feed-forward (LayerNorm, bias-free linear, GELU, bias-free linear).

Every size is read from a state dict (``PerceiverShape.read``) except the split of the attention
width into heads: no weight shows it, so it is an option checked against the width.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from storyviz.errors import BackendError

_LAYER = re.compile(r"layers\.(\d+)\.")


@dataclass(frozen=True)
class PerceiverShape:
    dim: int  # latent width
    inner: int  # heads x head width
    heads: int
    depth: int
    ff_inner: int  # feed-forward hidden width

    @classmethod
    def read(cls, state: Mapping[str, Any], heads: int, what: str, backend: str) -> PerceiverShape:
        """The stack's sizes from a state dict holding ``layers.*`` keys."""
        layers = {int(m.group(1)) for key in state if (m := _LAYER.match(key))}
        if not layers or layers != set(range(len(layers))):
            raise BackendError(f"backend '{backend}': {what} has no perceiver layers 0..N")
        try:
            to_q = state["layers.0.0.to_q.weight"]
            ff = state["layers.0.1.1.weight"]
        except KeyError as exc:
            missing = exc.args[0]
            raise BackendError(f"backend '{backend}': {what} has no tensor {missing!r}") from None
        inner, dim = int(to_q.shape[0]), int(to_q.shape[1])
        if heads < 1 or inner % heads:
            raise BackendError(
                f"backend '{backend}': {what}: heads={heads} does not divide the attention "
                f"width {inner}"
            )
        return cls(dim=dim, inner=inner, heads=heads, depth=len(layers), ff_inner=int(ff.shape[0]))


class PerceiverAttention(nn.Module):
    def __init__(self, dim: int, inner: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = inner // heads
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, inner * 2, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def forward(self, features: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        features = self.norm1(features)
        latents = self.norm2(latents)
        batch, queries, _ = latents.shape
        q = self._heads(self.to_q(latents))
        k, v = self.to_kv(torch.cat([features, latents], dim=1)).chunk(2, dim=-1)
        k, v = self._heads(k), self._heads(v)
        # The scale split between queries and keys (1/sqrt(sqrt(d)) each) keeps fp16 products in
        # range; the softmax runs in fp32 for the same reason.
        scale = self.head_dim**-0.25
        weights = (q * scale) @ (k * scale).transpose(-2, -1)
        weights = torch.softmax(weights.float(), dim=-1).to(weights.dtype)
        out = (weights @ v).transpose(1, 2).reshape(batch, queries, -1)
        return self.to_out(out)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, self.heads, self.head_dim).transpose(1, 2)


def feed_forward(dim: int, inner: int) -> nn.Sequential:
    return nn.Sequential(
        nn.LayerNorm(dim),
        nn.Linear(dim, inner, bias=False),
        nn.GELU(),
        nn.Linear(inner, dim, bias=False),
    )


class PerceiverStack(nn.Module):
    """``depth`` attention + feed-forward blocks, each residual, over fixed ``features``."""

    def __init__(self, shape: PerceiverShape) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList(
                [
                    PerceiverAttention(shape.dim, shape.inner, shape.heads),
                    feed_forward(shape.dim, shape.ff_inner),
                ]
            )
            for _ in range(shape.depth)
        )

    def forward(self, features: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        for block in self.layers:
            assert isinstance(block, nn.ModuleList)
            attention, ff = block[0], block[1]
            latents = attention(features, latents) + latents
            latents = ff(latents) + latents
        return latents
