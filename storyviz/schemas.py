"""The typed data model every role speaks.

Everything that crosses a boundary between agents, generators, evaluators and the run store
is one of these models, so it can be checkpointed, written as JSON and read back unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from storyviz.geometry import Box
from storyviz.text_checks import has_visible_text, is_utf8

MAX_STORY_CHARS = 50_000
MAX_PANELS = 60

ReadingOrder = Literal["ltr", "rtl"]
Shot = Literal["establishing", "wide", "medium", "close-up", "over-the-shoulder", "low-angle"]
FindingKind = Literal["identity", "attribute", "missing", "extra", "layout", "text", "artifact"]
Severity = Literal["minor", "major", "critical"]
RepairStrategy = Literal["reprompt", "reseed", "inpaint", "img2img"]
RunStatus = Literal["running", "interrupted", "failed", "completed"]
PageSize = Literal["A4", "Letter", "B5", "square"]

SEVERITY_WEIGHT: dict[str, float] = {"minor": 0.25, "major": 0.6, "critical": 1.0}


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Model(BaseModel):
    """Strict about unknown fields: a typo in a plan/config is an error, not a silent drop."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _check_box(box: Box) -> Box:
    x0, y0, x1, y1 = box
    for v in box:
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"box {list(box)} has a coordinate outside 0..1")
    if x1 - x0 < 0.01 or y1 - y0 < 0.01:
        raise ValueError(f"box {list(box)} is degenerate (x1 must exceed x0 and y1 exceed y0)")
    return box


NormBox = Annotated[Box, Field(description="[x0, y0, x1, y1], normalised to 0..1")]


