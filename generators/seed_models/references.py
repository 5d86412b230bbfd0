"""Reference sheets as the seed models want them: the figure alone, background-free.

MS-Diffusion was trained on subjects cut out by their masks onto black, and its README asks for
masked references; storyviz's reference sheets are a full-body figure on a plain light ground
(``prompts/reference.j2``). So the figure is separated from the ground by colour: the ground's
colour is the median of the sheet's border, every pixel far from it (CIELAB distance) is figure,
the mask is closed over small gaps, and the figure is cropped to its bounds and centred on a
square of ``background``. A sheet where nothing stands out is returned whole, squared.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from storyviz.colors import rgb_to_lab_array

GROUND_DISTANCE = 12.0  # CIELAB units: a clearly visible difference from the ground
MIN_FIGURE = 0.01  # of the sheet's area: less than this is noise, not a figure
BORDER = 4  # pixels of each edge sampled for the ground colour


def figure_mask(image: Image.Image) -> Image.Image:
    """An L mask (255 = figure) of what differs from the sheet's ground colour."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    edge = min(BORDER, max(1, min(rgb.shape[:2]) // 8))
    border = np.concatenate(
        [
            rgb[:edge].reshape(-1, 3),
            rgb[-edge:].reshape(-1, 3),
            rgb[:, :edge].reshape(-1, 3),
            rgb[:, -edge:].reshape(-1, 3),
        ]
    )
    ground = rgb_to_lab_array(np.median(border, axis=0)[None])[0]
    distance = np.linalg.norm(rgb_to_lab_array(rgb.reshape(-1, 3)) - ground, axis=1)
    mask = Image.fromarray(
        ((distance > GROUND_DISTANCE).reshape(rgb.shape[:2]) * 255).astype(np.uint8), "L"
    )
    return mask.filter(ImageFilter.MaxFilter(5)).filter(ImageFilter.MinFilter(5))


def figure_cutout(
    image: Image.Image, background: tuple[int, int, int] = (0, 0, 0), square: bool = True
) -> Image.Image:
    """The sheet's figure on ``background``, cropped to its bounds (a square canvas if
    ``square``, the figure centred, its aspect kept)."""
    rgb = image.convert("RGB")
    mask = figure_mask(rgb)
    bounds = mask.getbbox()
    area = rgb.width * rgb.height
    if bounds is None or _count(mask) < MIN_FIGURE * area:
        mask, bounds = Image.new("L", rgb.size, 255), (0, 0, rgb.width, rgb.height)
    figure = Image.new("RGB", rgb.size, background)
    figure.paste(rgb, (0, 0), mask)
    figure = figure.crop(bounds)
    if not square:
        return figure
    side = max(figure.size)
    canvas = Image.new("RGB", (side, side), background)
    canvas.paste(figure, ((side - figure.width) // 2, (side - figure.height) // 2))
    return canvas


def _count(mask: Image.Image) -> int:
    return int(np.count_nonzero(np.asarray(mask)))
