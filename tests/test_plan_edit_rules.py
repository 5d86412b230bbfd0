"""The offline planner's rule-based plan edits: each phrase form, and saying "not understood"."""

from __future__ import annotations

import inspect

import pytest
from conftest import MIA_STORY

from storyviz.agents.planner.edit.refs import NoSuchPanel
from storyviz.agents.planner.edit.rules import EditNotUnderstood
from storyviz.agents.planner.llm.planner import LLMPlanner
from storyviz.agents.planner.rules.offline import OfflinePlanner
from storyviz.errors import InputError
from storyviz.schemas import StoryPlan, StoryRequest


@pytest.fixture(scope="module")
def plan() -> StoryPlan:
    return OfflinePlanner().plan(StoryRequest(story=MIA_STORY))


def edit(plan: StoryPlan, instruction: str):  # type: ignore[no-untyped-def]
    return OfflinePlanner().edit_plan(plan, instruction, seed=0)


def ids(plan: StoryPlan) -> list[str]:
    return [p.id for p in plan.panels]


def test_the_demo_plan_is_what_these_tests_assume(plan: StoryPlan) -> None:
    assert ids(plan) == [f"p0{n}" for n in range(1, 9)]
    assert plan.panel("p03").time_of_day == "day"
    assert [c.name for c in plan.characters] == ["Mia", "Bolt"]


