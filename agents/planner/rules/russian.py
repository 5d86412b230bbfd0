"""Character rules for Russian text, whose nouns and adjectives change their endings.

Words are matched by stem ("собак" finds собака, собаку, собакой), so "маленькую серебряную
собаку-робота" is a small silver robot dog and "с рыжими волосами" is ginger hair, the same
kind of facts the English rules read, from a smaller vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from storyviz.agents.planner.rules.looks import Feature, NounPhrase, make_feature

ENDING = r"[а-яё]{0,3}"
"""Up to three letters of case ending after a stem."""

# stem -> (English creature noun, adjectives it implies)
CREATURE_STEMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "девочк": ("girl", ()),
    "девушк": ("woman", ("young",)),
    "мальчик": ("boy", ()),
    "женщин": ("woman", ()),
    "мужчин": ("man", ()),
    "старик": ("man", ("old",)),
    "старушк": ("woman", ("old",)),
    "бабушк": ("grandmother", ()),
    "дедушк": ("grandfather", ()),
    "собак": ("dog", ()),
    "щенок": ("puppy", ()),
    "щенк": ("puppy", ()),
    "кошк": ("cat", ()),
    "кот": ("cat", ()),
    "котён": ("kitten", ()),
    "котен": ("kitten", ()),
    "птиц": ("bird", ()),
    "робот": ("robot", ()),
    "дракон": ("dragon", ()),
    "медвед": ("bear", ()),
    "лошад": ("horse", ()),
    "учител": ("teacher", ()),
    "корол": ("king", ()),
    "королев": ("queen", ()),
    "принцесс": ("princess", ()),
    "почтальон": ("postman", ()),
    "доктор": ("doctor", ()),
    "врач": ("doctor", ()),
    "рыбак": ("fisherman", ()),
    "повар": ("cook", ()),
    "продавц": ("shopkeeper", ()),
    "продавщиц": ("shopkeeper", ()),
    "внучк": ("granddaughter", ()),
    "внук": ("grandson", ()),
    "сестр": ("sister", ()),
    "брат": ("brother", ()),
    "мышк": ("mouse", ()),
    "кролик": ("rabbit", ()),
    "ворон": ("crow", ()),
}
_ADJECTIVE_STEMS: dict[str, str] = {
    "маленьк": "small",
    "крошечн": "tiny",
    "больш": "big",
    "стар": "old",
    "молод": "young",
    "застенчив": "shy",
    "храбр": "brave",
}
_COLOUR_STEMS: dict[str, str] = {
    "серебрян": "silver",
    "серебрист": "silver",
    "красн": "red",
    "рыж": "ginger",
    "жёлт": "yellow",
    "желт": "yellow",
    "син": "blue",
    "голуб": "blue",
    "зелён": "green",
    "зелен": "green",
    "чёрн": "black",
    "черн": "black",
    "бел": "white",
    "сер": "grey",
    "фиолетов": "purple",
    "розов": "pink",
    "оранжев": "orange",
    "коричнев": "brown",
    "золот": "golden",
    "светл": "light",
    "тёмн": "dark",
    "темн": "dark",
}
_PART_STEMS: dict[str, str] = {
    "волос": "hair",
    "глаз": "eyes",
    "плать": "dress",
    "куртк": "jacket",
    "плащ": "raincoat",
    "дождевик": "raincoat",
    "пальто": "coat",
    "шарф": "scarf",
    "шапк": "hat",
    "шляп": "hat",
    "шерст": "fur",
    "свитер": "sweater",
    "рубашк": "shirt",
    "юбк": "skirt",
    "ошейник": "collar",
    "халат": "robe",
    "платок": "scarf",
    "платк": "scarf",
    "сапог": "boots",
    "сапожк": "boots",
    "ботин": "boots",
    "очк": "glasses",
    "пиджак": "jacket",
    "сарафан": "dress",
    "пижам": "pajamas",
    "комбинезон": "overalls",
    "фартук": "apron",
    "кепк": "cap",
    "рюкзак": "backpack",
    "перчатк": "gloves",
    "бант": "bow",
    "перь": "feathers",
    "косичк": "braid",
    "коса": "braid",
    "косу": "braid",
    "косы": "braid",
    "косой": "braid",
}


def _alternation(stems: Iterable[str]) -> str:
    return "|".join(sorted(stems, key=len, reverse=True))


_NOUN_RE = re.compile(
    rf"(?<![\w-])(?P<adjs>(?:[а-яё]+\s+){{0,2}})(?P<noun>{_alternation(CREATURE_STEMS)}){ENDING}"
    rf"(?P<robot>-робот{ENDING})?(?![\w-])",
    re.IGNORECASE,
)
_FEATURE_RE = re.compile(
    rf"(?<!\w)(?P<colour>{_alternation(_COLOUR_STEMS)}){ENDING}\s+"
    rf"(?P<part>{_alternation(_PART_STEMS)}){ENDING}(?!\w)",
    re.IGNORECASE,
)


def is_creature_word(word: str) -> bool:
    """Whether a capitalised word is a creature noun ("Собака"), not a name."""
    return _NOUN_RE.fullmatch(word) is not None


def find_noun_phrases(text: str) -> list[NounPhrase]:
    """Creature nouns with the colour, size and age adjectives written before them."""
    phrases: list[NounPhrase] = []
    for m in _NOUN_RE.finditer(text):
        noun, implied = CREATURE_STEMS[m.group("noun").lower()]
        adjectives = [a for word in m.group("adjs").split() if (a := _adjective(word)) is not None]
        adjectives.extend(implied)
        if m.group("robot"):
            adjectives.append("robot")
        start = m.start("noun")
        phrases.append(
            NounPhrase(start, m.end(), "", tuple(adjectives), noun, m.group("noun").lower())
        )
    return phrases


def find_features(text: str) -> list[tuple[int, Feature]]:
    """Coloured parts ("с рыжими волосами", "в жёлтом плаще") with where they are written."""
    return [
        (
            m.start(),
            make_feature(
                _PART_STEMS[m.group("part").lower()], [_COLOUR_STEMS[m.group("colour").lower()]]
            ),
        )
        for m in _FEATURE_RE.finditer(text)
    ]


def _adjective(word: str) -> str | None:
    lower = word.lower()
    for table in (_COLOUR_STEMS, _ADJECTIVE_STEMS):
        for stem in sorted(table, key=len, reverse=True):
            if lower.startswith(stem) and len(lower) - len(stem) <= 4:
                return table[stem]
    return None


_PREDICATE_COLOUR_RE = re.compile(
    rf"(?<!\w)(?:был|была|было|были|стал|стала|стало|стали)\s+(?:(?:весь|вся|всё|все|очень)\s+)?"
    rf"(?P<colour>{_alternation(_COLOUR_STEMS)})[а-яё]{{0,4}}(?!\w)(?!\s+[а-яё]*(?:{_alternation(_PART_STEMS)}))",
    re.IGNORECASE,
)


def find_body_colours(text: str) -> list[tuple[int, str]]:
    """ "Вольт был серебряным": a colour said of the whole creature, with where it is written."""
    found = []
    for m in _PREDICATE_COLOUR_RE.finditer(text):
        colour = _COLOUR_STEMS[m.group("colour").lower()]
        if colour not in ("light", "dark"):
            found.append((m.start(), colour))
    return found


def creature_noun(word: str) -> str | None:
    """The English creature noun a Russian word is a form of ("Доктор" -> doctor)."""
    m = _NOUN_RE.fullmatch(word)
    return CREATURE_STEMS[m.group("noun").lower()][0] if m else None
