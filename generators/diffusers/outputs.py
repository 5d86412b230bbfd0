"""Telling a broken render from a picture.

fp16 overflow in a VAE gives NaNs, which become a black image once converted to 8 bits; a
safety checker replaces flagged images with black. Either way the panel is useless and the
right move is another seed, so the generator asks for the pipeline's float output and checks it
before anything is saved.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

BLACK_LEVEL = 2.0 / 255.0  # brightest pixel below this: the image is black for every purpose


def broken_reason(pixels: np.ndarray, nsfw: Any = None) -> str | None:
    """Why this float HxWxC image in 0..1 is unusable ("nan", "black", "nsfw"), or None."""
    if nsfw is not None and bool(np.any(np.asarray(nsfw, dtype=bool))):
        return "nsfw"
    if not np.isfinite(pixels).all():
        return "nan"
    if float(np.max(pixels)) < BLACK_LEVEL:
        return "black"
    return None


def to_pil(pixels: np.ndarray) -> Image.Image:
    """A float HxWx3 array in 0..1 as an 8-bit RGB image."""
    array = np.clip(np.nan_to_num(pixels) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(array[..., :3])).convert("RGB")


def fit(image: Image.Image, width: int, height: int) -> Image.Image:
    """Exactly width x height: scale to cover, then crop the centre (aspect never distorts)."""
    if image.size == (width, height):
        return image
    scale = max(width / image.width, height / image.height)
    scaled = image.resize(
        (max(width, round(image.width * scale)), max(height, round(image.height * scale))),
        Image.Resampling.LANCZOS,
    )
    left = (scaled.width - width) // 2
    top = (scaled.height - height) // 2
    return scaled.crop((left, top, left + width, top + height))
