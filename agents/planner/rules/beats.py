"""Beats: the story cut into the moments its panels show, as many as the comic has panels.

A beat is a sentence by default. Short sentences join their neighbour (a four-word sentence
rarely deserves a panel of its own); when fewer panels are asked for than there are sentences,
neighbours merge evenly; when more are asked for, long sentences split at clause boundaries, and
a beat that cannot be split further is shown more than once (the stager varies the shot).
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from storyviz.agents.planner.rules.dialogue import starts_with_attribution
from storyviz.agents.planner.rules.quotes import QuoteIndex
from storyviz.agents.planner.rules.text import weight, wordset

AUTO_MAX_PANELS = 12
"""Upper bound on the panel count when the request leaves it to the planner."""

SHORT_SENTENCE_WORDS = 5
MAX_SENTENCE_WORDS = 80
MIN_CLAUSE_WORDS = 3

_TERMINAL_RE = re.compile(r"[.!?…]+|[。！？]+|\n")
_ABBREVIATIONS = wordset("mr mrs ms dr st prof jr sr mt vs etc capt lt sgt col gen rev")
_LAST_WORD_RE = re.compile(r"([^\W\d_]+)$")
_CLOSING_MARKS = ")]）’'」』”"

# Clause boundaries, strongest first: splitting a sentence at one of these leaves two readable
# halves; the later tiers are only for sentences too long to be one panel's beat at all.
_CLAUSE_TIERS: tuple[re.Pattern[str], ...] = (
    re.compile(
        r"[;；]\s*|\s[—–]\s|，|、"
        r"|[,，]\s*(?=(?:and|but|then|so|while|as|until|when|before|after|because"
        r"|и|а|но|потом|затем|когда)\s)"
    ),
    re.compile(r"\s(?=(?:and then|then|while|until|before|after|because|as soon as|when)\s)"),
)
_FALLBACK_TIERS: tuple[re.Pattern[str], ...] = (
    re.compile(r",\s+"),
    re.compile(
        r"\s+|(?<=[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af])(?=[\u3040-\u30ff\u4e00-\u9fff])"
    ),
)


@dataclass(frozen=True)
class Beat:
    """A span [start, end) of the story; `part` of `parts` when one span fills several panels.

    `continuation` marks a clause cut from the sentence before it: it may leave its subject out
    ("... and beeps"), so the panel keeps the previous cast when it names nobody.
    """

    start: int
    end: int
    part: int = 0
    parts: int = 1
    continuation: bool = False


def split_sentences(text: str, quotes: QuoteIndex) -> list[Beat]:
    """Sentences in order, never cut inside a quote, abbreviations ("Mr.") and attributions
    after a quote ('"Are you lost?" Mia asks.') kept in their sentence."""
    cuts = sorted(set(_terminal_cuts(text, quotes)) | set(_quote_cuts(text, quotes)))
    spans: list[Beat] = []
    for start, end in itertools.pairwise([0, *cuts, len(text)]):
        span = _trimmed(text, start, end)
        if span is not None:
            spans.extend(_split_overlong(text, quotes, span))
    return spans


def plan_beats(
    text: str, quotes: QuoteIndex, sentences: Sequence[Beat], panels: int | None
) -> list[Beat]:
    """Exactly `panels` beats (or, when None, one per grouped sentence, at most AUTO_MAX_PANELS)."""
    units = list(sentences) or [Beat(0, max(1, len(text)))]
    if panels is None:
        units = _group_short(text, quotes, units)
        target = min(len(units), AUTO_MAX_PANELS)
    else:
        target = panels
    if len(units) > target:
        units = _merge_to(text, units, target)
    elif len(units) < target:
        units = _split_to(text, quotes, units, target)
    return _repeat_to(text, units, target)


def _terminal_cuts(text: str, quotes: QuoteIndex) -> list[int]:
    cuts: list[int] = []
    n = len(text)
    for match in _TERMINAL_RE.finditer(text):
        position, end = match.start(), match.end()
        if quotes.covering(position) is not None:
            continue
        token = match.group()
        if token == "\n":
            if not text[end : end + 8].lstrip()[:1].islower():
                cuts.append(position)
            continue
        while end < n and text[end] in _CLOSING_MARKS:
            end += 1
        if token[0] in "。！？":
            cuts.append(end)
            continue
        if end < n and not text[end].isspace():
            continue
        if token == ".":
            word = _LAST_WORD_RE.search(text, max(0, position - 12), position)
            if word and (
                word.group(1).lower() in _ABBREVIATIONS
                or (len(word.group(1)) == 1 and word.group(1).isupper())
            ):
                continue
        following = text[end : end + 8].lstrip()
        if following[:1].islower():
            continue
        cuts.append(end)
    return cuts


def _quote_cuts(text: str, quotes: QuoteIndex) -> list[int]:
    """A quote that ends a sentence of its own ('"Run!" The dog fled.') ends the sentence there."""
    cuts: list[int] = []
    for quote in quotes.items:
        content = quote.content(text).rstrip()
        if not content or content[-1] not in ".!?…。！？":
            continue
        following = text[quote.end : quote.end + 120]
        head = following.lstrip()
        if head[:1].islower() or starts_with_attribution(following):
            continue
        cuts.append(quote.end)
    return cuts


def _trimmed(text: str, start: int, end: int) -> Beat | None:
    chunk = text[start:end]
    if not any(ch.isalnum() for ch in chunk):
        return None
    lead = len(chunk) - len(chunk.lstrip())
    tail = len(chunk) - len(chunk.rstrip())
    return Beat(start + lead, end - tail)


def _split_overlong(text: str, quotes: QuoteIndex, span: Beat) -> list[Beat]:
    """A sentence too long for one panel (a story without full stops) is halved until it fits."""
    if weight(text[span.start : span.end]) <= MAX_SENTENCE_WORDS:
        return [span]
    cut = _clause_cut(text, quotes, span, _CLAUSE_TIERS + _FALLBACK_TIERS, min_words=1.0)
    if cut is None:
        return [span]
    left, right = _trimmed(text, span.start, cut), _trimmed(text, cut, span.end)
    if left is None or right is None:
        return [span]
    return _split_overlong(text, quotes, left) + _split_overlong(text, quotes, right)


def _clause_cut(
    text: str,
    quotes: QuoteIndex,
    span: Beat,
    tiers: Sequence[re.Pattern[str]],
    min_words: float = MIN_CLAUSE_WORDS,
) -> int | None:
    """The clause boundary nearest the middle of the span, in the strongest tier that has one."""
    middle = (span.start + span.end) / 2
    for tier in tiers:
        candidates = [
            m.end()
            for m in tier.finditer(text, span.start, span.end)
            if span.start < m.end() < span.end and quotes.covering(m.start()) is None
        ]
        for cut in sorted(candidates, key=lambda c: (abs(c - middle), c)):
            if (
                weight(text[span.start : cut]) >= min_words
                and weight(text[cut : span.end]) >= min_words
            ):
                return cut
    return None


def _has_quote(quotes: QuoteIndex, span: Beat) -> bool:
    return bool(quotes.within(span.start, span.end))


def _group_short(text: str, quotes: QuoteIndex, spans: list[Beat]) -> list[Beat]:
    """Short narration sentences join the sentence before them (or the first one the next)."""

    def short(span: Beat) -> bool:
        return weight(text[span.start : span.end]) < SHORT_SENTENCE_WORDS and not _has_quote(
            quotes, span
        )

    def joinable(left: Beat, right: Beat) -> bool:
        return (
            not _has_quote(quotes, left)
            and not _has_quote(quotes, right)
            and weight(text[left.start : right.end]) < 36
            and "\n\n" not in text[left.end : right.start]
        )

    grouped: list[Beat] = []
    for span in spans:
        if grouped and short(span) and joinable(grouped[-1], span):
            grouped[-1] = Beat(grouped[-1].start, span.end)
        else:
            grouped.append(span)
    if len(grouped) >= 2 and short(grouped[0]) and joinable(grouped[0], grouped[1]):
        grouped[:2] = [Beat(grouped[0].start, grouped[1].end)]
    return grouped


def _merge_to(text: str, units: list[Beat], target: int) -> list[Beat]:
    """`target` runs of neighbouring units with about equal amounts of story each."""
    weights = [max(1.0, weight(text[u.start : u.end])) for u in units]
    prefix = list(itertools.accumulate(weights))
    total = prefix[-1]
    count = len(units)
    bounds = [0]
    for k in range(1, target):
        goal = total * k / target
        i = min(bisect.bisect_left(prefix, goal), count - 1)
        cut = i + 1 if i == 0 or abs(prefix[i] - goal) <= abs(prefix[i - 1] - goal) else i
        cut = max(bounds[-1] + 1, min(cut, count - (target - k)))
        bounds.append(cut)
    bounds.append(count)
    return [
        Beat(units[a].start, units[b - 1].end, continuation=units[a].continuation)
        for a, b in itertools.pairwise(bounds)
    ]


def _split_to(text: str, quotes: QuoteIndex, units: list[Beat], target: int) -> list[Beat]:
    """Split the longest units at clause boundaries until there are `target` (or none splits)."""
    units = list(units)
    unsplittable: set[tuple[int, int]] = set()
    while len(units) < target:
        order = sorted(
            range(len(units)), key=lambda i: (-weight(text[units[i].start : units[i].end]), i)
        )
        for i in order:
            unit = units[i]
            if (unit.start, unit.end) in unsplittable:
                continue
            cut = _clause_cut(text, quotes, unit, _CLAUSE_TIERS)
            left = _trimmed(text, unit.start, cut) if cut is not None else None
            right = _trimmed(text, cut, unit.end) if cut is not None else None
            if left is None or right is None:
                unsplittable.add((unit.start, unit.end))
                continue
            units[i : i + 1] = [
                Beat(left.start, left.end, continuation=unit.continuation),
                Beat(right.start, right.end, continuation=True),
            ]
            break
        else:
            break
    return units


def _repeat_to(text: str, units: list[Beat], target: int) -> list[Beat]:
    """Give the units `target` panels in all, extra panels going to the units with most story."""
    weights = [max(1.0, weight(text[u.start : u.end])) for u in units]
    counts = [1] * len(units)
    for _ in range(target - len(units)):
        best = max(range(len(units)), key=lambda i: (weights[i] / counts[i], -i))
        counts[best] += 1
    return [
        Beat(unit.start, unit.end, part, parts, unit.continuation)
        for unit, parts in zip(units, counts, strict=True)
        for part in range(parts)
    ]
