"""Where the lettering will go, known before a panel is drawn (RenderRequest.text_regions).

A model that can keep regions free for text (DiffSensei's dialog boxes) is told where storyviz
will letter the caption and balloons; these tests hold that promise against the page the
composer actually letters."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from storyviz.agents.render_requests import panel_request, panel_size
from storyviz.compose import compose_page, panel_text_regions
from storyviz.layouts import placed_slot_pixels
from storyviz.lettering import BALLOON_FILL, CAPTION_FILL
from storyviz.schemas import (
    CastMember,
    CharacterSheet,
    DialogueLine,
    PageSpec,
    PanelSpec,
    StoryPlan,
)

CHARACTERS = [
    CharacterSheet(id="mia", name="Mia", description="a girl"),
    CharacterSheet(id="bolt", name="Bolt", description="a robot dog"),
]


def _plan(template: str = "stack-2") -> StoryPlan:
    talking = PanelSpec(
        id="p01",
        beat="Mia meets Bolt",
        caption="Meanwhile, at the harbour, the rain had stopped.",
        cast=[
            CastMember(character_id="mia", box=(0.08, 0.45, 0.42, 0.98)),
            CastMember(character_id="bolt", box=(0.58, 0.6, 0.92, 0.98)),
        ],
        dialogue=[
            DialogueLine(speaker_id="mia", text="Who are you, little one?"),
            DialogueLine(speaker_id="bolt", text="BZZT! WOOF!", kind="shout"),
        ],
    )
    quiet = PanelSpec(id="p02", beat="rain", cast=[])
    return StoryPlan(
        title="Test",
        style="sketch",
        characters=CHARACTERS,
        panels=[talking, quiet],
        pages=[PageSpec(index=1, template=template, panel_ids=["p01", "p02"])],
    )


def _page_rect(box: tuple[float, ...], slot: tuple[int, int, int, int]) -> tuple[int, ...]:
    left, top, right, bottom = slot
    w, h = right - left, bottom - top
    x0, y0, x1, y1 = box
    return (round(left + x0 * w), round(top + y0 * h), round(left + x1 * w), round(top + y1 * h))


@pytest.mark.parametrize("template", ["stack-2", "grid-2x2"])
def test_text_regions_are_where_the_page_letters_its_caption_and_balloons(template: str) -> None:
    plan = _plan(template)
    size = panel_size(plan, "p01", 512)
    regions = panel_text_regions(plan, "p01", size)
    assert len(regions) == 3  # the caption and two balloons
    page_spec = plan.pages[0]
    colour = (30, 90, 200)
    images = {pid: Image.new("RGB", panel_size(plan, pid, 512), colour) for pid in ("p01", "p02")}
    page = np.asarray(compose_page(plan, page_spec, images))
    slot = placed_slot_pixels(page_spec.template, 0, plan.page_size, plan.reading_order)
    for box in regions:
        assert 0.0 <= box[0] < box[2] <= 1.0 and 0.0 <= box[1] < box[3] <= 1.0
        x0, y0, x1, y1 = _page_rect(box, slot)
        inside = page[y0:y1, x0:x1].reshape(-1, 3)
        # Lettering paints paper-white shapes and ink where the panel was solid blue.
        lettered = np.mean(np.any(inside != colour, axis=1))
        assert lettered > 0.5, (box, lettered)
        fills = np.all(inside == BALLOON_FILL, axis=1) | np.all(inside == CAPTION_FILL, axis=1)
        assert np.mean(fills) > 0.3
    # Outside every region the panel keeps its own colour (a strip below the balloons).
    lowest = max(box[3] for box in regions)
    if lowest < 0.9:
        x0, y0, x1, y1 = _page_rect((0.0, lowest + 0.02, 1.0, 1.0), slot)
        strip = page[y0 + 4 : y1 - 4, x0 + 4 : x1 - 4].reshape(-1, 3)
        assert np.mean(np.all(strip == colour, axis=1)) > 0.6


def test_a_panel_without_text_has_no_regions_and_requests_carry_them() -> None:
    plan = _plan()
    assert panel_text_regions(plan, "p02", panel_size(plan, "p02", 512)) == []
    request = panel_request(plan, "p01", seed=1, version=1, long_side=512, references={})
    assert request.text_regions == panel_text_regions(plan, "p01", (request.width, request.height))
    assert request.text_regions
    assert (
        panel_request(plan, "p02", seed=1, version=1, long_side=512, references={}).text_regions
        == []
    )
