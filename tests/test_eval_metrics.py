"""The formulas of `storyviz eval`, against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from storyviz.colors import rgb_to_lab
from storyviz.evaluators.eval_metrics import copy_paste, mean, mean_pairwise, onstage_count_score
from storyviz.evaluators.identity.embed import build_embedder, cosine
from storyviz.evaluators.identity.pixels import PixelEmbedder


@pytest.mark.parametrize(
    ("detected", "expected", "score"),
    [
        (2, 2, 100.0),
        (0, 0, 100.0),
        (1, 2, 100 * math.exp(-1 / 2)),  # 60.6531
        (3, 1, 100 * math.exp(-2)),  # 13.5335
        (1, 0, 0.0),  # exp(-1 / 1e-6)
    ],
)
def test_onstage_count_matching(detected: int, expected: int, score: float) -> None:
    assert onstage_count_score(detected, expected) == pytest.approx(score, abs=1e-3)


def test_mean_pairwise_is_the_mean_cosine_over_unordered_pairs() -> None:
    a, b, c = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([1.0, 1.0])
    # cos(a, b) = 0, cos(a, c) = cos(b, c) = 1 / sqrt(2)
    assert mean_pairwise([a, b, c]) == pytest.approx((0 + 2 / math.sqrt(2)) / 3, abs=1e-4)
    assert mean_pairwise([a]) is None and mean([]) is None


def test_copy_paste_is_one_minus_the_mean_absolute_pixel_difference() -> None:
    black = Image.new("RGB", (30, 20), (0, 0, 0))
    assert copy_paste(black, black) == 1.0
    assert copy_paste(black, Image.new("RGB", (50, 50), (255, 255, 255))) == 0.0
    assert copy_paste(black, Image.new("RGB", (8, 8), (128, 128, 128))) == pytest.approx(
        1 - 128 / 255, abs=1e-4
    )


def test_pixel_embedding_of_black_and_white_by_hand() -> None:
    """Different histogram bins (cosine 0); grid cells (0, .5, .5) and (1, .5, .5): cosine
    0.5 / sqrt(0.5 * 1.5). The vector weighs both halves equally."""
    vectors = PixelEmbedder().embed(
        [Image.new("RGB", (40, 40), (0, 0, 0)), Image.new("RGB", (40, 40), (255, 255, 255))]
    )
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)
    white = rgb_to_lab((255, 255, 255))
    grid_white = np.array([white[0] / 100, (white[1] + 128) / 256, (white[2] + 128) / 256])
    grid_black = np.array([0.0, 0.5, 0.5])
    expected = 0.5 * 0.0 + 0.5 * cosine(grid_black, grid_white)
    assert expected == pytest.approx(0.5 * 0.5 / math.sqrt(0.75), abs=1e-3)
    assert cosine(vectors[0], vectors[1]) == pytest.approx(expected, abs=1e-4)


def test_pixel_embedding_compares_figures_not_backgrounds() -> None:
    """A red figure on paper (a reference) and on a blue street (a panel crop) share their
    foreground; a green figure on the same street does not. Border colours are left out."""

    def figure(background: tuple[int, int, int], colour: tuple[int, int, int]) -> Image.Image:
        image = Image.new("RGB", (40, 40), background)
        image.paste(colour, (12, 8, 28, 36))
        return image

    reference = figure((244, 242, 236), (210, 30, 30))
    same, recoloured = figure((40, 60, 160), (210, 30, 30)), figure((40, 60, 160), (30, 170, 60))
    ref, a, b = PixelEmbedder().embed([reference, same, recoloured])
    histogram = slice(0, 144)
    assert cosine(ref[histogram], a[histogram]) > 0.95  # only edge pixels blend differently
    assert cosine(ref[histogram], b[histogram]) < 0.1
    assert cosine(ref, a) > cosine(ref, b) + 0.4
    plain = PixelEmbedder().embed([Image.new("RGB", (40, 40), (40, 60, 160))])[0]
    assert np.linalg.norm(plain[histogram]) > 0  # all background: the plain histogram


def test_no_embedder_means_the_pixel_embedder() -> None:
    assert build_embedder(None).name == "pixel"
    assert build_embedder("pixel").name == "pixel"
