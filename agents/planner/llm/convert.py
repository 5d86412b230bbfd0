"""From a model's (validated) answer to a real StoryPlan.

The model only names and describes; everything the rest of the pipeline keys on is derived here,
deterministically: ids are slugs of names (``mia``) and panel numbers (``p01``), seeds come from
the request's seed and the id through a process-independent hash, pages come from the shared
layout table, and colours are brought into the auditor's vocabulary. The same answer and request
therefore always give the same plan.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from storyviz.agents.planner.llm.colour_vocab import vocabulary_colour
from storyviz.agents.planner.llm.schema import CharacterAnswer, PanelAnswer
from storyviz.agents.planner.llm.validation import name_key
from storyviz.agents.planner.rules.language import detect_language
from storyviz.agents.planner.rules.text import shorten, slugify
from storyviz.layouts import pages_for, paginate
from storyviz.schemas import (
    CastMember,
    CharacterAttributes,
    CharacterSheet,
    DialogueLine,
    PanelSpec,
    StoryPlan,
    StoryRequest,
)
from storyviz.seeding import stable_seed

MAX_TITLE_CHARS = 120
REFERENCE_PROMPT_CHARS = 240


def plan_from_answer(
    request: StoryRequest,
    title: str,
    characters: Sequence[CharacterAnswer],
    panels: Sequence[PanelAnswer],
    *,
    per_page: int,
) -> StoryPlan:
    """The plan for `request` from a model's characters and panels (already validated)."""
    ids = unique_ids([c.name for c in characters])
    sheets = [
        sheet_from_answer(answer, sheet_id=sheet_id, seed=stable_seed(request.seed, sheet_id))
        for answer, sheet_id in zip(characters, ids, strict=True)
    ]
    by_name = {name_key(s.name): s.id for s in sheets}
    width = panel_id_width(len(panels))
    specs = [
        panel_from_answer(answer, panel_id=f"p{n:0{width}d}", ids=by_name)
        for n, answer in enumerate(panels, start=1)
    ]
    return plan_for_request(request, title, sheets, specs, per_page=per_page)


def plan_for_request(
    request: StoryRequest,
    title: str,
    sheets: list[CharacterSheet],
    panels: list[PanelSpec],
    *,
    per_page: int,
) -> StoryPlan:
    """A plan of `sheets` and `panels` with what the request fixes (style, language, reading
    order, page size) and its panels paged `per_page` at most: a model's answer and a salvaged
    one are laid out alike."""
    return StoryPlan(
        title=plan_title(request.title, title),
        style=request.style,
        language=request.language if request.language != "auto" else detect_language(request.story),
        reading_order=request.reading_order,
        page_size=request.page_size,
        characters=sheets,
        panels=panels,
        pages=pages_for(panels, paginate(len(panels), per_page)),
    )


def plan_title(requested: str | None, answered: str) -> str:
    """The user's title wins over the model's; a plan always has one."""
    for title in (requested, answered):
        if title and title.strip():
            return shorten(title, MAX_TITLE_CHARS)
    return "Untitled"


def unique_ids(names: Sequence[str], taken: Collection[str] = ()) -> list[str]:
    """Slugs of `names`, made unique among themselves and against `taken`."""
    used = set(taken)
    ids: list[str] = []
    for number, name in enumerate(names, start=1):
        base = slugify(name) or f"character-{number}"
        candidate, suffix = base, 2
        while candidate in used:
            candidate, suffix = f"{base}-{suffix}", suffix + 1
        used.add(candidate)
        ids.append(candidate)
    return ids


def panel_id_width(count: int) -> int:
    """Digits in panel ids: p01..p99, then p001.., as the offline planner numbers them."""
    return 3 if count > 99 else 2


def sheet_from_answer(answer: CharacterAnswer, *, sheet_id: str, seed: int) -> CharacterSheet:
    attributes = attributes_from_answer(answer)
    name = " ".join(answer.name.split())
    description = " ".join(answer.description.split()) or _described(attributes)
    return CharacterSheet(
        id=sheet_id,
        name=name,
        description=description,
        attributes=attributes,
        reference_prompt=reference_prompt(name, description),
        seed=seed,
        role=answer.role,
    )


def reference_prompt(name: str, description: str) -> str:
    """The same wording the offline planner uses, so references look alike across planners."""
    return shorten(
        f"character reference of {name}, {description}, full body, front view, neutral pose, "
        "plain light background",
        REFERENCE_PROMPT_CHARS,
    )


def attributes_from_answer(answer: CharacterAnswer) -> CharacterAttributes:
    colours: dict[str, str] = {}
    for entry in answer.colours:
        word = vocabulary_colour(entry.colour, entry.part)
        if word is not None and entry.part not in colours:
            colours[entry.part] = word
    return CharacterAttributes(
        species=_text(answer.species) or "human",
        age=_text(answer.age),
        hair=_text(answer.hair),
        eyes=_text(answer.eyes),
        skin=_text(answer.skin),
        outfit=_text(answer.outfit),
        accessories=[a for a in (_text(x) for x in answer.accessories) if a],
        colors=colours,
    )


def panel_from_answer(answer: PanelAnswer, *, panel_id: str, ids: Mapping[str, str]) -> PanelSpec:
    """`ids` maps each character's name key to its id; the answer is known to use only those."""
    return PanelSpec(
        id=panel_id,
        beat=answer.beat.strip(),
        scene=answer.scene.strip(),
        setting=answer.setting.strip(),
        time_of_day=answer.time_of_day.strip() or "day",
        weather=answer.weather.strip(),
        shot=answer.shot,
        cast=[
            CastMember(
                character_id=ids[name_key(m.character)],
                box=m.box.as_tuple(),
                action=m.action.strip(),
                expression=m.expression.strip(),
            )
            for m in answer.cast
        ],
        caption=answer.caption.strip() or None,
        dialogue=[
            DialogueLine(
                speaker_id=ids[name_key(line.speaker)] if line.speaker.strip() else None,
                text=line.text.strip(),
                kind=line.kind,
            )
            for line in answer.dialogue
            if line.text.strip()
        ],
    )


def _text(value: str) -> str | None:
    flat = " ".join(value.split())
    return flat or None


def _described(attributes: CharacterAttributes) -> str:
    """A description from the attributes, for a supporting character the model left undescribed."""
    words = [w for w in (attributes.age, attributes.species) if w]
    parts = [" ".join(words)]
    parts += [x for x in (attributes.hair, attributes.eyes, attributes.skin) if x]
    if attributes.outfit:
        parts.append(f"wearing {attributes.outfit}")
    return ", ".join(parts)
