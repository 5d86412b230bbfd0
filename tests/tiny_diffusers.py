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
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

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
    vae = AutoencoderKL(
        block_out_channels=(16, 32),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=8,
        sample_size=64,
    )
    tokenizer = tiny_tokenizer()
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            hidden_size=32,
            intermediate_size=37,
            layer_norm_eps=1e-05,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=len(tokenizer),
            max_position_embeddings=77,
        )
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        timestep_spacing="trailing",
        steps_offset=1,
    )
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


def save_tiny_pipeline(folder: Path, seed: int = 0) -> Path:
    """Write the tiny pipeline in the ``save_pretrained`` layout and return the folder."""
    pipe: Any = tiny_pipeline(seed)
    pipe.save_pretrained(folder)
    return folder


if __name__ == "__main__":  # a quick manual check: python tests/tiny_diffusers.py /tmp/tiny
    import sys

    print(save_tiny_pipeline(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tiny-sd")))
