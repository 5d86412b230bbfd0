"""Who is in the story: names and noun phrases linked into characters, with what they look like.

"A shy girl named Mia", "Mia", "the girl" and "she" are one character; "a small silver robot
dog" that "she names Bolt" is Bolt. Linking happens here, once, so every panel, caption and
sheet agrees on who is who. Stories without names get characters from their noun phrases
("the girl", "the dog").
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from storyviz.agents.planner.rules import cjk, russian
from storyviz.agents.planner.rules.dialogue import SPEECH_VERBS
from storyviz.agents.planner.rules.looks import (
    ADJECTIVE_RUN,
    CREATURES,
    PART_WORDS,
    Feature,
    Looks,
    NounPhrase,
    colour_word,
    find_noun_phrases,
    make_feature,
    parse_features,
)
from storyviz.agents.planner.rules.names import find_names
from storyviz.agents.planner.rules.stated import antecedent, read_stated_colours
from storyviz.agents.planner.rules.text import WORD_RE, has_cjk, looks_like_verb, wordset


@dataclass
class CharacterDraft:
    """A character before it becomes a sheet: how the story refers to it and what it looks like."""

    name: str
    named: bool
    first: int
    aliases: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    heads: list[str] = field(default_factory=list)
    surfaces: list[str] = field(default_factory=list)
    looks: Looks = field(default_factory=Looks)
    spans: list[tuple[int, int]] = field(default_factory=list)

    def add_phrase(self, phrase: NounPhrase) -> None:
        self.looks.add_noun_phrase(phrase)
        if phrase.label not in self.labels:
            self.labels.append(phrase.label)
        if phrase.noun not in self.heads:
            self.heads.append(phrase.noun)
        if phrase.surface and phrase.surface not in self.surfaces:
            self.surfaces.append(phrase.surface)
        self.spans.append((phrase.start, phrase.end))


_CYRILLIC_RE = re.compile("[а-яёА-ЯЁ]")
_POSSESSIVE_DETERMINERS = wordset("my your his her its our their the")
_NAMED_AFTER_RE = re.compile(
    r"\s*,?\s*(?:who\s+(?:is|was)\s+|(?:is|was)\s+)?(?:named|called|по\s+имени)\s+", re.IGNORECASE
)
_CLAUSE_AFTER_NAME_RE = re.compile(
    r"\s+(?:had|has|have|was|is|would|could|did|saw|found|met|liked|loved|knew|wanted)(?!\w)"
)
_NAME_IS_AFTER_RE = re.compile(r"(?:['’]s\s+name|,\s+whose\s+name)\s+(?:is|was)\s+", re.IGNORECASE)
_NAMING_RE = re.compile(
    r"(?<!\w)(?:names?|named|calls?|called|christens?|christened|dubs?|dubbed"
    r"|назвала?|назвали|зовёт|зовет)\s+(him|her|it|его|её|ее)\s+",
    re.IGNORECASE,
)
_NAMING_GENDER = {"him": "m", "его": "m", "her": "f", "её": "f", "ее": "f"}
_CLAUSE_START_RE = re.compile(
    r"\s*,?\s*(?P<how>who\s+(?:has|had|wears|wore|is\s+wearing|was\s+wearing)|that\s+(?:has|had)"
    r"|with|wearing|dressed\s+(?:all\s+)?in|clad\s+in|in)\s+",
    re.IGNORECASE,
)
_CLAUSE_END_RE = re.compile(r"[.;!?:\n\"“”«»「」]")
_HAS_VERBS = (
    r"(?:always\s+|also\s+|still\s+|usually\s+)?(?:has\s+got|has|had|wears|wore|is\s+wearing"
    r"|was\s+wearing|is\s+dressed\s+in|was\s+dressed\s+in|carries|carried|sports|sported)\s+"
)
_HAS_AFTER_RE = re.compile(r"\s+" + _HAS_VERBS, re.IGNORECASE)
_PRONOUN_HAS_RE = re.compile(r"(?<!\w)(she|he|it)\s+" + _HAS_VERBS, re.IGNORECASE)
_PART_ALTERNATION = "|".join(sorted(PART_WORDS, key=len, reverse=True))
_PART_TAIL = (
    rf"(?P<mods>{ADJECTIVE_RUN}{{0,3}}?)(?P<part>{_PART_ALTERNATION})(?![\w-])"
    r"(?:\s+(?:is|was|are|were)\s+(?:[^\W\d_]+\s+){0,2}?(?P<color>[^\W\d_]+))?"
)
_OWNED_PART_RE = re.compile(r"['’]s\s+" + _PART_TAIL, re.IGNORECASE)
_PRONOUN_PART_RE = re.compile(r"(?<!\w)(?P<pron>her|his|its)\s+" + _PART_TAIL, re.IGNORECASE)
_PRONOUN_GENDER = {"she": "f", "her": "f", "he": "m", "his": "m", "him": "m", "it": "n", "its": "n"}
_SPOKEN_BY_RE = re.compile(
    r"(?<!\w)(?:"
    + "|".join(sorted(SPEECH_VERBS | wordset("говорит говорила говорил"), key=len, reverse=True))
    + r")\s+$",
    re.IGNORECASE,
)
_POSSESSOR_RE = re.compile(r"['’]s\s")
_DESCRIPTION_STARTS = wordset("in with wearing from carrying holding")
_COPULAS = wordset("is was were are has had")


def discover_characters(text: str, narration: str) -> list[CharacterDraft]:
    """Characters in order of first appearance. `narration` is the story with quoted speech
    blanked out (same offsets): only narration introduces and describes characters."""
    drafts = [
        CharacterDraft(
            f.name,
            True,
            f.first,
            list(f.aliases),
            looks=Looks(gender=f.gender),
            spans=list(f.spans),
        )
        for f in find_names(text, narration)
    ]
    _all_mentions(narration, drafts)
    narrator = _narrator(narration)
    if narrator is not None:
        _add_narrator(narration, narrator, drafts)
    phrases = find_noun_phrases(narration)
    if has_cjk(narration):
        phrases += cjk.find_noun_phrases(narration)
    if _CYRILLIC_RE.search(narration):
        phrases += russian.find_noun_phrases(narration)
    phrases.sort(key=lambda p: p.start)
    name_pattern = _alias_pattern(drafts)
    links = _direct_links(narration, phrases, drafts, name_pattern)
    if name_pattern is not None:
        _naming_links(narration, phrases, drafts, name_pattern, links)
    _title_noun_links(phrases, drafts, links)
    same_as = _appositive_phrase_links(narration, phrases, links)
    _pronoun_copular_links(narration, phrases, drafts, links, same_as)
    owners = _assign_phrases(narration, phrases, drafts, links, same_as)
    _gather_features(narration, phrases, owners, drafts)
    read_stated_colours(narration, list(drafts))
    return sorted(drafts, key=lambda d: d.first)


def _all_mentions(narration: str, drafts: list[CharacterDraft]) -> None:
    """Every place the narration writes a name is a mention of it, so "Old Mrs. Quinn, wearing
    a scarlet hat" is read even where the name finder first met the name elsewhere."""
    for draft in drafts:
        known = set(draft.spans)
        for alias in draft.aliases:
            if has_cjk(alias) or not alias.strip():
                continue
            for m in re.finditer(rf"(?<!\w){re.escape(alias)}(?!\w)", narration):
                if not any(s <= m.start() < e or m.start() <= s < m.end() for s, e in known):
                    known.add((m.start(), m.end()))
                    draft.spans.append((m.start(), m.end()))
        draft.spans.sort()


