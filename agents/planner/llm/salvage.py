"""What to keep of a model's plan that stayed wrong, and how the rules complete it.

A small local model often gets half a plan right: a good character list and then no panels, or
three good panels and a fourth that casts someone who does not exist. Throwing all of it away
after minutes of generation gives the user nothing; instead each character and each panel is
judged on its own, the good ones are kept (repaired where a repair cannot change what the model
meant), and the rule-based planner's plan of the same request fills the gaps.

What counts as usable:

- a character needs a name not used by an earlier character (compared as `name_key` does); a
  main character needs a description, or attributes to describe them from (``convert``
  writes one), else they are dropped;
- a panel needs a beat. A cast member who names no kept character, is cast twice, or whose box
  is degenerate is removed from that panel (coordinates outside 0..1 are clamped first); a
  line whose speaker is not in the panel's remaining cast keeps its words with no speaker
  (off-panel, as the schema allows), so no speaker can name someone absent;
- a panel count above the one asked for is cut to it; a count below is completed with the rule
  plan's panels at the same positions (panels 3-4 of the rules for panels 3-4), so the story's
  order holds. With no usable character at all, the characters come from the rules too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from storyviz.agents.planner.llm.convert import (
    attributes_from_answer,
    panel_from_answer,
    panel_id_width,
    plan_for_request,
    sheet_from_answer,
    unique_ids,
)
from storyviz.agents.planner.llm.schema import (
    BoxAnswer,
    CastAnswer,
    CharacterAnswer,
    LineAnswer,
    PanelAnswer,
)
from storyviz.agents.planner.llm.validation import MIN_BOX_SIDE, name_key
from storyviz.schemas import CharacterSheet, PanelSpec, StoryPlan, StoryRequest
from storyviz.seeding import stable_seed


@dataclass
class Kept:
    """The usable part of an answer, and what was dropped or repaired to get it."""

    characters: list[CharacterAnswer] = field(default_factory=list)
    panels: list[PanelAnswer] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)


def usable_characters(characters: Sequence[CharacterAnswer]) -> Kept:
    kept = Kept()
    seen: set[str] = set()
    for number, character in enumerate(characters, start=1):
        key = name_key(character.name)
        if not key:
            kept.repairs.append(f"character {number} had no name")
        elif key in seen:
            kept.repairs.append(f"a second {character.name.strip()!r} was dropped")
        elif (
            character.role == "main"
            and not character.description.strip()
            and not _describable(character)
        ):
            kept.repairs.append(f"main character {character.name.strip()} had no description")
        else:
            seen.add(key)
            kept.characters.append(character)
    return kept


def usable_panels(panels: Sequence[PanelAnswer], names: Sequence[str], asked: int | None) -> Kept:
    """The panels worth drawing, repaired, at most `asked` of them; `names` are the characters
    they may cast."""
    kept = Kept()
    known = {name_key(n) for n in names}
    for number, panel in enumerate(panels, start=1):
        if not panel.beat.strip():
            kept.repairs.append(f"panel {number} had no beat")
            continue
        kept.panels.append(_repaired(number, panel, known, kept.repairs))
    if asked is not None and len(kept.panels) > asked:
        kept.repairs.append(f"{len(kept.panels) - asked} panels beyond the {asked} asked for")
        kept.panels = kept.panels[:asked]
    return kept


def _describable(character: CharacterAnswer) -> bool:
    attributes = attributes_from_answer(character)
    return any((attributes.hair, attributes.eyes, attributes.skin, attributes.outfit))


def _repaired(number: int, panel: PanelAnswer, known: set[str], repairs: list[str]) -> PanelAnswer:
    cast: list[CastAnswer] = []
    seen: set[str] = set()
    for member in panel.cast:
        key = name_key(member.character)
        box = _clamped(member.box)
        if key not in known or key in seen or box is None:
            repairs.append(f"panel {number}: cast member {member.character.strip()!r} removed")
            continue
        seen.add(key)
        cast.append(member.model_copy(update={"box": box}))
    dialogue: list[LineAnswer] = []
    for line in panel.dialogue:
        if line.speaker.strip() and name_key(line.speaker) not in seen:
            repairs.append(f"panel {number}: speaker {line.speaker.strip()!r} made off-panel")
            line = line.model_copy(update={"speaker": ""})
        dialogue.append(line)
    return panel.model_copy(update={"cast": cast, "dialogue": dialogue})


def _clamped(box: BoxAnswer) -> BoxAnswer | None:
    x0, y0, x1, y1 = (min(1.0, max(0.0, v)) for v in box.as_tuple())
    if x1 <= x0 + MIN_BOX_SIDE or y1 <= y0 + MIN_BOX_SIDE:
        return None
    return BoxAnswer(x0=x0, y0=y0, x1=x1, y1=y1)


@dataclass(frozen=True)
class Completed:
    """A plan from kept answers and the rules, and what came from where (for the warning)."""

    plan: StoryPlan
    rule_panels: list[int]  # 1-based numbers of the panels the rules wrote
    rule_characters: list[str]  # names of the characters the rules added


def complete_plan(
    request: StoryRequest,
    title: str,
    kept: Kept,
    rules: StoryPlan,
    *,
    per_page: int,
) -> Completed:
    """The model's kept characters and panels, then the rule plan's panels for the rest of the
    count, with the rule characters those panels cast (matched to the model's by name)."""
    count = request.panels if request.panels is not None else len(kept.panels)
    count = count or len(rules.panels)
    ids = unique_ids([c.name for c in kept.characters])
    sheets = [
        sheet_from_answer(answer, sheet_id=sheet_id, seed=stable_seed(request.seed, sheet_id))
        for answer, sheet_id in zip(kept.characters, ids, strict=True)
    ]
    by_name = {name_key(s.name): s.id for s in sheets}
    width = panel_id_width(count)
    panels = [
        panel_from_answer(answer, panel_id=f"p{n:0{width}d}", ids=by_name)
        for n, answer in enumerate(kept.panels[:count], start=1)
    ]
    first_rule = len(panels)
    borrowed = rules.panels[first_rule:count]
    rule_ids = _rule_character_ids(rules, borrowed, sheets, all_of_them=not sheets)
    gained = _gained(rules.characters, rule_ids, sheets)
    sheets += gained
    for n, panel in enumerate(borrowed, start=first_rule + 1):
        panels.append(_moved(panel, f"p{n:0{width}d}", rule_ids))
    plan = plan_for_request(request, title or rules.title, sheets, panels, per_page=per_page)
    return Completed(
        plan,
        rule_panels=list(range(first_rule + 1, len(panels) + 1)),
        rule_characters=[c.name for c in gained],
    )


def _rule_character_ids(
    rules: StoryPlan,
    borrowed: Sequence[PanelSpec],
    sheets: Sequence[CharacterSheet],
    *,
    all_of_them: bool,
) -> dict[str, str]:
    """Rule character id -> its id in the completed plan: the model's character of the same
    name, else a fresh id; only for the characters the borrowed panels use (all of them when
    the model kept none)."""
    used = {m.character_id for p in borrowed for m in p.cast}
    used |= {line.speaker_id for p in borrowed for line in p.dialogue if line.speaker_id}
    model = {name_key(s.name): s.id for s in sheets}
    wanted = [c for c in rules.characters if all_of_them or c.id in used]
    fresh = [c for c in wanted if name_key(c.name) not in model]
    new_ids = unique_ids([c.id for c in fresh], taken=[s.id for s in sheets])
    mapping = {c.id: new for c, new in zip(fresh, new_ids, strict=True)}
    mapping |= {c.id: model[name_key(c.name)] for c in wanted if name_key(c.name) in model}
    return mapping


def _gained(
    characters: Sequence[CharacterSheet], mapping: dict[str, str], sheets: Sequence[CharacterSheet]
) -> list[CharacterSheet]:
    """The rule characters the plan gains (not matched to a model character), under their ids."""
    model_ids = {s.id for s in sheets}
    return [
        c.model_copy(update={"id": mapping[c.id]})
        for c in characters
        if c.id in mapping and mapping[c.id] not in model_ids
    ]


def _moved(panel: PanelSpec, panel_id: str, ids: dict[str, str]) -> PanelSpec:
    cast = [m.model_copy(update={"character_id": ids[m.character_id]}) for m in panel.cast]
    dialogue = [
        line.model_copy(
            update={"speaker_id": ids.get(line.speaker_id) if line.speaker_id else None}
        )
        for line in panel.dialogue
    ]
    return panel.model_copy(
        update={"id": panel_id, "cast": cast, "dialogue": dialogue, "image_prompt": None}
    )


def ranges(numbers: Sequence[int]) -> str:
    """``[2, 3, 5]`` as ``2-3, 5``: how the warning names panels."""
    parts: list[str] = []
    start = previous = None
    for n in [*numbers, None]:
        if n is not None and previous is not None and n == previous + 1:
            previous = n
            continue
        if start is not None:
            parts.append(f"{start}" if start == previous else f"{start}-{previous}")
        start = previous = n
    return ", ".join(parts)
