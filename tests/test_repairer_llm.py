"""The LLM repairer against a scripted in-process chat model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from fakes.chat_model import Answer, ScriptedChat

from storyviz.agents.repairer import RuleRepairer
from storyviz.agents.repairer_llm import LLMRepairer
from storyviz.errors import ProviderError, RefusalError
from storyviz.metering import CallMeter
from storyviz.prompts import load
from storyviz.protocols import Repairer
from storyviz.registry import BackendSpec
from storyviz.schemas import (
    CastMember,
    CharacterAttributes,
    CharacterSheet,
    Finding,
    PageSpec,
    PanelAudit,
    PanelSpec,
    PanelVersion,
    RepairAction,
    StoryPlan,
)
from storyviz.seeding import stable_seed

# --- the fake chat model -------------------------------------------------------------------------


def FakeChat(answers: Sequence[Answer] = ()) -> ScriptedChat:  # noqa: N802
    return ScriptedChat(
        answers, spec="fake:writer", model="writer", supports_images=False, max_images_per_call=0
    )


# --- a plan, an audit, a history -----------------------------------------------------------------

MIA = CharacterSheet(
    id="mia",
    name="Mia",
    description="a shy girl with red hair and a yellow raincoat",
    attributes=CharacterAttributes(outfit="raincoat", colors={"hair": "red", "outfit": "yellow"}),
)
BOLT = CharacterSheet(
    id="bolt",
    name="Bolt",
    description="a lost robot dog",
    attributes=CharacterAttributes(species="robot dog", colors={"fur": "silver"}),
)
MIA_BOX = (0.08, 0.25, 0.45, 0.95)
BOLT_BOX = (0.5, 0.55, 0.92, 0.92)
PLAN = StoryPlan(
    title="Mia and Bolt",
    style="storyboard sketch",
    characters=[MIA, BOLT],
    panels=[
        PanelSpec(
            id="p1",
            beat="Mia finds Bolt under a bench.",
            setting="a rainy street",
            cast=[
                CastMember(character_id="mia", box=MIA_BOX, action="kneels"),
                CastMember(character_id="bolt", box=BOLT_BOX),
            ],
        )
    ],
    pages=[PageSpec(index=0, template="single", panel_ids=["p1"])],
)
HAIR = Finding(
    id="p1-v1-f1",
    panel_id="p1",
    character_id="mia",
    kind="attribute",
    attribute="hair",
    expected="red",
    observed="blue",
    severity="critical",
    region=(0.2, 0.25, 0.33, 0.32),
    evidence="hair region ~ blue",
    suggestion="restore red hair",
)
DOG = Finding(
    id="p1-v1-f2",
    panel_id="p1",
    character_id="bolt",
    kind="attribute",
    attribute="fur",
    expected="silver",
    observed="green",
    severity="major",
    evidence="the dog is green",
)
SEED = 1234
V1 = PanelVersion(
    panel_id="p1",
    version=1,
    path="panels/p1_v1.png",
    seed=SEED,
    prompt="storyboard sketch, comic panel, Mia (a shy girl) kneels; Bolt",
    backend="sketch",
    parameters={"emphasis": []},
    score=0.2,
    findings=[HAIR, DOG],
)
AUDIT = PanelAudit(panel_id="p1", version=1, score=0.2, findings=[HAIR, DOG])


def answer(strategy: str, **extra: Any) -> dict[str, Any]:
    return {
        "strategy": strategy,
        "emphasis": ["Mia's red hair", " Mia's  yellow raincoat ", "mia's red hair", ""],
        "rationale": "the hair drifted; restate it",
        **extra,
    }


def propose(chat: FakeChat, history: Sequence[PanelVersion] = (V1,)) -> RepairAction:
    return LLMRepairer(chat).propose(PLAN, AUDIT, list(history))


# --- the protocol --------------------------------------------------------------------------------


def test_it_is_a_repairer_with_spec_prompts_and_meter() -> None:
    chat = FakeChat()
    repairer = LLMRepairer(chat)
    as_protocol: Repairer = repairer  # checked statically by mypy and at run time below
    assert isinstance(as_protocol, Repairer)
    assert repairer.spec == "fake:writer"
    assert [load(name).sha256 for name in repairer.prompt_names()]
    meter = CallMeter()
    repairer.bind_meter(meter, "repairer")
    assert chat.bound == (meter, "repairer")


def test_the_request_carries_findings_sheets_panel_and_history() -> None:
    chat = FakeChat([answer("reprompt")])
    v2 = V1.model_copy(
        update={
            "version": 2,
            "seed": 99,
            "score": 0.4,
            "parameters": {"emphasis": ["Mia's red hair"]},
            "repair": RepairAction(panel_id="p1", strategy="reseed"),
        }
    )
    LLMRepairer(chat).propose(PLAN, AUDIT, [V1, v2])
    (call,) = chat.calls
    system, user = call.messages
    assert system.role == "system" and "reprompt" in system.text and "inpaint" in system.text
    text = user.text
    assert 'Panel "p1": Mia finds Bolt under a bench.' in text
    assert '"mia" (Mia), box [0.08, 0.25, 0.45, 0.95], kneels' in text
    assert "colours: hair red, outfit yellow" in text
    assert 'p1-v1-f1: attribute, character "mia", hair, critical; expected: red' in text
    assert "observed: blue; region [0.2, 0.25, 0.33, 0.32]" in text
    assert "version 1 (the one to repair): first render, seed 1234, score 0.20" in text
    assert "version 2: reseed, seed 99, score 0.40" in text
    assert "emphasis: Mia's red hair" in text and "Strategies tried so far: reseed" in text
    assert call.purpose == "repair p1"


# --- strategies and seeds ------------------------------------------------------------------------


def test_reprompt_keeps_the_seed_and_cleans_the_emphasis() -> None:
    action = propose(FakeChat([answer("reprompt", strength=0.9)]))
    assert action.strategy == "reprompt"
    assert action.parameters.model_dump(mode="json") == {  # what audit.json records
        "seed": SEED,
        "emphasis": ["Mia's red hair", "Mia's yellow raincoat"],
        "attempt": 1,
    }
    assert action.finding_ids == ["p1-v1-f1", "p1-v1-f2"]
    assert action.rationale == "the hair drifted; restate it"
    assert (action.from_version, action.to_version) == (1, 2)


def test_reseed_derives_a_new_stable_seed_like_the_rule_repairer() -> None:
    first = propose(FakeChat([answer("reseed")]))
    again = propose(FakeChat([answer("reseed")]))
    assert first.parameters.seed == again.parameters.seed != SEED
    assert first.parameters.seed == stable_seed("reseed", SEED, "p1", 1)
    missing = AUDIT.model_copy(update={"findings": [HAIR.model_copy(update={"kind": "missing"})]})
    rules = RuleRepairer(BackendSpec("offline")).propose(PLAN, missing, [V1])
    assert rules.strategy == "reseed" and rules.parameters.seed == first.parameters.seed


def test_inpaint_carries_the_region_of_its_findings_and_a_strength() -> None:
    action = propose(FakeChat([answer("inpaint", strength=0.7, finding_ids=["p1-v1-f1"])]))
    assert action.strategy == "inpaint"
    assert action.parameters.seed == SEED
    assert action.parameters.region == (0.2, 0.25, 0.33, 0.32)
    assert action.parameters.strength == 0.7
    assert action.parameters.init_version == 1
    assert action.parameters.init_image == "panels/p1_v1.png"
    assert action.finding_ids == ["p1-v1-f1"]


def test_a_finding_without_region_stands_for_its_cast_box() -> None:
    action = propose(FakeChat([answer("inpaint", strength=0.8)]))  # both findings
    # union of Mia's hair region and Bolt's cast box (his finding has no region)
    assert action.parameters.region == (0.2, 0.25, 0.92, 0.92)


def test_img2img_without_a_strength_gets_the_default() -> None:
    action = propose(FakeChat([answer("img2img")]))
    assert action.parameters.strength == 0.55
    assert action.parameters.seed == SEED and action.parameters.region is not None


# --- unusable answers ----------------------------------------------------------------------------


def test_an_invalid_answer_is_retried_with_its_problems() -> None:
    bad = {**answer("inpaint", strength=1.5, finding_ids=["p1-v9-f9"]), "emphasis": [" "]}
    chat = FakeChat([bad, answer("inpaint", strength=0.6)])
    repairer = LLMRepairer(chat)
    action = repairer.propose(PLAN, AUDIT, [V1])

    assert repairer.calls == 2 and action.strategy == "inpaint"
    assert action.parameters.strength == 0.6
    retry = chat.calls[1]
    assert retry.purpose == "repair p1 (retry)"
    assert retry.messages[-2].role == "assistant" and json.loads(retry.messages[-2].text) == bad
    problems = retry.messages[-1].text
    assert "emphasis is empty" in problems
    assert "strength 1.5 is out of range" in problems
    assert "p1-v9-f9" in problems


def test_an_unknown_strategy_is_fed_back_as_a_schema_problem() -> None:
    chat = FakeChat([answer("repaint"), answer("reseed")])
    action = propose(chat)
    assert action.strategy == "reseed"
    assert "strategy" in chat.calls[1].messages[-1].text
    assert chat.calls[1].messages[-2].text == json.dumps(answer("repaint"))


def test_inpaint_with_nothing_to_place_is_a_problem() -> None:
    artifact = Finding(id="p1-v1-f1", panel_id="p1", kind="artifact", evidence="smudged")
    audit = AUDIT.model_copy(update={"findings": [artifact]})
    chat = FakeChat([answer("inpaint", strength=0.7), answer("img2img", strength=0.5)])
    action = LLMRepairer(chat).propose(PLAN, audit, [V1])
    assert "inpaint needs a region" in chat.calls[1].messages[-1].text
    assert action.strategy == "img2img" and action.parameters.region == (0.0, 0.0, 1.0, 1.0)


def test_still_invalid_falls_back_to_the_rule_based_choice() -> None:
    chat = FakeChat([answer("repaint"), {**answer("reprompt"), "emphasis": []}])
    action = propose(chat)
    rules = RuleRepairer(BackendSpec("offline")).propose(PLAN, AUDIT, [V1])
    assert len(chat.calls) == 2
    assert action.strategy == rules.strategy == "inpaint"
    assert action.parameters == rules.parameters
    assert action.rationale.startswith("the LLM repairer's answer stayed unusable (emphasis is")
    assert action.rationale.endswith(rules.rationale)


def test_a_refusal_falls_back_at_once_and_provider_errors_propagate() -> None:
    chat = FakeChat([RefusalError("no")])
    action = propose(chat)
    assert len(chat.calls) == 1 and "the model refused (no)" in action.rationale
    with pytest.raises(ProviderError, match="timeout"):
        propose(FakeChat([ProviderError("timeout")]))