_FIRST_PERSON_RE = re.compile(r"(?<![\w'’])(?:I|me|my|My|myself)(?![\w'’])")


def _narrator(narration: str) -> CharacterDraft | None:
    """ "I pulled on my red boots": a first-person narrator is a character, called "the
    narrator", whom "I", "me" and "my" refer to. Only the narration counts: "I" inside a quote
    is a speaker, not the teller."""
    found = [m for m in _FIRST_PERSON_RE.finditer(narration)]
    if not any(m.group() == "I" for m in found):
        return None
    return CharacterDraft(
        "the narrator",
        False,
        found[0].start(),
        ["I"],
        spans=[(m.start(), m.end()) for m in found],
    )


_SELF_NAMING_RE = re.compile(r"(?:\b[Mm]y\s+name\s+is|(?<!\w)I\s+am|(?<!\w)I['’]m)\s+")


def _add_narrator(narration: str, narrator: CharacterDraft, drafts: list[CharacterDraft]) -> None:
    """ "My name is Theodora": the narrator is that named character, not a second one."""
    for m in _SELF_NAMING_RE.finditer(narration):
        named = next(
            (d for d in drafts if any(narration.startswith(a, m.end()) for a in d.aliases)), None
        )
        if named is not None:
            named.aliases.append("I")
            named.spans.extend(narrator.spans)
            return
    drafts.append(narrator)


