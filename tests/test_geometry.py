"""storyviz.geometry: the box type, how boxes combine, and the three named pixel roundings.

Each rounding is pinned on edge values (exact pixel boundaries, halves, slivers thinner than a
pixel, boxes past the image's edge), because the drawn masks, the colour auditor's samples and
the identity crops depend on which pixels each one keeps.
"""

from __future__ import annotations

import pytest

from storyviz.geometry import (
    area,
    as_box,
    at_least_one_pixel,
    clamp,
    grown,
    intersection,
    intersection_area,
    iou,
    ordered,
    overlaps,
    pixel_edges,
    pixels_covering,
    pixels_inside,
    pixels_nearest,
    rounded,
    scaled,
    union,
)

# -- the three roundings ------------------------------------------------------------------------


def test_on_pixel_boundaries_all_three_roundings_agree() -> None:
    box = (0.2, 0.25, 0.6, 0.75)
    expected = (20, 20, 60, 60)
    assert pixels_nearest(box, 100, 80) == expected
    assert pixels_inside(box, 100, 80) == expected
    assert pixels_covering(box, 100, 80) == expected


def test_between_boundaries_inside_shrinks_covering_grows_nearest_rounds() -> None:
    box = (0.105, 0.1, 0.5, 0.499)  # x0 = 10.5 px, y1 = 49.9 px
    assert pixels_inside(box, 100, 100) == (11, 10, 50, 49)
    assert pixels_covering(box, 100, 100) == (10, 10, 50, 50)
    assert pixels_nearest(box, 100, 100) == (10, 10, 50, 50)


def test_nearest_rounds_halves_to_even_like_python() -> None:
    assert pixels_nearest((0.125, 0.375, 0.5, 0.5), 100, 100)[:2] == (12, 38)  # 12.5, 37.5


def test_slivers_thinner_than_a_pixel_keep_one_pixel() -> None:
    sliver = (0.501, 0.501, 0.502, 0.502)
    assert pixels_inside(sliver, 100, 100) == (50, 50, 51, 51)  # the pixel nearest its centre
    assert pixels_nearest(sliver, 100, 100) == (50, 50, 51, 51)  # one past its start
    assert pixels_covering(sliver, 100, 100) == (50, 50, 51, 51)  # the one it touches


def test_a_box_of_no_area_on_a_boundary_covers_nothing() -> None:
    assert pixels_covering((0.5, 0.5, 0.5, 0.5), 100, 100) == (50, 50, 50, 50)


def test_boxes_past_the_edge_are_clamped_to_the_image() -> None:
    box = (-0.2, -0.1, 1.3, 1.05)
    assert pixels_nearest(box, 50, 40) == (0, 0, 50, 40)
    assert pixels_inside(box, 50, 40) == (0, 0, 50, 40)
    assert pixels_covering(box, 50, 40) == (0, 0, 50, 40)


def test_nearest_takes_corners_in_either_order() -> None:
    assert pixels_nearest((0.6, 0.75, 0.2, 0.25), 100, 80) == (20, 20, 60, 60)


def test_a_sliver_on_the_far_edge_stays_inside_the_image() -> None:
    assert pixels_nearest((1.0, 1.0, 1.0, 1.0), 10, 10) == (10, 10, 10, 10)
    assert pixels_inside((0.999, 0.999, 1.0, 1.0), 10, 10) == (9, 9, 10, 10)


def test_pixel_edges_round_start_and_end_edges_as_named() -> None:
    box = (0.126, 0.126, 0.874, 0.874)  # 12.6 and 87.4 px
    assert pixel_edges(box, 100, 100, "down", "nearest") == (12, 12, 87, 87)
    assert pixel_edges(box, 100, 100, "up", "down") == (13, 13, 87, 87)
    assert pixel_edges(box, 100, 100, "down", "up") == (12, 12, 88, 88)
    assert pixel_edges((-0.5, -0.5, 2.0, 2.0), 100, 100, "down", "up") == (0, 0, 100, 100)


