"""Named characters: which capitalised words in a story are the names of people and animals.

A capitalised word is a name only when its context says so: "named Mia", "said Mia", "Mia
walks", "Bolt, a silver robot dog", "her robot dog Bolt", "Mr. Tanaka", or being capitalised in
mid-sentence more than once. Sentence-initial ordinary words ("Then", "Suddenly") and places
("in Paris") are not names. Chinese, Japanese and Korean have no capitals; their names come from
naming patterns ("名叫米娅", "ミアという").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from storyviz.agents.planner.rules import russian
from storyviz.agents.planner.rules.cjk import is_cjk_creature
from storyviz.agents.planner.rules.dialogue import SPEECH_VERBS
from storyviz.agents.planner.rules.looks import CREATURES, PART_WORDS
from storyviz.agents.planner.rules.scene_words import SETTINGS, TIMES, WEATHER
from storyviz.agents.planner.rules.text import WORD_RE, looks_like_verb, wordset
from storyviz.colors import COLOR_RGB

TITLES: dict[str, str | None] = {
    "mr": "m",
    "mister": "m",
    "mrs": "f",
    "ms": "f",
    "miss": "f",
    "dr": None,
    "doctor": None,
    "prof": None,
    "professor": None,
    "captain": None,
    "capt": None,
    "aunt": "f",
    "auntie": "f",
    "uncle": "m",
    "grandma": "f",
    "grandpa": "m",
    "granny": "f",
    "king": "m",
    "queen": "f",
    "prince": "m",
    "princess": "f",
    "sir": "m",
    "lady": "f",
    "lord": "m",
    "madam": "f",
    "madame": "f",
    "officer": None,
    "detective": None,
    "master": "m",
    "señor": "m",
    "señora": "f",
    "monsieur": "m",
    "herr": "m",
    "frau": "f",
    "father": "m",
    "mother": "f",
    "sister": "f",
    "brother": "m",
    "judge": None,
    "coach": None,
    "admiral": None,
    "доктор": None,
    "профессор": None,
    "капитан": None,
    "господин": "m",
    "госпожа": "f",
    "дядя": "m",
    "тётя": "f",
    "тетя": "f",
}
"""Words before a name that make it a person's name, with the gender they imply."""

NON_NAME_WORDS = wordset(
    """близнецы оба обе twins brothers sisters
    a an the this that these those there here then than thus so but and or nor if when
    while where why how what who whom which whose after before since until once as at by in
    on of to from into onto with without for about above below under over near through
    across behind beyond during inside outside he she it they we you i me him her us them
    his its our their my your mine yours everyone everybody someone somebody nobody noone
    nothing something everything anyone anybody all both each every some many most few
    none no not yes yeah oh ah wow hey hi hello goodbye bye okay ok please thanks thank
    sorry well now still just even only also too very really later soon meanwhile finally
    suddenly together afterwards eventually today tomorrow tonight yesterday morning
    evening night day afternoon noon midnight dawn dusk one two three first next last
    another other maybe perhaps sometimes always never often again instead however
    therefore besides otherwise indeed almost quickly slowly softly quietly gently
    carefully happily sadly luckily unfortunately fortunately monday tuesday wednesday
    thursday friday saturday sunday january february march april may june july august
    september october november december spring summer autumn winter chapter part the end
    god mom dad mum
    он она оно они мы вы я ты его её ее их им ей ему это этот эта эти там тут здесь тогда
    потом вдруг когда но и а в на с у к по за из от до для после перед утром вечером
    ночью днём днем однажды наконец"""
)
"""Capitalised words that are ordinary words at the start of a sentence, never names."""

PLACE_WORDS = wordset(
    """in into inside across through throughout toward towards via beyond в во на из"""
)
"""Words after which a capitalised word is a place ("in Paris"), unless it is plainly a name."""

PLACE_AFTER_MOTION = wordset("to from at")
"""Words that introduce a place only after a verb of going ("went to Paris", not "waved to Ben")."""