def _alias_pattern(drafts: list[CharacterDraft]) -> re.Pattern[str] | None:
    aliases = sorted({a for d in drafts for a in d.aliases}, key=len, reverse=True)
    if not aliases:
        return None
    pieces = [re.escape(a) if has_cjk(a) else rf"(?<!\w){re.escape(a)}(?!\w)" for a in aliases]
    return re.compile("|".join(pieces))


def _index_of_alias(drafts: list[CharacterDraft], alias: str) -> int:
    return next(i for i, d in enumerate(drafts) if alias in d.aliases)


def _direct_links(
    narration: str,
    phrases: list[NounPhrase],
    drafts: list[CharacterDraft],
    name_pattern: re.Pattern[str] | None,
) -> dict[int, int]:
    """Noun phrases tied to a name by the sentence itself: "a girl named Mia", "Bolt, a silver
    robot dog", "her robot dog Bolt", "Bolt the robot dog", "the dog's name was Bolt"."""
    links: dict[int, int] = {}
    if name_pattern is None:
        return links
    for i, phrase in enumerate(phrases):
        alias = _name_after_phrase(narration, phrase, name_pattern) or _name_before_phrase(
            narration, phrase, name_pattern
        )
        if alias is None:
            alias = _name_is_phrase(narration, phrase, name_pattern)
        if alias is None:  # "王老师": the noun inside a name is that name
            inside = name_pattern.search(narration, max(0, phrase.start - 4), phrase.end + 4)
            if inside and inside.start() <= phrase.start and phrase.end <= inside.end():
                alias = inside.group()
        if alias is not None:
            links[i] = _index_of_alias(drafts, alias)
    return links


_COPULA_BEFORE = r"\s+(?:is|was)\s+(?:(?:also|still|just)\s+)?$"
_LIST_AFTER_RE = re.compile(r"\s*(?:,\s*)?(?:and|or|&)\s|\s*,\s*(?:a|an|the)\s", re.IGNORECASE)


def _name_is_phrase(narration: str, phrase: NounPhrase, names: re.Pattern[str]) -> str | None:
    """A copular introduction: "Nora was a quiet girl", "Unit Seven was a small robot"."""
    if has_cjk(phrase.surface) or phrase.determiner not in ("a", "an", "our", "my", "the"):
        return None
    if re.match(r"['’]s\s", narration[phrase.end : phrase.end + 3]):
        return None  # "Rufus is our neighbour's dog": the neighbour is someone else
    before = narration[max(0, phrase.start - 80) : phrase.start]
    # "Nora was a quiet girl", "Rufus is our neighbour's dog, a huge black dog"
    m = re.search(
        rf"(?P<name>{names.pattern}){_COPULA_BEFORE[:-1]}(?:(?:[\w'’]+\s+){{0,3}}[\w'’]+,\s+)?$",
        before,
    )
    return m.group("name") if m else None


def _title_noun_links(
    phrases: list[NounPhrase], drafts: list[CharacterDraft], links: dict[int, int]
) -> None:
    """ "Judge Hale ... asked the judge", "Captain Reyes ... The captain wears": the title of a
    name is the noun the story then calls that character by, when only one name has it."""
    holders: dict[str, list[int]] = {}
    for i, draft in enumerate(drafts):
        if not draft.named:
            continue
        for word in draft.name.split()[:-1]:
            noun = word.lower().rstrip(".")
            noun = russian.creature_noun(noun) or noun if _CYRILLIC_RE.match(noun) else noun
            if noun in CREATURES and i not in holders.get(noun, []):
                holders.setdefault(noun, []).append(i)
    for k, phrase in enumerate(phrases):
        owners = holders.get(phrase.noun, [])
        definite = phrase.determiner == "the" or _CYRILLIC_RE.match(phrase.surface)
        if k not in links and definite and len(owners) == 1:
            links[k] = owners[0]


