"""What a render did and what a repair asks for travel in typed fields, and are written to
audit.json exactly as the free dicts they replaced were."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import ValidationError

from storyviz.protocols import RenderResult, Reseed
from storyviz.schemas import AuditLog, RepairAction, RepairParameters

DICT_FORM_AUDIT = Path(__file__).parent / "data" / "audit_dict_form.json"
"""Trimmed from a run written while RepairAction.parameters was a free dict (sketch?drift=0.5,
examples/mia.txt, seed 7): one reseed and one inpaint repair."""

LLM_INPAINT = {  # the dict LLMRepairer wrote for an inpaint, keys in its order
    "seed": 1234,
    "emphasis": ["Mia's red hair"],
    "attempt": 2,
    "region": [0.2, 0.25, 0.33, 0.32],
    "strength": 0.7,
    "init_version": 1,
    "init_image": "panels/p1_v1.png",
}


def _dumped(parameters: dict[str, Any]) -> str:
    action = RepairAction(panel_id="p1", strategy="inpaint", parameters=parameters)
    return json.dumps(action.model_dump(mode="json")["parameters"])


# -- RepairParameters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "parameters",
    [
        LLM_INPAINT,
        {"seed": 3, "emphasis": ["red hair"], "attempt": 1, "region": [0.1, 0.2, 0.5, 0.9]},
        {"seed": 3, "emphasis": [], "attempt": 1},
        {"seed": 3},
        {"emphasis": ["red hair"]},
        {},
    ],
)
def test_parameters_dump_to_the_dict_they_were_made_from(parameters: dict[str, Any]) -> None:
    assert _dumped(parameters) == json.dumps(parameters)  # same keys, values and order


def test_parameters_are_typed() -> None:
    p = RepairParameters.model_validate(LLM_INPAINT)
    assert (p.seed, p.attempt, p.strength, p.init_version) == (1234, 2, 0.7, 1)
    assert p.region == (0.2, 0.25, 0.33, 0.32) and p.emphasis == ["Mia's red hair"]
    assert p.init_image == "panels/p1_v1.png"
    bare = RepairParameters()
    assert (bare.seed, bare.region, bare.strength, bare.emphasis) == (None, None, None, [])


def test_set_none_and_copies_write_as_before() -> None:
    p = RepairParameters(seed=3, emphasis=["x"], attempt=1, region=None, strength=None)
    assert p.model_dump(mode="json") == {"seed": 3, "emphasis": ["x"], "attempt": 1}
    action = RepairAction(panel_id="p1", strategy="reprompt", parameters=p)
    moved = action.model_copy(update={"from_version": 2, "to_version": 3})
    assert moved.model_dump(mode="json")["parameters"] == {
        "seed": 3,
        "emphasis": ["x"],
        "attempt": 1,
    }
    assert RepairAction.model_validate_json(moved.model_dump_json()) == moved


@pytest.mark.parametrize("strength", [0.0, -0.2, 1.5, float("nan")])
def test_a_strength_outside_0_1_is_rejected(strength: float) -> None:
    with pytest.raises(ValidationError, match="strength"):
        RepairParameters(strength=strength)


@pytest.mark.parametrize(
    "region",
    [
        [0.2, 0.2, 1.2, 0.8],
        [-0.1, 0.0, 0.5, 0.5],
        [0.5, 0.5, 0.5, 0.9],
        [0.6, 0.2, 0.3, 0.8],
        [0.1, 0.2, 0.3],
    ],
)
def test_a_bad_region_is_rejected(region: list[float]) -> None:
    with pytest.raises(ValidationError, match="region"):
        RepairAction(panel_id="p1", strategy="inpaint", parameters={"region": region})


def test_unknown_parameters_and_a_zero_attempt_are_errors() -> None:
    with pytest.raises(ValidationError, match="mask"):
        RepairParameters.model_validate({"seed": 1, "mask": "m.png"})
    with pytest.raises(ValidationError, match="attempt"):
        RepairParameters(attempt=0)


def test_an_audit_json_written_with_dict_parameters_loads_and_writes_back_unchanged() -> None:
    text = DICT_FORM_AUDIT.read_text()
    audit = AuditLog.model_validate_json(text)
    inpaint = next(a for r in audit.rounds for a in r.repairs if a.strategy == "inpaint")
    assert inpaint.parameters.region == (0.2638, 0.6752, 0.3862, 0.92)
    assert inpaint.parameters.seed == audit.versions["p06"][0].seed
    assert audit.versions["p06"][1].repair == inpaint.model_copy(update={"to_version": 2})
    # fields added to AuditLog since this file was written (chosen, plan_findings, ...) take
    # their defaults; everything the file holds is written back as it was
    written = audit.model_dump(mode="json", exclude_unset=True)
    assert json.dumps(written, indent=2, ensure_ascii=False) + "\n" == text
    assert audit.chosen == {} and audit.plan_findings == [] and not audit.plan_checked


# -- RenderResult --------------------------------------------------------------------------------

IMAGE = Image.new("RGB", (8, 8))


def test_typed_fields_and_the_seed_used() -> None:
    result = RenderResult(IMAGE, 0.1, {"seed": 9}, seed=9, task="img2img", strength=0.5)
    assert (result.seed_used(7), result.task, result.strength, result.reseeds) == (
        9,
        "img2img",
        0.5,
        (),
    )
    assert RenderResult(IMAGE).seed_used(7) == 7


def test_a_renderer_that_fills_only_info_has_its_typed_fields_read_from_it() -> None:
    info = {"seed": 12, "task": "inpaint", "strength": 0.75,
            "reseeded": [{"seed": 11, "reason": "black image"}]}  # fmt: skip
    result = RenderResult(IMAGE, info=info)
    assert (result.seed, result.task, result.strength) == (12, "inpaint", 0.75)
    assert result.reseeds == (Reseed(11, "black image"),)
    assert result.info == info  # the record is written as the renderer gave it


@pytest.mark.parametrize(
    ("info", "typed", "match"),
    [
        ({"seed": 8}, {"seed": 9}, "seed"),
        ({"task": "text2img"}, {"task": "inpaint"}, "task"),
        ({"strength": 0.5}, {"strength": 0.6}, "strength"),
        ({"reseeded": []}, {"reseeds": (Reseed(1, "nan"),)}, "reseeded"),
        ({}, {"strength": 1.5}, "strength"),
        ({"task": "upscale"}, {}, "task"),
    ],
)
def test_a_record_disagreeing_with_the_typed_fields_is_an_error(
    info: dict[str, Any], typed: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        RenderResult(IMAGE, info=info, **typed)