_GOING_WORDS = wordset(
    """went go goes going came come comes coming moved move moves flew fly flies travelled
    traveled travel travels drove drive drives sailed sail sails walked walk walks ran run runs
    returned return returns arrived arrive arrives lived live lives stayed stay stays back
    headed head heads rode ride rides"""
)

_NAMING_BEFORE_RE = re.compile(
    r"(?:\b(?:named|called|christened|dubbed|name\s+(?:is|was)|names?\s+(?:him|her|it)"
    r"|named\s+(?:him|her|it)|calls?\s+(?:him|her|it)|called\s+(?:him|her|it)"
    r"|christen(?:s|ed)?\s+(?:him|her|it)|dubb?(?:s|ed)?\s+(?:him|her|it))"
    r"|(?<!\w)(?:по\s+имени|зовут|звали|назвала?|назвали))\s*$",
    re.IGNORECASE,
)
_SPEECH_ALTERNATION = "|".join(sorted(SPEECH_VERBS, key=len, reverse=True))
_SPEECH_BEFORE_RE = re.compile(rf"(?<!\w)(?:{_SPEECH_ALTERNATION})\s+$", re.IGNORECASE)
_SPEECH_AFTER_RE = re.compile(
    rf"^\s*(?:[^\W\d_]+ly\s+)?(?:{_SPEECH_ALTERNATION})(?!\w)", re.IGNORECASE
)
_CREATURE_ALTERNATION = "|".join(sorted(CREATURES, key=len, reverse=True))
_APPOSITIVE_RE = re.compile(
    r"^\s*,\s+(?:a|an|the|my|his|her|their|our)\s+(?:[^\W\d_]+(?:-[^\W\d_]+)*,?\s+){0,4}?"
    rf"(?:{_CREATURE_ALTERNATION})(?!\w)",
    re.IGNORECASE,
)
_OWNER_BEFORE_RE = re.compile(
    r"(?<!\w)(?:my|his|her|their|our|the)\s+(?:[^\W\d_]+\s+){0,3}?"
    rf"(?:{_CREATURE_ALTERNATION}),?\s+$",
    re.IGNORECASE,
)
_THE_CREATURE_AFTER_RE = re.compile(
    rf"^\s+the\s+(?:[^\W\d_]+\s+){{0,3}}?(?:{_CREATURE_ALTERNATION})(?!\w)", re.IGNORECASE
)
_GROUP_NOUNS = wordset(
    """twins triplets brothers sisters siblings cousins friends children kids girls boys pair
    couple duo trio neighbours neighbors parents grandparents partners"""
)
_GROUP_BEFORE_RE = re.compile(
    r"(?<!\w)(?:the|my|his|her|their|our|its|two|three|four)\s+(?:[^\W\d_]+\s+){0,2}?"
    rf"(?:{'|'.join(sorted(_GROUP_NOUNS))}),\s+$",
    re.IGNORECASE,
)
"""A group noun and a comma before a name: "The brothers, Sam and Jo," lists who they are."""
_DRESSED_AFTER_RE = re.compile(
    r"^\s*,\s+(?:(?:both|each|all|still)\s+)?(?P<how>wearing|dressed\s+in|clad\s+in|in|with)"
    r"\s+[^,.;:!?\"“”]{1,80}?(?:,\s+(?:[^\W\d_]+ly\s+)?(?P<verb>[^\W\d_]+)|(?P<end>[.!?]))",
    re.IGNORECASE,
)
"""A name, then what it wears, then its verb: "Sam, in red boots, ran" ("Later, in a coat, she
ran" is not: a pronoun, not a verb, follows the phrase)."""
_WEARING_WORDS = wordset("wearing dressed clad")
_SCENE_WORDS = frozenset(
    form
    for table in (SETTINGS, TIMES, WEATHER)
    for forms in table.values()
    for form in forms
    if " " not in form
) | wordset("wind sun moon sky stars thunder fire water light darkness silence music time life")
"""Places, times, weather and nature: "Snow falls." and "Night came." are not about someone."""
_LIST_GAP_RE = re.compile(r"\s*(?:,\s*|,?\s+(?:and|&|or|и|и\s+его|и\s+её)\s+)")
_OWNER_AND_RE = re.compile(r"\s+(?:and|with)\s+(?:his|her|their)\s", re.IGNORECASE)
_SENTENCE_OPENERS = frozenset('.!?…:;"“”„«»「」『』—–\n()[]')
_POSSESSIVE_SUFFIXES = ("'s", "’s")
_MAX_NAME_WORDS = 4

