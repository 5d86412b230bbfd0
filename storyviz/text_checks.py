"""Whether text someone gave us can be used at all: it must be UTF-8, and it must say something.

Python keeps bytes that are not UTF-8 (in an argument, a piped line) as lone surrogates, which
pass every str check and then fail when a run folder's JSON is written, half-way through. And a
story of NULs, zero-width spaces or other invisible characters is not blank to ``str.strip``,
yet there is nothing in it to draw. Both are refused where input arrives: StoryRequest, the
command line's arguments, a chat message. Light on purpose (no pydantic), as the command line
checks its arguments before anything heavy is imported.
"""

from __future__ import annotations

import unicodedata

# Control, format (zero-width space and joiners, BOM, bidi marks), surrogate, and separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})
# Letters and marks that draw nothing: Hangul fillers, the braille blank, the combining
# grapheme joiner and the variation selectors.
_INVISIBLE = frozenset(
    "\u115f\u1160\u3164\uffa0\u2800\u034f"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0)))
)


def is_utf8(text: str) -> bool:
    """False when `text` holds undecodable bytes (lone surrogates), which no file can store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def has_visible_text(text: str) -> bool:
    """Whether any character of `text` draws something."""
    return any(
        ch not in _INVISIBLE and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES
        for ch in text
    )
