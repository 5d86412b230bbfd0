"""The page composer and its lettering: slots, reading order, balloons that keep faces clear."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from storyviz.compose import MISSING_FILL, PAPER, compose_page, compose_pages
from storyviz.geometry import intersection_area
from storyviz.layouts import (
    PAGE_PIXELS,
    TEMPLATES,
    WIDE_SHOTS,
    choose_template,
    placed_slot_pixels,
    slot_boxes,
    slot_pixels,
)
from storyviz.lettering import (
    ELLIPSIS,
    FACE_FRACTION,
    LetteringStyle,
    face_region,
    fit_text,
    layout_lettering,
    load_font,
)
from storyviz.schemas import (
    CastMember,
    CharacterSheet,
    DialogueLine,
    PageSize,
    PageSpec,
    PanelSpec,
    ReadingOrder,
    StoryPlan,
)

COLORS = [(200, 60, 60), (60, 160, 60), (60, 90, 200), (200, 170, 40), (150, 60, 170)]
CHARACTERS = [
    CharacterSheet(id="mia", name="Mia", description="a girl"),
    CharacterSheet(id="bolt", name="Bolt", description="a robot dog"),
    CharacterSheet(id="gran", name="Gran", description="grandmother, not in every panel"),
]
LONG_LINE = " ".join(["Blah blah, this line of dialogue keeps going and going."] * 20)


def _plan(
    panels: list[PanelSpec],
    pages: list[tuple[str, list[str]]],
    *,
    reading_order: ReadingOrder = "ltr",
    page_size: PageSize = "A4",
) -> StoryPlan:
    return StoryPlan(
        title="Test",
        style="sketch",
        reading_order=reading_order,
        page_size=page_size,
        characters=CHARACTERS,
        panels=panels,
        pages=[
            PageSpec(index=i, template=template, panel_ids=ids)
            for i, (template, ids) in enumerate(pages, start=1)
        ],
    )


def _bare_panels(count: int) -> list[PanelSpec]:
    return [PanelSpec(id=f"p{i + 1:02d}", beat="beat") for i in range(count)]


def _solid_images(plan: StoryPlan) -> dict[str, Image.Image]:
    """Each panel a distinct solid colour, exactly its slot's size (so boxes map 1:1)."""
    images = {}
    for page in plan.pages:
        for index, panel_id in enumerate(page.panel_ids):
            left, top, right, bottom = slot_pixels(page.template, index, plan.page_size)
            color = COLORS[int(panel_id[1:]) % len(COLORS)]
            images[panel_id] = Image.new("RGB", (right - left, bottom - top), color)
    return images


def _box_pixels(box: tuple[float, float, float, float], slot: tuple[int, int, int, int]):
    left, top, right, bottom = slot
    w, h = right - left, bottom - top
    x0, y0, x1, y1 = box
    return left + x0 * w, top + y0 * h, left + x1 * w, top + y1 * h


def _face_pixels(page: Image.Image, page_box: tuple[float, float, float, float]) -> np.ndarray:
    x0, y0, x1, y1 = page_box
    face_bottom = y0 + FACE_FRACTION * (y1 - y0)
    crop = page.crop((math.ceil(x0), math.ceil(y0), math.floor(x1), math.floor(face_bottom)))
    return np.asarray(crop).reshape(-1, 3)


@pytest.mark.parametrize("page_size", list(PAGE_PIXELS))
def test_one_page_per_page_spec_at_the_page_size(page_size: PageSize) -> None:
    plan = _plan(
        _bare_panels(5),
        [("grid-2x2", ["p01", "p02", "p03", "p04"]), ("single", ["p05"])],
        page_size=page_size,
    )
    pages = compose_pages(plan, _solid_images(plan))
    assert len(pages) == 2
    assert all(page.size == PAGE_PIXELS[page_size] for page in pages)
    assert all(page.mode == "RGB" for page in pages)


