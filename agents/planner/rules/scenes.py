"""Where and when each panel happens: setting, time of day and weather, carried from beat to beat.

Stories name a place once and then stay there; the tracker keeps the last setting and time until
a beat names new ones, and keeps the weather while the scene stays outdoors. Setting words are
English keywords (the sketch renderer draws backgrounds from them) whatever the story's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storyviz.agents.planner.rules.scene_words import (
    INDOORS,
    ROOMS,
    ROUTES,
    SETTINGS,
    TIMES,
    WEATHER,
)
from storyviz.agents.planner.rules.text import WORD_RE, has_cjk, wordset

DEFAULT_SETTING = "street"
DEFAULT_TIME = "day"

_WEATHER_ENDS_RE = re.compile(
    r"(?:rain|snow|storm|fog)\w*\s+(?:stops|stopped|ends|ended|clears|cleared|is over|was over)"
    r"|(?:stops|stopped)\s+(?:raining|snowing)|雨停",
    re.IGNORECASE,
)
_MOTION_VERBS = wordset(
    """walk walks walked walking run runs ran running head heads headed heading go goes went
    going come comes came coming ride rides rode riding drive drives drove driving hurry hurries
    hurried hurrying race races raced racing return returns returned returning шла шёл шел
    пошла пошёл пошел идёт идет бежит бежала"""
)
_AT = wordset("in at inside on under near by beside behind within around outside в во на у")
_TOWARDS = wordset("to towards toward into onto к ко")
_FROM = wordset("from из от")
_WEATHER_WORDS = {
    "rain": "rainy",
    "snow": "snowy",
    "fog": "foggy",
    "storm": "stormy",
    "sunny": "sunny",
    "windy": "windy",
}
_TIME_PHRASES = {
    "dawn": "at dawn",
    "morning": "in the morning",
    "noon": "at noon",
    "afternoon": "in the afternoon",
    "evening": "in the evening",
    "sunset": "at sunset",
    "dusk": "at dusk",
    "night": "at night",
    "midnight": "at midnight",
    "day": "during the day",
}


@dataclass(frozen=True)
class Keyword:
    start: int
    end: int
    surface: str
    name: str


class KeywordTable:
    """Finds a table's keywords in text: whole words (and two- or three-word phrases) in
    alphabetic scripts, stems with a case ending in Russian, substrings in CJK.

    Word look-ups keep this linear in the text, which matters for a 50,000-character story.
    """

    def __init__(self, table: dict[str, tuple[str, ...]]) -> None:
        self._words: dict[str, str] = {}
        self._phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self._stems: list[tuple[str, str]] = []
        cjk_words: dict[str, str] = {}
        for name, words in table.items():
            for word in words:
                lower = word.lower()
                if has_cjk(lower):
                    cjk_words.setdefault(lower, name)
                elif re.fullmatch(r"[а-яё]+", lower):
                    self._stems.append((lower, name))
                elif " " in lower:
                    parts = tuple(lower.split())
                    self._phrases.setdefault(parts[0], []).append((parts, name))
                else:
                    self._words.setdefault(lower, name)
        self._stems.sort(key=lambda item: -len(item[0]))
        for options in self._phrases.values():
            options.sort(key=lambda item: -len(item[0]))
        self._cjk = (
            re.compile("|".join(map(re.escape, sorted(cjk_words, key=len, reverse=True))))
            if cjk_words
            else None
        )
        self._cjk_names = cjk_words

    def find(self, text: str) -> list[Keyword]:
        found: list[Keyword] = []
        words = [(m.group().lower(), m.start(), m.end()) for m in WORD_RE.finditer(text)]
        k = 0
        while k < len(words):
            hit = self._match_at(words, k)
            if hit is not None:
                size, name = hit
                found.append(
                    Keyword(
                        words[k][1],
                        words[k + size - 1][2],
                        " ".join(w[0] for w in words[k : k + size]),
                        name,
                    )
                )
                k += size
            else:
                k += 1
        if self._cjk is not None and has_cjk(text):
            found.extend(
                Keyword(m.start(), m.end(), m.group(), self._cjk_names[m.group()])
                for m in self._cjk.finditer(text)
            )
            found.sort(key=lambda kw: kw.start)
        return found

    def _match_at(self, words: list[tuple[str, int, int]], k: int) -> tuple[int, str] | None:
        word = words[k][0]
        for parts, name in self._phrases.get(word, ()):
            if tuple(w[0] for w in words[k : k + len(parts)]) == parts:
                return len(parts), name
        if word in self._words:
            return 1, self._words[word]
        if "а" <= word[:1] <= "я" or word[:1] == "ё":
            for stem, name in self._stems:
                if word.startswith(stem) and len(word) - len(stem) <= 3:
                    return 1, name
        return None

    def last(self, text: str) -> str | None:
        found = self.find(text)
        return found[-1].name if found else None


_SETTING_TABLE = KeywordTable(SETTINGS)
_TIME_TABLE = KeywordTable(TIMES)
_WEATHER_TABLE = KeywordTable(WEATHER)


@dataclass(frozen=True)
class Scene:
    setting: str
    time_of_day: str
    weather: str
    description: str
    changed: bool
    """Whether the setting differs from the previous panel's (a new scene opens)."""


