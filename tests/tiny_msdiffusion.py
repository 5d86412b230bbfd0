"""A tiny random MS-Diffusion release for tests: ``ms_adapter.bin`` and a CLIP vision folder.

The checkpoint is written key by key in the release's layout (``docs/seeds/msdiffusion.md``
section 1), not from storyviz's own modules, so loading it checks that the modules match the
release rather than themselves. Sizes are the release's shape in miniature, sized for the tiny
SDXL of ``tiny_diffusers``: CLIP-L pooled width 32 (its first text encoder), cross-attention 64,
vision features 32; resampler width 40 (20 heads x 2), 4 queries per subject, 2 layers,
feed-forward x4, 8 Fourier frequencies, 4 dummy tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

DIM = 40
HEADS = 20
QUERIES = 4
DEPTH = 2
FEATURES = 32  # the tiny CLIP vision model's hidden width
PHRASE = 32  # the tiny SDXL's first text encoder width
FREQS = 8
DUMMIES = 4


def save_tiny_image_encoder(folder: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=FEATURES,
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


def adapter_state(unet: Any, seed: int = 0) -> dict[str, Any]:
    """The three parts of ``ms_adapter.bin`` for ``unet``, random but well-scaled."""
    generator = torch.Generator().manual_seed(seed)

    def rand(*shape: int, scale: float = 0.3) -> torch.Tensor:
        return torch.randn(*shape, generator=generator) * scale

    cross = int(unet.config.cross_attention_dim)
    grounding = PHRASE + FREQS * 8
    proj: dict[str, torch.Tensor] = {
        "grounding_latents": rand(1, QUERIES, DIM),
        "latent_proj.0.weight": rand(grounding * 2, grounding, scale=0.1),
        "latent_proj.0.bias": torch.zeros(grounding * 2),
        "latent_proj.2.weight": rand(DIM * QUERIES, grounding * 2, scale=0.1),
        "latent_proj.2.bias": torch.zeros(DIM * QUERIES),
        "latent_norm.weight": torch.ones(DIM),
        "latent_norm.bias": torch.zeros(DIM),
        "proj_in.weight": rand(DIM, FEATURES),
        "proj_in.bias": torch.zeros(DIM),
        "attention_norm.weight": torch.ones(DIM),
        "attention_norm.bias": torch.zeros(DIM),
        "proj_out.weight": rand(cross, DIM),
        "proj_out.bias": torch.zeros(cross),
        "norm_out.weight": torch.ones(cross),
        "norm_out.bias": torch.zeros(cross),
    }
    for layer in range(DEPTH):
        attention, ff = f"layers.{layer}.0", f"layers.{layer}.1"
        for norm in ("norm1", "norm2"):
            proj[f"{attention}.{norm}.weight"] = torch.ones(DIM)
            proj[f"{attention}.{norm}.bias"] = torch.zeros(DIM)
        proj[f"{attention}.to_q.weight"] = rand(DIM, DIM)
        proj[f"{attention}.to_kv.weight"] = rand(DIM * 2, DIM)
        proj[f"{attention}.to_out.weight"] = rand(DIM, DIM)
        proj[f"{ff}.0.weight"] = torch.ones(DIM)
        proj[f"{ff}.0.bias"] = torch.zeros(DIM)
        proj[f"{ff}.1.weight"] = rand(DIM * 4, DIM)
        proj[f"{ff}.3.weight"] = rand(DIM, DIM * 4)
    processors: dict[str, torch.Tensor] = {}
    for index, name in enumerate(unet.attn_processors):  # every processor takes an index
        if name.endswith("attn1.processor"):
            continue
        attn = unet.get_submodule(name.removesuffix(".processor"))
        hidden = int(attn.to_k.out_features)
        processors[f"{index}.to_k_ip.weight"] = rand(hidden, cross, scale=0.5)
        processors[f"{index}.to_v_ip.weight"] = rand(hidden, cross, scale=0.5)
    return {
        "image_proj": proj,
        "ms_adapter": processors,
        "dummy_image_tokens": torch.nn.Parameter(rand(1, DUMMIES, cross)),
    }


def save_tiny_ms_adapter(file: Path, unet: Any, seed: int = 0, **changes: Any) -> Path:
    """``torch.save`` of ``adapter_state`` (with ``changes`` applied to its top level)."""
    state = adapter_state(unet, seed)
    state.update(changes)
    file.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, file)
    return file