class StoryRequest(Model):
    story: str
    panels: int | None = Field(
        default=None, description="panel count; None lets the planner decide"
    )
    style: str = "storyboard sketch"
    reading_order: ReadingOrder = "ltr"
    page_size: PageSize = "A4"
    seed: int = 0
    language: str = "auto"
    title: str | None = None

    @field_validator("story", "style", "language", "title")
    @classmethod
    def _utf8(cls, v: str | None) -> str | None:
        if v is not None and not is_utf8(v):
            raise ValueError("not UTF-8 text: it holds bytes that could not be decoded")
        return v

    @field_validator("story")
    @classmethod
    def _story_has_text(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the story is empty")
        if not has_visible_text(v):
            raise ValueError("the story is empty: it has only control or invisible characters")
        if len(v) > MAX_STORY_CHARS:
            raise ValueError(
                f"the story has {len(v):,} characters; the limit is {MAX_STORY_CHARS:,}"
            )
        return v

    @field_validator("panels")
    @classmethod
    def _panels_in_range(cls, v: int | None) -> int | None:
        if v is not None and not 1 <= v <= MAX_PANELS:
            raise ValueError(f"panels must be between 1 and {MAX_PANELS}, got {v}")
        return v

    @field_validator("seed")
    @classmethod
    def _seed_in_range(cls, v: int) -> int:
        if not 0 <= v < 2**32:
            raise ValueError(f"seed must be between 0 and {2**32 - 1}, got {v}")
        return v


class CharacterAttributes(Model):
    species: str = "human"
    age: str | None = None
    hair: str | None = None
    eyes: str | None = None
    skin: str | None = None
    outfit: str | None = None
    accessories: list[str] = Field(default_factory=list)
    colors: dict[str, str] = Field(
        default_factory=dict,
        description="part -> colour name, e.g. {'hair': 'red', 'outfit': 'yellow'}; "
        "parts are hair, eyes, skin, fur, outfit, accessory",
    )
    assigned_colors: list[str] = Field(
        default_factory=list,
        description="parts of `colors` whose colour the planner chose because the story states "
        "none (so the auditor has a colour to check); every other colour is the story's",
    )


class CharacterSheet(Model):
    id: str
    name: str
    description: str
    attributes: CharacterAttributes = Field(default_factory=CharacterAttributes)
    reference_prompt: str = ""
    seed: int = 0
    role: Literal["main", "supporting"] = "main"


class CastMember(Model):
    character_id: str
    box: NormBox
    action: str = ""
    expression: str = ""

    @field_validator("box")
    @classmethod
    def _box_valid(cls, v: Box) -> Box:
        return _check_box(v)


class DialogueLine(Model):
    speaker_id: str | None = None
    text: str
    kind: Literal["speech", "thought", "shout"] = "speech"


class PanelSpec(Model):
    id: str
    beat: str
    scene: str = ""
    setting: str = ""
    time_of_day: str = "day"
    weather: str = ""
    shot: Shot = "medium"
    cast: list[CastMember] = Field(default_factory=list)
    caption: str | None = None
    dialogue: list[DialogueLine] = Field(default_factory=list)
    image_prompt: str | None = Field(
        None,
        description="the generation prompt a prompt writer fitted to the generator; "
        "None: the template (prompts/panel.j2) writes it",
    )


class PageSpec(Model):
    index: int
    template: str
    panel_ids: list[str]


class StoryPlan(Model):
    title: str
    style: str
    language: str = "en"
    reading_order: ReadingOrder = "ltr"
    page_size: PageSize = "A4"
    characters: list[CharacterSheet]
    panels: list[PanelSpec]
    pages: list[PageSpec]

    @model_validator(mode="after")
    def _references_resolve(self) -> StoryPlan:
        ids = {c.id for c in self.characters}
        if len(ids) != len(self.characters):
            raise ValueError("character ids must be unique")
        panel_ids = [p.id for p in self.panels]
        if len(set(panel_ids)) != len(panel_ids):
            raise ValueError("panel ids must be unique")
        for panel in self.panels:
            for member in panel.cast:
                if member.character_id not in ids:
                    raise ValueError(
                        f"panel {panel.id} casts unknown character {member.character_id!r}"
                    )
            for line in panel.dialogue:
                if line.speaker_id is not None and line.speaker_id not in ids:
                    raise ValueError(f"panel {panel.id} has an unknown speaker {line.speaker_id!r}")
        on_pages = [pid for page in self.pages for pid in page.panel_ids]
        if sorted(on_pages) != sorted(panel_ids):
            raise ValueError("every panel must appear on exactly one page")
        return self

    def character(self, character_id: str) -> CharacterSheet:
        for c in self.characters:
            if c.id == character_id:
                return c
        raise KeyError(character_id)

    def panel(self, panel_id: str) -> PanelSpec:
        for p in self.panels:
            if p.id == panel_id:
                return p
        raise KeyError(panel_id)

    def panel_number(self, panel_id: str) -> int:
        """Where the panel stands in reading order, from 1: how a person counts panels."""
        for number, p in enumerate(self.panels, 1):
            if p.id == panel_id:
                return number
        raise KeyError(panel_id)


class RegionPrompt(Model):
    box: NormBox
    prompt: str
    character_id: str | None = None


class RenderRequest(Model):
    """What a generator is asked to draw.

    Besides the prompt a diffusion model reads, it carries the structured panel and cast so that
    renderers which draw from structure (the sketch renderer) or condition on layout can use it.
    """

    kind: Literal["panel", "reference"] = "panel"
    target_id: str
    version: int = 1
    prompt: str
    negative_prompt: str = ""
    width: int = 512
    height: int = 512
    seed: int = 0
    steps: int | None = None
    guidance: float | None = None
    style: str = ""
    panel: PanelSpec | None = None
    characters: list[CharacterSheet] = Field(default_factory=list)
    regions: list[RegionPrompt] = Field(default_factory=list)
    references: dict[str, str] = Field(default_factory=dict, description="character id -> path")
    init_image: str | None = None
    mask: str | None = None
    strength: float | None = None
    emphasis: list[str] = Field(
        default_factory=list, description="attribute phrases a repair insists on"
    )
    text_regions: list[NormBox] = Field(
        default_factory=list,
        description="where the caption and balloons will be lettered, normalised to the panel "
        "(laid out before drawing, for models that keep room for text)",
    )


class Finding(Model):
    id: str
    panel_id: str
    character_id: str | None = None
    kind: FindingKind
    attribute: str | None = None
    expected: str | None = None
    observed: str | None = None
    severity: Severity = "major"
    region: NormBox | None = None
    evidence: str = ""
    suggestion: str | None = None
    auditor: str = ""


PlanFindingKind = Literal["missing_character", "colour", "unused_character", "empty_cast"]


class PlanFinding(Model):
    """Where a plan contradicts or leaves out its story, found before anything is drawn."""

    id: str
    kind: PlanFindingKind
    character: str  # as the story names them
    character_id: str | None = None  # the sheet, when there is one
    panel_id: str | None = None
    part: str | None = None
    expected: str | None = None
    observed: str | None = None
    evidence: str = ""
    corrected: bool = False  # the planner was asked to fix it and the corrected plan has not it


class PanelAudit(Model):
    panel_id: str
    version: int
    score: float = Field(ge=0.0, le=1.0)
    character_scores: dict[str, float] = Field(default_factory=dict)
    findings: list[Finding] = Field(default_factory=list)
    auditor: str = ""


class RepairParameters(Model):
    """What a repair asks the generator for. Every repairer sets ``seed``, ``emphasis`` and
    ``attempt``; inpaint and img2img may add the ``region`` to redraw, the ``strength`` and the
    version (``init_version``, run-relative ``init_image``) they start from.

    Only the fields a repairer set are written, None never is, in the order below: the JSON is
    the dict every repairer wrote before this model existed, and that dict still loads."""

    seed: int | None = None
    emphasis: list[str] = Field(
        default_factory=list, description="attribute phrases the redraw insists on"
    )
    attempt: int | None = Field(default=None, ge=1, description="repairs of this panel so far")
    region: NormBox | None = None
    strength: float | None = Field(
        default=None, gt=0.0, le=1.0, description="how much img2img/inpaint repaints, (0, 1]"
    )
    init_version: int | None = Field(default=None, ge=1)
    init_image: str | None = None

    @field_validator("region")
    @classmethod
    def _region_valid(cls, v: Box | None) -> Box | None:
        return None if v is None else _check_box(v)

    @model_serializer(mode="wrap")
    def _set_fields_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        return {k: v for k, v in dumped.items() if k in self.model_fields_set and v is not None}


class RepairAction(Model):
    panel_id: str
    strategy: RepairStrategy
    parameters: RepairParameters = Field(default_factory=RepairParameters)
    finding_ids: list[str] = Field(default_factory=list)
    rationale: str = ""
    from_version: int = 1
    to_version: int | None = None


class PanelVersion(Model):
    panel_id: str
    version: int
    path: str
    seed: int
    prompt: str
    backend: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    score: float | None = None
    scores: dict[str, float] = Field(default_factory=dict)
    findings: list[Finding] = Field(default_factory=list)
    repair: RepairAction | None = None
    seconds: float = 0.0
    created_at: str = Field(default_factory=utc_now)


class AuditRound(Model):
    round: int
    audited: list[str]
    audits: dict[str, PanelAudit]
    consistency_index: float
    panel_scores: dict[str, float]
    flagged: list[str]
    repairs: list[RepairAction] = Field(default_factory=list)
    seconds: float = 0.0


class RoleCost(Model):
    calls: int = 0
    failed_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0  # images an API image model returned (generator role)
    seconds: float = 0.0


class Costs(Model):
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    llm_by_role: dict[str, RoleCost] = Field(default_factory=dict, description="role -> usage")
    images: int = 0
    seconds: dict[str, float] = Field(default_factory=dict, description="step -> seconds")
    vlm_calls_saved: int = Field(
        0, description="VLM calls a measuring auditor spared in a chain (clip:...+vlm:...)"
    )


class RunManifest(Model):
    run_id: str
    status: RunStatus = "running"
    created_at: str = Field(default_factory=utc_now)
    updated_at: str = Field(default_factory=utc_now)
    request: StoryRequest
    config: dict[str, Any] = Field(default_factory=dict)
    backends: dict[str, str] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    prompt_hashes: dict[str, str] = Field(default_factory=dict)
    rounds: int = 0
    consistency_index: float | None = None
    panels: int = 0
    findings: int = 0
    repairs: int = 0
    costs: Costs = Field(default_factory=Costs)
    pid: int | None = None
    error: str | None = None


class AuditLog(Model):
    """audit.json: every round, every panel version, and which version is current."""

    threshold: float
    max_rounds: int
    rounds: list[AuditRound] = Field(default_factory=list)
    versions: dict[str, list[PanelVersion]] = Field(default_factory=dict)
    current: dict[str, int] = Field(default_factory=dict, description="panel id -> version")
    chosen: dict[str, int] = Field(
        default_factory=dict,
        description="panel id -> the version a person picked as current; no repair replaces it",
    )
    plan_checked: bool = False  # False: the run drew a plan it was given (a chat's, approved)
    plan_findings: list[PlanFinding] = Field(
        default_factory=list, description="the plan checked against its story, before round 0"
    )
    references: dict[str, str] = Field(
        default_factory=dict, description="character id -> reference image path (run-relative)"
    )
    consistency_index: float | None = None


class RunEvent(Model):
    """One line of events.jsonl."""

    ts: str = Field(default_factory=utc_now)
    event: str
    step: str = ""
    panel_id: str | None = None
    version: int | None = None
    seconds: float | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
