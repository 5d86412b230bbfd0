"""What the vision-language model is asked to answer: one verdict per panel of a call.

The shape suits strict structured outputs (OpenAI ``json_schema`` strict mode, Gemini response
schemas): optional fields are nullable with a ``None`` default, there are no maps keyed by data
and no tuples. Boxes are plain lists checked when the answer is mapped, so one odd box costs a
note rather than a retry of the whole call. Unknown extra keys are ignored, because small local
models add them and they carry nothing the auditor reads.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from storyviz.schemas import Severity

ObservedKind = Literal["attribute", "identity", "missing", "extra", "artifact"]
"""The finding kinds a model is asked for; layout and text belong to other judges."""

ObservedAttribute = Literal[
    "hair", "eyes", "skin", "fur", "outfit", "accessory", "colors", "species", "age"
]
"""Named like the parts of a sheet's ``attributes.colors``, so repairers can look them up."""


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ObservedFinding(_Answer):
    """One drift the model sees in one panel."""

    character_id: str | None = Field(
        default=None,
        description="the sheet id of the character concerned; null for a stranger or the panel",
    )
    kind: ObservedKind
    attribute: ObservedAttribute | None = Field(
        default=None, description="the drifted attribute, for kind 'attribute'"
    )
    severity: Severity
    expected: str | None = Field(default=None, description="what the sheet says")
    observed: str | None = Field(default=None, description="what the panel shows")
    region: list[float] | None = Field(
        default=None,
        description="[x0, y0, x1, y1] around the problem, normalised 0..1, origin top-left",
    )
    evidence: str = Field(description="what you see in the panel that shows the drift")
    suggestion: str | None = Field(default=None, description="how a redraw would fix it")


class PanelVerdict(_Answer):
    """Everything the model found in one panel; no findings means the panel is on model."""

    panel_id: str = Field(description="the panel id as given in the image label")
    findings: list[ObservedFinding]


class AuditAnswer(_Answer):
    """The answer to one call: a verdict for every panel image of the call."""

    panels: list[PanelVerdict]
