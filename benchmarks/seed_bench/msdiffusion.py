"""MS-Diffusion for the seed-model benchmarks.

``build_tiny`` writes the tests' tiny SDXL and tiny release; ``build_full`` writes SDXL-base-1.0,
CLIP ViT-bigG-14 and ``ms_adapter.bin`` at their released sizes (from the released configs, as
facts: widths, depths, heads) with random weights, about 9 GB in fp16. ``bare_render`` draws a
request with the modules the generator loaded, called directly: the pipeline, the encoders, the
resampler and the box-masked processors, with no storyviz code between them except the reference
cut-out and the mask rule, which both sides run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch


def build_tiny(folder: Path) -> str:
    from diffusers import UNet2DConditionModel
    from tiny_diffusers import save_tiny_pipeline
    from tiny_msdiffusion import save_tiny_image_encoder, save_tiny_ms_adapter

    sdxl = save_tiny_pipeline(folder / "sdxl", family="sdxl")
    unet = UNet2DConditionModel.from_pretrained(sdxl / "unet")
    adapter = save_tiny_ms_adapter(folder / "ms_adapter.bin", unet)
    encoder = save_tiny_image_encoder(folder / "image_encoder")
    return f"msdiffusion:{sdxl}?adapter={adapter}&image_encoder={encoder}"


def full_sdxl() -> Any:
    """SDXL-base-1.0 at its released sizes (UNet, VAE, both text encoders), random weights."""
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from tiny_diffusers import tiny_tokenizer
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=128,
        block_out_channels=(320, 640, 1280),
        layers_per_block=2,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(5, 10, 20),
        transformer_layers_per_block=(1, 2, 10),
        cross_attention_dim=2048,
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=256,
        projection_class_embeddings_input_dim=2816,
    )
    vae = AutoencoderKL(
        block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=2,
        latent_channels=4,
        sample_size=1024,
        scaling_factor=0.13025,
    )
    tokenizer = tiny_tokenizer()  # any CLIP BPE: the ids only index the embedding tables
    clip_l = CLIPTextConfig(
        vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
        num_attention_heads=12, projection_dim=768, hidden_act="quick_gelu",
        bos_token_id=0, eos_token_id=1, pad_token_id=1,
    )  # fmt: skip
    clip_g = CLIPTextConfig(
        vocab_size=49408, hidden_size=1280, intermediate_size=5120, num_hidden_layers=32,
        num_attention_heads=20, projection_dim=1280, hidden_act="gelu",
        bos_token_id=0, eos_token_id=1, pad_token_id=1,
    )  # fmt: skip
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        steps_offset=1, timestep_spacing="leading",
    )  # fmt: skip
    return StableDiffusionXLPipeline(
        unet=unet,
        vae=vae,
        text_encoder=CLIPTextModel(clip_l),
        text_encoder_2=CLIPTextModelWithProjection(clip_g),
        tokenizer=tokenizer,
        tokenizer_2=tiny_tokenizer(),
        scheduler=scheduler,
    )


def build_full(folder: Path, dtype: torch.dtype) -> str:
    """SDXL-base-1.0's and CLIP-G's released shapes, random weights, saved as they ship."""
    from tiny_msdiffusion import RELEASED, adapter_state
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    pipe = full_sdxl()
    unet = pipe.unet
    pipe.to(dtype=dtype).save_pretrained(folder / "sdxl")
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=1664, intermediate_size=8192, num_hidden_layers=48,
            num_attention_heads=16, projection_dim=1280, image_size=224, patch_size=14,
            hidden_act="gelu",
        )
    )  # fmt: skip
    encoder.to(dtype=dtype).save_pretrained(folder / "image_encoder")
    adapter = folder / "ms_adapter.bin"
    torch.save(adapter_state(unet, sizes=RELEASED, dtype=dtype), adapter)
    return (
        f"msdiffusion:{folder / 'sdxl'}?adapter={adapter}&image_encoder={folder / 'image_encoder'}"
    )


def bare_render(generator: Any, request: Any) -> np.ndarray:
    """Float pixels ``[height, width, 3]`` in 0..1 of ``request`` drawn without storyviz."""
    from PIL import Image

    from storyviz.generators.msdiffusion.masks import subject_masks
    from storyviz.generators.msdiffusion.subjects import panel_subjects
    from storyviz.generators.seed_models.masked_attention import ImageCall
    from storyviz.generators.seed_models.references import figure_cutout

    pipe, parts, ms = generator.text2img, generator.loaded.parts, generator.ms
    width, height = generator._generation_size(request)
    steps = request.steps or generator.settings.steps
    guidance = request.guidance or generator.settings.guidance
    negative = generator._negative(request)
    device = pipe._execution_device
    with torch.inference_mode():
        positive, negative_embeds, pooled, negative_pooled = pipe.encode_prompt(
            request.prompt, device=device, num_images_per_prompt=1,
            do_classifier_free_guidance=guidance > 1.0, negative_prompt=negative,
        )  # fmt: skip
        subjects = panel_subjects(request, ms.max_subjects, ms.overflow).drawn
        image_call = None
        if subjects and ms.scale:
            images = []
            for subject in subjects:
                with Image.open(subject.reference) as opened:
                    image = opened.convert("RGB")
                if ms.reference == "figure":
                    image = figure_cutout(image)
                images.append(image.resize((512, 512), Image.Resampling.BICUBIC))
            dtype = parts.dummy_tokens.dtype
            pixels = parts.processor(images=images, return_tensors="pt").pixel_values
            features = parts.encoder(
                pixels.to(parts.dummy_tokens.device, dtype), output_hidden_states=True
            ).hidden_states[-2]
            ids = pipe.tokenizer(
                [s.phrase for s in subjects], padding="max_length", truncation=True,
                max_length=pipe.tokenizer.model_max_length, return_tensors="pt",
            ).input_ids  # fmt: skip
            phrases = pipe.text_encoder(ids.to(device)).pooler_output
            boxes = torch.tensor([list(s.box) for s in subjects], dtype=dtype)
            tokens = parts.resampler(
                features, phrases.to(parts.dummy_tokens.device, dtype), boxes.to(phrases.device)
            )
            tokens = torch.cat([parts.dummy_tokens, tokens.reshape(1, -1, tokens.shape[-1])], 1)
            tokens = tokens.to(positive.device, positive.dtype)
            positive = torch.cat([positive, tokens], dim=1)
            if negative_embeds is not None:
                negative_embeds = torch.cat([negative_embeds, torch.zeros_like(tokens)], dim=1)
            guided = guidance > 1.0 and pipe.unet.config.time_cond_proj_dim is None
            scale = pipe.vae_scale_factor
            image_call = ImageCall(
                tokens=int(tokens.shape[1]),
                scale=ms.scale,
                latent=(height // scale, width // scale),
                masks=subject_masks(
                    [s.box for s in subjects], parts.resampler.shape.queries,
                    int(parts.dummy_tokens.shape[1]), guided,
                ),
            )  # fmt: skip
        with parts.conditioning.active(image_call):
            output = pipe(
                prompt_embeds=positive,
                negative_prompt_embeds=negative_embeds,
                pooled_prompt_embeds=pooled,
                negative_pooled_prompt_embeds=negative_pooled,
                num_inference_steps=steps,
                guidance_scale=guidance,
                width=width,
                height=height,
                generator=torch.Generator("cpu").manual_seed(request.seed),
                output_type="np",
            )
    return np.asarray(output.images[0], dtype=np.float32)
