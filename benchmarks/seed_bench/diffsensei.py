"""DiffSensei for the seed-model benchmarks.

``build_tiny`` writes the tests' tiny release; ``build_full`` writes ``image_generator/`` at the
released sizes (SDXL-base's UNet, VAE and text encoders, the 20-head resampler, CLIP ViT-H/14 and
Magi's ViT-MAE base) with random weights, about 8 GB in fp16. ``bare_render`` draws a request
with the modules the generator loaded, called directly, with no storyviz code between them
except the reference preparation and the mask rule, which both sides run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch


def build_tiny(folder: Path) -> str:
    from tiny_diffsensei import save_tiny_diffsensei

    return f"diffsensei:{save_tiny_diffsensei(folder)}"


def build_full(folder: Path, dtype: torch.dtype) -> str:
    from tiny_diffsensei import RELEASED, resampler_state, unet_state
    from transformers import (
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
        ViTMAEConfig,
        ViTMAEModel,
    )

    from seed_bench.msdiffusion import full_sdxl

    root = folder / "image_generator"
    pipe = full_sdxl()
    pipe.to(dtype=dtype).save_pretrained(root)
    unet_dir = root / "unet"
    for weights in unet_dir.glob("diffusion_pytorch_model*"):
        weights.unlink()
    torch.save(unet_state(pipe.unet, dtype=dtype), unet_dir / "pytorch_model.bin")
    (root / "image_proj_model").mkdir()
    cross = int(pipe.unet.config.cross_attention_dim)
    torch.save(
        resampler_state(cross, sizes=RELEASED, dtype=dtype),
        root / "image_proj_model" / "pytorch_model.bin",
    )
    clip = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=1280, intermediate_size=5120, num_hidden_layers=32,
            num_attention_heads=16, projection_dim=1024, image_size=224, patch_size=14,
            hidden_act="gelu",
        )
    )  # fmt: skip
    clip.to(dtype=dtype).save_pretrained(root / "clip_image_encoder")
    magi_config = ViTMAEConfig(
        hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
        image_size=224, patch_size=16, mask_ratio=0.75,
    )  # fmt: skip
    magi_dir = root / "magi_image_encoder"
    magi_dir.mkdir()
    magi_config.save_pretrained(magi_dir)
    torch.save(ViTMAEModel(magi_config).to(dtype).state_dict(), magi_dir / "pytorch_model.bin")
    return f"diffsensei:{folder}"


def bare_render(generator: Any, request: Any) -> np.ndarray:
    """Float pixels ``[height, width, 3]`` in 0..1 of ``request`` drawn without storyviz."""
    from PIL import Image

    from storyviz.generators.diffsensei.dialogs import DialogCall, chosen_dialogs
    from storyviz.generators.diffsensei.masks import character_masks
    from storyviz.generators.seed_models.masked_attention import ImageCall
    from storyviz.generators.seed_models.references import figure_cutout
    from storyviz.generators.seed_models.subjects import panel_subjects
    from storyviz.seeding import stable_seed

    pipe, parts, ds = generator.text2img, generator.loaded.parts, generator.ds
    resampler, shape = parts.resampler, parts.resampler.shape
    width, height = generator._generation_size(request)
    steps = request.steps or generator.settings.steps
    guidance = request.guidance or generator.settings.guidance
    guided = guidance > 1.0
    device = pipe._execution_device
    with torch.inference_mode():
        positive, negative, pooled, negative_pooled = pipe.encode_prompt(
            request.prompt, device=device, num_images_per_prompt=1,
            do_classifier_free_guidance=guided, negative_prompt=generator._negative(request),
        )  # fmt: skip
        drawn = panel_subjects(request, ds.max_subjects, ds.overflow, "diffsensei").drawn
        regions = request.text_regions if ds.dialogs and request.kind == "panel" else []
        dialogs, _ = chosen_dialogs(regions, ds.max_dialogs)
        image_call = None
        if ds.ip_scale:
            dtype = resampler.dummy_tokens.dtype
            where = resampler.dummy_tokens.device
            slots = max(ds.max_subjects, len(drawn))
            empty = resampler(
                torch.zeros(1, parts.clip_tokens, shape.features, device=where, dtype=dtype),
                torch.zeros(1, shape.magi, device=where, dtype=dtype),
            )[0]
            filled: list[torch.Tensor] = []
            if drawn:
                images = []
                for subject in drawn:
                    with Image.open(subject.reference) as opened:
                        image = opened.convert("RGB")
                    if ds.reference == "figure":
                        image = figure_cutout(image, background=(255, 255, 255))
                    images.append(image.convert("L").convert("RGB") if ds.grey else image)
                clip_pixels = parts.clip_processor(images=images, return_tensors="pt").pixel_values
                features = parts.clip(
                    clip_pixels.to(where, dtype), output_hidden_states=True
                ).hidden_states[-2]
                magi_pixels = parts.magi_processor(images=images, return_tensors="pt").pixel_values
                patches = (parts.magi.config.image_size // parts.magi.config.patch_size) ** 2
                noise = torch.rand(
                    len(images), patches,
                    generator=torch.Generator().manual_seed(
                        stable_seed("diffsensei-magi", request.seed)
                    ),
                ).to(where)  # fmt: skip
                saved = parts.magi.config.mask_ratio
                parts.magi.config.mask_ratio = (
                    parts.magi_mask_ratio if ds.magi_mask == "release" else 0.0
                )
                magi = parts.magi(pixel_values=magi_pixels.to(where, dtype), noise=noise)
                parts.magi.config.mask_ratio = saved
                filled = list(resampler(features, magi.last_hidden_state[:, 0]))
            cond = torch.cat([resampler.dummy_tokens, *filled, *[empty] * (slots - len(filled))])
            uncond = torch.cat([resampler.dummy_tokens, *[empty] * slots])
            positive = torch.cat([positive, cond[None].to(positive.dtype)], dim=1)
            if negative is not None:
                negative = torch.cat([negative, uncond[None].to(negative.dtype)], dim=1)
            scale = pipe.vae_scale_factor
            image_call = ImageCall(
                tokens=int(cond.shape[0]), scale=ds.ip_scale,
                latent=(height // scale, width // scale),
                masks=character_masks(
                    [s.box for s in drawn], slots, shape.queries, shape.dummies, guided
                ),
            )  # fmt: skip
        dialog_call = DialogCall(tuple(dialogs), guided) if dialogs else None
        with parts.conditioning.active(image_call), parts.dialogs.active(dialog_call):
            output = pipe(
                prompt_embeds=positive,
                negative_prompt_embeds=negative,
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
