"""Colours the story states, read clause by clause, so a sheet never gets an invented colour for
a part the story has already coloured.

The mention-anchored rules in characters.py read descriptions that follow a name or a noun
phrase directly ("Mia, with red hair"). Stories also colour a part away from the name:
"Nora was a quiet girl with black curls", "Her hair was bright red", "Felix's red jumper",
"Hugo wore a black T-shirt; Lena wore a white sundress", "The brothers, Arlo and Finn, both in
grey overalls". This pass finds every "colour + part" (or "part + was + colour") in a clause and
gives it to the character the clause is about: the possessor when one is written ("Felix's",
"her"), every member of a group the clause says "both" of, else the nearest character mentioned
before it in the clause, else the one mentioned after it. It only fills parts that have no
colour yet, so what the anchored rules read first still wins.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from storyviz.agents.planner.rules import cjk, russian
from storyviz.agents.planner.rules.looks import PART_WORDS, Feature, Looks, colour_word
from storyviz.agents.planner.rules.text import FUNCTION_WORDS, WORD_RE, has_cjk, wordset

_CLAUSE_RE = re.compile(r"[^.;!?\n。！？]+")
_PRONOUNS = {
    **{"she": "f", "her": "f", "he": "m", "his": "m", "him": "m", "it": "n", "its": "n"},
    **{"она": "f", "её": "f", "ее": "f", "он": "m", "оно": "n"},
    **{"她": "f", "彼女": "f", "他": "m", "它": "n"},
}
_POSSESSIVE_PRONOUNS = wordset("her his its my our your their")
_DRESSED_RE = re.compile(
    r"(?<!\w)(?:dressed|clad)\s+(?:all\s+|entirely\s+|head\s+to\s+toe\s+)?in\s+"
    r"(?:bright\s+|pale\s+|dark\s+)?(?P<colour>[^\W\d_]+)(?!\w)(?P<rest>\s+[^\W\d_]+)?",
    re.IGNORECASE,
)
_APPOSITIVE_RE = re.compile(r",\s+(?:a|an)\s+(?P<words>(?:[^\W\d_]+\s+){1,3}[^\W\d_]+)(?=[\s,.;])")
_CJK_SENTENCE_RE = re.compile(r"[^。！？!?\n]+")
_CJK_PRONOUN_RE = re.compile("彼女|她|他|它")
_BODY = Feature("fur", "body", "body", None)
_U_POSSESSOR_RE = re.compile(r"(?<!\w)[Уу]\s+([А-ЯЁ][а-яё]+)")
_FIRST_PERSON = wordset("i me my myself")
_GROUP_WORDS = wordset("both all each оба обе")
_OBJECT_PRONOUNS = wordset("him her them it")
_PREPOSITIONS = wordset(
    """beside behind near with to at by for from next past toward towards around among between
    against after before under over above below"""
)
_COPULAS = wordset("is was are were")
_LINKS = wordset("that which")
_INTENSIFIERS = wordset("bright light dark pale deep very all painted spotless clean shiny")
_LOOKBACK = 3
_LOOKAHEAD = 4
_RESOLVE_DEPTH = 12


class Draftlike(Protocol):
    """What this pass needs of a CharacterDraft (characters.py imports this module)."""

    spans: list[tuple[int, int]]
    looks: Looks


@dataclass(frozen=True)
class Stated:
    """One coloured part as written: where its words start, and its possessor word if any."""

    start: int
    feature: Feature
    possessor: tuple[int, int] | None
    """The span of the word that owns it ("Felix's", "her"), when the story writes one."""


@dataclass(frozen=True, order=True)
class _Mention:
    start: int
    end: int
    owner: int
    oblique: bool = field(default=False, compare=False)
    """An object pronoun after a preposition ("sat beside him in a yellow dress"): the clause is
    about its subject, so this mention owns no colour that follows it."""


def read_stated_colours(narration: str, drafts: list[Draftlike]) -> None:
    """Give each draft the colours stated for its parts anywhere in a clause about it."""
    if not drafts:
        return
    named = sorted(_Mention(start, end, i) for i, d in enumerate(drafts) for start, end in d.spans)
    mentions = sorted(named + _pronoun_mentions(narration, named, drafts), key=lambda m: m.start)
    if has_cjk(narration):
        _read_cjk(narration, drafts, mentions)
    for clause in _CLAUSE_RE.finditer(narration):
        # Overlap, not containment: "Mr. Okafor" starts in the clause the abbreviation ends.
        inside = [m for m in mentions if m.end > clause.start() and m.start < clause.end()]
        words = list(WORD_RE.finditer(narration, clause.start(), clause.end()))
        grouped = any(w.group().lower() in _GROUP_WORDS for w in words)
        stated_parts = (
            _stated_parts(words)
            + _dressed_in(narration, clause.start(), clause.end())
            + _russian_parts(narration, clause.start(), clause.end())
        )
        earlier = [m for m in mentions if m.start < clause.start()]
        _appositive_body(narration, inside, drafts, clause.end())
        for stated in stated_parts:
            for owner in _owners(stated, inside, grouped, earlier):
                _fill(drafts[owner], stated.feature)
        for position, colour in russian.find_body_colours(narration[: clause.end()]):
            if position < clause.start():
                continue
            for owner in _owners(Stated(position, _BODY, None), inside, grouped, earlier):
                if not drafts[owner].looks.clothed:
                    _fill(drafts[owner], _body_feature(drafts[owner].looks, colour))


def _read_cjk(narration: str, drafts: Sequence[Draftlike], mentions: list[_Mention]) -> None:
    """Chinese and Japanese sentences: a coloured part goes to the character written right
    before it ("机器狗的眼睛", "ポチの目"), else the nearest before it in the sentence, else the
    first after; a sentence that says they match ("おそろいの") colours everyone in it."""
    for sentence in _CJK_SENTENCE_RE.finditer(narration):
        inside = [m for m in mentions if sentence.start() <= m.start < sentence.end()]
        text = sentence.group()
        grouped = any(mark in text for mark in cjk.GROUP_MARKS)
        for position, feature in cjk.find_features(text):
            stated = Stated(sentence.start() + position, feature, None)
            for owner in _owners(stated, inside, grouped, []):
                _fill(drafts[owner], feature)
        for position, colour in cjk.find_body_colours(text):
            stated = Stated(sentence.start() + position, _BODY, None)
            for owner in _owners(stated, inside, False, []):
                if not drafts[owner].looks.clothed:
                    _fill(drafts[owner], _body_feature(drafts[owner].looks, colour))


def _pronoun_mentions(
    narration: str, named: list[_Mention], drafts: list[Draftlike]
) -> list[_Mention]:
    """Each "she"/"his"/"it" resolved to the latest named mention before it that fits."""
    # "she" and "he" never mean the teller, so "I"/"my" are no antecedents
    named = [m for m in named if narration[m.start : m.end].lower() not in _FIRST_PERSON]
    starts = [m.start for m in named]
    found: list[_Mention] = []
    previous = ""
    for word in [*WORD_RE.finditer(narration), *_CJK_PRONOUN_RE.finditer(narration)]:
        lower = word.group().lower()
        wanted = _PRONOUNS.get(lower)
        oblique = lower in _OBJECT_PRONOUNS and previous in _PREPOSITIONS
        previous = lower
        if wanted is None:
            continue
        owner = _resolve(named, starts, drafts, word.start(), wanted)
        if owner is not None:
            found.append(_Mention(word.start(), word.end(), owner, oblique))
    return found


def _resolve(
    named: list[_Mention], starts: list[int], drafts: list[Draftlike], position: int, wanted: str
) -> int | None:
    return antecedent([m.owner for m in named], starts, drafts, position, wanted)


def antecedent(
    owners: Sequence[int],
    starts: Sequence[int],
    drafts: Sequence[Draftlike],
    position: int,
    wanted: str | None,
) -> int | None:
    """The character a pronoun at `position` points back to, by gender and recency: the latest
    of the `owners` mentioned before it (at `starts`, in order) whose gender is `wanted` ("n":
    a creature or object, one not clothed), else the latest of unknown gender who wears clothes.
    The description rules (characters.py) and the clause colours here resolve alike."""
    k = bisect.bisect_left(starts, position) - 1
    fallback: int | None = None
    for _ in range(_RESOLVE_DEPTH):
        if k < 0:
            break
        owner = owners[k]
        looks = drafts[owner].looks
        if wanted == "n":
            if not looks.clothed:
                return owner
        elif looks.gender == wanted:
            return owner
        elif fallback is None and looks.gender is None and looks.clothed:
            fallback = owner
        k -= 1
    return fallback


def _stated_parts(words: list[re.Match[str]]) -> list[Stated]:
    """Every part word in the clause with a colour before it ("red jumper", "bright red hair")
    or after it ("hair was bright red", "a backpack that is green"), and "painted orange"."""
    found: list[Stated] = []
    lower = [w.group().lower() for w in words]
    last_part: str | None = None
    for k, word in enumerate(lower):
        if word == "one" and last_part is not None:
            word = last_part  # "Ben's red coat hung next to Mia's green one"
        if word not in PART_WORDS and word.endswith("s") and word[:-1] in PART_WORDS:
            word = word[:-1]  # "orange jackets"
        elif word not in PART_WORDS and word.endswith("ves") and word[:-3] + "f" in PART_WORDS:
            word = word[:-3] + "f"  # "green scarves"
        part = PART_WORDS.get(word)
        if part is not None:
            last_part = word
        if part is None or (k + 1 < len(lower) and lower[k + 1] in PART_WORDS):
            continue  # "wool" in "a wool sweater" names the garment's stuff, not a part
        start = k
        colour: str | None = None
        for j in range(k - 1, max(-1, k - 1 - _LOOKBACK), -1):
            material = j == k - 1 and lower[j] in PART_WORDS  # "brown wool sweater"
            if lower[j] in FUNCTION_WORDS or lower[j].endswith(("'s", "’s")):
                break
            if lower[j] in PART_WORDS and not material:
                break
            start = j
            colour = colour or colour_word(lower[j], part)
        if colour is None:
            colour = _colour_after(lower, k + 1, part)
        if colour is None:
            continue
        modifiers = [w for w in lower[start:k] if w not in FUNCTION_WORDS]
        phrase = " ".join([*modifiers, word]) if colour in modifiers else f"{colour} {word}"
        before = start - 1
        possessor = None
        if before >= 0 and (
            lower[before] in _POSSESSIVE_PRONOUNS or lower[before].endswith(("'s", "’s"))
        ):
            possessor = (words[before].start(), words[before].end())
        found.append(Stated(words[start].start(), Feature(part, word, phrase, colour), possessor))
    return found


def _body_feature(looks: Looks, colour: str) -> Feature:
    """A whole-body colour as the sheet says it: a robot's body, an animal's fur."""
    noun = "body" if "robot" in looks.species else "fur"
    return Feature("fur", noun, f"{colour} {noun}", colour)


def _appositive_body(
    narration: str, inside: list[_Mention], drafts: Sequence[Draftlike], end: int
) -> None:
    """ "The baker's cat, a fat grey tom": a colour in an appositive after an animal or robot
    is its body colour, whatever noun the appositive uses."""
    for mention in inside:
        m = _APPOSITIVE_RE.match(narration, mention.end, end)
        looks = drafts[mention.owner].looks
        if m is None or looks.clothed:
            continue
        words = [w.lower() for w in WORD_RE.findall(m.group("words"))]
        if any(w in PART_WORDS for w in words):
            continue
        colour = next((c for c in map(colour_word, words[:-1]) if c is not None), None)
        if colour is not None:
            _fill(drafts[mention.owner], _body_feature(looks, colour))


def _russian_parts(narration: str, start: int, end: int) -> list[Stated]:
    """ "в белом халате", "У Коли были светлые волосы": Russian features, with the "у X"
    possessor when the clause writes one."""
    found: list[Stated] = []
    clause = narration[start:end]
    owner = _U_POSSESSOR_RE.search(clause)
    for position, feature in russian.find_features(clause):
        possessor = None
        if owner is not None and owner.end() <= position:
            possessor = (start + owner.start(1), start + owner.end(1))
        found.append(Stated(start + position, feature, possessor))
    return found


def _dressed_in(narration: str, start: int, end: int) -> list[Stated]:
    """ "dressed all in red": a colour for the whole outfit, with no garment named."""
    found: list[Stated] = []
    for m in _DRESSED_RE.finditer(narration, start, end):
        colour = colour_word(m.group("colour"), "outfit")
        rest = (m.group("rest") or "").strip().lower()
        if colour is None or rest in PART_WORDS:
            continue  # "dressed in a red coat" is read as a part
        found.append(
            Stated(m.start(), Feature("outfit", "clothes", f"{colour} clothes", colour), None)
        )
    return found


def _colour_after(lower: list[str], at: int, part: str) -> str | None:
    """A colour stated after its part: "was bright red", "that is green", "were spotless and
    white"."""
    if at < len(lower) and lower[at] in _LINKS:
        at += 1
    if at >= len(lower) or lower[at] not in _COPULAS:
        return None
    for j in range(at + 1, min(len(lower), at + 1 + _LOOKAHEAD)):
        colour = colour_word(lower[j], part)
        if colour is not None:
            return colour
        if lower[j] not in _INTENSIFIERS and lower[j] != "and":
            return None
    return None


def _owners(
    stated: Stated, mentions: list[_Mention], grouped: bool, earlier: list[_Mention]
) -> list[int]:
    if stated.possessor is not None:
        p_start, p_end = stated.possessor
        owned = [m.owner for m in mentions if p_start <= m.start < p_end]
        return owned[:1]  # none for "my"/"our" without a narrator, or an unknown possessor
    before = [m for m in mentions if m.start < stated.start and not m.oblique]
    if grouped:
        members = list(dict.fromkeys(m.owner for m in before))
        if len(members) >= 2:
            return members
        if not members:  # "Оба носили синие куртки": the two last named before the clause
            latest = list(dict.fromkeys(m.owner for m in reversed(earlier)))[:2]
            if len(latest) == 2:
                return latest
    if before:
        return [before[-1].owner]
    after = [m for m in mentions if m.start > stated.start]
    return [after[0].owner] if after else []


def _fill(draft: Draftlike, feature: Feature) -> None:
    """Add the feature unless the draft already has a colour for that part: the first reading
    of a part wins, as it does for the anchored rules."""
    looks = draft.looks
    part = feature.part
    if feature.noun == "coat" and not looks.clothed:
        part = "fur"
    if part in looks.attributes().colors:
        return
    looks.add_features([feature])