_CJK_NAMING_RES: tuple[re.Pattern[str], ...] = (
    re.compile(
        r"(?:名叫|叫做|名字叫|名字是|取名为|取名叫|起名叫|起名为|名为|叫作)"
        r"([\u4e00-\u9fff]{1,4}?)(?=[的，,。！？!?、\s和与跟]|$)"
    ),
    re.compile(r"([\u30a1-\u30fa\u30fc]{2,8}|[\u4e00-\u9fff]{2,4}?)(?:という|と名付け|と呼ば)"),
    re.compile(r"名前は([\u30a1-\u30fa\u30fc\u3041-\u3096\u4e00-\u9fff]{2,8}?)(?:です|だ|。|、)"),
    re.compile(r"([\uac00-\ud7a3]{2,4})(?:이라는|라는|이라고|라고)"),
    # who speaks: "”李明说", "」と博士が言った", "」とミキが叫んだ", "李明说：“"
    re.compile(
        r"[”」』]\s*([\u4e00-\u9fff]{2,3}?)(?:大声|小声|轻声|低声|高兴地|笑着)?"
        r"(?:说|喊道|问道|回答|叫道|答道|喊|问)"
    ),
    re.compile(r"(?:^|(?<=[。！？，、\s”」]))([\u4e00-\u9fff]{2,3}?)(?:说|喊|问)[：:]\s*[“「]"),
    re.compile(
        r"[」』]\s*と\s*([\u30a1-\u30fa\u30fc\u4e00-\u9fff]{1,5}?)(?:くん|さん|ちゃん|君|様)?"
        r"(?:が|は)"
    ),
    # who someone is to another: "她的学生小杰", "他的孙女丽丽"
    re.compile(
        r"的(?:学生|孙女|孙子|女儿|儿子|朋友|哥哥|姐姐|弟弟|妹妹|妈妈|爸爸)"
        r"([\u4e00-\u9fff]{2,3}?)(?=[站说喊在是戴穿拿跑，。])"
    ),
    # a surname with a kinship word or title: "张伯伯是个渔夫", "王老师是"
    re.compile(
        r"(?:^|(?<=[。！？，、\s”」]))([李王张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐]"
        r"(?:伯伯|叔叔|阿姨|奶奶|爷爷|老师|医生|大夫|先生|小姐|[\u4e00-\u9fff]))"
        r"(?=是|在|说|喊|问|回答|给|把|穿|戴|站|总是|每天|，)"
    ),
    # a Japanese name with an honorific: "健太くんは"
    re.compile(
        r"(?:^|(?<=[。、」\s]))([\u4e00-\u9fff\u30a1-\u30fa\u30fc]{1,4}?)(?:くん|ちゃん|君)(?=[はがをにの])"
    ),
    # two katakana names joined by と: "ユキとミキは"
    re.compile(
        r"(?:^|(?<=[。、」\s]))([\u30a1-\u30fa\u30fc]{2,6})と(?=[\u30a1-\u30fa\u30fc]{2,6}[はが])"
    ),
    re.compile(r"(?<=[\u30a1-\u30fa\u30fc]と)([\u30a1-\u30fa\u30fc]{2,6})(?=[はが])"),
)
_NOT_CJK_NAMES = frozenset(
    [
        "机器狗",
        "机器人",
        "熊猫",
        "狐狸",
        "兔子",
        "小狗",
        "小猫",
        "女孩",
        "男孩",
        "老师",
        "大家",
        "我们",
        "他们",
        "她们",
        "ロボット",
    ]
)