def test_same_interface_as_the_llm_planner() -> None:
    offline = inspect.signature(OfflinePlanner.edit_plan)
    llm = inspect.signature(LLMPlanner.edit_plan)
    assert list(offline.parameters) == list(llm.parameters)
    assert offline.parameters["seed"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize(
    ("instruction", "field", "value"),
    [
        ("make panel 3 at night", "time_of_day", "night"),
        ("Make the third panel snowy.", "weather", "snow"),
        ("panel 3 in the park", "setting", "park"),
        ("make it clear in panel 3", "weather", ""),
        ("please make p03 a wide shot", "shot", "wide"),
    ],
)
def test_scene_edits_change_only_that_panel(
    plan: StoryPlan, instruction: str, field: str, value: str
) -> None:
    change = edit(plan, instruction)
    assert change.changed_panels == ["p03"]
    assert change.added == change.removed == change.changed_characters == []
    assert getattr(change.plan.panel("p03"), field) == value
    assert [p for p in change.plan.panels if p.id != "p03"] == [
        p for p in plan.panels if p.id != "p03"
    ]
    assert change.plan.pages == plan.pages


def test_a_night_panel_says_so_in_its_scene_line(plan: StoryPlan) -> None:
    panel = edit(plan, "make panel 3 at night").plan.panel("p03")
    assert panel.scene == "rainy street on the way home at night"


def test_a_look_change_holds_for_every_panel_of_that_character(plan: StoryPlan) -> None:
    change = edit(plan, "Give Bolt a red collar from now on")
    bolt = change.plan.character("bolt")
    assert "red collar" in bolt.attributes.accessories
    assert bolt.attributes.colors["accessory"] == "red"
    assert "red collar" in bolt.description and "red collar" in bolt.reference_prompt
    assert bolt.seed == plan.character("bolt").seed
    assert change.changed_characters == ["bolt"]
    with_bolt = [p.id for p in plan.panels if any(m.character_id == "bolt" for m in p.cast)]
    assert change.changed_panels == with_bolt
    assert "p01" not in change.changed_panels  # Mia alone: drawn as before


def test_the_green_scarf(plan: StoryPlan) -> None:
    change = edit(plan, "Mia wears a green scarf from now on")
    mia = change.plan.character("mia")
    assert mia.attributes.accessories == ["green scarf"]
    assert mia.attributes.colors == {"hair": "red", "outfit": "yellow", "accessory": "green"}
    assert mia.description.endswith("with a green scarf")
    assert change.changed_characters == ["mia"] and len(change.changed_panels) == 8
    off = edit(change.plan, "Mia takes off her scarf")
    assert off.plan.character("mia").attributes.accessories == []
    assert "scarf" not in off.plan.character("mia").description


@pytest.mark.parametrize(
    ("instruction", "part", "colour", "text"),
    [
        ("make Mia's hair blue", "hair", "blue", "blue hair"),
        ("Mia's raincoat is green now", "outfit", "green", "green raincoat"),
        ("Mia wears a dress", "outfit", "yellow", "yellow dress"),  # keeps the outfit colour
    ],
)
def test_recolouring_a_part(
    plan: StoryPlan, instruction: str, part: str, colour: str, text: str
) -> None:
    mia = edit(plan, instruction).plan.character("mia")
    assert mia.attributes.colors[part] == colour
    assert text in mia.description


def test_add_a_panel_after_four(plan: StoryPlan) -> None:
    change = edit(plan, "add a panel after 4 where Bolt barks")
    assert ids(change.plan) == ["p01", "p02", "p03", "p04", "p09", "p05", "p06", "p07", "p08"]
    new = change.plan.panel("p09")
    assert [m.character_id for m in new.cast] == ["bolt"]
    assert new.cast[0].action == "barks" and new.caption == "Bolt barks."
    assert (new.setting, new.time_of_day, new.weather) == ("street", "day", "rain")
    assert change.added == ["p09"]
    # The first page grows to five panels; the second page is untouched.
    assert change.plan.pages[0].panel_ids == ["p01", "p02", "p03", "p04", "p09"]
    assert change.plan.pages[1] == plan.pages[1]
    assert not set(change.changed_panels) & {"p05", "p06", "p07", "p08"}


def test_an_added_panel_with_a_line_of_dialogue(plan: StoryPlan) -> None:
    change = edit(plan, 'add a panel at the end where Mia says "Good night, Bolt"')
    new = change.plan.panels[-1]
    assert [m.character_id for m in new.cast] == ["mia"]  # Bolt is only named in the line
    assert [(d.speaker_id, d.text) for d in new.dialogue] == [("mia", "Good night, Bolt")]
    assert new.caption is None


def test_remove_the_second_panel(plan: StoryPlan) -> None:
    change = edit(plan, "remove the second panel")
    assert change.removed == ["p02"] and "p02" not in ids(change.plan)
    assert ids(change.plan) == ["p01", "p03", "p04", "p05", "p06", "p07", "p08"]
    assert change.plan.pages[1] == plan.pages[1]
    assert change.added == []


def test_swap_panels_two_and_three(plan: StoryPlan) -> None:
    change = edit(plan, "swap panels 2 and 3")
    assert ids(change.plan)[:4] == ["p01", "p03", "p02", "p04"]
    assert change.plan.panel("p02") == plan.panel("p02")
    assert change.removed == change.added == []


def test_move_a_panel(plan: StoryPlan) -> None:
    change = edit(plan, "move panel 8 to the start")
    assert ids(change.plan)[0] == "p08"


def test_several_changes_in_one_message(plan: StoryPlan) -> None:
    change = edit(plan, "make panel 1 at dusk; remove the last panel")
    assert change.plan.panel("p01").time_of_day == "dusk"
    assert change.removed == ["p08"]


@pytest.mark.parametrize("instruction", ["draw a dragon", "make it better", "bolt"])
def test_not_understood_says_so_and_lists_what_works(plan: StoryPlan, instruction: str) -> None:
    with pytest.raises(EditNotUnderstood) as caught:
        edit(plan, instruction)
    message = str(caught.value)
    assert "did not understand" in message and "nothing was changed" in message
    assert "make panel 3 at night" in message


def test_a_panel_edit_without_a_known_change(plan: StoryPlan) -> None:
    with pytest.raises(EditNotUnderstood, match="time of day, weather, place or shot"):
        edit(plan, "make panel 3 funnier")


@pytest.mark.parametrize(
    "instruction",
    [
        "make panel 12 at night",
        "remove panel 9",
        "swap panels 2 and 10",
        "add a panel after 9 where",
    ],
)
def test_a_panel_that_does_not_exist(plan: StoryPlan, instruction: str) -> None:
    with pytest.raises(NoSuchPanel, match="the plan has 8 panels"):
        edit(plan, instruction)


@pytest.mark.parametrize(
    ("instruction", "fragment"),
    [
        ("Zed wears a hat", "no character called Zed; the characters are: Mia, Bolt"),
        ("", "empty"),
        ("add a panel", "say what the new panel shows"),
        ("Mia wears a green scarf from panel 4 on", "a look holds for the whole comic"),
        ("Mia takes off her hat", "Mia has no hat"),
        ("make Mia's hair sparkly", "not a colour"),
        ("make panel 1 over the shoulder", "does not fit panel 1, which shows 1 character"),
        ("remove the first and the last and every other panel", "does not name a panel"),
    ],
)
def test_clear_answers_to_edits_that_cannot_be_done(
    plan: StoryPlan, instruction: str, fragment: str
) -> None:
    with pytest.raises(InputError, match=fragment):
        edit(plan, instruction)


def test_the_last_panel_cannot_be_removed() -> None:
    one = OfflinePlanner().plan(StoryRequest(story="Mia sings.", panels=1))
    with pytest.raises(InputError, match="at least one panel"):
        edit(one, "remove panel 1")


@pytest.mark.parametrize(
    ("instruction", "style"),
    [("change the style to watercolor", "watercolor"), ("draw it as an ink sketch", "ink sketch")],
)
def test_a_new_style_redraws_every_panel(plan: StoryPlan, instruction: str, style: str) -> None:
    change = edit(plan, instruction)
    assert change.plan.style == style
    assert change.changed_panels == ids(plan)
    assert change.plan.characters == plan.characters and change.plan.pages == plan.pages


def test_a_change_to_what_a_panel_already_is_changes_nothing(plan: StoryPlan) -> None:
    change = edit(plan, "make panel 8 at night")  # it is night there already
    assert change.plan == plan and change.changed_panels == []
    shot_only = edit(plan, "make panel 2 a wide shot").plan.panel("p02")
    assert shot_only.scene == plan.panel("p02").scene  # the scene line is left as written
