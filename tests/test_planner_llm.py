"""The model-backed planner, driven by an in-process fake that behaves like a real client.

The fake validates each scripted answer into the requested schema (raising ModelOutputError with
the raw text for anything that is not valid JSON of that schema), records every request, and
counts calls against a bound meter, so these tests exercise the planner exactly as a provider
client would, without a network.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from fakes.chat_model import Answer, Call, ScriptedChat

from storyviz.agents.planner.edit.plans import (
    PlanEdit,
    answer_from_plan,
    diff_plans,
    plan_from_edit,
)
from storyviz.agents.planner.llm.colour_vocab import vocabulary_colour
from storyviz.agents.planner.llm.planner import LLMPlanner
from storyviz.agents.planner.llm.schema import (
    CharacterAnswer,
    CharacterBible,
    EditPlanAnswer,
    PanelAnswer,
    PanelsAnswer,
    PlanAnswer,
)
from storyviz.agents.planner.llm.validation import validate_plan_answer
from storyviz.agents.planner.rules.offline import OfflinePlanner
from storyviz.errors import InputError, ModelOutputError, ProviderError, RefusalError
from storyviz.layouts import TEMPLATES, choose_template, paginate
from storyviz.metering import CallMeter
from storyviz.prompts import load
from storyviz.protocols import Planner
from storyviz.providers.base import ChatModel
from storyviz.schemas import StoryPlan, StoryRequest
from storyviz.seeding import stable_seed

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "prompts"


def FakeChat(answers: Sequence[Answer] = (), **options: Any) -> ScriptedChat:  # noqa: N802
    """The planner's model: text only, like most planning models."""
    return ScriptedChat(
        answers, spec="fake:planner-1", model="planner-1", supports_images=False,
        max_images_per_call=0, **options,
    )  # fmt: skip


STORY = (
    "A shy girl named Mia, with red hair and a yellow raincoat, walks home in the rain. "
    'She finds a small silver robot dog under a bench. "Are you lost?" Mia asks. '
    "She names him Bolt. That night, Bolt's eyes glow as Mia falls asleep."
)


def box(x0: float = 0.1, y0: float = 0.2, x1: float = 0.45, y1: float = 1.0) -> dict[str, float]:
    return {"x0": x0, "y0": y0, "x1": x1, "y1": y1}


def mia(**changes: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "name": "Mia",
        "role": "main",
        "description": "a shy girl with red hair in a yellow raincoat",
        "species": "human",
        "age": "child",
        "hair": "red hair",
        "eyes": "green eyes",
        "skin": "fair skin",
        "outfit": "yellow raincoat",
        "accessories": [],
        "colours": [
            {"part": "hair", "colour": "red"},
            {"part": "outfit", "colour": "Yellow"},
            {"part": "skin", "colour": "fair"},
        ],
    }
    return {**answer, **changes}


def bolt(**changes: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "name": "Bolt",
        "role": "main",
        "description": "a small silver robot dog with glowing eyes",
        "species": "robot dog",
        "age": "",
        "hair": "",
        "eyes": "glowing eyes",
        "skin": "silver plating",
        "outfit": "",
        "accessories": [],
        "colours": [{"part": "fur", "colour": "silver"}],
    }
    return {**answer, **changes}


def bible(*characters: dict[str, Any], title: str = "Mia and Bolt") -> dict[str, Any]:
    return {"title": title, "characters": list(characters) or [mia(), bolt()]}


def panel(
    beat: str,
    cast: Iterable[tuple[str, dict[str, float]]] = (("Mia", box()),),
    dialogue: Iterable[tuple[str, str]] = (),
    **changes: Any,
) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "beat": beat,
        "scene": "rainy street",
        "setting": "street",
        "time_of_day": "evening",
        "weather": "rain",
        "shot": "medium",
        "cast": [
            {"character": name, "box": b, "action": "walks", "expression": "shy"}
            for name, b in cast
        ],
        "caption": "",
        "dialogue": [{"speaker": s, "text": t, "kind": "speech"} for s, t in dialogue],
    }
    return {**answer, **changes}


