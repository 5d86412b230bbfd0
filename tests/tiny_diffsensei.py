"""A tiny random DiffSensei release for tests, in the released ``image_generator/`` layout.

An SDXL folder (the tiny SDXL of ``tiny_diffusers``) whose ``unet/`` holds ``config.json`` and a
torch pickle of the whole fine-tuned UNet: the base weights under diffusers' own names, plus
``...attn2.processor.to_k_ip/to_v_ip.weight`` per cross-attention layer and the top-level
``dialog_bbox_embedding``; ``image_proj_model/pytorch_model.bin`` (the resampler, keys written
one by one as the release names them); ``clip_image_encoder/`` (a CLIP vision tower) and
``magi_image_encoder/`` (a ViT-MAE, config + ``pytorch_model.bin``, ``mask_ratio`` 0.75 as
released). Sizes are the release's shape in miniature: resampler width 40 (20 heads x 2),
4 queries, 2 layers, 4 dummy tokens, CLIP width 32, Magi width 24, cross-attention 64.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import ViTMAEConfig, ViTMAEModel


@dataclass(frozen=True)
class Sizes:
    dim: int = 40
    queries: int = 4
    depth: int = 2
    features: int = 32  # CLIP vision hidden width
    magi: int = 24  # ViT-MAE hidden width
    dummies: int = 4


TINY = Sizes()
RELEASED = Sizes(dim=1280, queries=16, depth=4, features=1280, magi=768, dummies=16)


def unet_state(unet: Any, seed: int = 0, dtype: torch.dtype = torch.float32) -> dict[str, Any]:
    """The released UNet pickle's contents for ``unet``: its own weights plus the extras."""
    generator = torch.Generator().manual_seed(seed)
    state = {key: value.to(dtype) for key, value in unet.state_dict().items()}
    cross = int(unet.config.cross_attention_dim)
    for name in unet.attn_processors:
        if not name.endswith("attn2.processor"):
            continue
        hidden = int(unet.get_submodule(name.removesuffix(".processor")).to_k.out_features)
        for part in ("to_k_ip", "to_v_ip"):
            weight = torch.randn(hidden, cross, generator=generator) * 0.5
            state[f"{name}.{part}.weight"] = weight.to(dtype)
    width = int(unet.config.block_out_channels[0])
    state["dialog_bbox_embedding"] = (torch.randn(width, generator=generator) * 2.0).to(dtype)
    return state


def resampler_state(
    cross: int, seed: int = 0, sizes: Sizes = TINY, dtype: torch.dtype = torch.float32
) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    dim = sizes.dim

    def rand(*shape: int, scale: float = 0.3) -> torch.Tensor:
        return torch.randn(*shape, generator=generator) * scale

    state = {
        "latents": rand(1, sizes.queries, dim),
        "proj_in.weight": rand(dim, sizes.features),
        "proj_in.bias": torch.zeros(dim),
        "proj_in_magi.weight": rand(dim, sizes.magi),
        "proj_in_magi.bias": torch.zeros(dim),
        "proj_out.weight": rand(cross, dim),
        "proj_out.bias": torch.zeros(cross),
        "norm_out.weight": torch.ones(cross),
        "norm_out.bias": torch.zeros(cross),
        "dummy_tokens": rand(sizes.dummies, cross),
    }
    for layer in range(sizes.depth):
        attention, ff = f"layers.{layer}.0", f"layers.{layer}.1"
        for norm in ("norm1", "norm2"):
            state[f"{attention}.{norm}.weight"] = torch.ones(dim)
            state[f"{attention}.{norm}.bias"] = torch.zeros(dim)
        state[f"{attention}.to_q.weight"] = rand(dim, dim)
        state[f"{attention}.to_kv.weight"] = rand(dim * 2, dim)
        state[f"{attention}.to_out.weight"] = rand(dim, dim)
        state[f"{ff}.0.weight"] = torch.ones(dim)
        state[f"{ff}.0.bias"] = torch.zeros(dim)
        state[f"{ff}.1.weight"] = rand(dim * 4, dim)
        state[f"{ff}.3.weight"] = rand(dim, dim * 4)
    return {key: value.to(dtype) for key, value in state.items()}


def save_tiny_magi(folder: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    config = ViTMAEConfig(
        hidden_size=TINY.magi,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        image_size=32,
        patch_size=8,
        mask_ratio=0.75,
    )
    folder.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(folder)
    torch.save(ViTMAEModel(config).state_dict(), folder / "pytorch_model.bin")
    return folder


def save_tiny_diffsensei(root: Path, seed: int = 0) -> Path:
    """``root/image_generator/`` in the release's layout; returns ``root``."""
    from tiny_diffusers import tiny_sdxl_pipeline
    from tiny_msdiffusion import save_tiny_image_encoder

    folder = root / "image_generator"
    pipe = tiny_sdxl_pipeline(seed)
    pipe.save_pretrained(folder)
    unet_folder = folder / "unet"
    for weights in unet_folder.glob("diffusion_pytorch_model*"):
        weights.unlink()  # the release ships the UNet as one pickle, not diffusers' files
    torch.save(unet_state(pipe.unet, seed), unet_folder / "pytorch_model.bin")
    projection = folder / "image_proj_model"
    projection.mkdir()
    cross = int(pipe.unet.config.cross_attention_dim)
    torch.save(resampler_state(cross, seed), projection / "pytorch_model.bin")
    save_tiny_image_encoder(folder / "clip_image_encoder", seed)
    save_tiny_magi(folder / "magi_image_encoder", seed)
    return root


def copy_release(root: Path, target: Path) -> Path:
    """A copy to break (the tests of bad folders)."""
    shutil.copytree(root, target)
    return target
