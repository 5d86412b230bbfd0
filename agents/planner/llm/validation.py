"""What a model's plan must satisfy beyond its JSON schema.

A schema can say that a box has four numbers; it cannot say that the cast names a character who
exists, that a speaker stands in the panel, or that the story got the panel count it asked for.
Each problem is one readable sentence, because the list goes back to the model verbatim as the
reason to answer again, and its first entries end up in the error a user reads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from storyviz.agents.planner.llm.schema import BoxAnswer, CharacterAnswer, PanelAnswer

AUTO_MAX_PANELS = 12
"""The most panels a model may choose when the request leaves the count to it."""

MIN_BOX_SIDE = 0.02
"""A box thinner than this (as a fraction of the panel) cannot hold a drawable figure."""


def name_key(name: str) -> str:
    """How names are compared: case and spacing do not matter ("mia" is "Mia")."""
    return " ".join(name.split()).casefold()


def validate_plan_answer(
    characters: Sequence[CharacterAnswer],
    panels: Sequence[PanelAnswer],
    *,
    asked: int | None,
    most: int = AUTO_MAX_PANELS,
) -> list[str]:
    """Every problem of a whole plan answer: its characters first, then its panels."""
    return validate_characters(characters) + validate_panels(
        panels, [c.name for c in characters], asked=asked, most=most
    )


def validate_characters(characters: Sequence[CharacterAnswer]) -> list[str]:
    """Names present and unique, main characters described."""
    problems: list[str] = []
    counts = Counter(name_key(c.name) for c in characters if c.name.strip())
    for index, character in enumerate(characters, start=1):
        if not character.name.strip():
            problems.append(f"character {index} has no name")
    for character in characters:
        key = name_key(character.name)
        if counts.get(key, 0) > 1:
            problems.append(
                f"{counts[key]} characters are named {character.name.strip()!r}; "
                "names must be unique"
            )
            counts[key] = 0  # report each duplicated name once
    for character in characters:
        if (
            character.role == "main"
            and character.name.strip()
            and not character.description.strip()
        ):
            problems.append(f"main character {character.name.strip()} has no visual description")
    return problems


def validate_panels(
    panels: Sequence[PanelAnswer],
    names: Sequence[str],
    *,
    asked: int | None,
    most: int = AUTO_MAX_PANELS,
) -> list[str]:
    """Panel count, cast and speakers known, boxes usable; `names` are the known characters."""
    problems = _count_problems(len(panels), asked, most)
    known = {name_key(n) for n in names if n.strip()}
    listing = ", ".join(n.strip() for n in names if n.strip()) or "none"
    for number, panel in enumerate(panels, start=1):
        problems += _panel_problems(number, panel, known, listing)
    return problems


def _count_problems(count: int, asked: int | None, most: int) -> list[str]:
    if count == 0:
        return ["the plan has no panels; it needs at least one"]
    if asked is not None and count != asked:
        return [f"panel count {count}, asked for {asked}"]
    if asked is None and count > most:
        return [f"panel count {count}, must be between 1 and {most}"]
    return []


def _panel_problems(number: int, panel: PanelAnswer, known: set[str], listing: str) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for member in panel.cast:
        name = member.character.strip()
        key = name_key(name)
        if key not in known:
            problems.append(
                f"panel {number} casts {name!r}, who is not in the character list ({listing})"
            )
        elif key in seen:
            problems.append(f"panel {number} casts {name} twice")
        seen.add(key)
        problems += _box_problems(number, name, member.box)
    cast_names = ", ".join(m.character.strip() for m in panel.cast) or "nobody"
    for line in panel.dialogue:
        speaker = line.speaker.strip()
        if speaker and name_key(speaker) not in seen:
            problems.append(
                f"panel {number}: the speaker {speaker!r} of {_quote(line.text)} is not in that "
                f"panel's cast ({cast_names}); add them to the cast or leave the speaker empty"
            )
    return problems


def _box_problems(number: int, name: str, box: BoxAnswer) -> list[str]:
    shown = f"[{box.x0:g}, {box.y0:g}, {box.x1:g}, {box.y1:g}]"
    if not all(0.0 <= v <= 1.0 for v in box.as_tuple()):
        return [f"panel {number}: {name}'s box {shown} has a coordinate outside 0..1"]
    if box.x1 <= box.x0 + MIN_BOX_SIDE or box.y1 <= box.y0 + MIN_BOX_SIDE:
        return [
            f"panel {number}: {name}'s box {shown} is degenerate; x1 must exceed x0 and y1 "
            f"exceed y0 by more than {MIN_BOX_SIDE:g}"
        ]
    return []


def _quote(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")
