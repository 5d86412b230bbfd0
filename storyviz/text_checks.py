"""Whether text someone gave us can be used at all: it must be UTF-8, and it must say something.

Python keeps bytes that are not UTF-8 (in an argument, a piped line) as lone surrogates, which
pass every str check and then fail when a run folder's JSON is written, half-way through. And a
story of NULs, zero-width spaces or other invisible characters is not blank to ``str.strip``,
yet there is nothing in it to draw. Both are refused where input arrives: StoryRequest, the
command line's arguments, a chat message. Light on purpose (no pydantic), as the command line
checks its arguments before anything heavy is imported.
"""

from __future__ import annotations

import re
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


# Whole sequences go, so no stray "[31m" is left behind: CSI (7-bit and the C1 byte), then
# the string sequences (OSC, DCS, SOS, PM, APC) up to their terminator or the end of the line,
# then any other escape and the bytes it takes.
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)


def without_escape_sequences(text: str) -> str:
    """`text` with every terminal escape sequence removed whole, so neither a terminal (which
    would obey it) nor a planner (which would read "]0;title" as story words) sees it."""
    return _SEQUENCE.sub("", text)
