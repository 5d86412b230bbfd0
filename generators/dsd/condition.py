"""The release's condition layout: the reference on the left, black on the right, one picture.

DSD draws at 512 x 1024: the left half holds the reference (a 512 x 512 square), the right half
starts all black, and the VAE latents of that whole picture are the condition ``c_embedder``
reads; the right half of the output is the drawing. storyviz's references are reference sheets
(a full-body figure on a light ground, portrait), so the square is made without cutting the
figure: its cut-out centred on white (``reference=figure``) or the sheet padded with its own
ground (``sheet``), where the release centre-crops arbitrary photos. Several cast members
(``cast=collage``) share the square in equal columns: a layout DSD was not trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from storyviz.generators.seed_models.references import figure_cutout

WHITE = (255, 255, 255)


def square(sheet: Image.Image, side: int, reference: str) -> Image.Image:
    """One reference as the ``side`` x ``side`` square of the condition."""
    if reference == "figure":
        image = figure_cutout(sheet, background=WHITE)
    else:
        image = _padded(sheet.convert("RGB"))
    return image.resize((side, side), Image.Resampling.BICUBIC)


def collage(sheets: Sequence[Image.Image], side: int, reference: str) -> Image.Image:
    """Several references side by side in one square, each kept whole in its column."""
    if len(sheets) == 1:
        return square(sheets[0], side, reference)
    canvas = Image.new("RGB", (side, side), WHITE)
    width = side // len(sheets)
    for index, sheet in enumerate(sheets):
        cell = figure_cutout(sheet, WHITE, square=False) if reference == "figure" else sheet
        cell = cell.convert("RGB")
        scale = min(width / cell.width, side / cell.height)
        size = (max(1, round(cell.width * scale)), max(1, round(cell.height * scale)))
        fitted = cell.resize(size, Image.Resampling.BICUBIC)
        left = index * width + (width - fitted.width) // 2
        canvas.paste(fitted, (left, (side - fitted.height) // 2))
    return canvas


def layout(left: Image.Image | None, side: int) -> Image.Image:
    """The ``2 side`` x ``side`` call picture: ``left`` (or black: no reference) | black."""
    picture = Image.new("RGB", (2 * side, side), (0, 0, 0))
    if left is not None:
        picture.paste(left.resize((side, side)), (0, 0))
    return picture


def encode(pipe: Any, picture: Image.Image, seed: int) -> torch.Tensor:
    """The picture's packed FLUX latents ``[1, tokens, channels]``, sampled with ``seed`` (the
    release samples from the global RNG: the same seed could give two pictures there)."""
    width, height = picture.size
    pixels = pipe.image_processor.preprocess(picture, height=height, width=width)
    vae = pipe.vae
    device = pipe._execution_device
    generator = torch.Generator(device="cpu").manual_seed(seed)
    distribution = vae.encode(pixels.to(device=device, dtype=vae.dtype)).latent_dist
    latents = distribution.sample(generator=generator)
    latents = (latents - vae.config.shift_factor) * vae.config.scaling_factor
    batch, channels, rows, columns = latents.shape
    packed: torch.Tensor = pipe._pack_latents(latents, batch, channels, rows, columns)
    return packed


def _padded(image: Image.Image) -> Image.Image:
    """The sheet on a square of its own border colour, centred."""
    rgb = np.asarray(image)
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    ground = tuple(int(v) for v in np.median(border, axis=0))
    side = max(image.size)
    canvas = Image.new("RGB", (side, side), (ground[0], ground[1], ground[2]))
    canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return canvas