def good_panels() -> dict[str, Any]:
    both = (("Mia", box()), ("Bolt", box(0.55, 0.6, 0.9, 1.0)))
    return {
        "panels": [
            panel("Mia walks home in the rain.", shot="wide", caption="A rainy evening."),
            panel("Mia finds Bolt under a bench.", cast=both, dialogue=[("Mia", "Are you lost?")]),
            panel("Bolt wags his tail.", cast=[("Bolt", box(0.3, 0.5, 0.7, 1.0))], shot="close-up"),
            panel("Bolt's eyes glow as Mia sleeps.", cast=both, time_of_day="night", weather=""),
        ]
    }


def request(panels: int | None = 4, **changes: Any) -> StoryRequest:
    values: dict[str, Any] = {"story": STORY, "panels": panels, "seed": 7, "style": "watercolour"}
    return StoryRequest(**{**values, **changes})


def two_step_planner(*answers: Answer, **options: Any) -> tuple[LLMPlanner, FakeChat]:
    chat = FakeChat(answers=list(answers))
    return LLMPlanner(chat, **options), chat


def user_texts(call: Call) -> list[str]:
    return [m.text for m in call.messages if m.role == "user"]


# --- planning -------------------------------------------------------------------------------


def test_fake_satisfies_the_protocol() -> None:
    chat = FakeChat()
    assert isinstance(chat, ChatModel)
    planner = LLMPlanner(chat)
    assert isinstance(planner, Planner)
    assert planner.spec == "fake:planner-1"


def test_two_step_plan_is_valid_with_derived_ids_seeds_and_pages() -> None:
    planner, chat = two_step_planner(bible(), good_panels())
    plan = planner.plan(request())

    assert [c.purpose for c in chat.calls] == ["plan characters", "plan panels"]
    assert [c.schema for c in chat.calls] == [CharacterBible, PanelsAnswer]
    first, second = chat.calls
    assert [m.role for m in first.messages] == ["system", "user"]
    for call in chat.calls:
        text = call.text
        assert "She finds a small silver robot dog under a bench." in text
        assert "exactly 4 panels" in text
        assert "watercolour" in text
        assert "turquoise" in text and "close-up" in text and "over-the-shoulder" in text
    assert "[x0,y0,x1,y1]" in second.text and "feet" in second.text
    assert "a shy girl with red hair in a yellow raincoat" in second.text  # step 1's bible

    assert StoryPlan.model_validate_json(plan.model_dump_json()) == plan
    assert plan.title == "Mia and Bolt"
    assert (plan.style, plan.reading_order, plan.page_size, plan.language) == (
        "watercolour",
        "ltr",
        "A4",
        "en",
    )
    assert [c.id for c in plan.characters] == ["mia", "bolt"]
    assert [c.seed for c in plan.characters] == [stable_seed(7, "mia"), stable_seed(7, "bolt")]
    assert plan.character("mia").attributes.colors == {
        "hair": "red",
        "outfit": "yellow",
        "skin": "fair",
    }
    assert plan.character("bolt").attributes.species == "robot dog"
    assert plan.character("mia").reference_prompt.startswith("character reference of Mia, a shy")
    assert [p.id for p in plan.panels] == ["p01", "p02", "p03", "p04"]
    p02 = plan.panel("p02")
    assert [m.character_id for m in p02.cast] == ["mia", "bolt"]
    assert p02.cast[1].box == (0.55, 0.6, 0.9, 1.0)
    assert p02.dialogue[0].speaker_id == "mia" and p02.caption is None
    assert plan.panel("p01").caption == "A rainy evening."
    assert [len(page.panel_ids) for page in plan.pages] == paginate(4, 4)
    assert plan.pages[0].template == choose_template([p.shot for p in plan.panels])


def test_same_answers_give_the_same_plan() -> None:
    first = two_step_planner(bible(), good_panels())[0].plan(request())
    second = two_step_planner(bible(), good_panels())[0].plan(request())
    assert first.model_dump_json() == second.model_dump_json()
    other_seed = two_step_planner(bible(), good_panels())[0].plan(request(seed=8))
    assert other_seed.characters[0].seed != first.characters[0].seed


def test_request_title_language_and_pages_come_from_the_request() -> None:
    planner, _ = two_step_planner(bible(), good_panels(), per_page=2)
    plan = planner.plan(request(title="Rain Friends", language="fr", reading_order="rtl"))
    assert plan.title == "Rain Friends" and plan.language == "fr" and plan.reading_order == "rtl"
    assert [page.panel_ids for page in plan.pages] == [["p01", "p02"], ["p03", "p04"]]
    assert all(page.template in TEMPLATES for page in plan.pages)


