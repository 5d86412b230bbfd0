"""A plan read back against its story: the contradictions a person would see at a glance.

Any planner can write a plan that is consistent with itself and wrong about the story (a model
that forgets a character, a sheet with a blue coat for a woman the story dresses in red), and
every later stage is then consistent with the wrong sheet: the audit scores 1.0 while the comic
contradicts the story. So after planning, the story is read with the offline planner's rules
and the plan is checked against what they find: every named character has a sheet, every colour
the story states for a part of a character is that sheet's colour for it, every sheet appears in
some panel, and a panel whose text names a character does not have an empty cast. What fails is
a `PlanFinding`: recorded in audit.json and the report before round 0, and, for a planner that
can take corrections (`correct_plan`), sent back to it once before drawing starts.

The rules are a reader with known limits (docs/planner.md has its measured recall), so a finding
is a reason to look, never a reason to stop the run.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from storyviz.agents.planner.rules.characters import CharacterDraft, discover_characters
from storyviz.agents.planner.rules.quotes import QuoteIndex
from storyviz.agents.planner.rules.text import normalise_story, wordset
from storyviz.colors import rgb_of
from storyviz.schemas import CharacterSheet, PlanFinding, StoryPlan

_TITLES = wordset(
    """mr mrs ms miss dr doctor prof professor captain capt admiral general judge sir dame lady
    lord aunt uncle old little young officer detective inspector the a an"""
)
_WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


@dataclass(frozen=True)
class StoryCharacter:
    """A character as the story's text gives it: the names it goes by and its stated colours."""

    name: str
    names: frozenset[str]
    colours: dict[str, str]


def story_characters(story: str) -> list[StoryCharacter]:
    """The named characters the rules read in `story`, with the colours it states for them."""
    text = normalise_story(story)
    if not text:
        return []
    narration = QuoteIndex(text).mask(text)
    return [_character(d) for d in discover_characters(text, narration) if d.named]


def _character(draft: CharacterDraft) -> StoryCharacter:
    names = {_key(n) for n in (draft.name, *draft.aliases)} - {""}
    colours = dict(draft.looks.attributes().colors)
    return StoryCharacter(draft.name, frozenset(names), colours)


def check_plan(story: str, plan: StoryPlan) -> list[PlanFinding]:
    """Every way `plan` contradicts or leaves out what `story` says, in story order."""
    findings: list[PlanFinding] = []
    for character in story_characters(story):
        sheet = _sheet_for(character, plan.characters)
        if sheet is None:
            findings.append(
                PlanFinding(
                    id="",
                    kind="missing_character",
                    character=character.name,
                    expected=f"a sheet for {character.name}",
                    evidence=f"the story names {character.name}; no sheet has that name",
                )
            )
            continue
        for part, stated in character.colours.items():
            given = sheet.attributes.colors.get(part)
            if given is not None and _same_colour(given, stated):
                continue
            findings.append(
                PlanFinding(
                    id="",
                    kind="colour",
                    character=character.name,
                    character_id=sheet.id,
                    part=part,
                    expected=stated,
                    observed=given,
                    evidence=(
                        f"the story gives {character.name} {stated} {part}; the sheet "
                        + (f"says {given}" if given else "gives no colour for it")
                    ),
                )
            )
    findings += _unused_sheets(plan) + _empty_casts(plan)
    return [f.model_copy(update={"id": f"plan-{n:02d}"}) for n, f in enumerate(findings, 1)]


def corrections(findings: Iterable[PlanFinding]) -> list[str]:
    """The findings as instructions a planner can act on, one line each."""
    lines = []
    for f in findings:
        if f.kind == "missing_character":
            lines.append(f"Add a character sheet for {f.character}, who is in the story.")
        elif f.kind == "colour":
            lines.append(
                f"In the sheet of {f.character} ({f.character_id}), set attributes.colors"
                f"[{f.part!r}] to {f.expected!r}: the story states it"
                + (f" (the plan says {f.observed!r})." if f.observed else ".")
            )
        elif f.kind == "unused_character":
            lines.append(f"Put {f.character} ({f.character_id}) in the cast of a panel.")
        else:
            lines.append(f"Panel {f.panel_id} names {f.character} but its cast is empty.")
    return lines


def _unused_sheets(plan: StoryPlan) -> list[PlanFinding]:
    cast = {m.character_id for p in plan.panels for m in p.cast}
    return [
        PlanFinding(
            id="",
            kind="unused_character",
            character=c.name,
            character_id=c.id,
            evidence=f"{c.name} has a sheet but is in no panel's cast",
        )
        for c in plan.characters
        if c.id not in cast
    ]


def _empty_casts(plan: StoryPlan) -> list[PlanFinding]:
    found = []
    for panel in plan.panels:
        if panel.cast:
            continue
        words = _words(" ".join([panel.beat, panel.caption or ""]))
        named = next((c for c in plan.characters if _names_in(c, words)), None)
        if named is not None:
            found.append(
                PlanFinding(
                    id="",
                    kind="empty_cast",
                    panel_id=panel.id,
                    character=named.name,
                    character_id=named.id,
                    evidence=f"panel {panel.id} is about {named.name} but draws no one",
                )
            )
    return found


def _sheet_for(character: StoryCharacter, sheets: list[CharacterSheet]) -> CharacterSheet | None:
    for sheet in sheets:
        if _key(sheet.name) in character.names or _key(sheet.id) in character.names:
            return sheet
    for sheet in sheets:  # "Captain Kate Moss" for "Kate"; "Mia" for "Mia Lopez"
        words = set(_key(sheet.name).split())
        if any(name and set(name.split()) <= words for name in character.names):
            return sheet
        if any(_key(sheet.name) and words <= set(name.split()) for name in character.names):
            return sheet
    return None


def _names_in(sheet: CharacterSheet, words: list[str]) -> bool:
    name = _key(sheet.name).split()
    return bool(name) and any(words[i : i + len(name)] == name for i in range(len(words)))


def _same_colour(a: str, b: str) -> bool:
    if a.strip().lower() == b.strip().lower():
        return True
    try:
        return rgb_of(a) == rgb_of(b)
    except KeyError:
        return False


def _key(name: str) -> str:
    """A name compared without case, quotes, possessives or leading titles."""
    words = _words(name)
    while len(words) > 1 and words[0] in _TITLES:
        words = words[1:]
    return " ".join(words)


def _words(text: str) -> list[str]:
    plain = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    return [w.removesuffix("'s") for w in _WORD_RE.findall(plain)]
