"""A tiny random MS-Diffusion release for tests: ``ms_adapter.bin`` and a CLIP vision folder.

The checkpoint is written key by key in the release's layout (``docs/seeds/msdiffusion.md``
section 1), not from storyviz's own modules, so loading it checks that the modules match the
release rather than themselves. Sizes are the release's shape in miniature, sized for the tiny
SDXL of ``tiny_diffusers``: CLIP-L pooled width 32 (its first text encoder), cross-attention 64,
vision features 32; resampler width 40 (20 heads x 2), 4 queries per subject, 2 layers,
feed-forward x4, 8 Fourier frequencies, 4 dummy tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection


@dataclass(frozen=True)
class Sizes:
    """The sizes no weight of the UNet decides; the defaults are the tiny ones, ``RELEASED``
    the release's config (``docs/seeds/msdiffusion.md`` section 1)."""

    dim: int = 40
    heads: int = 20
    queries: int = 4
    depth: int = 2
    features: int = 32  # the image encoder's hidden width
    phrase: int = 32  # the SDXL's first text encoder width
    freqs: int = 8
    dummies: int = 4


TINY = Sizes()
RELEASED = Sizes(dim=1280, heads=20, queries=16, depth=4, features=1664, phrase=768)


def save_tiny_image_encoder(folder: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=TINY.features,
            projection_dim=16,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            image_size=32,
            patch_size=8,
        )
    )
    encoder.save_pretrained(folder)
    return folder


def adapter_state(
    unet: Any, seed: int = 0, sizes: Sizes = TINY, dtype: torch.dtype = torch.float32
) -> dict[str, Any]:
    """The three parts of ``ms_adapter.bin`` for ``unet``, random but well-scaled."""
    generator = torch.Generator().manual_seed(seed)

    def rand(*shape: int, scale: float = 0.3) -> torch.Tensor:
        return (torch.randn(*shape, generator=generator) * scale).to(dtype)

    dim, queries = sizes.dim, sizes.queries

    cross = int(unet.config.cross_attention_dim)
    grounding = sizes.phrase + sizes.freqs * 8
    proj: dict[str, torch.Tensor] = {
        "grounding_latents": rand(1, queries, dim),
        "latent_proj.0.weight": rand(grounding * 2, grounding, scale=0.1),
        "latent_proj.0.bias": torch.zeros(grounding * 2),
        "latent_proj.2.weight": rand(dim * queries, grounding * 2, scale=0.1),
        "latent_proj.2.bias": torch.zeros(dim * queries),
        "latent_norm.weight": torch.ones(dim),
        "latent_norm.bias": torch.zeros(dim),
        "proj_in.weight": rand(dim, sizes.features),
        "proj_in.bias": torch.zeros(dim),
        "attention_norm.weight": torch.ones(dim),
        "attention_norm.bias": torch.zeros(dim),
        "proj_out.weight": rand(cross, dim),
        "proj_out.bias": torch.zeros(cross),
        "norm_out.weight": torch.ones(cross),
        "norm_out.bias": torch.zeros(cross),
    }
    for layer in range(sizes.depth):
        attention, ff = f"layers.{layer}.0", f"layers.{layer}.1"
        for norm in ("norm1", "norm2"):
            proj[f"{attention}.{norm}.weight"] = torch.ones(dim)
            proj[f"{attention}.{norm}.bias"] = torch.zeros(dim)
        proj[f"{attention}.to_q.weight"] = rand(dim, dim)
        proj[f"{attention}.to_kv.weight"] = rand(dim * 2, dim)
        proj[f"{attention}.to_out.weight"] = rand(dim, dim)
        proj[f"{ff}.0.weight"] = torch.ones(dim)
        proj[f"{ff}.0.bias"] = torch.zeros(dim)
        proj[f"{ff}.1.weight"] = rand(dim * 4, dim)
        proj[f"{ff}.3.weight"] = rand(dim, dim * 4)
    processors: dict[str, torch.Tensor] = {}
    for index, name in enumerate(unet.attn_processors):  # every processor takes an index
        if name.endswith("attn1.processor"):
            continue
        attn = unet.get_submodule(name.removesuffix(".processor"))
        hidden = int(attn.to_k.out_features)
        processors[f"{index}.to_k_ip.weight"] = rand(hidden, cross, scale=0.5)
        processors[f"{index}.to_v_ip.weight"] = rand(hidden, cross, scale=0.5)
    return {
        "image_proj": {key: value.to(dtype) for key, value in proj.items()},
        "ms_adapter": processors,
        "dummy_image_tokens": torch.nn.Parameter(rand(1, sizes.dummies, cross)),
    }


def save_tiny_ms_adapter(file: Path, unet: Any, seed: int = 0, **changes: Any) -> Path:
    """``torch.save`` of ``adapter_state`` (with ``changes`` applied to its top level)."""
    state = adapter_state(unet, seed)
    state.update(changes)
    file.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, file)
    return file