def test_auto_panel_count_lets_the_model_choose_up_to_twelve() -> None:
    planner, chat = two_step_planner(bible(), good_panels())
    plan = planner.plan(request(panels=None))
    assert len(plan.panels) == 4
    assert "choose 1-12" in chat.calls[0].text and "exactly" not in chat.calls[0].text


def test_one_step_mode_asks_once_and_gives_the_same_plan() -> None:
    single = {**bible(), **good_panels()}
    chat = FakeChat(answers=[single])
    plan = LLMPlanner(chat, two_step=False).plan(request())
    assert [(c.purpose, c.schema) for c in chat.calls] == [("plan", PlanAnswer)]
    assert STORY.split(".")[1].strip() in chat.calls[0].text
    assert "exactly 4 panels" in chat.calls[0].text
    two_step = two_step_planner(bible(), good_panels())[0].plan(request())
    assert plan == two_step


def test_colour_words_are_brought_into_the_vocabulary() -> None:
    odd = mia(
        outfit="iridescent raincoat",
        colours=[
            {"part": "hair", "colour": "copper"},
            {"part": "outfit", "colour": "iridescent"},
            {"part": "eyes", "colour": "light blue"},
        ],
    )
    planner, _ = two_step_planner(bible(odd, bolt()), good_panels())
    sheet = planner.plan(request()).character("mia")
    assert sheet.attributes.colors == {"hair": "ginger", "eyes": "blue"}
    assert sheet.attributes.outfit == "iridescent raincoat"  # the text keeps what the colour lost
    assert vocabulary_colour("bluish-green") == "green"
    assert vocabulary_colour("olive", "skin") == "olive"
    assert vocabulary_colour("dark", "hair") == "black"


def test_boxes_written_as_lists_are_accepted() -> None:
    panels = good_panels()
    panels["panels"][0]["cast"][0]["box"] = [0.2, 0.3, 0.6, 1.0]
    plan = two_step_planner(bible(), panels)[0].plan(request())
    assert plan.panel("p01").cast[0].box == (0.2, 0.3, 0.6, 1.0)


# --- validation and retries -----------------------------------------------------------------


def wrong_panels() -> dict[str, Any]:
    """Schema-valid, semantically wrong: 3 panels for 4, an unknown character, a speaker who is
    not in the panel, a degenerate box."""
    return {
        "panels": [
            panel("Mia walks home.", cast=[("Zed", box())]),
            panel("Mia finds Bolt.", dialogue=[("Bolt", "Beep!")]),
            panel("Bolt wags.", cast=[("Bolt", box(0.5, 0.2, 0.51, 1.0))]),
        ]
    }


def test_semantic_problems_are_sent_back_and_fixed() -> None:
    planner, chat = two_step_planner(bible(), wrong_panels(), good_panels())
    plan = planner.plan(request())
    assert len(plan.panels) == 4
    assert [c.purpose for c in chat.calls] == [
        "plan characters",
        "plan panels",
        "plan panels (retry 1)",
    ]
    retry = chat.calls[2]
    assert [m.role for m in retry.messages] == ["system", "user", "assistant", "user"]
    assert retry.messages[2].text == json.dumps(wrong_panels())
    complaint = retry.messages[3].text
    assert complaint.startswith("Your plan had these problems:")
    assert "panel count 3, asked for 4" in complaint
    assert "panel 1 casts 'Zed', who is not in the character list (Mia, Bolt)" in complaint
    assert "the speaker 'Bolt'" in complaint and "not in that panel's cast (Mia)" in complaint
    assert "panel 3: Bolt's box [0.5, 0.2, 0.51, 1] is degenerate" in complaint
    assert "answer again" in complaint.lower()


def test_retries_exhausted_raise_one_line_naming_what_stayed_wrong() -> None:
    five = {"panels": good_panels()["panels"] + [panel("Mia sleeps.")]}
    planner, chat = two_step_planner(bible(), five, five, max_retries=1, fallback="none")
    with pytest.raises(ModelOutputError) as caught:
        planner.plan(request(panels=6))
    message = str(caught.value)
    assert message == (
        "the planner's answer stayed invalid after 2 attempts: panel count 5, asked for 6"
    )
    assert "\n" not in message
    assert caught.value.problems == ["panel count 5, asked for 6"]
    assert caught.value.raw == json.dumps(five)
    assert len(chat.calls) == 3


