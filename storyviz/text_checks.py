"""Whether text someone gave us can be used at all: it must be UTF-8.

Python keeps bytes that are not UTF-8 (in an argument, a piped line) as lone surrogates, which
pass every str check and then fail when a run folder's JSON is written, half-way through. They
are refused where input arrives: StoryRequest, the command line's arguments, a chat message.
Light on purpose (no pydantic), as the command line checks its arguments before anything heavy
is imported.
"""

from __future__ import annotations


def is_utf8(text: str) -> bool:
    """False when `text` holds undecodable bytes (lone surrogates), which no file can store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
