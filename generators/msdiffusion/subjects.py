"""A panel's subjects as MS-Diffusion takes them: reference, class phrase and box per character.

The model was trained on class words ("girl", "dog", "robot"), pooled through CLIP-L, as each
subject's grounding phrase; storyviz's character sheets carry a species and a description, so
the phrase is the species for anything not human, and for people the first person noun of the
description (a "girl with red hair" is a girl), else the age word, else "person". Subjects are
the panel's cast members with a reference, in cast order. The released adapter was trained with
at most four; past ``max_subjects`` either the largest boxes are drawn and the rest recorded
(``overflow=largest``) or the render is refused (``overflow=error``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storyviz.errors import BackendError
from storyviz.generators.msdiffusion.options import NAME
from storyviz.schemas import CharacterSheet, NormBox, RenderRequest

PERSON_NOUNS = (
    "girl",
    "boy",
    "woman",
    "man",
    "child",
    "kid",
    "lady",
    "gentleman",
    "teenager",
    "baby",
    "toddler",
    "grandmother",
    "grandfather",
    "grandma",
    "grandpa",
    "mother",
    "father",
    "person",
)
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Subject:
    character_id: str
    reference: str  # path, as in the request
    phrase: str
    box: NormBox


@dataclass(frozen=True)
class Subjects:
    drawn: list[Subject]
    dropped: list[str]  # character ids left out past max_subjects


def phrase_for(sheet: CharacterSheet | None) -> str:
    """The class phrase of a character (see the module docstring)."""
    if sheet is None:
        return "person"
    species = sheet.attributes.species.strip().lower()
    if species and species not in ("human", "person", "people"):
        return species
    for text in (sheet.description, sheet.attributes.age or ""):
        for word in _WORD.findall(text.lower()):
            if word in PERSON_NOUNS:
                return word
    return "person"


def panel_subjects(request: RenderRequest, limit: int, overflow: str) -> Subjects:
    """The request's subjects, at most ``limit`` of them (``overflow`` says how)."""
    if request.kind != "panel" or request.panel is None or not request.references:
        return Subjects([], [])
    sheets = {sheet.id: sheet for sheet in request.characters}
    found = [
        Subject(
            m.character_id,
            request.references[m.character_id],
            phrase_for(sheets.get(m.character_id)),
            m.box,
        )
        for m in request.panel.cast
        if m.character_id in request.references
    ]
    if len(found) <= limit:
        return Subjects(found, [])
    if overflow == "error":
        raise BackendError(
            f"backend '{NAME}': panel {request.target_id} has {len(found)} characters with "
            f"references, more than max_subjects={limit}; raise max_subjects or use "
            "overflow=largest"
        )
    ranked = sorted(range(len(found)), key=lambda i: (-_area(found[i].box), i))
    keep = sorted(ranked[:limit])
    dropped = [found[i].character_id for i in sorted(ranked[limit:])]
    return Subjects([found[i] for i in keep], dropped)


def _area(box: NormBox) -> float:
    x0, y0, x1, y1 = box
    return max(0.0, x1 - x0) * max(0.0, y1 - y0)