def _appositive_phrase_links(
    narration: str, phrases: list[NounPhrase], links: dict[int, int]
) -> dict[int, int]:
    """ "the baker, a woman in a white apron", "our neighbour's dog, a huge black dog", "her best
    customer was a boy named Oliver": two noun phrases set off by a comma or joined by "was" are
    one character, unless they are items of a list ("a baker, a postman and a goat"). Returns
    phrase -> the earlier phrase it is the same as, for pairs neither of which names someone."""
    same_as: dict[int, int] = {}
    for k in range(1, len(phrases)):
        first, second = phrases[k - 1], phrases[k]
        if has_cjk(second.surface) or first.creature.species != second.creature.species:
            continue
        between = narration[first.end : second.start]
        comma = re.fullmatch(r"\s*,\s*", between) is not None
        copula = re.fullmatch(r"\s+(?:is|was)\s+", between) is not None
        if not (comma or copula) or second.determiner not in ("a", "an"):
            continue
        if comma and _LIST_AFTER_RE.match(narration, second.end):
            continue
        if k - 1 in links and k not in links:
            links[k] = links[k - 1]
        elif k in links and k - 1 not in links:
            links[k - 1] = links[k]
        elif k not in links and k - 1 not in links:
            same_as[k] = k - 1
    return same_as


_PRONOUN_IS_RE = re.compile(r"(?<!\w)(she|he)\s+(?:is|was)\s+$", re.IGNORECASE)


def _pronoun_copular_links(
    narration: str,
    phrases: list[NounPhrase],
    drafts: list[CharacterDraft],
    links: dict[int, int],
    same_as: dict[int, int],
) -> None:
    """ "She was a tall woman in a black robe": the phrase is the person "she" points back to,
    the latest name or noun phrase of that gender before it."""
    for k, phrase in enumerate(phrases):
        if k in links or k in same_as or has_cjk(phrase.surface):
            continue
        m = _PRONOUN_IS_RE.search(narration, max(0, phrase.start - 20), phrase.start)
        if m is None or phrase.creature.species != "human":
            continue
        wanted = "f" if m.group(1).lower() == "she" else "m"
        candidates: list[tuple[int, str, int]] = [
            (start, "name", i)
            for i, d in enumerate(drafts)
            for start, _ in d.spans
            if start < m.start() and d.looks.gender in (wanted, None)
        ]
        candidates += [
            (p.start, "phrase", j)
            for j, p in enumerate(phrases[:k])
            if p.start < m.start()
            and p.creature.species == "human"
            and p.creature.gender in (wanted, None)
        ]
        if not candidates:
            continue
        _, kind, index = max(candidates)
        if kind == "name":
            links[k] = index
        elif index in links:
            links[k] = links[index]
        else:
            same_as[k] = same_as.get(index, index)


def _name_after_phrase(narration: str, phrase: NounPhrase, names: re.Pattern[str]) -> str | None:
    if has_cjk(phrase.surface):
        return cjk.name_after_phrase(narration, phrase.end, names)
    for lead in (_NAMED_AFTER_RE, _NAME_IS_AFTER_RE):
        m = lead.match(narration, phrase.end)
        if m:
            named = names.match(narration, m.end())
            if named:
                return named.group()
    if (
        phrase.determiner in _POSSESSIVE_DETERMINERS or _CYRILLIC_RE.match(phrase.surface)
    ) and narration[phrase.end : phrase.end + 1] == " ":
        # "her dog Bolt"; Russian has no articles: "чёрный кот Уголёк", "мальчик Петя"
        named = names.match(narration, phrase.end + 1)
        # "her dog Bolt" names the dog; "the dog Mia had found" does not.
        if named and not _CLAUSE_AFTER_NAME_RE.match(narration, named.end()):
            return named.group()
    return None


def _name_before_phrase(narration: str, phrase: NounPhrase, names: re.Pattern[str]) -> str | None:
    before = narration[max(0, phrase.start - 60) : phrase.start]
    if has_cjk(phrase.surface):
        return cjk.name_before_phrase(before, names)
    appositive = re.search(rf"(?:{names.pattern})\s*,\s*$", before)
    if appositive is None and phrase.determiner == "the":
        appositive = re.search(rf"(?:{names.pattern})\s+$", before)
    if appositive is None:
        return None
    return appositive.group().rstrip(" ,")


