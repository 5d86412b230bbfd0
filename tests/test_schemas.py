"""The data model: JSON round-trips and the validation a plan from any planner must pass."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from storyviz.schemas import (
    MAX_STORY_CHARS,
    AuditLog,
    AuditRound,
    CastMember,
    CharacterAttributes,
    CharacterSheet,
    Costs,
    DialogueLine,
    Finding,
    PageSpec,
    PanelAudit,
    PanelSpec,
    PanelVersion,
    RegionPrompt,
    RenderRequest,
    RepairAction,
    RunEvent,
    RunManifest,
    StoryPlan,
    StoryRequest,
)


def _plan() -> StoryPlan:
    mia = CharacterSheet(
        id="mia",
        name="Mia",
        description="a shy girl with red hair and a yellow raincoat",
        attributes=CharacterAttributes(
            species="human",
            age="child",
            hair="red hair",
            outfit="yellow raincoat",
            colors={"hair": "red", "outfit": "yellow"},
            accessories=["umbrella"],
        ),
        reference_prompt="Mia, full body",
        seed=7,
    )
    panel = PanelSpec(
        id="p01",
        beat="Mia walks home in the rain.",
        scene="Mia walks home",
        setting="street",
        time_of_day="evening",
        weather="rain",
        shot="wide",
        cast=[CastMember(character_id="mia", box=(0.3, 0.3, 0.6, 0.95), action="walking")],
        caption="Mia walks home.",
        dialogue=[DialogueLine(speaker_id="mia", text="Are you lost?")],
    )
    return StoryPlan(
        title="Mia",
        style="sketch",
        characters=[mia],
        panels=[panel],
        pages=[PageSpec(index=1, template="single", panel_ids=["p01"])],
    )


def _finding() -> Finding:
    return Finding(
        id="p01-v1-f1",
        panel_id="p01",
        character_id="mia",
        kind="attribute",
        attribute="hair",
        expected="red",
        observed="blue",
        severity="major",
        region=(0.3, 0.3, 0.6, 0.45),
        evidence="hair region ~ blue",
        suggestion="restore red hair",
        auditor="offline",
    )


def _examples() -> list[BaseModel]:
    plan = _plan()
    finding = _finding()
    action = RepairAction(
        panel_id="p01", strategy="reprompt", parameters={"seed": 3}, finding_ids=[finding.id]
    )
    audit = PanelAudit(
        panel_id="p01", version=1, score=0.4, character_scores={"mia": 0.4}, findings=[finding]
    )
    version = PanelVersion(
        panel_id="p01",
        version=2,
        path="panels/p01_v2.png",
        seed=3,
        prompt="x",
        backend="sketch",
        score=1.0,
        repair=action,
    )
    request = StoryRequest(story="Mia walks.", panels=3, seed=5, reading_order="rtl")
    return [
        request,
        plan,
        RenderRequest(
            target_id="p01",
            prompt="p",
            panel=plan.panels[0],
            characters=plan.characters,
            regions=[RegionPrompt(box=(0.1, 0.1, 0.5, 0.9), prompt="Mia", character_id="mia")],
            references={"mia": "references/mia.png"},
            init_image="panels/p01_v1.png",
            strength=0.4,
        ),
        finding,
        audit,
        action,
        version,
        AuditLog(
            threshold=0.8,
            max_rounds=3,
            rounds=[
                AuditRound(
                    round=0,
                    audited=["p01"],
                    audits={"p01": audit},
                    consistency_index=0.4,
                    panel_scores={"p01": 0.4},
                    flagged=["p01"],
                    repairs=[action],
                )
            ],
            versions={"p01": [version]},
            current={"p01": 2},
            consistency_index=1.0,
        ),
        RunManifest(run_id="r1", request=request, costs=Costs(llm_calls=2, seconds={"plan": 0.1})),
        RunEvent(event="rendered", step="render", panel_id="p01", version=1, seconds=0.02),
    ]


@pytest.mark.parametrize("model", _examples(), ids=lambda m: type(m).__name__)
def test_every_model_round_trips_through_json(model: BaseModel) -> None:
    again = type(model).model_validate_json(model.model_dump_json())
    assert again == model


def test_empty_or_whitespace_story_is_rejected() -> None:
    for text in ("", "   \n\t "):
        with pytest.raises(ValidationError, match="empty"):
            StoryRequest(story=text)


def test_overlong_story_is_rejected_with_the_limit() -> None:
    with pytest.raises(ValidationError, match=f"{MAX_STORY_CHARS:,}"):
        StoryRequest(story="a" * 200_000)


@pytest.mark.parametrize("panels", [0, -1, 10_000])
def test_panel_count_outside_range_is_rejected(panels: int) -> None:
    with pytest.raises(ValidationError, match="panels must be between"):
        StoryRequest(story="Mia walks.", panels=panels)


@pytest.mark.parametrize(
    "box", [(0.5, 0.1, 0.4, 0.9), (-0.1, 0.0, 0.5, 0.5), (0.0, 0.0, 1.2, 0.5), (0.2, 0.2, 0.2, 0.9)]
)
def test_bad_boxes_are_rejected(box: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValidationError):
        CastMember(character_id="mia", box=box)


def test_plan_rejects_unknown_cast_and_speakers_and_unpaged_panels() -> None:
    data = _plan().model_dump()
    bad_cast = {
        **data,
        "panels": [
            {**data["panels"][0], "cast": [{"character_id": "zed", "box": (0.1, 0.1, 0.5, 0.9)}]}
        ],
    }
    with pytest.raises(ValidationError, match="unknown character 'zed'"):
        StoryPlan.model_validate(bad_cast)
    bad_speaker = {
        **data,
        "panels": [{**data["panels"][0], "dialogue": [{"speaker_id": "zed", "text": "hi"}]}],
    }
    with pytest.raises(ValidationError, match="unknown speaker"):
        StoryPlan.model_validate(bad_speaker)
    with pytest.raises(ValidationError, match="exactly one page"):
        StoryPlan.model_validate({**data, "pages": []})


def test_unknown_fields_are_errors_not_silently_dropped() -> None:
    with pytest.raises(ValidationError):
        StoryRequest.model_validate({"story": "x", "panles": 3})