def test_zero_retries_means_one_attempt() -> None:
    planner, chat = two_step_planner(bible(), wrong_panels(), max_retries=0, fallback="none")
    with pytest.raises(ModelOutputError, match=r"after 1 attempt: panel count 3, asked for 4"):
        planner.plan(request())
    assert len(chat.calls) == 2


def test_malformed_json_is_sent_back_raw() -> None:
    broken = '{"panels": [{"beat": "Mia walks'
    planner, chat = two_step_planner(bible(), broken, good_panels())
    plan = planner.plan(request())
    assert len(plan.panels) == 4
    retry = chat.calls[2]
    assert retry.messages[2].role == "assistant" and retry.messages[2].text == broken
    assert "Your plan had these problems" in retry.messages[3].text
    assert "JSON" in retry.messages[3].text


def test_schema_errors_name_the_field() -> None:
    bad = good_panels()
    bad["panels"][1]["shot"] = "extreme-zoom"
    planner, chat = two_step_planner(bible(), bad, good_panels())
    planner.plan(request())
    assert "panels.1.shot" in chat.calls[2].messages[3].text


def test_character_problems_are_fixed_in_step_one() -> None:
    faceless = mia(description="")
    planner, chat = two_step_planner(
        bible(faceless, mia(), bolt()), bible(), good_panels(), max_retries=1
    )
    planner.plan(request())
    complaint = chat.calls[1].messages[3].text
    assert "2 characters are named 'Mia'" in complaint
    assert "main character Mia has no visual description" in complaint
    assert chat.calls[1].purpose == "plan characters (retry 1)"
    with pytest.raises(ModelOutputError, match="the planner's character list stayed invalid"):
        strict = two_step_planner(bible(faceless), bible(faceless), max_retries=1, fallback="none")
        strict[0].plan(request())


@pytest.mark.parametrize(
    "error",
    [RefusalError("the model refused: unsafe"), ProviderError("the service failed after 3 tries")],
)
def test_refusals_and_service_failures_propagate_unchanged(error: Exception) -> None:
    planner, chat = two_step_planner(error, max_retries=2)
    with pytest.raises(type(error)) as caught:
        planner.plan(request())
    assert caught.value is error
    assert len(chat.calls) == 1


def test_validation_rules() -> None:
    characters = [CharacterAnswer.model_validate(c) for c in (mia(), bolt())]

    def problems(*panels: dict[str, Any], asked: int | None = None) -> list[str]:
        parsed = [PanelAnswer.model_validate(p) for p in panels]
        return validate_plan_answer(characters, parsed, asked=asked)

    assert problems(panel("fine", cast=[("mia", box())], dialogue=[("MIA", "hi")])) == []
    assert problems() == ["the plan has no panels; it needs at least one"]
    assert problems(*[panel("x")] * 13) == ["panel count 13, must be between 1 and 12"]
    assert problems(panel("x"), asked=2) == ["panel count 1, asked for 2"]
    assert problems(panel("x", cast=[("Mia", box(0.5, -0.1, 0.9, 1.0))])) == [
        "panel 1: Mia's box [0.5, -0.1, 0.9, 1] has a coordinate outside 0..1"
    ]
    assert problems(panel("x", cast=[("Mia", box(0.2, 0.9, 0.6, 0.91))]))[0].endswith(
        "is degenerate; x1 must exceed x0 and y1 exceed y0 by more than 0.02"
    )
    assert problems(panel("x", cast=[("Mia", box()), ("Mia", box())])) == [
        "panel 1 casts Mia twice"
    ]
    assert problems(panel("x", dialogue=[("", "a voice off-panel")])) == []
    supporting = CharacterAnswer.model_validate(bolt(role="supporting", description=""))
    assert validate_plan_answer([supporting], [], asked=None) == [
        "the plan has no panels; it needs at least one"
    ]