@pytest.mark.parametrize(("reading_order", "first_at"), [("ltr", 0.3), ("rtl", 0.7)])
def test_reading_order_puts_the_first_panel_top_left_or_top_right(
    reading_order: ReadingOrder, first_at: float
) -> None:
    plan = _plan(
        _bare_panels(4), [("grid-2x2", ["p01", "p02", "p03", "p04"])], reading_order=reading_order
    )
    page = compose_page(plan, plan.pages[0], _solid_images(plan))
    width, height = page.size
    first, second = COLORS[1], COLORS[2]
    assert page.getpixel((int(width * first_at), int(height * 0.3))) == first
    assert page.getpixel((int(width * (1 - first_at)), int(height * 0.3))) == second
    assert page.getpixel((int(width * first_at), int(height * 0.7))) == COLORS[3]


def test_rtl_slots_mirror_ltr_slots() -> None:
    for index in range(4):
        left, top, right, bottom = placed_slot_pixels("grid-2x2", index, "A4", "ltr")
        mirrored = placed_slot_pixels("grid-2x2", index, "A4", "rtl")
        assert mirrored == (PAGE_PIXELS["A4"][0] - right, top, PAGE_PIXELS["A4"][0] - left, bottom)


def _talking_panel() -> PanelSpec:
    return PanelSpec(
        id="p01",
        beat="Mia meets Bolt",
        caption="Meanwhile, at the harbour, the rain had finally stopped.",
        cast=[
            CastMember(character_id="mia", box=(0.08, 0.45, 0.42, 0.98)),
            CastMember(character_id="bolt", box=(0.58, 0.6, 0.92, 0.98)),
        ],
        dialogue=[
            DialogueLine(speaker_id="mia", text="Who are you, little one?"),
            DialogueLine(speaker_id="bolt", text="BZZT! WOOF!", kind="shout"),
            DialogueLine(speaker_id="mia", text="I think he is lost...", kind="thought"),
        ],
    )


def test_lettering_keeps_faces_clear_when_there_is_room() -> None:
    panel = _talking_panel()
    plan = _plan([panel], [("single", ["p01"])])
    page = compose_page(plan, plan.pages[0], _solid_images(plan))
    slot = slot_pixels("single", 0, "A4")
    color = COLORS[1]
    for member in panel.cast:
        face = _face_pixels(page, _box_pixels(member.box, slot))
        assert face.size and (face == color).all(), f"lettering covers {member.character_id}"
    inside = np.asarray(page.crop(slot)).reshape(-1, 3)
    assert ((inside == PAPER).all(axis=1)).sum() > 10_000  # balloons were drawn
    assert ((inside < 40).all(axis=1)).sum() > 1_000  # with ink: outlines and text


def _layout(panel: PanelSpec, area=(0.0, 0.0, 800.0, 600.0), order: ReadingOrder = "ltr"):
    boxes = {
        m.character_id: (
            area[0] + m.box[0] * (area[2] - area[0]),
            area[1] + m.box[1] * (area[3] - area[1]),
            area[0] + m.box[2] * (area[2] - area[0]),
            area[1] + m.box[3] * (area[3] - area[1]),
        )
        for m in panel.cast
    }
    return layout_lettering(panel, area, boxes, order, LetteringStyle.for_page(1240)), boxes


def _distance(point: tuple[float, float], rect: tuple[float, float, float, float]) -> float:
    dx = max(rect[0] - point[0], 0.0, point[0] - rect[2])
    dy = max(rect[1] - point[1], 0.0, point[1] - rect[3])
    return math.hypot(dx, dy)


def test_each_tail_points_at_its_speaker() -> None:
    """Each tip stops just off its speaker's face (above it, or beside it for a balloon at the
    side), nearer that face than any other and than its own balloon."""
    layout, boxes = _layout(_talking_panel())
    gap = LetteringStyle.for_page(1240).font_size * 0.5
    assert [b.line.speaker_id for b in layout.balloons] == ["mia", "bolt", "mia"]
    for balloon in layout.balloons:
        tip = balloon.tail_tip
        assert tip is not None
        face = face_region(boxes[balloon.line.speaker_id])
        other = face_region(boxes["bolt" if balloon.line.speaker_id == "mia" else "mia"])
        assert 0 < _distance(tip, face) <= 2 * gap + 1  # close, never on the face
        assert _distance(tip, face) < _distance(tip, other)
        assert _distance(tip, face) < _distance(balloon.center, face)


