"""Who each beat is about: names, noun phrases and pronouns resolved to characters in story order.

The tracker reads the beats in order and remembers who was mentioned last, so "she" finds the
most recent female (or not yet known) character, "it" the most recent animal or robot, and
"they" the last two. A pronoun that picks a character of unknown gender teaches it that gender.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from storyviz.agents.planner.rules import russian
from storyviz.agents.planner.rules.characters import CharacterDraft
from storyviz.agents.planner.rules.looks import ADJECTIVE_RUN, NP_DETERMINERS
from storyviz.agents.planner.rules.names import NON_NAME_WORDS, TITLES
from storyviz.agents.planner.rules.text import has_cjk, squash, vocabulary

_PRONOUNS: dict[str, str] = {
    **dict.fromkeys(vocabulary("she her hers herself она её ее ей неё нее"), "f"),
    **dict.fromkeys(vocabulary("he him his himself он его ему него нему"), "m"),
    **dict.fromkeys(vocabulary("it its itself"), "n"),
    **dict.fromkeys(vocabulary("they their theirs themselves они"), "p"),
    **dict.fromkeys(vocabulary("them их им них"), "o"),
    **dict.fromkeys(["everyone", "everybody", "they all", "all of them", "все"], "a"),
}
"""Pronoun -> f(emale), m(ale), n(on-human), p(lural), o(bject plural: not the subject), a(ll)."""
_CJK_PRONOUNS: dict[str, str] = {
    "她们": "p",
    "他们": "p",
    "它们": "p",
    "彼ら": "p",
    "그들": "p",
    "她": "f",
    "彼女": "f",
    "그녀": "f",
    "他": "m",
    "彼": "m",
    "它": "n",
}
_DUMMY_IT_RE = re.compile(
    r"\s+(?:is|was|'s|’s|starts|started|begins|began|gets|got|seems|seemed|rains|rained"
    r"|snows|snowed|became|becomes|felt|feels|will|would)(?!\w)",
    re.IGNORECASE,
)
_CYRILLIC_ENDINGS = "(?:а|я|у|ю|е|и|ы|ой|ей|ом|ем|ою|ею)?"
_GROUP_SIZE = 2
_ALL_SIZE = 4
_SENTENCE_END_RE = re.compile(r"[.!?;。！？\n]")


@dataclass(frozen=True)
class Mention:
    """A reference to a character at [start, end) of the story; `pronoun` when it was "she"."""

    start: int
    end: int
    character: int
    pronoun: bool


class MentionTracker:
    """Resolves references beat by beat; call `scan` on the beats in story order."""

    def __init__(self, drafts: Sequence[CharacterDraft]) -> None:
        self.genders: list[str | None] = [d.looks.gender for d in drafts]
        self._aliases = [list(d.aliases) for d in drafts]
        self._clothed = [d.looks.clothed for d in drafts]
        self._recent: list[int] = []
        self._name_owner: list[int] = []
        self._names = self._name_pattern(drafts)
        self._noun_owner = _unique_nouns(drafts)
        self._nouns = _noun_pattern(list(self._noun_owner))
        surfaces = _unique_surfaces(drafts)
        self._surface_owner = list(surfaces.values())
        self._surfaces = (
            re.compile(
                "|".join(f"(?P<s{k}>{_surface_regex(s)})" for k, s in enumerate(surfaces)),
                re.IGNORECASE,
            )
            if surfaces
            else None
        )
        latin = "|".join(_spaced(w) for w in sorted(_PRONOUNS, key=len, reverse=True))
        cjk = "|".join(map(re.escape, sorted(_CJK_PRONOUNS, key=len, reverse=True)))
        self._pronouns = re.compile(rf"(?<!\w)(?:{latin})(?!\w)|{cjk}", re.IGNORECASE)

    def _name_pattern(self, drafts: Sequence[CharacterDraft]) -> re.Pattern[str] | None:
        """One alternation of every name form; short forms ("Tanaka") only where unambiguous."""
        forms: dict[str, int] = {}
        for i, draft in enumerate(drafts):
            for alias in draft.aliases:
                forms.setdefault(alias, i)
        short: dict[str, set[int]] = {}
        for i, draft in enumerate(drafts):
            for alias in draft.aliases:
                for word in alias.split():
                    plain = word.rstrip(".")
                    if plain.lower() not in TITLES and plain.lower() not in NON_NAME_WORDS:
                        short.setdefault(plain, set()).add(i)
        for word, owners in sorted(short.items()):
            if len(owners) == 1 and word not in forms:
                forms[word] = next(iter(owners))
        if not forms:
            return None
        pieces: list[str] = []
        for alias in sorted(forms, key=lambda a: (-len(a), a)):
            self._name_owner.append(forms[alias])
            pieces.append(f"(?P<n{len(pieces)}>{_alias_regex(alias)})")
        return re.compile("|".join(pieces))

    def scan(self, narration: str, start: int, end: int) -> list[Mention]:
        """References inside [start, end) of the narration (quotes blanked), resolved in order."""
        found: list[tuple[int, int, int, str | int]] = []
        if self._names is not None:
            for m in self._names.finditer(narration, start, end):
                assert m.lastgroup is not None
                found.append((m.start(), m.end(), 0, self._name_owner[int(m.lastgroup[1:])]))
        if self._nouns is not None:
            for m in self._nouns.finditer(narration, start, end):
                owner = self._noun_owner[squash(m.group("noun")).lower()]
                found.append((m.start(), m.end(), 1, owner))
        if self._surfaces is not None:
            for m in self._surfaces.finditer(narration, start, end):
                assert m.lastgroup is not None
                found.append((m.start(), m.end(), 1, self._surface_owner[int(m.lastgroup[1:])]))
        for m in self._pronouns.finditer(narration, start, end):
            word = m.group()
            if word.lower() == "it" and _DUMMY_IT_RE.match(narration, m.end()):
                continue  # "It starts to rain" is about no one
            found.append(
                (m.start(), m.end(), 2, _PRONOUNS.get(squash(word).lower()) or _CJK_PRONOUNS[word])
            )
        mentions: list[Mention] = []
        in_sentence: list[int] = []
        last_end = start
        for s, e, kind, value in sorted(found, key=lambda f: (f[0], f[2])):
            if _SENTENCE_END_RE.search(narration, last_end, s):
                in_sentence = []
            last_end = e
            owners = self._resolve(value, in_sentence) if isinstance(value, str) else [value]
            for owner in owners:
                mentions.append(Mention(s, e, owner, kind == 2))
                self._touch(owner)
                in_sentence.append(owner)
        return mentions

    @property
    def recent(self) -> list[int]:
        """Characters, the most recently mentioned first."""
        return list(self._recent)

    def owners_of(self, words: str) -> set[int]:
        """Characters a bare form of address names: a name, a short form ("Whiskers"), or a
        title one name alone carries ("Detective" for Detective Moss)."""
        words = squash(words).strip()
        if not words:
            return set()
        if self._names is not None:
            m = self._names.fullmatch(words)
            if m is not None and m.lastgroup is not None:
                return {self._name_owner[int(m.lastgroup[1:])]}
        title = words.lower().rstrip(".")
        if title in TITLES:
            holders = {
                i
                for i, aliases in enumerate(self._aliases)
                if any(a.split()[0].lower().rstrip(".") == title for a in aliases if a.split())
            }
            if len(holders) == 1:
                return holders
        return set()

    def _touch(self, owner: int) -> None:
        if owner in self._recent:
            self._recent.remove(owner)
        self._recent.insert(0, owner)

    def _resolve(self, kind: str, in_sentence: Sequence[int]) -> list[int]:
        if kind == "a":
            return list(reversed(self._recent[:_ALL_SIZE]))
        if kind == "o":  # "Bolt follows them": them is everyone recent but Bolt
            others = [i for i in self._recent if i not in in_sentence][:_GROUP_SIZE]
            return list(reversed(others))
        if kind == "p":
            return list(reversed(self._recent[:_GROUP_SIZE])) if len(self._recent) >= 2 else []
        if kind == "n":
            return next(([i] for i in self._recent if not self._clothed[i]), [])
        for i in self._recent:
            if self.genders[i] == kind:
                return [i]
        for wants_clothed in (True, False):
            for i in self._recent:
                if self.genders[i] is None and self._clothed[i] == wants_clothed:
                    self.genders[i] = kind
                    return [i]
        return []


def _spaced(words: str) -> str:
    return r"\s+".join(map(re.escape, words.split()))


def _alias_regex(alias: str) -> str:
    if has_cjk(alias):
        return re.escape(alias)
    if re.fullmatch(r"[\u0400-\u04ff]+", alias) and len(alias) >= 3:
        # Russian names decline (Мия, Мию, Мией): match the stem with a case ending.
        stem = alias[:-1] if alias[-1] in "аяйьо" else alias
        return rf"(?<!\w){re.escape(stem)}{_CYRILLIC_ENDINGS}(?!\w)"
    return rf"(?<!\w){re.escape(alias)}(?!\w)"


def _unique_nouns(drafts: Sequence[CharacterDraft]) -> dict[str, int]:
    """Noun labels ("robot dog") and bare head nouns ("dog") that point at exactly one character."""
    owners: dict[str, set[int]] = {}
    for i, draft in enumerate(drafts):
        for noun in [*draft.labels, *draft.heads]:
            owners.setdefault(noun.lower(), set()).add(i)
    return {noun: next(iter(ids)) for noun, ids in sorted(owners.items()) if len(ids) == 1}


def _surface_regex(surface: str) -> str:
    """CJK nouns match as written; Russian noun stems with a case ending ("собак" -> собаку)."""
    if has_cjk(surface):
        return re.escape(surface)
    return rf"(?<![\w-]){re.escape(surface)}{russian.ENDING}(?:-[а-яё]+)?(?![\w-])"


def _unique_surfaces(drafts: Sequence[CharacterDraft]) -> dict[str, int]:
    owners: dict[str, set[int]] = {}
    for i, draft in enumerate(drafts):
        for surface in draft.surfaces:
            owners.setdefault(surface, set()).add(i)
    unique = {s: next(iter(ids)) for s, ids in owners.items() if len(ids) == 1}
    return dict(sorted(unique.items(), key=lambda item: (-len(item[0]), item[0])))


def _noun_pattern(nouns: list[str]) -> re.Pattern[str] | None:
    if not nouns:
        return None
    alternation = "|".join(
        r"\s+".join(map(re.escape, n.split())) for n in sorted(nouns, key=len, reverse=True)
    )
    # "the cat", and "the baker's cat" (a possessor in place of the determiner)
    return re.compile(
        rf"(?<![\w-])(?:(?:{'|'.join(NP_DETERMINERS.split())})|[^\W\d_]+['’]s)\s+"
        rf"{ADJECTIVE_RUN}{{0,3}}?(?P<noun>{alternation})(?![\w-])",
        re.IGNORECASE,
    )