def _naming_links(
    narration: str,
    phrases: list[NounPhrase],
    drafts: list[CharacterDraft],
    names: re.Pattern[str],
    links: dict[int, int],
) -> None:
    """ "She names him Bolt": Bolt is the latest fitting creature introduced before the naming."""
    starts = [p.start for p in phrases]
    for m in _NAMING_RE.finditer(narration):
        named = names.match(narration, m.end())
        if named is None:
            continue
        index = _index_of_alias(drafts, named.group())
        pronoun = m.group(1).lower()
        gender = _NAMING_GENDER.get(pronoun)
        if gender is not None and drafts[index].looks.gender is None:
            drafts[index].looks.gender = gender
        k = bisect.bisect_left(starts, m.start()) - 1
        while k >= 0:
            phrase = phrases[k]
            fits = (
                phrase.creature.species != "human"
                if pronoun == "it"
                else phrase.creature.gender in (None, gender)
            )
            if fits and links.get(k, index) == index:
                links[k] = index
                break
            k -= 1
    cjk.naming_links(narration, phrases, drafts, names, links)


def _assign_phrases(
    narration: str,
    phrases: list[NounPhrase],
    drafts: list[CharacterDraft],
    links: dict[int, int],
    same_as: dict[int, int],
) -> list[int | None]:
    """The character each noun phrase refers to. An unlinked phrase belongs to the character its
    noun was last linked to ("the robot dog" after "she names him Bolt" is Bolt); phrases whose
    noun is never linked become an unnamed character of their own ("the girl")."""
    owners: list[int | None] = []
    current: dict[str, int] = {}
    pending: dict[str, list[int]] = {}
    for i, phrase in enumerate(phrases):
        if i in links:
            owner = links[i]
            # "a silver robot dog ... she names the dog Bolt": same head noun, same creature.
            for key in [k for k, group in pending.items() if phrases[group[0]].noun == phrase.noun]:
                for j in pending.pop(key):
                    owners[j] = owner
                current[key] = owner
            current[phrase.key] = owner
            owners.append(owner)
        elif i in same_as and owners[same_as[i]] is not None:
            owners.append(owners[same_as[i]])
        elif i in same_as:
            key = next(k for k, g in pending.items() if same_as[i] in g)
            pending[key].append(i)
            owners.append(None)
        elif phrase.key in current:
            owners.append(current[phrase.key])
        else:
            pending.setdefault(phrase.key, []).append(i)
            owners.append(None)
    has_names = bool(drafts)
    for group in pending.values():
        if has_names and len(group) < 2 and not _is_subject(narration, phrases[group[0]]):
            continue
        if len(group) < 2 and _POSSESSOR_RE.match(narration, phrases[group[0]].end):
            continue  # "the baker's cat": the baker is only mentioned
        first = phrases[group[0]]
        age = first.age_word if first.species == "human" and first.age_word else None
        label = f"{age} {first.label}" if age else first.label
        drafts.append(CharacterDraft(f"the {label}", False, first.start))
        for j in group:
            owners[j] = len(drafts) - 1
    for phrase, assigned in zip(phrases, owners, strict=True):
        if assigned is not None:
            drafts[assigned].add_phrase(phrase)
    return owners


def _is_subject(narration: str, phrase: NounPhrase) -> bool:
    """Whether the phrase acts in its sentence ("a cat watched"), not merely being mentioned."""
    if has_cjk(phrase.surface):
        return cjk.acts(narration, phrase.end)
    if _SPOKEN_BY_RE.search(narration, max(0, phrase.start - 30), phrase.start):
        return True  # 'said the fishmonger', '— говорит бабушка'
    if _CYRILLIC_RE.match(phrase.surface):
        previous = re.search(r"([а-яё]+)\s+$", narration[max(0, phrase.start - 30) : phrase.start])
        if previous and looks_like_verb(previous.group(1)):
            return True  # Russian puts the verb first: "подошла девушка"
    rest = narration[phrase.end : phrase.end + 120]
    stop = re.search(r"[.;!?,\n]", rest)
    words = [w.group() for w in WORD_RE.finditer(rest[: stop.start()] if stop else rest)]
    if not words or not rest.startswith(" "):
        return False
    if looks_like_verb(words[0]) or (words[0].endswith("ing") and len(words[0]) > 4):
        return True  # "a cat watched", "a girl hiding behind a statue"
    if words[0].lower() not in _DESCRIPTION_STARTS:
        return False
    # "a girl in a pink hoodie raised her hand", "a tall girl with a ponytail was stacking"
    return any(w.lower() in _COPULAS or looks_like_verb(w) for w in words[1:9])


