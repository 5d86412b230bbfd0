"""Plan edits: a revised plan that keeps what it did not change, and the list of what changed.

A chat user says "make panel 2 at night" or "Mia wears a green scarf from now on"; only the
panels that look different afterwards should be drawn again. So a revision keeps the ids (and
seeds and reference prompts) of every character and panel it keeps, and the diff names each
panel whose spec changed, whose characters' sheets changed, or whose page slot changed shape
(its render size follows the slot), besides the panels added and removed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import Field

from storyviz.agents.planner.llm.convert import (
    panel_from_answer,
    panel_id_width,
    plan_title,
    sheet_from_answer,
    unique_ids,
)
from storyviz.agents.planner.llm.schema import (
    BoxAnswer,
    CastAnswer,
    EditCharacterAnswer,
    EditPanelAnswer,
    EditPlanAnswer,
    LineAnswer,
    PartColour,
)
from storyviz.agents.planner.llm.validation import name_key
from storyviz.anatomy import COLOUR_PARTS
from storyviz.layouts import pages_for, paginate, render_size
from storyviz.schemas import CharacterSheet, Model, PanelSpec, StoryPlan
from storyviz.seeding import stable_seed

_PANEL_NUMBER = re.compile(r"p(\d+)")  # used with fullmatch


class PlanEdit(Model):
    """A revised plan and what a caller must redraw: changed and added panels."""

    plan: StoryPlan
    changed_panels: list[str] = Field(default_factory=list, description="kept ids, redraw")
    added: list[str] = Field(default_factory=list, description="new panel ids")
    removed: list[str] = Field(default_factory=list, description="panel ids no longer there")
    summary: str = ""
    changed_characters: list[str] = Field(
        default_factory=list, description="character ids whose sheet is new or changed"
    )


def diff_plans(old: StoryPlan, new: StoryPlan) -> PlanEdit:
    """What changed from `old` to `new`, matching panels and characters by id."""
    old_sheets = {c.id: c for c in old.characters}
    changed_characters = [
        c.id
        for c in new.characters
        if c.id not in old_sheets or _looks(c) != _looks(old_sheets[c.id])
    ]
    restyled = new.style != old.style
    old_ids = {p.id for p in old.panels}
    new_ids = {p.id for p in new.panels}
    old_slots, new_slots = _slot_sizes(old), _slot_sizes(new)
    changed_panels = [
        p.id
        for p in new.panels
        if p.id in old_ids
        and (
            restyled
            or p != old.panel(p.id)
            or old_slots.get(p.id) != new_slots.get(p.id)
            or any(m.character_id in changed_characters for m in p.cast)
        )
    ]
    added = [p.id for p in new.panels if p.id not in old_ids]
    removed = [p.id for p in old.panels if p.id not in new_ids]
    return PlanEdit(
        plan=new,
        changed_panels=changed_panels,
        added=added,
        removed=removed,
        summary=_summary(changed_panels, added, removed, changed_characters),
        changed_characters=changed_characters,
    )


def clear_written_prompts(edit: PlanEdit) -> PlanEdit:
    """The edit with the written prompts (``image_prompt``) of its changed panels dropped: they
    describe what the panel showed before. The template then writes them, unless a prompt
    writer writes them again."""
    changed = set(edit.changed_panels)
    if not any(p.image_prompt for p in edit.plan.panels if p.id in changed):
        return edit
    panels = [
        p.model_copy(update={"image_prompt": None}) if p.id in changed else p
        for p in edit.plan.panels
    ]
    return edit.model_copy(update={"plan": edit.plan.model_copy(update={"panels": panels})})


def answer_from_plan(plan: StoryPlan) -> EditPlanAnswer:
    """The plan in the form the model answers in, ids included, so it can copy what it keeps."""
    names = {c.id: c.name for c in plan.characters}
    return EditPlanAnswer(
        summary="",
        title=plan.title,
        style=plan.style,
        characters=[_character_answer(c) for c in plan.characters],
        panels=[_panel_answer(p, names) for p in plan.panels],
    )


def plan_from_edit(
    old: StoryPlan, answer: EditPlanAnswer, *, per_page: int, seed: int = 0
) -> StoryPlan:
    """The revised plan from a validated answer, keeping ids, seeds and unchanged sheets.

    A character keeps its id when the answer gives it back, or when it keeps its name; a panel
    keeps its id when the answer gives it back. New ones get fresh ids that no old character or
    panel had, so a removed panel's renders are never mistaken for a new panel's. When the panel
    count is unchanged the pages keep their sizes.
    """
    sheets = _sheets(old, answer.characters, seed)
    by_name = {name_key(s.name): s.id for s in sheets}
    ids = _panel_ids(old, answer.panels)
    panels = [
        _kept_prompt(old, panel_from_answer(panel, panel_id=pid, ids=by_name))
        for panel, pid in zip(answer.panels, ids, strict=True)
    ]
    if len(panels) == len(old.panels):
        sizes = [len(page.panel_ids) for page in old.pages]
    else:
        sizes = paginate(len(panels), per_page)
    return StoryPlan(
        title=plan_title(None, answer.title) if answer.title.strip() else old.title,
        style=answer.style.strip() or old.style,
        language=old.language,
        reading_order=old.reading_order,
        page_size=old.page_size,
        characters=sheets,
        panels=panels,
        pages=pages_for(panels, sizes),
    )


def _kept_prompt(old: StoryPlan, panel: PanelSpec) -> PanelSpec:
    """A kept panel the answer left as it was keeps its written prompt (the model answers
    without prompts)."""
    before = next((p for p in old.panels if p.id == panel.id), None)
    if before is None or before.image_prompt is None:
        return panel
    if panel == before.model_copy(update={"image_prompt": None}):
        return before
    return panel


def _sheets(
    old: StoryPlan, answers: Sequence[EditCharacterAnswer], seed: int
) -> list[CharacterSheet]:
    old_by_id = {c.id: c for c in old.characters}
    old_by_name = {name_key(c.name): c.id for c in old.characters}
    kept: list[str | None] = []
    claimed: set[str] = set()
    for answer in answers:
        candidates = (answer.id.strip(), old_by_name.get(name_key(answer.name)))
        match = next((c for c in candidates if c in old_by_id and c not in claimed), None)
        if match is not None:
            claimed.add(match)
        kept.append(match)
    fresh = iter(
        unique_ids(
            [a.name for a, k in zip(answers, kept, strict=True) if k is None],
            taken=set(old_by_id),
        )
    )
    sheets: list[CharacterSheet] = []
    for answer, match in zip(answers, kept, strict=True):
        if match is None:
            sheet_id = next(fresh)
            sheets.append(
                sheet_from_answer(answer, sheet_id=sheet_id, seed=stable_seed(seed, sheet_id))
            )
            continue
        previous = old_by_id[match]
        built = sheet_from_answer(answer, sheet_id=match, seed=previous.seed)
        same_look = (built.name, built.description, built.attributes) == (
            previous.name,
            previous.description,
            previous.attributes,
        )
        sheets.append(previous.model_copy(update={"role": built.role}) if same_look else built)
    return sheets


def _panel_ids(old: StoryPlan, answers: Sequence[EditPanelAnswer]) -> list[str]:
    old_ids = [p.id for p in old.panels]
    claimed: set[str] = set()
    ids: list[str | None] = []
    for answer in answers:
        pid = answer.id.strip()
        if pid in old_ids and pid not in claimed:
            claimed.add(pid)
            ids.append(pid)
        else:
            ids.append(None)
    matches = [m for m in map(_PANEL_NUMBER.fullmatch, old_ids) if m]
    next_number = max((int(m.group(1)) for m in matches), default=0) + 1
    width = max([panel_id_width(len(answers)), *(len(m.group(1)) for m in matches)])
    result: list[str] = []
    for slot in ids:
        while slot is None or (slot not in claimed and slot in old_ids):
            slot = f"p{next_number:0{width}d}"  # above every old number: never an old id
            next_number += 1
        result.append(slot)
    return result


def _looks(sheet: CharacterSheet) -> tuple[object, ...]:
    """What a character's drawings depend on (its role does not)."""
    return (sheet.name, sheet.description, sheet.attributes, sheet.reference_prompt, sheet.seed)