@dataclass
class NameCandidate:
    """A name as it appears in the story, with the evidence for and against it being a name."""

    name: str
    core: tuple[str, ...]
    title: str | None
    first: int
    spans: list[tuple[int, int]] = field(default_factory=list)
    strong: int = 0
    weak: int = 0
    mid_sentence: int = 0
    place: int = 0
    partners: set[str] = field(default_factory=set)
    """Candidates listed with this one ("Mia and Bolt", "Anna, Ben"): names keep name company."""

    @property
    def key(self) -> str:
        return self.name.lower().replace(".", "")

    @property
    def gender(self) -> str | None:
        return TITLES.get(self.title.lower().rstrip(".")) if self.title else None


@dataclass
class FoundName:
    """An accepted name, with the shorter forms that refer to it ("Tanaka" for "Mr. Tanaka")."""

    name: str
    first: int
    gender: str | None
    aliases: list[str]
    spans: list[tuple[int, int]]


def find_names(text: str, narration: str) -> list[FoundName]:
    """Names in order of first appearance. `narration` is the story with quoted speech blanked
    (same offsets), so a name is judged by how the narration uses it."""
    candidates = _latin_candidates(text, narration)
    ordinary = _ordinary_words(text)
    accepted_keys = {key for key, c in candidates.items() if _is_name(c, ordinary)}
    for _ in range(2):  # a list of names accepts its members: "Anna, Ben and Carla"
        accepted_keys |= {
            key
            for key, c in candidates.items()
            if c.partners & accepted_keys and _is_name(c, ordinary, listed=True)
        }
    accepted = [c for key, c in candidates.items() if key in accepted_keys]
    found = _merge_declined(_merge_short_forms(accepted))
    found.extend(_cjk_names(narration, {f.name for f in found}))
    found.sort(key=lambda f: f.first)
    return found


def _latin_candidates(text: str, narration: str) -> dict[str, NameCandidate]:
    tokens = [(m.group(), m.start(), m.end()) for m in WORD_RE.finditer(narration)]
    candidates: dict[str, NameCandidate] = {}
    previous: tuple[NameCandidate, int] | None = None  # the last candidate and where it ended
    i = 0
    while i < len(tokens):
        if not _capitalised(tokens[i][0]):
            i += 1
            continue
        j = i + 1
        while (
            j < len(tokens)
            and j - i < _MAX_NAME_WORDS
            and _capitalised(tokens[j][0])
            and not tokens[j - 1][0].endswith(_POSSESSIVE_SUFFIXES)
            and _joins(narration, tokens[j - 1], tokens[j])
        ):
            j += 1
        recorded = _record(candidates, narration, tokens, i, j)
        if recorded is not None:
            candidate, start, end = recorded
            if previous is not None and _LIST_GAP_RE.fullmatch(narration[previous[1] : start]):
                previous[0].partners.add(candidate.key)
                candidate.partners.add(previous[0].key)
            previous = (candidate, end)
        i = j
    return candidates


def _capitalised(word: str) -> bool:
    return word[:1].isupper() and not (len(word) > 1 and word.isupper())


def _joins(narration: str, left: tuple[str, int, int], right: tuple[str, int, int]) -> bool:
    gap = narration[left[2] : right[1]]
    return gap == " " or (gap in (". ", ".") and left[0].lower() in TITLES)


