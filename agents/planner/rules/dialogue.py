"""Quoted speech: which quotes are dialogue, how they are spoken, and where their speaker is named.

A balloon needs its words, its kind (speech, thought, shout) and who says it. This module finds
the words and the attribution ("Mia asks", "said Bolt", "she whispers"); turning the
attribution into a character is left to the mention tracker, which knows who "she" is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from storyviz.agents.planner.rules.quotes import Quote
from storyviz.agents.planner.rules.text import WORD_RE, shorten, squash, weight, wordset

DialogueKind = Literal["speech", "thought", "shout"]

THOUGHT_VERBS = wordset(
    "thought thinks think wondered wonders wonder mused muses pondered ponders "
    "подумал подумала думал думала"
)
SHOUT_VERBS = wordset(
    "shouted shouts shout yelled yells yell screamed screams scream roared roars bellowed "
    "bellows hollered hollers shrieked shrieks крикнул крикнула закричал закричала"
)
SPEECH_VERBS = (
    wordset(
        """said says say asked asks ask whispered whispers replied replies answered answers
        called calls cried cries exclaimed exclaims muttered mutters murmured murmurs laughed
        laughs sighed sighs added adds told tells begged begs explained explains continued
        giggled giggles growled growls barked barks beeped beeps announced announces admitted
        insisted insists warned warns promised promises gasped gasps grumbled grumbles hissed
        hisses snapped snaps squeaked squeaks sang sings chirped chirps purred purrs meowed
        whimpered whimpers sobbed sobs stammered stammers suggested suggests agreed agrees
        interrupted wailed wails declared declares reported reports boomed booms squawked
        squawks corrected corrects groaned groans mumbled mumbles grunted grunts chuckled
        chuckles snorted snorts moaned moans protested protests demanded demands repeated
        repeats scolded scolds urged urges panted pants breathed breathes piped pipes
        hooted hoots quacked quacks croaked croaks clucked clucks neighed neighs mooed moos
        buzzed buzzes roared
        сказал сказала сказали спросил спросила ответил ответила прошептал прошептала
        воскликнул воскликнула"""
    )
    | THOUGHT_VERBS
    | SHOUT_VERBS
)
"""Verbs that attribute a quote; a capitalised word next to one is someone speaking."""

_CJK_SPEECH = (
    "小声说",
    "轻声说",
    "低声说",
    "大声说",
    "说道",
    "叫道",
    "喊道",
    "问道",
    "回答",
    "说",
    "问",
    "喊",
    "答",
    "想",
    "言った",
    "聞いた",
    "叫んだ",
    "ささやいた",
    "答えた",
    "思った",
    "言う",
    "말했다",
    "물었다",
    "외쳤다",
    "속삭였다",
    "생각했다",
)
_CJK_THOUGHT = ("想", "思った", "생각했다")
_CJK_SHOUT = ("喊", "叫道", "叫んだ", "외쳤다", "大声说")

MAX_LINE_CHARS = 160
_WINDOW_WORDS = 4
_CJK_WINDOW = 10
_TERMINALS = '.!?;。！？\n"“”„«»「」『』'


@dataclass(frozen=True)
class SpeechLine:
    """One quote that is dialogue; `attribution` is the span of text that names its speaker."""

    text: str
    kind: DialogueKind
    quote: Quote
    attribution: tuple[int, int] | None


def attribution_verb(fragment: str, *, leading: bool) -> str | None:
    """The speech verb of a fragment beside a quote: near its start when the fragment follows the
    quote ("Mia asks."), near its end when it precedes it ("Mia asks, ...")."""
    words = WORD_RE.findall(fragment)
    window = words[:_WINDOW_WORDS] if leading else words[-_WINDOW_WORDS:]
    for word in window:
        if word.lower() in SPEECH_VERBS:
            return word.lower()
    edge = fragment[:_CJK_WINDOW] if leading else fragment[-_CJK_WINDOW:]
    for verb in _CJK_SPEECH:
        if verb in edge:
            return verb
    return None


def starts_with_attribution(following: str) -> bool:
    """Whether the text after a closing quote goes on to say who spoke it."""
    stripped = following.lstrip(" ,，:：—–-")
    end = min((i for i in (stripped.find(ch) for ch in _TERMINALS) if i != -1), default=80)
    return attribution_verb(stripped[: min(end, 80)], leading=True) is not None


def speech_lines(text: str, quotes: Sequence[Quote], start: int, end: int) -> list[SpeechLine]:
    """The dialogue among the quotes of the span [start, end); scare quotes (a quoted word in
    narration, with no attribution) are left to the caption."""
    lines: list[SpeechLine] = []
    for i, quote in enumerate(quotes):
        content = squash(quote.content(text)).strip()
        if not any(ch.isalpha() for ch in content):
            continue
        after_limit = quotes[i + 1].start if i + 1 < len(quotes) else end
        before_limit = quotes[i - 1].end if i > 0 else start
        found = _attribution_after(text, quote.end, after_limit)
        if found is None:
            found = _attribution_before(text, before_limit, quote.start)
        span, verb = found if found is not None else (None, None)
        if span is None and not _reads_as_speech(text, quote, content, start):
            continue
        words = shorten(content, MAX_LINE_CHARS).rstrip(" ,，;:、")
        lines.append(SpeechLine(words, _kind(content, verb), quote, span))
    return lines


def narration(text: str, start: int, end: int, lines: Sequence[SpeechLine]) -> str:
    """The span's text without its dialogue and attributions: what a caption may say."""
    cuts = sorted(
        [(line.quote.start, line.quote.end) for line in lines]
        + [line.attribution for line in lines if line.attribution is not None]
    )
    pieces: list[str] = []
    position = start
    for cut_start, cut_end in cuts:
        if cut_start > position:
            pieces.append(text[position:cut_start])
        position = max(position, cut_end)
    pieces.append(text[position:end])
    return tidy_punctuation(" ".join(pieces))


