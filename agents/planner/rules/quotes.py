"""Where the quoted speech is: straight, curly, guillemet and CJK corner quotes, double or single.

Sentence splitting must not cut inside a quote, name finding must not read "Are you lost?" as
narration, and captions must leave dialogue to the balloons; all three ask this module.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

_CLOSERS: dict[str, str] = {
    '"': '"',
    "“": "”",
    "„": "“”",
    "«": "»",
    "「": "」",
    "『": "』",
    "‹": "›",
}
_SINGLE_CLOSERS: dict[str, str] = {"'": "'", "‘": "’"}
"""Single marks double as apostrophes ("it's", "dogs'"), so they open only at a word's start and
close only where no letter follows."""
_OPENER_RE = re.compile(
    "["
    + re.escape("".join(_CLOSERS))
    + "]"
    + "|(?:(?<=^)|(?<=[\\s(\\[—–-]))["
    + re.escape("".join(_SINGLE_CLOSERS))
    + "](?=\\S)",
    re.MULTILINE,
)
_SINGLE_CLOSE_RE = {
    mark: re.compile(rf"(?<=\S){re.escape(closer)}(?![^\W\d_])")
    for mark, closer in _SINGLE_CLOSERS.items()
}

MAX_QUOTE_CHARS = 1500
"""An opening mark without a closing one this near is a stray mark, not a quote."""


@dataclass(frozen=True)
class Quote:
    """A quoted span: `start` is the opening mark, `end` is just past the closing mark."""

    start: int
    end: int

    def content(self, text: str) -> str:
        return text[self.start + 1 : self.end - 1]


_DASH_LINE_RE = re.compile(r"(?m)^[ \t]*([—–])[ \t]+(?=\S)")
_DASH_CLOSE_RE = re.compile(r"[ \t][—–][ \t]")
_SPOKEN_END_RE = re.compile(r"[?!,.…](?= )")
_ATTRIBUTION_WORDS = 3


def find_quotes(text: str) -> list[Quote]:
    """Quoted spans in order, none nested, marked or dash-led."""
    marked = _marked_quotes(text)
    dashed = [
        q
        for q in _dash_quotes(text)
        if not any(m.start < q.end and q.start < m.end for m in marked)
    ]
    return sorted(marked + dashed, key=lambda q: q.start)


def _dash_quotes(text: str) -> list[Quote]:
    """Dialogue lines led by a dash ("— How much to cross? Ivy asked.", "— Уже лучше, —
    ответил Петя."): the speech runs to a closing dash, else to the punctuation before an
    attribution ("Ivy asked"), else to the end of the line. The Quote's closing mark is that
    dash or the space after the punctuation, so its content is the speech alone."""
    from storyviz.agents.planner.rules.dialogue import attribution_verb

    quotes: list[Quote] = []
    for m in _DASH_LINE_RE.finditer(text):
        opening = m.start(1)
        line_end = text.find("\n", opening)
        line_end = len(text) if line_end == -1 else line_end
        close = _DASH_CLOSE_RE.search(text, m.end(), line_end)
        if close is not None:
            quotes.append(Quote(opening, close.start() + 2))
            continue
        for end in _SPOKEN_END_RE.finditer(text, m.end(), line_end):
            rest = text[end.end() + 1 : line_end]
            if attribution_verb(" ".join(rest.split()[:_ATTRIBUTION_WORDS]), leading=True):
                quotes.append(Quote(opening, end.end() + 1))
                break
        else:
            if line_end < len(text):
                quotes.append(Quote(opening, line_end + 1))
    return quotes


def _marked_quotes(text: str) -> list[Quote]:
    """Quoted spans in order, none nested; an unmatched mark or one that runs across a blank
    line is ignored rather than swallowing the rest of the story."""
    quotes: list[Quote] = []
    position = 0
    while True:
        match = _OPENER_RE.search(text, position)
        if match is None:
            return quotes
        opening = match.start()
        limit = min(len(text), opening + 1 + MAX_QUOTE_CHARS)
        paragraph = text.find("\n\n", opening + 1, limit)
        if paragraph != -1:
            limit = paragraph
        mark = match.group()
        if mark in _SINGLE_CLOSERS:
            close = _SINGLE_CLOSE_RE[mark].search(text, opening + 1, limit)
            closing = close.start() if close else -1
        else:
            found = [text.find(m, opening + 1, limit) for m in _CLOSERS[mark]]
            closing = min((p for p in found if p != -1), default=-1)
        if closing <= opening + 1:
            position = opening + 1
            continue
        quotes.append(Quote(opening, closing + 1))
        position = closing + 1


class QuoteIndex:
    """The story's quotes with fast look-ups by position."""

    def __init__(self, text: str) -> None:
        self.items = find_quotes(text)
        self._starts = [q.start for q in self.items]

    def covering(self, position: int) -> Quote | None:
        """The quote whose marks enclose `position` (the marks themselves included)."""
        i = bisect.bisect_right(self._starts, position) - 1
        if i >= 0 and position < self.items[i].end:
            return self.items[i]
        return None

    def within(self, start: int, end: int) -> list[Quote]:
        """Quotes that begin inside [start, end)."""
        lo = bisect.bisect_left(self._starts, start)
        hi = bisect.bisect_left(self._starts, end)
        return self.items[lo:hi]

    def mask(self, text: str) -> str:
        """The story with every quote's words blanked out (same length, marks kept), so rules
        that read narration can run over it with the original offsets."""
        pieces: list[str] = []
        position = 0
        for q in self.items:
            pieces.append(text[position : q.start + 1])
            pieces.append(" " * (q.end - q.start - 2))
            position = q.end - 1
        pieces.append(text[position:])
        return "".join(pieces)