class SceneTracker:
    """Carries setting, time and weather forward; `advance` once per new beat, in order."""

    def __init__(self) -> None:
        self.setting: str | None = None
        self.time_of_day = DEFAULT_TIME
        self.weather = ""
        self._route: str | None = None

    def advance(self, narration: str) -> Scene:
        previous = self.setting
        found = _find_setting(narration, self.setting)
        if found is not None:
            self.setting, self._route = found
        elif self.setting is None:
            self.setting = DEFAULT_SETTING
        setting = self.setting
        time = _TIME_TABLE.last(narration)
        if time is not None:
            self.time_of_day = time
        if (
            previous is not None
            and setting != previous
            and ((setting in INDOORS) != (previous in INDOORS) or setting in INDOORS)
        ):
            self.weather = ""
        weather = _WEATHER_TABLE.last(narration)
        if weather is not None:
            self.weather = weather
        if _WEATHER_ENDS_RE.search(narration):
            self.weather = ""
        return Scene(
            setting,
            self.time_of_day,
            self.weather,
            self._describe(),
            previous is not None and setting != previous,
        )

    def _describe(self) -> str:
        assert self.setting is not None
        words = [_WEATHER_WORDS[self.weather]] if self.weather else []
        words.append(self.setting)
        if self._route:
            words.append(self._route)
        words.append(_TIME_PHRASES.get(self.time_of_day, self.time_of_day))
        return " ".join(words)


def _find_setting(narration: str, current: str | None) -> tuple[str, str | None] | None:
    """The place a beat happens in, and a route phrase when it happens on the way somewhere.

    "in the kitchen at home" happens in the kitchen; "walks home from school" on the street, on
    the way home; "runs to the meadow" from the park, in the meadow; "came back from school"
    alone names no new place.
    """
    best: tuple[int, int, int, str] | None = None
    destination: str | None = None
    route_word = False
    for keyword in _SETTING_TABLE.find(narration):
        name = keyword.name
        rank = _rank(narration, keyword.start, keyword.surface)
        route_word = route_word or keyword.surface in ROUTES
        score = (rank, 1 if name in ROOMS else 0, keyword.start, name)
        if best is None or score[:2] >= best[:2]:
            best = score
        if rank == 1 and destination is None:
            destination = name
    if best is None:
        return None
    if best[0] >= 2:
        return best[3], None
    if destination is None or not (route_word or _has_motion(narration)):
        return None
    if current is not None and current not in INDOORS and destination not in INDOORS:
        return destination, None  # moving about outdoors: the panel shows where they arrive
    return (
        DEFAULT_SETTING,
        "on the way home" if destination == "home" else f"on the way to the {destination}",
    )


def _rank(narration: str, start: int, surface: str) -> int:
    """3: the beat is there ("in the park"); 2: named plainly; 1: going there; 0: leaving it."""
    if surface.lower() in ROUTES:
        return 1
    if has_cjk(surface):
        return _cjk_rank(narration, start, start + len(surface))
    before = [w.lower() for w in WORD_RE.findall(narration[max(0, start - 40) : start])][-3:]
    if before and (before[-1] in _MOTION_VERBS or before[-1:] == ["back"]):
        return 1  # "walks home", "ran back home"
    for word in reversed(before):
        if word in _AT:
            return 3
        if word in _TOWARDS:
            return 1
        if word in _FROM:
            return 0
    return 2


def _cjk_rank(narration: str, start: int, end: int) -> int:
    """The same ranks, read from the particle around a CJK place word (在 at, 到 to, 从 from)."""
    before, after = narration[max(0, start - 1) : start], narration[end : end + 2]
    if before in ("从", "自") or after.startswith("から"):
        return 0
    if before in ("去", "到", "往", "向") or after.startswith(("へ", "に")):
        return 1
    if before in ("在", "于") or after.startswith(("で", "里", "裡")):
        return 3
    return 2


def _has_motion(narration: str) -> bool:
    return any(w.lower() in _MOTION_VERBS for w in WORD_RE.findall(narration))
