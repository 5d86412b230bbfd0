"""The plan edits the rule-based interpreter knows, and how each one changes a plan.

Each edit is a small value (what to change, already resolved to panel positions and character
ids) with one `apply` that returns a new plan and a sentence saying what it did. Everything an
edit does not mention is copied unchanged, ids included, so `diff_plans` can tell exactly which
panels must be drawn again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from storyviz.agents.planner.edit.pages import repage
from storyviz.agents.planner.rules.looks import Feature
from storyviz.agents.planner.rules.panels import MAX_CAPTION_CHARS
from storyviz.agents.planner.rules.scene_words import INDOORS
from storyviz.agents.planner.rules.scenes import (  # the planner's wording
    _TIME_PHRASES,
    _WEATHER_WORDS,
)
from storyviz.agents.planner.rules.staging import expression_in, figure_of, fit_shot, layout_boxes
from storyviz.agents.planner.rules.text import shorten, squash
from storyviz.errors import InputError
from storyviz.schemas import (
    MAX_PANELS,
    CastMember,
    CharacterAttributes,
    CharacterSheet,
    DialogueLine,
    PanelSpec,
    Shot,
    StoryPlan,
)

_ROUTE_RE = re.compile(r"\bon the way (?:home|to the [\w ]+?)(?=\s+(?:at|in|during)\b|$)")
_QUOTE_RE = re.compile(r"[\"“”«»]([^\"“”«»]+)[\"“”«»]")


class Edit(Protocol):
    def apply(self, plan: StoryPlan, per_page: int) -> tuple[StoryPlan, str]: ...


def _label(plan: StoryPlan, index: int) -> str:
    return f"panel {index + 1} ({plan.panels[index].id})"


def _with_panels(plan: StoryPlan, panels: Sequence[PanelSpec], per_page: int) -> StoryPlan:
    """The plan with these panels, re-paged, validated again (casts must still resolve)."""
    return StoryPlan(
        **{**dict(plan), "panels": list(panels), "pages": repage(plan, panels, per_page)}
    )


def _staged(plan: StoryPlan, cast: Sequence[CastMember], shot: Shot) -> list[CastMember]:
    """The same cast, with boxes laid out for `shot` (a new shot frames figures differently)."""
    sheets = {c.id: c for c in plan.characters}
    figures = [
        figure_of(sheets[m.character_id].attributes, sheets[m.character_id].description)
        for m in cast
    ]
    boxes = layout_boxes(figures, shot, plan.reading_order)
    return [m.model_copy(update={"box": box}) for m, box in zip(cast, boxes, strict=True)]


def scene_text(setting: str, time_of_day: str, weather: str, route: str = "") -> str:
    """A scene line in the offline planner's own words: "rainy street at night"."""
    words = [_WEATHER_WORDS.get(weather, weather)] if weather else []
    words.append(setting or "street")
    if route:
        words.append(route)
    words.append(_TIME_PHRASES.get(time_of_day, time_of_day))
    return " ".join(words)


@dataclass(frozen=True)
class SceneChange:
    """Where, when and how a panel is seen: "make panel 3 at night", "panel 2 in the park"."""

    panels: tuple[int, ...]
    time_of_day: str | None = None
    weather: str | None = None  # "" clears it
    setting: str | None = None
    shot: Shot | None = None

    def apply(self, plan: StoryPlan, per_page: int) -> tuple[StoryPlan, str]:
        panels = list(plan.panels)
        for index in self.panels:
            panels[index] = self._changed(plan, panels[index])
        said = [
            f"time of day {self.time_of_day}" if self.time_of_day else "",
            f"weather {self.weather or 'clear'}" if self.weather is not None else "",
            f"setting {self.setting}" if self.setting else "",
            f"shot {self.shot}" if self.shot else "",
        ]
        where = ", ".join(_label(plan, i) for i in self.panels)
        return _with_panels(plan, panels, per_page), f"{where}: {', '.join(s for s in said if s)}"

    def _changed(self, plan: StoryPlan, panel: PanelSpec) -> PanelSpec:
        setting = self.setting or panel.setting
        weather = panel.weather if self.weather is None else self.weather
        if self.setting and self.weather is None and setting in INDOORS:
            weather = ""  # indoors it does not rain
        route = ""
        if setting == panel.setting:
            found = _ROUTE_RE.search(panel.scene)
            route = found.group(0) if found else ""
        time_of_day = self.time_of_day or panel.time_of_day
        update: dict[str, object] = {}
        if (setting, time_of_day, weather) != (panel.setting, panel.time_of_day, panel.weather):
            update = {  # the scene line is rewritten only when what it says changed
                "setting": setting,
                "weather": weather,
                "time_of_day": time_of_day,
                "scene": scene_text(setting, time_of_day, weather, route),
            }
        if self.shot and self.shot != panel.shot:
            if fit_shot(self.shot, len(panel.cast)) != self.shot:
                raise InputError(
                    f"the shot {self.shot} does not fit panel {plan.panels.index(panel) + 1}, "
                    f"which shows {len(panel.cast)} character(s); try medium or wide"
                )
            update["shot"] = self.shot
            update["cast"] = _staged(plan, panel.cast, self.shot)
        return panel.model_copy(update=update)


