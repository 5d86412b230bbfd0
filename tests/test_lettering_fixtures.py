"""Lettering over many planned stories: off the faces and each other, inside its panel, tails too.

The stories go through the offline planner, so casts, shots, templates and dialogue are what a
real run letters; every page size and both reading orders are tried.
"""

from __future__ import annotations

import itertools

import pytest

from storyviz.agents.planner.rules.offline import OfflinePlanner
from storyviz.compose import page_placements
from storyviz.fonts import FontBook
from storyviz.geometry import intersection_area
from storyviz.layouts import page_geometry, render_size
from storyviz.lettering import Balloon, LetteringStyle, face_region, layout_lettering
from storyviz.schemas import (
    CastMember,
    DialogueLine,
    PageSize,
    PanelSpec,
    ReadingOrder,
    StoryPlan,
    StoryRequest,
)

STORIES = [
    "A shy girl named Mia, with red hair and a yellow raincoat, walks home in the rain. She finds "
    'a small silver robot dog under a bench. "Are you lost?" Mia asks. The robot dog beeps. '
    '"You can stay with me," she whispers. That night, Bolt\'s eyes glow as Mia falls asleep.',
    'Tom and Ana climb the mountain. "Look at the view!" Ana says. "WE MADE IT!" Tom shouts. '
    'Ana wonders if the storm will come. "Let\'s go down," Tom says. A raven watches them. '
    '"Caw," says the raven. They reach the hut at night.',
    "The old captain Rosa, with grey hair and a blue coat, sails into the harbour. "
    '"Drop the anchor!" she yells. The boy Kim runs along the deck. "Aye, captain!" Kim answers. '
    'A cat named Pepper jumps onto the rail. "Meow," Pepper says. Rosa laughs. "Even the cat '
    'wants to work." At dusk the lanterns glow. Kim thinks about home. "Tomorrow we sail north," '
    "Rosa whispers.",
    "小明是一个戴红帽子的男孩。他在公园里遇到了一只白猫。“你好！”小明说。猫叫了一声。"
    "“你饿了吗？”小明问。他们一起回家了。",
    "Маша, девочка с рыжими волосами, гуляет в лесу. Она находит маленького ежика. "
    "«Привет!» — говорит Маша. Ежик фыркает. «Пойдём домой», — шепчет Маша. "
    "Вечером они пьют чай.",
]
BOOK = FontBook.build()


def _tail_crosses(balloon: Balloon, faces: list[tuple[float, float, float, float]]) -> bool:
    """Whether the tail's centre line, from the balloon's centre to its tip, enters a face."""
    if balloon.tail_tip is None:
        return False
    (cx, cy), (tx, ty) = balloon.center, balloon.tail_tip
    for step in range(41):
        x, y = cx + (tx - cx) * step / 40, cy + (ty - cy) * step / 40
        if any(f[0] <= x <= f[2] and f[1] <= y <= f[3] for f in faces):
            return True
    return False


def _check(plan: StoryPlan) -> int:
    """Assert the lettering rules on every panel of `plan` (no lettering on a face or on other
    lettering, none outside the panel, no tail across a face); the number of balloons checked."""
    size = plan.page_size
    style = LetteringStyle.for_page(page_geometry(size).width, BOOK)
    balloons = 0
    for page in plan.pages:
        sizes = {pid: render_size(page.template, i, size) for i, pid in enumerate(page.panel_ids)}
        for placement in page_placements(plan, page, sizes, style):
            lettering = placement.lettering
            where = f"{plan.reading_order} {size} {placement.panel_id}"
            faces = [face_region(box) for box in placement.cast_boxes.values()]
            for rect in lettering.rects:
                assert all(intersection_area(rect, face) == 0 for face in faces), f"face: {where}"
                left, top, right, bottom = placement.slot
                assert left <= rect[0] and rect[2] <= right, f"outside: {where}"
                assert top <= rect[1] and rect[3] <= bottom, f"outside: {where}"
            for a, b in itertools.combinations(lettering.rects, 2):
                assert intersection_area(a, b) == 0, f"lettering overlaps: {where}"
            for balloon in lettering.balloons:
                assert not _tail_crosses(balloon, faces), f"tail across a face: {where}"
            balloons += len(lettering.balloons)
    return balloons


@pytest.mark.parametrize("order", ["ltr", "rtl"])
@pytest.mark.parametrize("size", ["A4", "Letter", "B5", "square"])
def test_planned_stories_keep_faces_and_lettering_clear(order: ReadingOrder, size: PageSize):
    balloons = 0
    for story, panels in itertools.product(STORIES, [None, 6, 9]):
        request = StoryRequest(story=story, reading_order=order, page_size=size, panels=panels)
        balloons += _check(OfflinePlanner().plan(request))
    assert balloons > 40  # the fixtures really carry dialogue


@pytest.mark.parametrize("count", [2, 3, 4])
@pytest.mark.parametrize("head", [0.1, 0.2, 0.25, 0.3])
def test_crowded_panels_still_keep_every_face_clear(count: int, head: float) -> None:
    """A small panel whose cast fills its width, heads near the top, with three long lines:
    a single greedy pass at full size leaves the last balloon no free place (measured), so the
    denser search and the smaller re-lettering have to find one."""
    width = 1 / count
    cast = [
        CastMember(
            character_id=f"c{i}",
            box=(i * width + 0.01, head + 0.03 * (i % 2), (i + 1) * width - 0.01, 0.98),
        )
        for i in range(count)
    ]
    lines = [
        DialogueLine(speaker_id="c0", text="We have to leave before the tide comes in!"),
        DialogueLine(speaker_id="c1", text="NOT WITHOUT THE MAP!", kind="shout"),
        DialogueLine(
            speaker_id=f"c{count - 1}",
            text="Maybe the map was never here at all...",
            kind="thought",
        ),
    ]
    panel = PanelSpec(id="p01", beat="b", cast=cast, dialogue=lines)
    area = (0.0, 0.0, 560.0, 380.0)
    boxes = {
        m.character_id: (m.box[0] * 560, m.box[1] * 380, m.box[2] * 560, m.box[3] * 380)
        for m in cast
    }
    layout = layout_lettering(panel, area, boxes, "ltr", LetteringStyle.for_page(1240, BOOK))
    assert len(layout.balloons) == 3
    for rect in layout.rects:
        assert all(intersection_area(rect, face_region(box)) == 0 for box in boxes.values())
        assert (
            area[0] <= rect[0] and rect[2] <= area[2] and area[1] <= rect[1] and rect[3] <= area[3]
        )
    for a, b in itertools.combinations(layout.rects, 2):
        assert intersection_area(a, b) == 0
