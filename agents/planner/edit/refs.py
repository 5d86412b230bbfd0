"""Which panels and characters a chat edit names: "panel 3", "the second panel", "p04", "Mia".

A user counts panels as they see them, in reading order, so "panel 3" is the third panel of the
plan as it stands now, not the panel whose id is p03 (after a removal the two differ); an id
written as such ("p04") names that panel. Anything that names no panel of the plan is an
InputError that says how many panels there are, so the chat can answer it plainly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storyviz.errors import InputError
from storyviz.schemas import CharacterSheet, StoryPlan

ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
}
_ORDINAL = r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|" + (
    r"twelfth|last|\d+(?:st|nd|rd|th))"
)
REF = rf"(?:#?\d+|p\d+|(?:the\s+)?{_ORDINAL}(?:\s+(?:panel|one))?)"
"""One panel reference as a regex fragment (no groups), for the phrase patterns."""

_ONE = re.compile(rf"^(?:the\s+)?(?:panel\s+)?({REF})$", re.IGNORECASE)


class NoSuchPanel(InputError):
    """An edit names a panel the plan does not have."""


@dataclass(frozen=True)
class PanelRef:
    """A panel as the user named it, resolved to its position (0-based) in the plan."""

    index: int
    said: str


def resolve_panel(plan: StoryPlan, said: str) -> PanelRef:
    """The panel `said` names ("3", "#3", "p03", "the second panel", "last")."""
    text = " ".join(said.strip().lower().split())
    m = _ONE.match(text)
    if m is None:
        raise NoSuchPanel(f"'{said}' does not name a panel; say e.g. 'panel 3'")
    word = re.sub(r"^the\s+|\s+(?:panel|one)$", "", m.group(1))
    count = len(plan.panels)
    ids = [p.id for p in plan.panels]
    if re.fullmatch(r"p\d+", word):
        if word in ids:
            return PanelRef(ids.index(word), said)
        raise NoSuchPanel(f"there is no panel with id {word}; the ids are {', '.join(ids)}")
    if word == "last":
        return PanelRef(count - 1, said)
    number = ORDINALS.get(word)
    if number is None:
        number = int(re.sub(r"\D", "", word))
    if not 1 <= number <= count:
        raise NoSuchPanel(f"there is no panel {number}: the plan has {_panels(count)}")
    return PanelRef(number - 1, said)


def panel_list(plan: StoryPlan, said: str) -> list[PanelRef]:
    """Several panels: "2 and 3", "2, 3 and 5", "2-4", "the first and the last"."""
    refs: list[PanelRef] = []
    for part in re.split(r"\s*(?:,|\band\b|&)\s*", said.strip()):
        if not part:
            continue
        span = re.fullmatch(r"(?:panels?\s+)?#?(\d+)\s*(?:-|–|to)\s*#?(\d+)", part, re.IGNORECASE)
        if span:
            first, last = (resolve_panel(plan, n).index for n in span.groups())
            refs.extend(PanelRef(i, part) for i in range(min(first, last), max(first, last) + 1))
        else:
            refs.append(resolve_panel(plan, re.sub(r"^panels?\s+", "", part, flags=re.I)))
    unique: dict[int, PanelRef] = {}
    for ref in refs:
        unique.setdefault(ref.index, ref)
    return list(unique.values())


def find_character(plan: StoryPlan, name: str) -> CharacterSheet:
    """The character called `name` (or with that id); an InputError lists the known ones."""
    key = name.strip().lower().removesuffix("'s").removesuffix("’s")
    for sheet in plan.characters:
        if key in (sheet.name.lower(), sheet.id.lower()):
            return sheet
    known = ", ".join(c.name for c in plan.characters) or "none"
    raise InputError(f"there is no character called {name.strip()}; the characters are: {known}")


def characters_named(plan: StoryPlan, text: str) -> list[CharacterSheet]:
    """The plan's characters named in `text`, in the order they are first named."""
    found: list[tuple[int, CharacterSheet]] = []
    for sheet in plan.characters:
        m = re.search(rf"(?<![\w-]){re.escape(sheet.name)}(?![\w-])", text, re.IGNORECASE)
        if m:
            found.append((m.start(), sheet))
    return [sheet for _, sheet in sorted(found, key=lambda pair: pair[0])]


def _panels(count: int) -> str:
    return "1 panel" if count == 1 else f"{count} panels (1-{count})"