def test_answer_schemas_are_strict_friendly() -> None:
    """Every property required, no defaults: what OpenAI's strict structured output demands."""
    for schema in (CharacterBible, PanelsAnswer, PlanAnswer, EditPlanAnswer):
        document = schema.model_json_schema()
        objects = [document, *document.get("$defs", {}).values()]
        for obj in objects:
            if obj.get("type") == "object":
                assert obj["required"] == list(obj["properties"]), obj.get("title")
                assert not any("default" in p for p in obj["properties"].values())
        assert "additionalProperties" not in json.dumps(document)  # Gemini rejects it


# --- manifest, metering ---------------------------------------------------------------------


@pytest.mark.parametrize("two_step", [True, False])
def test_prompt_names_exist_and_hash(two_step: bool) -> None:
    names = LLMPlanner(FakeChat(), two_step=two_step).prompt_names()
    assert "planner_system.txt" in names and "planner_edit.j2" in names
    assert ("planner_characters.j2" in names) == two_step
    assert ("planner_single.j2" in names) != two_step
    for name in names:
        assert (PROMPTS_DIR / name).is_file()
        assert re.fullmatch(r"[0-9a-f]{64}", load(name).sha256)


def test_bind_meter_counts_every_call_under_the_role() -> None:
    planner, chat = two_step_planner(bible(), wrong_panels(), good_panels())
    meter = CallMeter()
    planner.bind_meter(meter, "planner")
    planner.plan(request())
    assert chat.bound == (meter, "planner") and meter.used == 3


# --- editing --------------------------------------------------------------------------------


@pytest.fixture
def plan() -> StoryPlan:
    return two_step_planner(bible(), good_panels())[0].plan(request())


def edit_answer(plan: StoryPlan, summary: str = "") -> dict[str, Any]:
    """The current plan as the model sees it, to be changed the way a model would."""
    answer = answer_from_plan(plan).model_dump()
    answer["summary"] = summary
    return copy.deepcopy(answer)


def test_edit_one_panel_at_night(plan: StoryPlan) -> None:
    revised = edit_answer(plan, "Panel 2 now takes place at night.")
    revised["panels"][1]["time_of_day"] = "night"
    chat = FakeChat(answers=[revised])
    edit = LLMPlanner(chat).edit_plan(plan, "make panel 2 at night")

    assert isinstance(edit, PlanEdit)
    assert edit.changed_panels == ["p02"]
    assert edit.added == [] and edit.removed == [] and edit.changed_characters == []
    assert edit.plan.panel("p02").time_of_day == "night"
    assert [p for p in edit.plan.panels if p.id != "p02"] == [
        p for p in plan.panels if p.id != "p02"
    ]
    assert edit.plan.characters == plan.characters and edit.plan.pages == plan.pages
    assert edit.summary == "Panel 2 now takes place at night. (changed: p02)"
    (call,) = chat.calls
    assert call.purpose == "edit plan" and call.schema is EditPlanAnswer
    text = call.text
    assert "make panel 2 at night" in text and '"id": "p02"' in text and "[x0,y0,x1,y1]" in text


def test_edit_a_character_marks_every_panel_it_is_in(plan: StoryPlan) -> None:
    revised = edit_answer(plan)
    mia_answer = revised["characters"][0]
    mia_answer["accessories"] = ["green scarf"]
    mia_answer["colours"].append({"part": "accessory", "colour": "green"})
    mia_answer["description"] += ", wearing a green scarf"
    edit = LLMPlanner(FakeChat(answers=[revised])).edit_plan(
        plan, "Mia wears a green scarf from now on"
    )
    mia_panels = [p.id for p in plan.panels if any(m.character_id == "mia" for m in p.cast)]
    assert mia_panels == ["p01", "p02", "p04"]
    assert edit.changed_panels == mia_panels
    assert edit.changed_characters == ["mia"]
    sheet = edit.plan.character("mia")
    assert sheet.attributes.colors["accessory"] == "green" and sheet.seed == plan.characters[0].seed
    assert "green scarf" in sheet.reference_prompt
    assert edit.plan.character("bolt") == plan.character("bolt")


