"""The prompt writer (LLMGA's role): the planner's model writes each panel's generation prompt,
fitted to what the generator says it reads, and chat edits rewrite the prompts they touch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakes.chat_model import ScriptedChat
from test_planner_llm import FakeChat, bible, edit_answer, good_panels, request

from storyviz.agents.context import Backends
from storyviz.agents.planner.edit.rules import edit_by_rules
from storyviz.agents.planner.llm.backend import llm_planner
from storyviz.agents.planner.llm.planner import LLMPlanner
from storyviz.agents.planner.llm.schema import PanelPromptsAnswer
from storyviz.agents.render_requests import panel_request
from storyviz.errors import BackendError, ModelOutputError
from storyviz.protocols import PromptFormat, prompt_format
from storyviz.registry import parse_backend
from storyviz.schemas import StoryPlan

WORDS = PromptFormat("tags", "Tiny SD", budget=20, count=lambda text: len(text.split()))

GOOD = {
    "p01": "watercolour comic panel, wide shot, girl, red hair, yellow raincoat, fair skin, rain",
    "p02": "watercolour, girl, red hair, yellow raincoat, fair skin, silver robot dog, bench",
    "p03": "watercolour, close-up, silver robot dog wagging its tail, rainy street",
    "p04": "watercolour, night, girl asleep, red hair, yellow raincoat, fair skin, silver robot",
}


def prompts(**texts: str) -> dict[str, Any]:
    return {"prompts": [{"panel": pid, "prompt": text} for pid, text in texts.items()]}


def writing_planner(*answers: Any, form: PromptFormat | None = WORDS) -> tuple[LLMPlanner, Any]:
    chat = FakeChat(answers=[bible(), good_panels(), *answers])
    planner = LLMPlanner(chat, write_prompts=True)
    planner.bind_prompt_format(form)
    return planner, chat


def test_the_model_writes_each_panels_prompt_for_the_generator() -> None:
    planner, chat = writing_planner(prompts(**GOOD))
    plan = planner.plan(request())

    assert [c.purpose for c in chat.calls] == ["plan characters", "plan panels", "write prompts"]
    call = chat.calls[2]
    assert call.schema is PanelPromptsAnswer
    text = call.text
    assert "Tiny SD" in text and "comma-separated tags" in text
    assert "at most 20 tokens" in text
    assert "watercolour" in text  # the drawing style
    assert "Mia: a shy girl with red hair in a yellow raincoat" in text
    assert "hair red, outfit yellow, skin fair" in text
    assert "id p02" in text and "Bolt, bottom right of the panel" in text
    assert "draft prompt: watercolour, comic panel, medium shot" in text  # the template's
    assert {p.id: p.image_prompt for p in plan.panels} == GOOD
    assert StoryPlan.model_validate_json(plan.model_dump_json()) == plan
    assert "prompt_writer.j2" in planner.prompt_names()

    drawn = panel_request(plan, "p02", seed=1, version=2, long_side=64, references={})
    assert drawn.prompt == GOOD["p02"]  # the written prompt is what is drawn (and recorded)
    fixed = panel_request(
        plan, "p02", seed=1, version=3, long_side=64, references={}, emphasis=["red hair"]
    )
    assert fixed.prompt == GOOD["p02"] + ", clearly showing red hair"


def test_missing_looks_and_long_prompts_go_back_with_their_problems() -> None:
    first = {**GOOD, "p02": "watercolour, girl with red hair, yellow raincoat, fair skin, dog"}
    first["p01"] = " ".join(["rain"] * 25) + ", red, yellow, fair"
    planner, chat = writing_planner(prompts(**first), prompts(**GOOD))
    plan = planner.plan(request())

    assert [c.purpose for c in chat.calls][2:] == ["write prompts", "write prompts (retry 1)"]
    retry = chat.calls[3].messages[-1].text
    assert "panel p02: Bolt is in the panel but the prompt lacks the colour word(s) silver" in retry
    assert "panel p01: the prompt is 28 tokens, over the budget of 20" in retry
    assert plan.panel("p01").image_prompt == GOOD["p01"]


def test_the_last_attempt_may_run_over_budget_but_not_drop_a_panel() -> None:
    long = {**GOOD, "p01": " ".join(["rain"] * 25) + ", red, yellow, fair"}
    planner, _ = writing_planner(*[prompts(**long)] * 3)
    plan = planner.plan(request())  # SD reads it in windows; a text pipeline would warn
    assert plan.panel("p01").image_prompt == long["p01"]

    short = {k: v for k, v in GOOD.items() if k != "p03"}
    planner, _ = writing_planner(*[prompts(**short)] * 3)
    with pytest.raises(ModelOutputError, match=r"panel prompts stayed invalid .*p03 has no prompt"):
        planner.plan(request())


def test_answers_for_panels_not_asked_for_are_problems() -> None:
    planner, chat = writing_planner(prompts(**GOOD, p09="a bench"), prompts(**GOOD))
    planner.plan(request())
    assert "panel 'p09' was not asked for" in chat.calls[3].messages[-1].text


def test_the_template_stays_without_the_option_or_without_a_format() -> None:
    chat = FakeChat(answers=[bible(), good_panels()])
    planner = LLMPlanner(chat)  # prompts=template, the default
    planner.bind_prompt_format(WORDS)
    plan = planner.plan(request())
    assert all(p.image_prompt is None for p in plan.panels)
    assert len(chat.calls) == 2

    planner, chat = writing_planner(form=None)  # the sketch renderer draws from the plan
    plan = planner.plan(request())
    assert all(p.image_prompt is None for p in plan.panels) and len(chat.calls) == 2
    assert "prompt_writer.j2" not in planner.prompt_names()


@pytest.fixture
def written() -> StoryPlan:
    return writing_planner(prompts(**GOOD))[0].plan(request())


def test_a_chat_edit_rewrites_only_the_prompts_of_what_it_changed(written: StoryPlan) -> None:
    revised = edit_answer(written, "Panel 2 at night.")
    revised["panels"][1]["time_of_day"] = "night"
    night = GOOD["p02"] + ", night"
    chat = FakeChat(answers=[revised, prompts(p02=night)])
    planner = LLMPlanner(chat, write_prompts=True)
    planner.bind_prompt_format(WORDS)
    edit = planner.edit_plan(written, "make panel 2 at night")

    assert [c.purpose for c in chat.calls] == ["edit plan", "write prompts"]
    assert "id p02" in chat.calls[1].text and "id p01" not in chat.calls[1].text
    assert edit.changed_panels == ["p02"]
    assert {p.id: p.image_prompt for p in edit.plan.panels} == {**GOOD, "p02": night}


def test_an_edit_without_the_writer_drops_the_changed_panels_prompts(written: StoryPlan) -> None:
    revised = edit_answer(written)
    revised["characters"][1]["colours"] = [{"part": "fur", "colour": "gold"}]
    revised["characters"][1]["description"] = "a small gold robot dog"
    edit = LLMPlanner(FakeChat(answers=[revised])).edit_plan(written, "Bolt is gold")
    assert edit.changed_panels == ["p02", "p03", "p04"]
    assert {p.id: p.image_prompt for p in edit.plan.panels} == {
        "p01": GOOD["p01"],  # Bolt is not in it
        "p02": None,  # the template describes the new look
        "p03": None,
        "p04": None,
    }


def test_offline_edits_drop_the_prompts_they_make_stale(written: StoryPlan) -> None:
    edit = edit_by_rules(written, "make panel 2 at night", per_page=4)
    assert edit.changed_panels == ["p02"]
    assert edit.plan.panel("p02").image_prompt is None
    assert edit.plan.panel("p01").image_prompt == GOOD["p01"]


def test_the_prompts_option_is_checked() -> None:
    with pytest.raises(BackendError, match="prompts must be one of template, written"):
        llm_planner(parse_backend("openai:gpt-4o?prompts=tags"))


def test_generators_say_how_they_want_prompts(make_generator: Any) -> None:
    generator = make_generator("steps=2")
    form = prompt_format(generator)
    assert form is not None and form.style == "tags" and form.budget == 75
    assert form.count is not None and form.count("a girl with red hair") == 5
    assert "Stable Diffusion" in form.model

    from storyviz import registry

    assert prompt_format(registry.build("generator", "sketch")) is None


def test_a_run_draws_and_records_the_written_prompts(tmp_path: Path, make_generator: Any) -> None:
    """The runner binds the generator's format to the planner; each version records the
    written prompt and how many of the model's tokens it took."""
    from storyviz import registry
    from storyviz.agents.runner import start_run
    from storyviz.config import load_settings

    chat: ScriptedChat = FakeChat(answers=[bible(), good_panels(), prompts(**GOOD)])
    planner = LLMPlanner(chat, write_prompts=True)
    backends = Backends(
        planner=planner,
        generator=make_generator("steps=1&size=64"),
        auditor=registry.build("auditor", "offline"),
        repairer=registry.build("repairer", "offline"),
    )
    assert planner.prompt_format is not None and planner.prompt_format.budget == 75
    settings = load_settings(runs_dir=tmp_path / "runs", max_rounds=0)
    result = start_run(settings, request(), backends=backends)
    assert result.status == "completed"
    plan = json.loads((result.run_dir / "plan.json").read_text())
    assert {p["id"]: p["image_prompt"] for p in plan["panels"]} == GOOD
    audit = json.loads((result.run_dir / "audit.json").read_text())
    recorded = {pid: v[0]["prompt"] for pid, v in audit["versions"].items()}
    assert recorded == GOOD
    tokens = audit["versions"]["p01"][0]["parameters"]["prompt_tokens"]
    assert tokens["budget"] == 75 and tokens["windows"] == 1