def test_at_least_one_pixel_grows_only_empty_boxes() -> None:
    assert at_least_one_pixel((5, 5, 5, 4), 10, 10) == (5, 5, 6, 6)
    assert at_least_one_pixel((2, 3, 7, 8), 10, 10) == (2, 3, 7, 8)
    assert at_least_one_pixel((10, 10, 10, 10), 10, 10) == (10, 10, 10, 10)


# -- normalised boxes ---------------------------------------------------------------------------


def test_scaled_is_exact_and_unrounded() -> None:
    assert scaled((0.1, 0.2, 0.55, 0.9), 200, 100) == (0.1 * 200, 0.2 * 100, 0.55 * 200, 0.9 * 100)


def test_clamp_rounded_ordered_grown() -> None:
    assert clamp((-0.5, 0.25, 1.5, 1.0)) == (0.0, 0.25, 1.0, 1.0)
    assert rounded((0.123456, 0.5, 0.99999, 1 / 3)) == (0.1235, 0.5, 1.0, 0.3333)
    assert ordered((0.8, 0.9, 0.2, 0.1)) == (0.2, 0.1, 0.8, 0.9)
    assert grown((0.2, 0.2, 0.6, 0.4), 0.25) == pytest.approx((0.1, 0.15, 0.7, 0.45))


def test_as_box_refuses_a_list_of_the_wrong_length() -> None:
    assert as_box([0.1, 0.2, 0.3, 0.4]) == (0.1, 0.2, 0.3, 0.4)
    with pytest.raises(ValueError, match=r"a box needs 4 numbers \[x0, y0, x1, y1\], got \[0.1\]"):
        as_box([0.1])


# -- combining boxes ----------------------------------------------------------------------------


def test_union_holds_every_box_and_needs_one() -> None:
    assert union([(0.1, 0.4, 0.3, 0.5), (0.2, 0.1, 0.6, 0.45)]) == (0.1, 0.1, 0.6, 0.5)
    assert union([(0.1, 0.2, 0.3, 0.4)]) == (0.1, 0.2, 0.3, 0.4)
    with pytest.raises(ValueError):
        union([])


def test_intersection_of_overlapping_touching_and_apart_boxes() -> None:
    assert intersection((0.0, 0.0, 0.5, 0.5), (0.25, 0.25, 1.0, 1.0)) == (0.25, 0.25, 0.5, 0.5)
    assert intersection((0.0, 0.0, 0.5, 0.5), (0.5, 0.0, 1.0, 0.5)) is None  # touching
    assert intersection((0.0, 0.0, 0.2, 0.2), (0.5, 0.5, 1.0, 1.0)) is None
    assert intersection((0, 0, 10, 10), (5, 2, 20, 8)) == (5, 2, 10, 8)  # pixel boxes too


def test_intersection_area_and_overlaps() -> None:
    assert intersection_area((0.0, 0.0, 0.5, 0.5), (0.25, 0.25, 1.0, 1.0)) == 0.0625
    assert intersection_area((0.0, 0.0, 0.5, 0.5), (0.5, 0.5, 1.0, 1.0)) == 0.0
    assert overlaps((0, 0, 10, 10), (9, 9, 20, 20))
    assert not overlaps((0, 0, 10, 10), (10, 0, 20, 10))  # sharing an edge is not overlapping


def test_iou_of_same_disjoint_nested_and_degenerate_boxes() -> None:
    box = (0.1, 0.1, 0.5, 0.5)
    assert iou(box, box) == 1.0
    assert iou(box, (0.6, 0.6, 0.9, 0.9)) == 0.0
    assert iou((0.0, 0.0, 1.0, 1.0), (0.0, 0.0, 0.5, 0.5)) == 0.25
    assert iou((0.0, 0.0, 0.5, 1.0), (0.25, 0.0, 0.75, 1.0)) == pytest.approx(1 / 3)
    assert iou((0.3, 0.3, 0.3, 0.3), (0.3, 0.3, 0.3, 0.3)) == 0.0  # no area: no union either
    assert area((0.1, 0.2, 0.5, 0.7)) == pytest.approx(0.2)
