"""DSD for the seed-model benchmarks.

``build_tiny`` writes the tests' tiny FLUX base and tiny release; ``build_full`` writes
FLUX.1-dev's transformer (with ``c_embedder``), T5-XXL, CLIP-L and the 16-channel VAE at their
released sizes (from the released configs, as facts) with random weights, and a rank-16 LoRA on
the attention projections: about 34 GB in bf16. ``bare_render`` draws a request with the modules
the generator loaded, called directly: the VAE for the condition, the condition hook, the FLUX
pipeline at 2:1 and the right-half crop, with no storyviz code between them except the
reference layout (image operations), which both sides run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch


def build_tiny(folder: Path) -> str:
    from tiny_flux import save_tiny_dsd, save_tiny_flux

    base = save_tiny_flux(folder / "FLUX.1-dev")
    transformer, lora = save_tiny_dsd(folder / "dsd_model", base)
    return f"dsd:{base}?transformer={transformer}&lora={lora}"


def full_flux(dtype: torch.dtype) -> Any:
    """FLUX.1-dev at its released sizes (transformer, VAE, both text encoders), random weights."""
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        FluxPipeline,
        FluxTransformer2DModel,
    )
    from tiny_diffusers import tiny_tokenizer
    from tiny_flux import tiny_t5_tokenizer
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # 12B + 4.7B parameters: never held in fp32
    try:
        transformer = FluxTransformer2DModel(
            patch_size=1, in_channels=64, num_layers=19, num_single_layers=38,
            attention_head_dim=128, num_attention_heads=24, joint_attention_dim=4096,
            pooled_projection_dim=768, guidance_embeds=True, axes_dims_rope=(16, 56, 56),
        )  # fmt: skip
        vae = AutoencoderKL(
            block_out_channels=(128, 256, 512, 512),
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            layers_per_block=2, latent_channels=16, sample_size=1024,
            use_quant_conv=False, use_post_quant_conv=False,
            shift_factor=0.1159, scaling_factor=0.3611,
        )  # fmt: skip
        clip = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                num_attention_heads=12, projection_dim=768, hidden_act="quick_gelu",
                bos_token_id=0, eos_token_id=1, pad_token_id=1,
            )
        )  # fmt: skip
        t5 = T5EncoderModel(
            T5Config(
                vocab_size=32128, d_model=4096, d_kv=64, d_ff=10240, num_layers=24,
                num_heads=64, feed_forward_proj="gated-gelu", is_gated_act=True,
            )
        )  # fmt: skip
    finally:
        torch.set_default_dtype(previous)
    return FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=True),
        vae=vae,
        text_encoder=clip,
        tokenizer=tiny_tokenizer(),  # any tokenizers: the ids only index the embedding tables
        text_encoder_2=t5,
        tokenizer_2=tiny_t5_tokenizer(),
        transformer=transformer,
    )


def build_full(folder: Path, dtype: torch.dtype) -> str:
    """FLUX.1-dev's released shapes with DSD's transformer and a LoRA, saved as they ship."""
    from tiny_flux import save_tiny_dsd

    pipe = full_flux(dtype)
    base = folder / "FLUX.1-dev"
    pipe.save_pretrained(base)
    del pipe
    transformer, lora = save_tiny_dsd(folder / "dsd_model", base, rank=16, dtype=dtype)
    return f"dsd:{base}?transformer={transformer}&lora={lora}"


def bare_render(generator: Any, request: Any) -> np.ndarray:
    """Float pixels ``[side, side, 3]`` in 0..1 of ``request`` drawn without storyviz."""
    from storyviz.generators.dsd.condition import layout

    pipe, parts, side = generator.text2img, generator.loaded.parts, generator.dsd.side
    steps = request.steps or generator.settings.steps
    guidance = request.guidance or generator.settings.guidance
    left = generator._left(generator._subjects(request))  # the image layout both sides run
    picture = layout(left, side)
    with torch.inference_mode():
        pixels = pipe.image_processor.preprocess(picture, height=side, width=2 * side)
        vae = pipe.vae
        latents = vae.encode(pixels.to(pipe._execution_device, vae.dtype)).latent_dist.sample(
            generator=torch.Generator("cpu").manual_seed(request.seed)
        )
        latents = (latents - vae.config.shift_factor) * vae.config.scaling_factor
        packed = pipe._pack_latents(latents, *latents.shape)
        with parts.condition.active(packed):
            output = pipe(
                prompt=request.prompt,
                num_inference_steps=steps,
                guidance_scale=guidance,
                width=2 * side,
                height=side,
                generator=torch.Generator("cpu").manual_seed(request.seed),
                output_type="np",
            )
    return np.asarray(output.images[0], dtype=np.float32)[:, side:]