def test_edit_adding_and_removing_panels_keeps_other_ids(plan: StoryPlan) -> None:
    revised = edit_answer(plan)
    del revised["panels"][2]  # p03 goes
    newcomer = panel("Mia's mother waves.", cast=[("Mum", box())])
    revised["panels"].append({**newcomer, "id": ""})
    revised["panels"].append({**panel("Mia waves back."), "id": "p03"})  # a removed id reused
    revised["characters"].append({**mia(name="Mum", description="Mia's mother"), "id": ""})
    edit = LLMPlanner(FakeChat(answers=[revised])).edit_plan(plan, "replace panel 3", seed=7)

    assert [p.id for p in edit.plan.panels] == ["p01", "p02", "p04", "p05", "p03"]
    assert edit.added == ["p05"] and edit.removed == []  # p03 was given back, so it is changed
    assert "p03" in edit.changed_panels
    assert edit.changed_characters == ["mum"]
    assert edit.plan.character("mum").seed == stable_seed(7, "mum")
    assert [len(page.panel_ids) for page in edit.plan.pages] == paginate(5, 4)


def test_edit_removal_never_reuses_an_id(plan: StoryPlan) -> None:
    revised = edit_answer(plan)
    del revised["panels"][3]  # p04 goes
    revised["panels"].append({**panel("A new ending."), "id": ""})
    edit = LLMPlanner(FakeChat(answers=[revised])).edit_plan(plan, "new ending")
    assert [p.id for p in edit.plan.panels] == ["p01", "p02", "p03", "p05"]
    assert edit.added == ["p05"] and edit.removed == ["p04"]


def test_an_unchanged_plan_round_trips_exactly(plan: StoryPlan) -> None:
    offline = OfflinePlanner().plan(StoryRequest(story=STORY, seed=3))
    for original in (plan, offline):
        again = plan_from_edit(
            original, EditPlanAnswer.model_validate(edit_answer(original)), per_page=4
        )
        assert again == original
        assert diff_plans(original, again).summary == "no panel changed"


def test_a_restyle_or_relayout_changes_panels(plan: StoryPlan) -> None:
    restyled = plan.model_copy(update={"style": "manga"})
    assert diff_plans(plan, restyled).changed_panels == [p.id for p in plan.panels]
    assert plan.pages[0].template == "wide-top-4"
    relaid = plan.model_copy(deep=True)
    relaid.pages[0].template = "grid-2x2"  # every slot changes shape, so every render size
    assert diff_plans(plan, relaid).changed_panels == [p.id for p in plan.panels]


def test_an_invalid_edit_is_retried(plan: StoryPlan) -> None:
    bad = edit_answer(plan)
    bad["panels"][0]["cast"][0]["character"] = "Maya"
    good = edit_answer(plan)
    chat = FakeChat(answers=[bad, good])
    edit = LLMPlanner(chat).edit_plan(plan, "keep everything")
    assert edit.changed_panels == [] and edit.summary == "no panel changed"
    assert "panel 1 casts 'Maya'" in chat.calls[1].messages[3].text
    assert chat.calls[1].purpose == "edit plan (retry 1)"


def test_an_empty_instruction_is_refused_without_a_call(plan: StoryPlan) -> None:
    chat = FakeChat()
    with pytest.raises(InputError):
        LLMPlanner(chat).edit_plan(plan, "   ")
    assert chat.calls == []


def test_a_renamed_character_keeps_its_id(plan: StoryPlan) -> None:
    revised = edit_answer(plan)
    revised["characters"][0]["name"] = "Maya"
    for p in revised["panels"]:
        for member in p["cast"]:
            member["character"] = "Maya" if member["character"] == "Mia" else member["character"]
        for line in p["dialogue"]:
            line["speaker"] = "Maya" if line["speaker"] == "Mia" else line["speaker"]
    edit = LLMPlanner(FakeChat(answers=[revised])).edit_plan(plan, "call her Maya")
    assert [c.id for c in edit.plan.characters] == ["mia", "bolt"]
    assert edit.plan.character("mia").name == "Maya"
    assert edit.changed_characters == ["mia"] and edit.changed_panels == ["p01", "p02", "p04"]


def test_many_problems_are_counted_not_all_listed() -> None:
    many = {"panels": [panel(f"beat {n}", cast=[(f"Ghost{n}", box())]) for n in range(8)]}
    planner, _ = two_step_planner(bible(), many, max_retries=0, fallback="none")
    with pytest.raises(ModelOutputError) as caught:
        planner.plan(request(panels=8))
    assert str(caught.value).endswith("; and 3 more")
    assert len(caught.value.problems) == 8