@dataclass(frozen=True)
class LookChange:
    """A character's sheet changes: "Mia wears a green scarf from now on".

    One sheet holds a character's look for the whole comic, so the change applies to every
    panel the character is in (see docs/chat.md, "from now on").
    """

    character_id: str
    features: tuple[Feature, ...] = ()
    take_off: tuple[str, ...] = ()  # nouns: "scarf"

    def apply(self, plan: StoryPlan, per_page: int) -> tuple[StoryPlan, str]:
        sheet = plan.character(self.character_id)
        changed = sheet
        for noun in self.take_off:
            changed = _without(changed, noun)
        for feature in self.features:
            changed = _wearing(changed, feature)
        characters = [changed if c.id == sheet.id else c for c in plan.characters]
        told = [worn_phrase(sheet, f) for f in self.features] + [f"no {n}" for n in self.take_off]
        return (
            plan.model_copy(update={"characters": characters}),
            f"{sheet.name} from now on: {', '.join(told)}, in every panel",
        )


_FIELD_OF_PART = {"hair": "hair", "eyes": "eyes", "skin": "skin", "fur": "skin", "outfit": "outfit"}
"""Which attribute holds the text of each colour part (fur is written where skin is)."""


def worn_phrase(sheet: CharacterSheet, feature: Feature) -> str:
    """The feature as the sheet will say it: with the part's old colour when none was given."""
    colour = feature.color or sheet.attributes.colors.get(feature.part)
    return feature.phrase if feature.color or not colour else f"{colour} {feature.phrase}"


def _wearing(sheet: CharacterSheet, feature: Feature) -> CharacterSheet:
    """The sheet with this feature replacing the one it displaces (same part; same noun for an
    accessory). A feature named without a colour keeps the colour its part had, so "Mia wears a
    dress" gives a dress in her outfit colour rather than an unchecked one."""
    a = sheet.attributes
    colors = dict(a.colors)
    part = feature.part
    colour = feature.color or colors.get(part)
    phrase = worn_phrase(sheet, feature)
    if colour:
        colors[part] = colour
    update: dict[str, object] = {"colors": colors}
    if feature.color:  # the person named the colour: it is no longer the planner's choice
        update["assigned_colors"] = [p for p in a.assigned_colors if p != part]
    if part == "accessory":
        same = [x for x in a.accessories if x.split()[-1:] == [feature.noun]]
        old_text = same[0] if same else None
        update["accessories"] = [x for x in a.accessories if x not in same] + [phrase]
    else:
        old_text = getattr(a, _FIELD_OF_PART[part])
        update[_FIELD_OF_PART[part]] = phrase
    attributes = CharacterAttributes.model_validate({**a.model_dump(), **update})
    return _relook(sheet, attributes, _describe_with(sheet.description, old_text, part, phrase))


def _without(sheet: CharacterSheet, noun: str) -> CharacterSheet:
    a = sheet.attributes
    gone = [x for x in a.accessories if x.split()[-1:] == [noun] or x == noun]
    if not gone:
        raise InputError(f"{sheet.name} has no {noun} to take off")
    accessories = [x for x in a.accessories if x not in gone]
    colors = {k: v for k, v in a.colors.items() if k != "accessory" or accessories}
    description = sheet.description
    for phrase in gone:
        description = re.sub(
            rf"(?:,\s*with|\s+and|,)?\s+(?:an?\s+|the\s+)?{re.escape(phrase)}\b", "", description
        )
    assigned = [p for p in a.assigned_colors if p in colors]
    attributes = a.model_copy(
        update={"accessories": accessories, "colors": colors, "assigned_colors": assigned}
    )
    return _relook(sheet, attributes, description)


def _describe_with(description: str, old: str | None, part: str, phrase: str) -> str:
    """The description with the old phrase for this part replaced, or the new one added."""
    if old and old in description:
        return description.replace(old, phrase, 1)
    plural = phrase.endswith("s") and not phrase.endswith("ss")
    article = "" if plural else ("an " if phrase[:1] in "aeiou" else "a ")
    if part == "outfit":
        return f"{description}, wearing {article}{phrase}"
    if part == "accessory":
        return f"{description}, with {article}{phrase}"
    return f"{description}, with {phrase}"


def _relook(
    sheet: CharacterSheet, attributes: CharacterAttributes, description: str
) -> CharacterSheet:
    prompt = sheet.reference_prompt
    if sheet.description and sheet.description in prompt:
        prompt = prompt.replace(sheet.description, description, 1)
    else:
        prompt = (
            f"character reference of {sheet.name}, {description}, full body, front view, "
            "neutral pose, plain light background"
        )
    return sheet.model_copy(
        update={"attributes": attributes, "description": description, "reference_prompt": prompt}
    )


