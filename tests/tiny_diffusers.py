"""A tiny random Stable Diffusion 1.5-style pipeline, saved to a folder, for tests.

It follows the ``get_dummy_components`` pattern of diffusers' own tests: the real UNet, VAE,
CLIP text encoder, tokenizer and scheduler classes with a few thousand random weights, so the
real pipeline code runs on CPU in well under a second per image. The folder is loaded through
``diffusers:/that/folder``, the same code path a user's ``diffusers:stabilityai/sd-turbo`` takes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from diffusers import (
    AutoencoderKL,
    EulerDiscreteScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from safetensors.torch import save_file
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
)

WORDS = (  # noqa: SIM905  (a sentence reads better than 26 quoted words)
    "a girl with red hair and yellow raincoat robot dog rain street night kitchen "
    "comic panel of the in blurry lowres bad anatomy silver small bench"
).split()


def tiny_tokenizer() -> CLIPTokenizer:
    """A CLIP BPE tokenizer built in memory: characters, whole words, no merges needed."""
    specials = ["<|startoftext|>", "<|endoftext|>"]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list(".,!?'-0123456789")
    tokens = specials + letters + [c + "</w>" for c in letters] + [w + "</w>" for w in WORDS]
    vocab = {token: index for index, token in enumerate(dict.fromkeys(tokens))}
    merges: list[tuple[str, str]] = []
    for word in WORDS:  # merge left to right: "g i" -> "gi", "gi r" -> "gir", ... "gir l</w>"
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        while len(pieces) > 1:
            left, right = pieces[0], pieces[1]
            merges.append((left, right))
            merged = left + right
            vocab.setdefault(merged, len(vocab))
            pieces = [merged] + pieces[2:]
    unique: list[Any] = list(dict.fromkeys(merges))  # the fast BPE wants (left, right) pairs
    return CLIPTokenizer(vocab=vocab, merges=unique, model_max_length=77)


def _tiny_vae() -> AutoencoderKL:
    return AutoencoderKL(
        block_out_channels=(16, 32),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=8,
        sample_size=64,
    )


def _tiny_text_config(vocab_size: int) -> CLIPTextConfig:
    return CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        hidden_size=32,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=vocab_size,
        max_position_embeddings=77,
        projection_dim=32,
    )


def _scheduler() -> EulerDiscreteScheduler:
    return EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        timestep_spacing="trailing",
        steps_offset=1,
    )


def tiny_pipeline(seed: int = 0) -> StableDiffusionPipeline:
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=8,
    )
    vae = _tiny_vae()
    tokenizer = tiny_tokenizer()
    text_encoder = CLIPTextModel(_tiny_text_config(len(tokenizer)))
    scheduler = _scheduler()
    return StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def tiny_sdxl_pipeline(seed: int = 0) -> StableDiffusionXLPipeline:
    """SDXL's shape in miniature: two text encoders (the second with a projection whose pooled
    output joins the size/crop "time ids" in the UNet's added embedding), 64-wide cross-attention
    over both encoders' hidden states concatenated."""
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 2),
        projection_class_embeddings_input_dim=80,  # 6 time ids * 8 + the pooled 32
        cross_attention_dim=64,
        norm_num_groups=8,
    )
    tokenizer = tiny_tokenizer()
    config = _tiny_text_config(len(tokenizer))
    return StableDiffusionXLPipeline(
        unet=unet,
        vae=_tiny_vae(),
        text_encoder=CLIPTextModel(config),
        text_encoder_2=CLIPTextModelWithProjection(config),
        tokenizer=tokenizer,
        tokenizer_2=tiny_tokenizer(),
        scheduler=_scheduler(),
    )


def save_tiny_pipeline(folder: Path, seed: int = 0, family: str = "sd15") -> Path:
    """Write a tiny pipeline (``sd15`` or ``sdxl``) in the ``save_pretrained`` layout."""
    pipe: Any = tiny_sdxl_pipeline(seed) if family == "sdxl" else tiny_pipeline(seed)
    pipe.save_pretrained(folder)
    return folder


def save_tiny_ip_adapter(folder: Path, unet: Any, seed: int = 0) -> Path:
    """A tiny IP-Adapter in the h94/IP-Adapter layout: ``models/ip-adapter.safetensors`` with
    ``image_proj.*`` and ``ip_adapter.*`` keys, and ``models/image_encoder/`` (a CLIP vision
    model with projection). Returns the weight file, which ``?ip_adapter=`` takes as it is.

    The key numbering follows the UNet's cross-attention processors in order (1, 3, 5, ...),
    as the original IP-Adapter checkpoints do; the shapes come from the UNet it is built for."""
    torch.manual_seed(seed)
    cross = unet.config.cross_attention_dim
    embed = 16
    models = folder / "models"
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32,
            projection_dim=embed,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            image_size=32,
            patch_size=8,
        )
    )
    encoder.save_pretrained(models / "image_encoder")
    tensors = {
        "image_proj.proj.weight": torch.randn(cross * 4, embed) * 0.5,
        "image_proj.proj.bias": torch.zeros(cross * 4),
        "image_proj.norm.weight": torch.ones(cross),
        "image_proj.norm.bias": torch.zeros(cross),
    }
    key_id = 1
    widths = list(unet.config.block_out_channels)
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        if name.startswith("mid_block"):
            hidden = widths[-1]
        elif name.startswith("up_blocks"):
            hidden = list(reversed(widths))[int(name[len("up_blocks.")])]
        else:
            hidden = widths[int(name[len("down_blocks.")])]
        for part in ("to_k_ip", "to_v_ip"):
            tensors[f"ip_adapter.{key_id}.{part}.weight"] = torch.randn(hidden, cross) * 0.5
        key_id += 2
    weights = models / "ip-adapter.safetensors"
    save_file(tensors, str(weights))
    return weights


if __name__ == "__main__":  # a quick manual check: python tests/tiny_diffusers.py /tmp/tiny
    import sys

    print(save_tiny_pipeline(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tiny-sd")))
