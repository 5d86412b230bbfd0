"""Which language a story is written in, guessed from its script and its commonest words.

The plan records the language so balloons are lettered with a fitting font and the title joins
names the local way; a script count settles most stories, a few function words the Latin ones.
"""

from __future__ import annotations

import re

from storyviz.agents.planner.rules.text import wordset

_SAMPLE_CHARS = 20_000

_SCRIPTS: tuple[tuple[str, str], ...] = (
    ("ko", "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"),
    ("kana", "\u3040-\u30ff\u31f0-\u31ff"),
    ("han", "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"),
    ("cyrillic", "\u0400-\u04ff"),
    ("el", "\u0370-\u03ff"),
    ("ar", "\u0600-\u06ff"),
    ("he", "\u0590-\u05ff"),
    ("hi", "\u0900-\u097f"),
    ("th", "\u0e00-\u0e7f"),
    ("latin", "A-Za-z\u00c0-\u024f"),
)
_SCRIPT_RES = tuple((name, re.compile(f"[{chars}]")) for name, chars in _SCRIPTS)

_LATIN_MARKERS: dict[str, frozenset[str]] = {
    "en": wordset("the and is was he she it of to with her his they you"),
    "fr": wordset("le la les et est une un des il elle dans avec pas qui sur"),
    "es": wordset("el la los las y es una un del con por que se su pero"),
    "de": wordset("der die das und ist ein eine nicht mit sie er auf den im"),
    "it": wordset("il lo la gli e è una un del con per che non sono nel"),
    "pt": wordset("o os as e é um uma do da com não que se em ele ela"),
    "nl": wordset("de het een en is van met niet zij hij op dat"),
}


def detect_language(text: str) -> str:
    """An ISO 639-1 code; "en" when nothing points elsewhere."""
    sample = text[:_SAMPLE_CHARS]
    counts = {name: len(pattern.findall(sample)) for name, pattern in _SCRIPT_RES}
    cjk = counts["ko"] + counts["kana"] + counts["han"]
    # One CJK character carries about as much as a short word, i.e. several Latin letters.
    weighted = {
        name: count * (3 if name in ("ko", "kana", "han") else 1) for name, count in counts.items()
    }
    top = max(weighted, key=lambda name: weighted[name])
    if weighted[top] == 0:
        return "en"
    if top in ("ko", "kana", "han"):
        if counts["ko"] >= 0.3 * cjk:
            return "ko"
        if counts["kana"] >= 0.05 * cjk:
            return "ja"
        return "zh"
    if top == "cyrillic":
        return "uk" if re.search("[іїєґІЇЄҐ]", sample) else "ru"
    if top == "latin":
        return _latin_language(sample)
    return top


def _latin_language(sample: str) -> str:
    words = re.findall(r"[^\W\d_]+", sample.lower())
    scores = {
        lang: sum(1 for w in words if w in markers) for lang, markers in _LATIN_MARKERS.items()
    }
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] > scores["en"] else "en"
