"""Bringing a model's colour words into the vocabulary of storyviz.colors.

The colour auditor and the sketch renderer only know the words in storyviz.colors. A model asked
for those words mostly uses them, but writes "light blue", "copper" or "pinkish" now and then;
those map to the obvious word. A colour with no obvious word ("iridescent") is left out of the
sheet's colours (its attribute text still says it), since a guess would make the auditor demand
a colour the story never asked for.
"""

from __future__ import annotations

import re

from storyviz.agents.planner.rules.looks import colour_word
from storyviz.colors import COLOR_RGB, SKIN_RGB

_SYNONYMS: dict[str, str] = {
    "aqua": "turquoise",
    "azure": "blue",
    "burgundy": "maroon",
    "charcoal": "grey",
    "cherry": "red",
    "chocolate": "brown",
    "coffee": "brown",
    "copper": "ginger",
    "cream": "beige",
    "ebony": "black",
    "fuchsia": "magenta",
    "honey": "golden",
    "indigo": "navy",
    "ivory": "white",
    "jade": "emerald",
    "jet": "black",
    "khaki": "tan",
    "lilac": "lavender",
    "mint": "green",
    "mustard": "yellow",
    "platinum": "silver",
    "plum": "purple",
    "raven": "black",
    "rose": "pink",
    "ruby": "red",
    "rust": "ginger",
    "sand": "beige",
    "sandy": "beige",
    "sapphire": "blue",
    "snow": "white",
    "snowy": "white",
    "wine": "maroon",
}
"""Colour names outside the vocabulary whose nearest vocabulary word nobody would dispute."""

_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")


def vocabulary_colour(text: str, part: str = "") -> str | None:
    """The vocabulary word for a model's colour `text` on `part`, or None when none is obvious.

    Skin takes skin tones first ("olive" skin is a tone, not the green). A phrase maps through
    its last word that names a colour ("dark navy blue" -> blue, "light brown" -> brown).
    """
    words = _WORD.findall(text.lower())
    if not words:
        return None
    if len(words) == 1:
        return _single(words[0], part)
    return next((c for c in (_single(w, part) for w in reversed(words)) if c), None)


def _single(word: str, part: str) -> str | None:
    if part == "skin" and word in SKIN_RGB:
        return word
    if "-" in word:  # the head of a compound comes last: "bluish-green" is green
        return next((c for c in (_single(w, part) for w in reversed(word.split("-"))) if c), None)
    found = colour_word(word, part) or _SYNONYMS.get(word)
    if found is None and word.endswith("ish") and len(word) > 5:
        stem = word[:-3]
        found = colour_word(stem, part) or colour_word(stem[:-1], part)  # "pinkish", "reddish"
    return found if found in COLOR_RGB or (part == "skin" and found in SKIN_RGB) else None