def tidy_punctuation(text: str) -> str:
    """Punctuation left dangling where dialogue was cut out (", ." or a leading comma) removed."""
    text = squash(text)
    text = re.sub(r"\s+([,.;:!?…。！？，、])", r"\1", text)
    text = re.sub(r"[,;:，、]+(?=[.!?…。！？])", "", text)
    text = re.sub(r"([.!?…。！？])[,;:，、]+", r"\1", text)
    text = re.sub(r"[,;:，、]{2,}", ",", text)
    text = text.strip(" ,;:，、—–-")
    text = re.sub(r"^[.!?…。！？]+\s*", "", text)  # the end of a sentence whose speech was cut
    text = re.sub(r"(?<![.])([.!?。！？])\.(?!\.)", r"\1", text)  # "bench.." once speech is cut
    return text if weight(text) >= 3 else ""


def _attribution_after(text: str, position: int, limit: int) -> tuple[tuple[int, int], str] | None:
    region = text[position:limit]
    lead = len(region) - len(region.lstrip(" ,，:：—–-"))
    clause_start = position + lead
    clause = text[clause_start:limit]
    stop = min((i for i in (clause.find(ch) for ch in _TERMINALS) if i != -1), default=len(clause))
    clause = clause[:stop]
    verb = attribution_verb(clause, leading=True)
    if verb is None:
        return None
    verb_at = clause.lower().find(verb)
    comma = clause.find(",", verb_at) if verb_at != -1 else -1
    if comma != -1:
        clause = clause[:comma]
    clause = clause.rstrip()
    if not clause:
        return None
    return (clause_start, clause_start + len(clause)), verb


def _attribution_before(text: str, limit: int, position: int) -> tuple[tuple[int, int], str] | None:
    region = text[limit:position].rstrip(" ,，:：—–-")
    clause_start = max(region.rfind(ch) for ch in _TERMINALS) + 1
    clause = region[clause_start:]
    lead = len(clause) - len(clause.lstrip())
    clause = clause.strip()
    if not clause:
        return None
    verb = attribution_verb(clause, leading=False)
    if verb is None:
        return None
    absolute = limit + clause_start + lead
    return (absolute, absolute + len(clause)), verb


def _reads_as_speech(text: str, quote: Quote, content: str, start: int) -> bool:
    """A quote without attribution is dialogue if it reads as an utterance, not a quoted word."""
    if content[-1] in ".!?,…。！？~" or weight(content) >= 4:
        return True
    before = text[start : quote.start].rstrip()
    return not before or before[-1] in ".!?:…。！？：\n"


def _kind(content: str, verb: str | None) -> DialogueKind:
    if verb is not None and (verb in THOUGHT_VERBS or verb in _CJK_THOUGHT):
        return "thought"
    if verb is not None and (verb in SHOUT_VERBS or verb in _CJK_SHOUT):
        return "shout"
    exclaims = "!" in content or "！" in content
    capitals = [w for w in WORD_RE.findall(content) if len(w) >= 2 and w.isupper() and w != "OK"]
    if exclaims and (capitals or "!!" in content or verb in ("cried", "exclaimed")):
        return "shout"
    return "speech"