def _record(
    candidates: dict[str, NameCandidate],
    narration: str,
    tokens: list[tuple[str, int, int]],
    i: int,
    j: int,
) -> tuple[NameCandidate, int, int] | None:
    """Add the capitalised run tokens[i:j] (stripped of ordinary words) as a candidate; return
    it with where this occurrence starts and ends."""
    while i < j and tokens[i][0].lower() in NON_NAME_WORDS:
        i += 1
    run = tokens[i:j]
    for k, token in enumerate(run):
        if token[0].lower() in NON_NAME_WORDS:
            run = run[:k]
            break
    if not run:
        return None
    words = [t[0] for t in run]
    possessive = words[-1].endswith(_POSSESSIVE_SUFFIXES)
    if possessive:
        words[-1] = words[-1][:-2]
    title: str | None = None
    # the title may follow a describing word: "Old Mr. Pike", "Little Miss Muffet"
    at = next((k for k, w in enumerate(words[:-1]) if w.lower() in TITLES), None)
    if at is not None:
        title = words[at] + ("." if narration[run[at][2] : run[at][2] + 1] == "." else "")
        core = tuple(words[at + 1 :])
    else:
        core = tuple(words)
    if not all(core):
        return None
    name = " ".join([*words[:at], title, *core]) if title else " ".join(core)
    start, end = run[0][1], run[-1][2] - (2 if possessive else 0)
    key = name.lower().replace(".", "")
    candidate = candidates.setdefault(key, NameCandidate(name, core, title, start))
    if _OWNER_AND_RE.match(narration, end):
        candidate.weak += 1  # "Mia and her dog": whoever owns something is someone
    candidate.spans.append((start, end))
    _weigh(candidate, narration, tokens, i, i + len(run), start, end, possessive)
    return candidate, start, end


def _weigh(
    candidate: NameCandidate,
    narration: str,
    tokens: list[tuple[str, int, int]],
    i: int,
    j: int,
    start: int,
    end: int,
    possessive: bool,
) -> None:
    before = narration[max(0, start - 48) : start]
    after = narration[end : end + 160]
    previous = tokens[i - 1] if i > 0 else None
    initial = previous is None or any(
        ch in _SENTENCE_OPENERS for ch in narration[previous[2] : start]
    )
    if previous is not None and previous[0].lower() in TITLES and candidate.title is None:
        initial = False
    if not initial:
        candidate.mid_sentence += 1
    if (
        candidate.title
        or _NAMING_BEFORE_RE.search(before)
        or _SPEECH_BEFORE_RE.search(before)
        or _SPEECH_AFTER_RE.match(after)
        or _APPOSITIVE_RE.match(after)
        or _OWNER_BEFORE_RE.search(before)
        or _THE_CREATURE_AFTER_RE.match(after)
        or _GROUP_BEFORE_RE.search(before)
    ):
        candidate.strong += 1
    if possessive or _verb_follows(narration, tokens, j, end) or _dressed(after, initial):
        candidate.weak += 1
    if previous is not None and narration[previous[2] : start].strip() == "":
        word = previous[0].lower()
        before_previous = tokens[i - 2][0].lower() if i >= 2 else ""
        if word in PLACE_WORDS or (word in PLACE_AFTER_MOTION and before_previous in _GOING_WORDS):
            candidate.place += 1


def _verb_follows(narration: str, tokens: list[tuple[str, int, int]], j: int, end: int) -> bool:
    """Whether the next word (after one optional -ly adverb) reads as this name's verb."""
    for k in (j, j + 1):
        if k >= len(tokens) or narration[tokens[k - 1][2] if k > j else end : tokens[k][1]].strip():
            return False
        word = tokens[k][0]
        if k == j and word.endswith("ly") and len(word) > 4:
            continue
        return looks_like_verb(word)
    return False


def _dressed(after: str, initial: bool) -> bool:
    """Whether what follows is ", wearing/in/with ..." and then this name's verb ("Sam, in red
    boots, ran"). At a sentence's end ("He met Ana, wearing red.") only "wearing"/"dressed in"
    after a mid-sentence word counts: "Later, in a coat, she" and "Paris, with its lights." don't.
    """
    match = _DRESSED_AFTER_RE.match(after)
    if match is None:
        return False
    if match.group("verb") is not None:
        return looks_like_verb(match.group("verb"))
    return not initial and match.group("how").split()[0].lower() in _WEARING_WORDS


def _ordinary_words(text: str) -> frozenset[str]:
    """Words the story also writes in lower case ("rain" makes "Rain falls." ordinary)."""
    return frozenset(w for w in WORD_RE.findall(text) if w.islower())


