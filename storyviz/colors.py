"""Colour words, their RGB values and perceptual distances.

The planner turns "red hair" into {'hair': 'red'}; the sketch renderer paints that word; the
offline auditor measures how far a region's colour is from it. Sharing one vocabulary here keeps
the three in agreement without any of them importing the others.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

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


def _srgb_to_linear(c: float) -> float:
    c = c / 255.0
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def rgb_to_lab(rgb: Iterable[float]) -> tuple[float, float, float]:
    """sRGB (0..255) to CIELAB under D65."""
    r, g, b = (_srgb_to_linear(float(v)) for v in rgb)
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return (116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz))


def delta_e(lab1: tuple[float, float, float], lab2: tuple[float, float, float]) -> float:
    """CIE76 colour difference: about 2.3 is a just-noticeable difference, 50+ a different hue."""
    return math.dist(lab1, lab2)


def nearest_color_name(rgb: Iterable[float], vocabulary: Iterable[str] | None = None) -> str:
    """The colour word whose value is closest to `rgb` in Lab."""
    lab = rgb_to_lab(rgb)
    names = list(vocabulary) if vocabulary is not None else list(COLOR_RGB)
    return min(names, key=lambda n: delta_e(lab, rgb_to_lab(rgb_of(n))))
