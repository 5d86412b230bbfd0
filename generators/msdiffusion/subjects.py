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

from storyviz.generators.msdiffusion.options import NAME
from storyviz.generators.seed_models.subjects import Subject, Subjects
from storyviz.generators.seed_models.subjects import panel_subjects as cast_subjects
from storyviz.schemas import CharacterSheet, RenderRequest

__all__ = ["PERSON_NOUNS", "Subject", "Subjects", "panel_subjects", "phrase_for"]

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
    """The request's subjects with their class phrases, at most ``limit`` of them."""
    return cast_subjects(request, limit, overflow, NAME, phrase_for)