def _is_name(candidate: NameCandidate, ordinary: frozenset[str], *, listed: bool = False) -> bool:
    """Strong evidence decides; otherwise a word that is a place, an ordinary word or a creature
    is not a name, and anything else needs some evidence (or to be listed with names)."""
    if candidate.strong:
        return True
    words = [w.lower() for w in candidate.core]
    single = len(words) == 1
    if candidate.place or (single and len(words[0]) < 2):
        return False
    if single and (
        words[0] in CREATURES
        or words[0] in PART_WORDS
        or words[0] in COLOR_RGB
        or words[0] in ordinary
        or words[0] in _SCENE_WORDS
        or russian.is_creature_word(words[0])
    ):
        return False
    return (
        listed or candidate.weak > 0 or (len(candidate.spans) >= 2 and candidate.mid_sentence >= 1)
    )


def _merge_short_forms(accepted: Iterable[NameCandidate]) -> list[FoundName]:
    """Fold "Tanaka" into "Mr. Tanaka" and "Mary" into "Mary Jane" when only one name fits."""
    ordered = sorted(accepted, key=lambda c: (-len(c.core) - (1 if c.title else 0), c.first))
    found: list[FoundName] = []
    for candidate in ordered:
        hosts = [
            f
            for f in found
            if _contains(_core_of(f.name), candidate.core)
            # "Dr. Patel" is "Dr. Asha Patel"; "Mrs. Reyes" is not "Captain Reyes"
            and (candidate.title is None or _title_of(f.name) in (None, _plain(candidate.title)))
        ]
        if len(hosts) == 1:
            host = hosts[0]
            host.aliases.append(candidate.name)
            host.spans.extend(candidate.spans)
            host.first = min(host.first, candidate.first)
            continue
        found.append(
            FoundName(
                candidate.name,
                candidate.first,
                candidate.gender,
                [candidate.name],
                list(candidate.spans),
            )
        )
    return found


def _plain(title: str) -> str:
    return title.lower().rstrip(".")


def _title_of(name: str) -> str | None:
    words = name.split()
    return _plain(words[0]) if len(words) > 1 and _plain(words[0]) in TITLES else None


_CYRILLIC_NAME_RE = re.compile(r"[А-ЯЁ][а-яё]{2,}")


def _merge_declined(found: list[FoundName]) -> list[FoundName]:
    """ "Коля" and "У Коли": one Russian name in two cases, kept under its first form."""
    kept: list[FoundName] = []
    for name in sorted(found, key=lambda f: f.first):
        if _CYRILLIC_NAME_RE.fullmatch(name.name):
            stem = name.name[:-1]
            host = next(
                (k for k in kept if _CYRILLIC_NAME_RE.fullmatch(k.name) and k.name[:-1] == stem),
                None,
            )
            if host is not None:
                host.spans.extend(name.spans)
                continue
        kept.append(name)
    return kept


def _core_of(name: str) -> tuple[str, ...]:
    words = name.split()
    if len(words) > 1 and words[0].lower().rstrip(".") in TITLES:
        words = words[1:]
    return tuple(words)


def _contains(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    if len(shorter) > len(longer):
        return False
    return any(
        longer[k : k + len(shorter)] == shorter for k in range(len(longer) - len(shorter) + 1)
    )


def _cjk_names(narration: str, known: set[str]) -> list[FoundName]:
    """Names introduced by a naming pattern in Chinese, Japanese or Korean text."""
    found: dict[str, FoundName] = {}
    for pattern in _CJK_NAMING_RES:
        for match in pattern.finditer(narration):
            name = match.group(1)
            if (
                len(name) < 2
                or name in known
                or name in found
                or name in _NOT_CJK_NAMES
                or is_cjk_creature(name)
            ):
                continue
            spans = [(m.start(), m.end()) for m in re.finditer(re.escape(name), narration)]
            found[name] = FoundName(
                name, spans[0][0] if spans else match.start(1), None, [name], spans
            )
    return list(found.values())
