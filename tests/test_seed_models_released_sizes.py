"""The seed generators' modules fit the releases at their released sizes, not only in miniature.

The released files are not downloadable here, so their layouts at full size are built the way
``benchmarks/gpu_seed_models.py`` writes them (the tests' layout writers with the released
sizes) against an SDXL-base UNet on the meta device, and checked key for key and shape for
shape against what storyviz's loaders build. The totals are the ones the research notes
counted from the releases' own code (docs/seeds/msdiffusion.md, docs/seeds/diffsensei.md).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

SDXL_UNET = {
    "sample_size": 128,
    "block_out_channels": (320, 640, 1280),
    "layers_per_block": 2,
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    "attention_head_dim": (5, 10, 20),
    "transformer_layers_per_block": (1, 2, 10),
    "cross_attention_dim": 2048,
    "use_linear_projection": True,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 2816,
}


def _meta_unet() -> Any:
    from diffusers import UNet2DConditionModel

    with torch.device("meta"):
        return UNet2DConditionModel(**SDXL_UNET)


def _same_layout(module: torch.nn.Module, state: dict[str, Any]) -> None:
    expected = module.state_dict()
    assert set(expected) == set(state), sorted(set(expected) ^ set(state))[:5]
    for key, value in state.items():
        assert tuple(expected[key].shape) == tuple(value.shape), key


@pytest.mark.slow
def test_ms_diffusion_at_its_released_sizes() -> None:
    from tiny_msdiffusion import RELEASED, adapter_state

    from storyviz.generators.msdiffusion.resampler import GroundedResampler, ResamplerShape
    from storyviz.generators.seed_models import masked_attention

    unet = _meta_unet()
    assert sum(p.numel() for p in unet.parameters()) == 2_567_463_684
    state = adapter_state(unet, sizes=RELEASED, dtype=torch.float16)
    with torch.device("meta"):
        processors = masked_attention.install(unet, masked_attention.ImageConditioning())
    _same_layout(processors, state["ms_adapter"])
    assert len(state["ms_adapter"]) == 140 and tuple(state["dummy_image_tokens"].shape) == (
        1,
        4,
        2048,
    )
    shape = ResamplerShape.read(state["image_proj"], 20, 8, 768, "msdiffusion")
    assert (shape.queries, shape.features, shape.output, shape.perceiver.depth) == (
        16,
        1664,
        2048,
        4,
    )
    with torch.device("meta"):
        resampler = GroundedResampler(shape)
    _same_layout(resampler, state["image_proj"])
    assert len(state["image_proj"]) == 59
    assert sum(v.numel() for v in state["image_proj"].values()) == 118_943_616


@pytest.mark.slow
def test_diffsensei_at_its_released_sizes() -> None:
    import tiny_diffsensei

    from storyviz.generators.diffsensei.dialogs import DialogRegions
    from storyviz.generators.diffsensei.resampler import CharacterResampler, ResamplerShape
    from storyviz.generators.seed_models import masked_attention

    unet = _meta_unet()
    with torch.device("meta"):
        masked_attention.install(unet, masked_attention.ImageConditioning())
        DialogRegions(unet)
    pickle = tiny_diffsensei.unet_state(_meta_unet(), dtype=torch.float16)
    _same_layout(unet, pickle)
    assert sum(1 for key in pickle if "_ip." in key) == 140
    assert tuple(pickle["dialog_bbox_embedding"].shape) == (320,)
    state = tiny_diffsensei.resampler_state(2048, sizes=tiny_diffsensei.RELEASED)
    shape = ResamplerShape.read(state, 20, "diffsensei")
    assert (shape.queries, shape.features, shape.magi, shape.dummies) == (16, 1280, 768, 16)
    with torch.device("meta"):
        resampler = CharacterResampler(shape)
    _same_layout(resampler, state)
    assert len(state) == 54 and sum(v.numel() for v in state.values()) == 83_978_752


FLUX_DEV_TRANSFORMER = {  # black-forest-labs/FLUX.1-dev transformer/config.json
    "patch_size": 1,
    "in_channels": 64,
    "num_layers": 19,
    "num_single_layers": 38,
    "attention_head_dim": 128,
    "num_attention_heads": 24,
    "joint_attention_dim": 4096,
    "pooled_projection_dim": 768,
    "guidance_embeds": True,
    "axes_dims_rope": (16, 56, 56),
}


@pytest.mark.slow
def test_dsd_at_its_released_size() -> None:
    """FLUX.1-dev's transformer (on the meta device) with DSD's ``c_embedder``: the two tensors
    the release adds (docs/seeds/dsd.md: a 64 -> 3072 linear) and nothing else."""
    from diffusers import FluxTransformer2DModel

    from storyviz.generators.dsd.transformer import KEYS, Condition

    with torch.device("meta"):
        transformer = FluxTransformer2DModel(**FLUX_DEV_TRANSFORMER)
        stock = {k: tuple(v.shape) for k, v in transformer.state_dict().items()}
        Condition(transformer)
    added = {k: tuple(v.shape) for k, v in transformer.state_dict().items() if k not in stock}
    assert added == {KEYS[0]: (3072, 64), KEYS[1]: (3072,)}
    total = sum(v.numel() for v in transformer.parameters())
    assert total - sum(torch.Size(s).numel() for s in stock.values()) == 3072 * 64 + 3072
    assert sum(torch.Size(s).numel() for s in stock.values()) == 11_901_408_320  # FLUX.1-dev