def test_tail_is_drawn_toward_the_speaker_on_the_page() -> None:
    panel = PanelSpec(
        id="p01",
        beat="Bolt speaks",
        cast=[CastMember(character_id="bolt", box=(0.55, 0.6, 0.9, 0.98))],
        dialogue=[DialogueLine(speaker_id="bolt", text="Woof.")],
    )
    plan = _plan([panel], [("single", ["p01"])])
    page = np.asarray(compose_page(plan, plan.pages[0], _solid_images(plan)))
    slot = slot_pixels("single", 0, "A4")
    x0, y0, x1, y1 = (round(v) for v in _box_pixels(panel.cast[0].box, slot))
    face_bottom = round(y0 + FACE_FRACTION * (y1 - y0))
    ring = page[y0 - 40 : face_bottom, x0 - 40 : x1 + 40].copy()
    ring[40:, 40:-40] = COLORS[1]  # blank out the face itself: only its surroundings count
    assert (ring < 40).all(axis=2).any(), "no ink (the tail) next to the speaker's face"
    far_away = page[slot[1] + 200 : slot[1] + 260, slot[0] + 40 : slot[0] + 100].reshape(-1, 3)
    assert (far_away == COLORS[1]).all()


def test_lines_without_a_visible_speaker_get_no_tail() -> None:
    panel = PanelSpec(
        id="p01",
        beat="b",
        cast=[CastMember(character_id="mia", box=(0.3, 0.5, 0.7, 0.98))],
        dialogue=[
            DialogueLine(speaker_id=None, text="Far away, a bell rang."),
            DialogueLine(speaker_id="gran", text="Mia! Dinner!", kind="shout"),  # off panel
        ],
    )
    layout, _ = _layout(panel)
    assert [b.tail_tip for b in layout.balloons] == [None, None]


def test_lettering_never_overlaps_and_the_caption_starts_the_panel() -> None:
    for order in ("ltr", "rtl"):
        layout, _ = _layout(_talking_panel(), order=order)
        rects = layout.rects
        assert len(rects) == 4
        for i, a in enumerate(rects):
            for b in rects[i + 1 :]:
                assert intersection_area(a, b) == 0
        caption = layout.caption
        assert caption is not None
        at_start = caption.box[0] == 0.0 if order == "ltr" else caption.box[2] == 800.0
        assert at_start and caption.box[1] == 0.0


@pytest.mark.parametrize("order", ["ltr", "rtl"])
def test_balloons_follow_the_reading_order(order: ReadingOrder) -> None:
    """Mia (left) speaks first: beside Bolt's balloon in ltr, above it in rtl."""
    panel = PanelSpec(
        id="p01",
        beat="b",
        cast=[
            CastMember(character_id="mia", box=(0.05, 0.5, 0.4, 0.98)),
            CastMember(character_id="bolt", box=(0.6, 0.5, 0.95, 0.98)),
        ],
        dialogue=[
            DialogueLine(speaker_id="mia", text="Hello there!"),
            DialogueLine(speaker_id="bolt", text="Beep."),
        ],
    )
    layout, _ = _layout(panel, order=order)
    first, second = layout.balloons
    (fx, fy), (sx, sy) = first.center, second.center
    first_height = first.bounds[3] - first.bounds[1]
    if order == "ltr":
        assert sy >= fy - first_height / 2 and sx > fx
    else:
        assert sy - fy >= first_height / 2  # a later row: it is read after the first


def test_long_dialogue_wraps_shrinks_and_stays_inside_the_panel() -> None:
    panel = PanelSpec(
        id="p01",
        beat="b",
        cast=[CastMember(character_id="mia", box=(0.3, 0.55, 0.7, 0.98))],
        dialogue=[DialogueLine(speaker_id="mia", text=LONG_LINE)],
    )
    area = (100.0, 50.0, 640.0, 450.0)
    layout, _ = _layout(panel, area)
    (balloon,) = layout.balloons
    style = LetteringStyle.for_page(1240)
    assert len(balloon.text.lines) > 3
    assert balloon.text.font.size < style.font_size
    left, top, right, bottom = balloon.bounds
    assert area[0] <= left and right <= area[2] and area[1] <= top and bottom <= area[3]

    plan = _plan([panel], [("grid-2x2", ["p01"])])
    page = np.asarray(compose_page(plan, plan.pages[0], {}))
    slot = placed_slot_pixels("grid-2x2", 0, "A4")
    outside = np.concatenate(
        [
            page[slot[1] : slot[3], slot[2] + 1 :].reshape(-1, 3),
            page[slot[3] + 1 : slot[3] + 40, slot[0] : slot[2]].reshape(-1, 3),
        ]
    )
    assert (outside == PAPER).all(), "lettering spilled out of its panel"


