"""The shapes a language model fills when it plans (or edits) a comic.

They differ from storyviz.schemas on purpose. A model names characters and never invents ids or
seeds (the planner derives those, stably). Colours are a list of {part, colour} pairs, not a dict
with free keys, and a box is four named numbers: strict JSON-schema modes reject free-key objects
and do not all support array lengths. In the JSON schema every field is required and has no
default, which OpenAI's strict mode demands and the other services accept.

Parsing stays lenient all the same: a field the answer leaves out takes its default, a box
written as a list of four numbers is accepted and unknown fields are ignored, so a local model
in plain JSON mode still gets through; what matters then is checked in ``validation.py``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from storyviz.schemas import Shot

ColourPart = Literal["hair", "eyes", "skin", "fur", "outfit", "accessory"]
Role = Literal["main", "supporting"]
LineKind = Literal["speech", "thought", "shout"]


def _all_required(schema: JsonDict) -> None:
    """Every property required and none with a default, as strict structured output wants."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return
    for prop in properties.values():
        if isinstance(prop, dict):
            prop.pop("default", None)
    schema["required"] = list(properties)


class Answer(BaseModel):
    """Base of every answer model: strict schema out, lenient parsing in."""

    model_config = ConfigDict(json_schema_extra=_all_required)


class PartColour(Answer):
    part: ColourPart
    colour: str = Field(description="one colour word from the colour vocabulary")


class CharacterAnswer(Answer):
    name: str = Field(description="the character's name as the story gives it, or a short label")
    role: Role = Field("main", description="main for the protagonists, supporting for the rest")
    description: str = Field(
        "",
        description="one sentence describing how the character looks, for an illustrator",
    )
    species: str = Field("human", description="e.g. human, robot dog, cat, dragon")
    age: str = Field("", description="e.g. child, teenager, adult, old; empty if unknown")
    hair: str = Field("", description="e.g. short red hair; empty if none")
    eyes: str = Field("", description="e.g. green eyes; empty if unknown")
    skin: str = Field("", description="skin, fur or plating, e.g. fair skin, silver plating")
    outfit: str = Field("", description="e.g. yellow raincoat over a white dress")
    accessories: list[str] = Field(default_factory=list, description="e.g. red scarf")
    colours: list[PartColour] = Field(
        default_factory=list,
        description="one colour word per visible part, from the colour vocabulary",
    )


class CharacterBible(Answer):
    """Step one of two: who appears and how they look, fixed before any panel is drawn."""

    title: str = Field("", description="a short title for the comic")
    characters: list[CharacterAnswer] = Field(default_factory=list)


class BoxAnswer(Answer):
    """A box in a panel as fractions of its width (x, rightwards) and height (y, downwards)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: Any) -> Any:
        """Accept [x0, y0, x1, y1], the form models write when no schema constrains them."""
        if isinstance(value, list | tuple) and len(value) == 4:
            return dict(zip(("x0", "y0", "x1", "y1"), value, strict=True))
        return value

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)


class CastAnswer(Answer):
    character: str = Field(description="the character's name exactly as in the character list")
    box: BoxAnswer = Field(description="where the character stands in the panel, feet near y1")
    action: str = Field("", description="what the character does, e.g. opens the door")
    expression: str = Field("", description="e.g. surprised, smiling")


class LineAnswer(Answer):
    speaker: str = Field(
        "", description="the speaking character's name (in this panel's cast); empty off-panel"
    )
    text: str
    kind: LineKind = "speech"


class PanelAnswer(Answer):
    beat: str = Field(description="the moment of the story this panel shows, in a sentence")
    scene: str = Field("", description="a short phrase for the whole scene")
    setting: str = Field("", description="the place, e.g. kitchen, rainy street")
    time_of_day: str = Field("day", description="e.g. morning, day, evening, night")
    weather: str = Field("", description="e.g. rain, snow; empty indoors or when clear")
    shot: Shot = "medium"
    cast: list[CastAnswer] = Field(default_factory=list)
    caption: str = Field("", description="narration box text; empty for none")
    dialogue: list[LineAnswer] = Field(default_factory=list)


class PanelsAnswer(Answer):
    """Step two of two: the panels, staged with the characters of step one."""

    panels: list[PanelAnswer] = Field(default_factory=list)


class PlanAnswer(CharacterBible):
    """Both steps in one answer (one-step mode)."""

    panels: list[PanelAnswer] = Field(default_factory=list)


class EditCharacterAnswer(CharacterAnswer):
    id: str = Field("", description="the character's id in the current plan; empty if new")


class EditPanelAnswer(PanelAnswer):
    id: str = Field("", description="the panel's id in the current plan; empty if new")


class EditPlanAnswer(Answer):
    """A whole revised plan, with the ids of what it keeps, and what changed in a sentence."""

    summary: str = Field("", description="one sentence saying what you changed")
    title: str = ""
    style: str = Field("", description="the drawing style")
    characters: list[EditCharacterAnswer] = Field(default_factory=list)
    panels: list[EditPanelAnswer] = Field(default_factory=list)


class PanelPromptAnswer(Answer):
    panel: str = Field(description="the panel's id, exactly as given")
    prompt: str = Field(description="the generation prompt for that panel, in the asked style")


class PanelPromptsAnswer(Answer):
    """A prompt writer's answer: one generation prompt per panel asked for."""

    prompts: list[PanelPromptAnswer] = Field(default_factory=list)
