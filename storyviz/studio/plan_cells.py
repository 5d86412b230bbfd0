"""The plan's editable tables: rows shown in the page, and a plan made from the rows edited.

Only cells that differ from what the plan shows are read back, so a row nobody touched never
changes the plan (a dialogue line holding " / " survives a round trip it would not survive being
re-parsed). A cell that cannot be read is an `InputError` naming the row and the column, and the
plan stays as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args

from storyviz.agents.chat.tables import plan_table
from storyviz.anatomy import COLOUR_PARTS
from storyviz.errors import InputError
from storyviz.schemas import CastMember, CharacterSheet, DialogueLine, PanelSpec, Shot, StoryPlan

CHARACTER_COLUMNS = ["name", "looks", "colours"]
PANEL_COLUMNS = ["#", "shot", "scene", "cast", "caption", "dialogue"]
SHOTS: tuple[str, ...] = get_args(Shot)
NARRATOR = "narrator"

Rows = Sequence[Sequence[Any]]


def character_rows(plan: StoryPlan) -> list[list[str]]:
    return [[c[k] for k in CHARACTER_COLUMNS] for c in plan_table(plan)["characters"]]


def panel_rows(plan: StoryPlan) -> list[list[str]]:
    return [[p["n"], *(p[k] for k in PANEL_COLUMNS[1:])] for p in plan_table(plan)["panels"]]


def plan_from_rows(plan: StoryPlan, characters: Rows, panels: Rows) -> StoryPlan:
    """`plan` with the edited cells applied; rows cannot be added or removed here (the chat
    adds and removes panels), so a table of another length is refused."""
    if len(characters) != len(plan.characters) or len(panels) != len(plan.panels):
        raise InputError(
            "the tables edit cells only: add or remove panels and characters in the chat "
            "(e.g. 'add a panel after 2 where ...')"
        )
    shown_characters, shown_panels = character_rows(plan), panel_rows(plan)
    sheets = [
        _sheet(sheet, _cells(row, len(CHARACTER_COLUMNS)), shown, n)
        for n, (sheet, row, shown) in enumerate(
            zip(plan.characters, characters, shown_characters, strict=True), start=1
        )
    ]
    edited = plan.model_copy(update={"characters": sheets})
    specs = [
        _panel(edited, spec, _cells(row, len(PANEL_COLUMNS)), shown, n)
        for n, (spec, row, shown) in enumerate(
            zip(plan.panels, panels, shown_panels, strict=True), start=1
        )
    ]
    return StoryPlan.model_validate(
        edited.model_copy(update={"panels": specs}).model_dump(mode="json")
    )


def edit_panel_text(
    plan: StoryPlan, number: int, *, caption: str, dialogue: str, prompt: str
) -> StoryPlan:
    """Panel `number` (1-based) with a new caption, dialogue ("Name: words / ...") and image
    prompt (empty: the template writes it)."""
    if not 1 <= number <= len(plan.panels):
        raise InputError(f"there is no panel {number}: the plan has {len(plan.panels)}")
    spec = plan.panels[number - 1]
    update: dict[str, Any] = {
        "caption": caption.strip() or None,
        "dialogue": _dialogue(plan, spec, dialogue, number),
        "image_prompt": prompt.strip() or None,
    }
    panels = list(plan.panels)
    panels[number - 1] = spec.model_copy(update=update)
    return StoryPlan.model_validate(plan.model_copy(update={"panels": panels}).model_dump())


def panel_prompt(plan: StoryPlan, number: int) -> str:
    return plan.panels[number - 1].image_prompt or "" if 1 <= number <= len(plan.panels) else ""


def _cells(row: Sequence[Any], width: int) -> list[str]:
    cells = ["" if cell is None else str(cell) for cell in row]
    return (cells + [""] * width)[:width]


def _sheet(sheet: CharacterSheet, row: list[str], shown: list[str], n: int) -> CharacterSheet:
    name, looks, colours = (cell.strip() for cell in row)
    update: dict[str, Any] = {}
    if row[0] != shown[0]:
        if not name:
            raise InputError(f"character {n}: the name is empty")
        update["name"] = name
    if row[1] != shown[1]:
        if not looks:
            raise InputError(f"character {n} ({sheet.name}): the looks are empty")
        update["description"] = looks
    if row[2] != shown[2]:
        parsed = _colours(colours, f"character {n} ({sheet.name})")
        update["attributes"] = sheet.attributes.model_copy(update={"colors": parsed})
    return sheet.model_copy(update=update) if update else sheet


def _colours(text: str, who: str) -> dict[str, str]:
    """'hair red, outfit dark green' -> {'hair': 'red', 'outfit': 'dark green'}."""
    colours: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        part, _, colour = item.partition(" ")
        if part.lower() not in COLOUR_PARTS or not colour.strip():
            raise InputError(
                f"{who}: colours are 'part colour' pairs such as 'hair red, outfit green' "
                f"(parts: {', '.join(COLOUR_PARTS)}); cannot read {item!r}"
            )
        colours[part.lower()] = colour.strip()
    return colours


def _panel(plan: StoryPlan, spec: PanelSpec, row: list[str], shown: list[str], n: int) -> PanelSpec:
    update: dict[str, Any] = {}
    shot, scene, cast, caption, dialogue = (cell.strip() for cell in row[1:])
    if row[1] != shown[1]:
        if shot not in SHOTS:
            raise InputError(f"panel {n}: the shot must be one of {', '.join(SHOTS)}")
        update["shot"] = shot
    if row[2] != shown[2]:
        update["scene"] = scene
    if row[3] != shown[3]:
        update["cast"] = _cast(plan, spec, cast, n)
    if row[4] != shown[4]:
        update["caption"] = caption or None
    if row[5] != shown[5]:
        update["dialogue"] = _dialogue(plan, spec, dialogue, n)
    return spec.model_copy(update=update) if update else spec


def _character_id(plan: StoryPlan, name: str, where: str) -> str:
    for sheet in plan.characters:
        if sheet.name.casefold() == name.casefold() or sheet.id == name:
            return sheet.id
    known = ", ".join(c.name for c in plan.characters) or "none"
    raise InputError(f"{where}: no character is called {name!r} (characters: {known})")


def _cast(plan: StoryPlan, spec: PanelSpec, text: str, n: int) -> list[CastMember]:
    """Names in the cell, in order; members kept keep their place in the panel, new ones stand
    side by side in the free width (the layout a panel with that many people would get)."""
    names = [] if text.strip() in ("", "-") else [t.strip() for t in text.split(",") if t.strip()]
    ids = [_character_id(plan, name, f"panel {n}") for name in names]
    kept = {m.character_id: m for m in spec.cast}
    members = []
    for slot, cid in enumerate(ids):
        if cid in kept:
            members.append(kept[cid])
            continue
        width = 0.8 / len(ids)
        x0 = 0.1 + slot * width
        members.append(CastMember(character_id=cid, box=(x0, 0.25, x0 + width * 0.9, 0.95)))
    return members


def _dialogue(plan: StoryPlan, spec: PanelSpec, text: str, n: int) -> list[DialogueLine]:
    """'Mia: Hello! / narrator: Later that day' -> lines; a line without 'Name:' is the
    narrator's. Each line keeps the kind (speech, thought, shout) of the line it replaces."""
    lines = []
    for i, said in enumerate(filter(None, (t.strip() for t in text.split(" / ")))):
        who, colon, words = said.partition(":")
        speaker: str | None = None
        if colon and who.strip().casefold() != NARRATOR:
            speaker = _character_id(plan, who.strip(), f"panel {n} dialogue")
        elif not colon:
            words = said
        if not words.strip():
            raise InputError(f"panel {n} dialogue: {said!r} says nothing")
        kind = spec.dialogue[i].kind if i < len(spec.dialogue) else "speech"
        lines.append(DialogueLine(speaker_id=speaker, text=words.strip(), kind=kind))
    return lines