def _gather_features(
    narration: str,
    phrases: list[NounPhrase],
    owners: list[int | None],
    drafts: list[CharacterDraft],
) -> None:
    """Descriptions attached to a name, a noun phrase or a pronoun: "Mia, with red hair",
    "a girl in a yellow raincoat", "she wears a blue scarf", "Bolt's eyes are green"."""
    timeline = sorted(
        [
            (start, i)
            for i, d in enumerate(drafts)
            for start, end in d.spans
            if not _FIRST_PERSON_RE.fullmatch(narration, start, end)  # "he" is never "I"
        ]
        + [(p.start, o) for p, o in zip(phrases, owners, strict=True) if o is not None]
    )
    positions = [t[0] for t in timeline]
    mentioned = [t[1] for t in timeline]  # who each position is
    for draft in drafts:
        for _, end in list(draft.spans):
            draft.looks.add_features(_features_after(narration, end))
            owned = _OWNED_PART_RE.match(narration, end)
            if owned and draft.named:
                draft.looks.add_features(_part_feature(owned, require_colour=False))
    for m in _PRONOUN_HAS_RE.finditer(narration):
        wanted = _PRONOUN_GENDER.get(m.group(1).lower())
        owner = antecedent(mentioned, positions, drafts, m.start(), wanted)
        if owner is not None:
            drafts[owner].looks.add_features(parse_features(_clause(narration, m.end())))
    for m in _PRONOUN_PART_RE.finditer(narration):
        wanted = _PRONOUN_GENDER.get(m.group("pron").lower())
        owner = antecedent(mentioned, positions, drafts, m.start(), wanted)
        if owner is not None:
            drafts[owner].looks.add_features(_part_feature(m, require_colour=True))
    for position, feature in cjk.find_features(narration) + russian.find_features(narration):
        owner = _nearest(timeline, positions, position)
        if owner is not None:
            drafts[owner].looks.add_features([feature])


def _features_after(narration: str, position: int) -> list[Feature]:
    """Features in a clause right after a mention: ", with red hair", " in a yellow raincoat",
    " has a grey beard"."""
    m = _CLAUSE_START_RE.match(narration, position) or _HAS_AFTER_RE.match(narration, position)
    if m is None:
        return []
    clause = _clause(narration, m.end())
    features = parse_features(clause)
    how = m.groupdict().get("how") or ""
    if not features and how.lower() not in ("with", ""):
        first = WORD_RE.match(clause)
        colour = colour_word(first.group()) if first else None
        if colour is not None:  # "a girl dressed in red"
            features = [Feature("outfit", "clothes", f"{colour} clothes", colour)]
    return features


def _clause(narration: str, start: int) -> str:
    rest = narration[start : start + 160]
    stop = _CLAUSE_END_RE.search(rest)
    return rest[: stop.start()] if stop else rest


def _part_feature(m: re.Match[str], *, require_colour: bool) -> list[Feature]:
    modifiers = [w.lower() for w in WORD_RE.findall(m.group("mods"))]
    stated = m.group("color")
    if stated and colour_word(stated, PART_WORDS[m.group("part").lower()]) is not None:
        modifiers = [*modifiers, stated.lower()]
    feature = make_feature(m.group("part").lower(), modifiers)
    if feature.color is None and (require_colour or not modifiers):
        return []
    return [feature]


def _nearest(timeline: list[tuple[int, int]], positions: list[int], position: int) -> int | None:
    """The character mentioned closest to a position (before it on a tie), within a clause."""
    k = bisect.bisect_left(positions, position)
    best: tuple[int, int] | None = None
    for j in (k - 1, k):
        if 0 <= j < len(timeline):
            distance = abs(position - timeline[j][0])
            if distance <= 40 and (best is None or distance < best[0]):
                best = (distance, timeline[j][1])
    return best[1] if best else None
