"""sRGB -> CIELAB is written once (storyviz.colors.rgb_to_lab_array); these pin its values.

The reference values were computed by the scalar formula that storyviz.colors had before the
array form replaced it (and that the colour auditor and the pixel embedder each had a copy of),
so a change of formula, constants or rounding shows up here at 1e-9.
"""

from __future__ import annotations

import numpy as np
import pytest

from storyviz.colors import rgb_to_lab, rgb_to_lab_array

BEFORE: dict[tuple[int, int, int], tuple[float, float, float]] = {
    (255, 255, 255): (100.00000386666655, -1.6666666158293708e-05, 6.666666463317483e-06),
    (0, 0, 0): (0.0, 0.0, 0.0),
    (255, 0, 0): (53.24079414130722, 80.09245959641109, 67.20319651585301),
    (0, 255, 0): (87.73472235279792, -86.1827164205346, 83.17932050269782),
    (0, 0, 255): (32.29701093285073, 79.18751984512221, -107.8601617541481),
    (128, 128, 128): (53.585015771669404, -9.997846384113274e-06, 3.9991385536453095e-06),
    (206, 38, 38): (45.154293747342614, 63.045750891880914, 43.29539222567173),
    (10, 10, 10): (2.7417482748313162, -1.181787931403555e-06, 4.7271517256142204e-07),
    (250, 248, 240): (97.53131139435074, -0.7136840938629097, 4.069520995902209),
    (1, 2, 3): (0.5098286713241187, -0.12244735324951073, -0.47059578878119734),
}


@pytest.mark.parametrize("rgb", list(BEFORE))
def test_one_colour_matches_the_former_formula(rgb: tuple[int, int, int]) -> None:
    assert rgb_to_lab(rgb) == pytest.approx(BEFORE[rgb], abs=1e-9)
    assert all(type(v) is float for v in rgb_to_lab(rgb))


def test_arrays_of_any_shape_match_the_former_formula() -> None:
    colours = list(BEFORE)
    expected = np.array([BEFORE[c] for c in colours])
    rows = rgb_to_lab_array(np.array(colours, dtype=np.uint8))  # (N, 3), as the auditor measures
    assert rows.shape == (len(colours), 3)
    assert np.allclose(rows, expected, rtol=0, atol=1e-9)
    image = rgb_to_lab_array(np.array(colours[:8], dtype=np.float64).reshape(2, 4, 3))  # a crop
    assert image.shape == (2, 4, 3)
    assert np.allclose(image.reshape(-1, 3), expected[:8], rtol=0, atol=1e-9)
    assert rgb_to_lab_array(colours[2]).shape == (3,)
