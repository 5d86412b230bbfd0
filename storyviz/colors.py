"""Colour words, their RGB values and perceptual distances.

The planner turns "red hair" into {'hair': 'red'}; the sketch renderer paints that word; the
offline auditor measures how far a region's colour is from it. Sharing one vocabulary here keeps
the three in agreement without any of them importing the others.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike, NDArray

RGB = tuple[int, int, int]

COLOR_RGB: dict[str, RGB] = {
    "red": (206, 38, 38),
    "crimson": (170, 20, 50),
    "scarlet": (230, 40, 20),
    "ginger": (196, 92, 32),
    "auburn": (145, 50, 30),
    "orange": (245, 140, 30),
    "amber": (255, 176, 0),
    "yellow": (250, 212, 40),
    "golden": (222, 170, 40),
    "gold": (222, 170, 40),
    "blonde": (236, 206, 120),
    "blond": (236, 206, 120),
    "beige": (222, 200, 160),
    "tan": (205, 160, 110),
    "brown": (110, 66, 34),
    "chestnut": (130, 60, 30),
    "black": (28, 28, 32),
    "white": (245, 245, 245),
    "silver": (190, 195, 205),
    "grey": (128, 128, 132),
    "gray": (128, 128, 132),
    "green": (46, 150, 64),
    "emerald": (20, 140, 90),
    "olive": (110, 120, 40),
    "lime": (150, 215, 60),
    "teal": (20, 128, 128),
    "turquoise": (60, 200, 190),
    "cyan": (40, 200, 230),
    "blue": (40, 90, 210),
    "navy": (25, 35, 95),
    "purple": (120, 50, 160),
    "violet": (140, 80, 200),
    "lavender": (180, 160, 220),
    "pink": (240, 130, 170),
    "magenta": (200, 40, 160),
    "maroon": (110, 20, 30),
}

SKIN_RGB: dict[str, RGB] = {
    "pale": (245, 222, 205),
    "fair": (240, 210, 185),
    "light": (232, 196, 166),
    "olive": (198, 160, 118),
    "tan": (200, 150, 105),
    "brown": (150, 100, 66),
    "dark": (100, 64, 42),
}

DEFAULT_SKIN: RGB = (232, 196, 166)

# Distinct fallback colours for characters whose story gives none, picked far apart in Lab so
# the sketch renderer and the auditor can still tell characters apart.
FALLBACK_PALETTE: tuple[str, ...] = (
    "blue",
    "orange",
    "green",
    "purple",
    "teal",
    "crimson",
    "golden",
    "pink",
    "navy",
    "olive",
    "turquoise",
    "maroon",
    "lavender",
    "lime",
    "brown",
    "silver",
)


def is_color_word(word: str) -> bool:
    return word.lower() in COLOR_RGB


def rgb_of(name: str) -> RGB:
    """RGB for a colour word; raises KeyError for words outside the vocabulary."""
    key = name.lower().strip()
    if key in COLOR_RGB:
        return COLOR_RGB[key]
    if key in SKIN_RGB:
        return SKIN_RGB[key]
    raise KeyError(name)


_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_WHITE = np.array([0.95047, 1.0, 1.08883])  # D65


def rgb_to_lab_array(rgb: ArrayLike) -> NDArray[np.float64]:
    """CIELAB under D65 of sRGB values 0..255, for an array of any shape ending in 3.

    The one copy of the formula (sRGB -> linear -> XYZ -> Lab): the colour auditor measures
    whole regions with it, the pixel embedder whole crops, and `rgb_to_lab` single colours, so a
    colour word, a painted region and a measured median are compared on the same scale."""
    values = np.asarray(rgb, dtype=np.float64)
    c = values.reshape(-1, 3) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _RGB_TO_XYZ.T / _WHITE
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    lab = np.stack(
        [116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1
    )
    return lab.reshape(values.shape)


def rgb_to_lab(rgb: Iterable[float]) -> tuple[float, float, float]:
    """sRGB (0..255) to CIELAB under D65, for one colour."""
    lightness, a, b = (float(v) for v in rgb_to_lab_array(list(rgb)))
    return (lightness, a, b)


def delta_e(lab1: tuple[float, float, float], lab2: tuple[float, float, float]) -> float:
    """CIE76 colour difference: about 2.3 is a just-noticeable difference, 50+ a different hue."""
    return math.dist(lab1, lab2)


def nearest_color_name(rgb: Iterable[float], vocabulary: Iterable[str] | None = None) -> str:
    """The colour word whose value is closest to `rgb` in Lab."""
    lab = rgb_to_lab(rgb)
    names = list(vocabulary) if vocabulary is not None else list(COLOR_RGB)
    return min(names, key=lambda n: delta_e(lab, rgb_to_lab(rgb_of(n))))