def test_text_that_cannot_fit_is_cut_with_an_ellipsis() -> None:
    block = fit_text(LONG_LINE, max_width=200, max_height=80, size=22, min_size=12)
    assert block.truncated and block.lines[-1].endswith(ELLIPSIS)
    assert block.height <= 80 and block.width <= 200
    assert block.font.size == 12


def test_a_word_wider_than_the_box_is_broken_not_overflowing() -> None:
    block = fit_text("Supercalifragilisticexpialidocious", 60, 400, size=20, min_size=20)
    assert len(block.lines) > 1 and block.width <= 60


def test_missing_image_draws_a_marked_empty_panel() -> None:
    panel = _talking_panel()
    plan = _plan([panel, *_bare_panels(2)[1:]], [("stack-2", ["p01", "p02"])])
    images = _solid_images(plan)
    del images["p01"]
    page = compose_page(plan, plan.pages[0], images)
    left, top, right, bottom = slot_pixels("stack-2", 0, "A4")
    region = np.asarray(page.crop((left, top, right, bottom))).reshape(-1, 3)
    assert ((region == MISSING_FILL).all(axis=1)).mean() > 0.3
    assert ((region < 40).all(axis=1)).sum() > 500  # its label and lettering are still there
    second = slot_pixels("stack-2", 1, "A4")
    assert page.getpixel(((second[0] + second[2]) // 2, (second[1] + second[3]) // 2)) == COLORS[2]


def test_transparent_renders_sit_on_paper() -> None:
    plan = _plan(_bare_panels(1), [("single", ["p01"])])
    page = compose_page(plan, plan.pages[0], {"p01": Image.new("RGBA", (300, 400), (0, 0, 0, 0))})
    assert page.getpixel((page.width // 2, page.height // 2)) == PAPER


def test_composition_is_deterministic() -> None:
    panel = _talking_panel()
    plan = _plan([panel, *_bare_panels(3)[1:]], [("wide-top-3", ["p01", "p02", "p03"])])
    images = _solid_images(plan)
    first = compose_pages(plan, images)[0].tobytes()
    second = compose_pages(plan, images)[0].tobytes()
    assert first == second


def test_fonts_are_cached_truetype_when_available() -> None:
    font = load_font(20)
    assert font is load_font(20)
    assert font.getlength("Hello") > 0


@pytest.mark.parametrize(
    "shots",
    [
        ["wide", "medium", "medium"],
        ["medium", "medium", "establishing"],
        ["establishing", "medium", "close-up", "medium"],
        ["medium", "medium", "wide", "medium", "medium"],
        ["establishing", "medium", "medium", "medium", "medium", "medium"],
        ["medium", "medium", "medium", "medium", "medium", "wide"],
    ],
)
def test_wide_shots_get_full_width_slots(shots: list[str]) -> None:
    template = choose_template(shots)
    slots = TEMPLATES[template]
    assert len(slots) == len(shots)
    for shot, (x0, _, x1, _) in zip(shots, slots, strict=True):
        if shot in WIDE_SHOTS:
            assert x1 - x0 >= 0.99, f"{shot} got a narrow slot in {template}"


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_every_template_tiles_its_page_and_rtl_mirrors_it(template: str) -> None:
    ltr, rtl = slot_boxes(template, "ltr"), slot_boxes(template, "rtl")
    assert sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in ltr) == pytest.approx(1.0)
    for (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) in zip(ltr, rtl, strict=True):
        assert (bx0, by0, bx1, by1) == pytest.approx((1 - ax1, ay0, 1 - ax0, ay1))
    assert rtl[0][2] == pytest.approx(1.0) and rtl[0][1] == 0.0  # manga starts top right