@dataclass(frozen=True)
class AddPanel:
    """A new panel at position `at` (0 = first): "add a panel after 4 where Bolt barks"."""

    at: int
    text: str
    cast: tuple[str, ...] = ()  # character ids, in the order named
    scene: dict[str, str] = field(default_factory=dict)  # setting / time_of_day / weather

    def apply(self, plan: StoryPlan, per_page: int) -> tuple[StoryPlan, str]:
        if len(plan.panels) >= MAX_PANELS:
            raise InputError(f"a plan holds at most {MAX_PANELS} panels")
        neighbour = plan.panels[self.at - 1] if self.at > 0 else plan.panels[0]
        panel = self._panel(plan, neighbour, _fresh_id(plan))
        panels = [*plan.panels[: self.at], panel, *plan.panels[self.at :]]
        new = _with_panels(plan, panels, per_page)
        where = f"after {_label(plan, self.at - 1)}" if self.at > 0 else "at the start"
        who = ", ".join(plan.character(c).name for c in self.cast) or "no named character"
        return new, f"added {panel.id} {where}: {self.text} ({who})"

    def _panel(self, plan: StoryPlan, neighbour: PanelSpec, panel_id: str) -> PanelSpec:
        lines = [q.strip() for q in _QUOTE_RE.findall(self.text) if q.strip()]
        narration = narration_of(self.text)
        speaker = self.cast[0] if self.cast else None
        shot: Shot = "medium" if self.cast else "wide"
        if lines and len(self.cast) == 1:
            shot = "close-up"
        shot = fit_shot(shot, len(self.cast))
        setting = self.scene.get("setting", neighbour.setting)
        time_of_day = self.scene.get("time_of_day", neighbour.time_of_day)
        weather = self.scene.get("weather", neighbour.weather)
        if "setting" in self.scene and "weather" not in self.scene and setting in INDOORS:
            weather = ""
        members = [
            CastMember(
                character_id=cid,
                box=(0.1, 0.1, 0.5, 0.9),
                action=_action_of(plan.character(cid).name, narration),
                expression=expression_in(narration),
            )
            for cid in self.cast
        ]
        caption = narration[:1].upper() + narration[1:] if narration else ""
        if caption and caption[-1] not in ".!?…":
            caption += "."
        return PanelSpec(
            id=panel_id,
            beat=squash(self.text),
            scene=scene_text(setting, time_of_day, weather),
            setting=setting,
            time_of_day=time_of_day,
            weather=weather,
            shot=shot,
            cast=_staged(plan, members, shot),
            caption=shorten(caption, MAX_CAPTION_CHARS) if caption and not lines else None,
            dialogue=[DialogueLine(speaker_id=speaker, text=t) for t in lines[:4]],
        )


def narration_of(text: str) -> str:
    """A new panel's text without its quoted lines (which become balloons)."""
    return squash(_QUOTE_RE.sub("", text)).strip(" ,")


def _action_of(name: str, narration: str) -> str:
    """What a named character does: the words after its name, up to the next clause."""
    m = re.search(rf"\b{re.escape(name)}(?:\s+and\s+\w+)?\s+(?P<act>[^,.;!?]+)", narration, re.I)
    return " ".join(m.group("act").split()[:6]) if m else ""


def _fresh_id(plan: StoryPlan) -> str:
    """An id above every numbered id of the plan, as wide as they are (p09 after p08)."""
    numbers = [int(m.group(1)) for p in plan.panels if (m := re.fullmatch(r"p(\d+)", p.id))]
    width = max((len(p.id) - 1 for p in plan.panels if re.fullmatch(r"p\d+", p.id)), default=2)
    return f"p{max(numbers, default=0) + 1:0{width}d}"


@dataclass(frozen=True)
class StyleChange:
    """ "change the style to watercolor": every panel (and reference) is drawn again."""

    style: str

    def apply(self, plan: StoryPlan, per_page: int) -> tuple[StoryPlan, str]:
        return plan.model_copy(update={"style": self.style}), f"style {self.style}, every panel"


@dataclass(frozen=True)
class RemovePanels:
    """ "remove the second panel", "delete panels 2 and 3"."""

    panels: tuple[int, ...]

    def apply(self, plan: StoryPlan, per_page: int) -> tuple[StoryPlan, str]:
        if len(set(self.panels)) >= len(plan.panels):
            raise InputError("a comic needs at least one panel; this would remove them all")
        gone = set(self.panels)
        panels = [p for i, p in enumerate(plan.panels) if i not in gone]
        said = ", ".join(_label(plan, i) for i in sorted(gone))
        return _with_panels(plan, panels, per_page), f"removed {said}"


@dataclass(frozen=True)
class MovePanel:
    """ "swap panels 2 and 3" (swap=True), "move panel 5 before 2" (`to` counts the old plan)."""

    index: int
    to: int
    swap: bool = False

    def apply(self, plan: StoryPlan, per_page: int) -> tuple[StoryPlan, str]:
        panels = list(plan.panels)
        if self.swap:
            panels[self.index], panels[self.to] = panels[self.to], panels[self.index]
            said = f"swapped {_label(plan, self.index)} and {_label(plan, self.to)}"
        else:
            moving = panels.pop(self.index)
            panels.insert(self.to - (1 if self.to > self.index else 0), moving)
            said = f"moved {_label(plan, self.index)} to position {panels.index(moving) + 1}"
        return _with_panels(plan, panels, per_page), said
