"""The release's one change to FLUX's transformer: ``c_embedder``, added token by token.

DSD's transformer is diffusers' FLUX transformer plus ``c_embedder``, a linear map from packed
latent channels (64 for FLUX.1) to the model width (3072), trained from zero. Its output is
added to ``x_embedder``'s, position by position, before the first block: the condition image's
latents steer the noisy latents at the same place. Nothing else in the forward pass differs.

So storyviz does not fork the transformer: ``c_embedder`` is registered on a stock
``FluxTransformer2DModel`` (its state-dict keys become ``c_embedder.weight``/``.bias``, as the
release saves them, and it moves and offloads with the transformer), and a forward hook on
``x_embedder`` adds the condition held for the current call. Without a condition the
transformer is the stock one; with a zero ``c_embedder`` it draws the base model's pixels.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

KEYS = ("c_embedder.weight", "c_embedder.bias")


class Condition:
    """The packed condition latents for the call under way, added after ``x_embedder``."""

    def __init__(self, transformer: Any) -> None:
        inner = int(transformer.inner_dim)
        channels = int(transformer.config.in_channels)
        transformer.add_module("c_embedder", nn.Linear(channels, inner))
        nn.init.zeros_(transformer.c_embedder.weight)
        nn.init.zeros_(transformer.c_embedder.bias)
        self.transformer = transformer
        self.latents: torch.Tensor | None = None
        transformer.x_embedder.register_forward_hook(self._add)

    @property
    def embedder(self) -> nn.Linear:
        linear: nn.Linear = self.transformer.c_embedder
        return linear

    @contextmanager
    def active(self, latents: torch.Tensor) -> Iterator[None]:
        """``latents`` ([1, tokens, channels]) condition every transformer call inside."""
        self.latents = latents
        try:
            yield
        finally:
            self.latents = None

    def _add(self, _module: Any, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
        if self.latents is None:
            return output
        if self.latents.shape[1] != output.shape[1]:
            raise ValueError(
                f"the DSD condition has {self.latents.shape[1]} tokens, the call's latents "
                f"{output.shape[1]}: they must be drawn at the same size"
            )
        # the output's device and dtype, not the weight's: under sequential offload the weight
        # sits on the meta device until accelerate's hook brings it for the call
        added = self.embedder(self.latents.to(device=output.device, dtype=output.dtype))
        return output + added