def _slot_sizes(plan: StoryPlan) -> dict[str, tuple[int, int]]:
    return {
        pid: render_size(page.template, index, plan.page_size)
        for page in plan.pages
        for index, pid in enumerate(page.panel_ids)
    }


def _summary(
    changed: Sequence[str], added: Sequence[str], removed: Sequence[str], characters: Sequence[str]
) -> str:
    parts = [
        f"{label}: {', '.join(ids)}"
        for label, ids in (
            ("changed", changed),
            ("added", added),
            ("removed", removed),
            ("characters changed", characters),
        )
        if ids
    ]
    return "; ".join(parts) if parts else "no panel changed"


def _character_answer(sheet: CharacterSheet) -> EditCharacterAnswer:
    a = sheet.attributes
    return EditCharacterAnswer(
        id=sheet.id,
        name=sheet.name,
        role=sheet.role,
        description=sheet.description,
        species=a.species,
        age=a.age or "",
        hair=a.hair or "",
        eyes=a.eyes or "",
        skin=a.skin or "",
        outfit=a.outfit or "",
        accessories=list(a.accessories),
        colours=[
            PartColour.model_validate({"part": part, "colour": colour})
            for part, colour in a.colors.items()
            if part in COLOUR_PARTS
        ],
    )


def _panel_answer(panel: PanelSpec, names: dict[str, str]) -> EditPanelAnswer:
    return EditPanelAnswer(
        id=panel.id,
        beat=panel.beat,
        scene=panel.scene,
        setting=panel.setting,
        time_of_day=panel.time_of_day,
        weather=panel.weather,
        shot=panel.shot,
        cast=[
            CastAnswer(
                character=names[m.character_id],
                box=BoxAnswer(x0=m.box[0], y0=m.box[1], x1=m.box[2], y1=m.box[3]),
                action=m.action,
                expression=m.expression,
            )
            for m in panel.cast
        ],
        caption=panel.caption or "",
        dialogue=[
            LineAnswer(
                speaker=names[line.speaker_id] if line.speaker_id else "",
                text=line.text,
                kind=line.kind,
            )
            for line in panel.dialogue
        ],
    )
