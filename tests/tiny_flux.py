"""A tiny random FLUX.1-style pipeline and a tiny DSD release, saved as released, for tests.

The base is diffusers' ``FluxPipeline`` with its real classes (FLUX transformer, a VAE with one
latent channel, CLIP and T5 text encoders, a CLIP BPE and a T5 unigram tokenizer built in code)
and a few thousand random weights. The DSD release beside it is what ``primecai/dsd_model``
ships: ``transformer/`` (the FLUX transformer's config and safetensors, plus the two
``c_embedder`` tensors) and ``pytorch_lora_weights.safetensors`` in diffusers' FLUX LoRA layout
(``transformer.``-prefixed peft keys), written by diffusers' own ``save_lora_weights``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    FlowMatchEulerDiscreteScheduler,
    FluxPipeline,
    FluxTransformer2DModel,
)
from safetensors.torch import save_file
from tiny_diffusers import WORDS, _tiny_text_config, tiny_tokenizer
from transformers import CLIPTextModel, T5Config, T5EncoderModel, T5Tokenizer

SIDE = 32  # DSD's square at test size: calls are 64 x 32


def tiny_t5_tokenizer() -> T5Tokenizer:
    """A unigram tokenizer with whole words and letters, FLUX's 512-token window."""
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces += [("▁" + w, -1.0) for w in WORDS]
    pieces += [(c, -5.0) for c in "abcdefghijklmnopqrstuvwxyz,.'-!?0123456789"] + [("▁", -3.0)]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=512)


def _transformer() -> FluxTransformer2DModel:
    return FluxTransformer2DModel(
        patch_size=1,
        in_channels=4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        pooled_projection_dim=32,
        axes_dims_rope=(4, 4, 8),
    )


def tiny_flux_pipeline(seed: int = 0) -> FluxPipeline:
    torch.manual_seed(seed)
    vae = AutoencoderKL(
        block_out_channels=(8, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=1,
        norm_num_groups=4,
        sample_size=32,
        use_quant_conv=False,
        use_post_quant_conv=False,
        shift_factor=0.0609,
        scaling_factor=1.5035,
    )
    clip_tokenizer = tiny_tokenizer()
    t5_tokenizer = tiny_t5_tokenizer()
    t5 = T5EncoderModel(
        T5Config(
            vocab_size=len(t5_tokenizer),
            d_model=32,
            d_kv=8,
            d_ff=37,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
        )
    )
    return FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=CLIPTextModel(_tiny_text_config(len(clip_tokenizer))),
        tokenizer=clip_tokenizer,
        text_encoder_2=t5,
        tokenizer_2=t5_tokenizer,
        transformer=_transformer(),
    )


def save_tiny_flux(folder: Path, seed: int = 0) -> Path:
    tiny_flux_pipeline(seed).save_pretrained(folder)
    return folder


def save_tiny_dsd(
    folder: Path,
    base: Path,
    *,
    seed: int = 1,
    condition_scale: float = 1.0,
    lora: bool = True,
    rank: int = 4,
    dtype: torch.dtype = torch.float32,
) -> tuple[Path, Path | None]:
    """The release's two files for a base: ``transformer/`` (the base transformer's weights,
    standing in for the fine-tune, plus ``c_embedder`` at ``condition_scale``: 0 is the
    zero-initialised embedder) and the LoRA file. Returns (transformer folder, LoRA file)."""
    torch.manual_seed(seed)
    transformer = FluxTransformer2DModel.from_pretrained(base / "transformer", dtype=dtype)
    state = dict(transformer.state_dict())
    inner = int(transformer.inner_dim)
    channels = int(transformer.config.in_channels)
    state["c_embedder.weight"] = (torch.randn(inner, channels) * condition_scale).to(dtype)
    state["c_embedder.bias"] = (torch.randn(inner) * 0.1 * condition_scale).to(dtype)
    out = folder / "transformer"
    out.mkdir(parents=True, exist_ok=True)
    config = json.loads((base / "transformer" / "config.json").read_text())
    config["_class_name"] = "FluxTransformer2DConditionalModel"  # the release's own class name
    (out / "config.json").write_text(json.dumps(config, indent=2))
    save_file(state, str(out / "diffusion_pytorch_model.safetensors"))
    if not lora:
        return out, None
    return out, save_tiny_lora(folder, transformer, seed=seed, rank=rank)


def save_tiny_lora(
    folder: Path, transformer: FluxTransformer2DModel, seed: int = 1, rank: int = 4
) -> Path:
    """A LoRA of ``rank`` on the attention projections, non-zero, saved by diffusers."""
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(seed)
    transformer.add_adapter(
        LoraConfig(
            r=rank,
            lora_alpha=rank,
            target_modules=["to_q", "to_k", "to_v", "to_out.0"],
            init_lora_weights=False,
        )
    )
    # peft's random init is small; a fine-tune's update is not: scaled so it shows in pixels
    layers = {
        k: v * 8.0 if "lora_B" in k else v
        for k, v in get_peft_model_state_dict(transformer).items()
    }
    FluxPipeline.save_lora_weights(folder, transformer_lora_layers=layers)
    return folder / "pytorch_lora_weights.safetensors"
