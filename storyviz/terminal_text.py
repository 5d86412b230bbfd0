"""Text that reaches a terminal, made harmless.

Story text, model answers, file names and backend strings are printed by several commands. A
terminal obeys escape sequences wherever they appear, so a story whose first line holds
``ESC ] 0 ; title BEL`` would retitle the window, and worse sequences can rewrite what is on
screen or answer back. Everything the CLI prints therefore passes through `clean`, at the two
places where text leaves the program (`echo` here, and the rich console of
storyviz/terminal_console.py), not at each call site; log records that reach stderr (a VLM
auditor's notes quote the model) are cleaned by the handler `clean_logging` installs.

Only typer is imported here, which `storyviz --help` imports anyway.
"""

from __future__ import annotations

import re

import typer

from storyviz.text_checks import without_escape_sequences

# What is left of C0 and C1 (tab and newline are handled on their own), DEL, and lone
# surrogates (undecodable bytes kept by Python's surrogateescape), which cannot be encoded.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_LINE_BREAK = re.compile(r"\r\n?")
_BREAKS_AND_SPACE = re.compile(r"[ \t]*\n[ \t\n]*")


def clean(text: str, *, multiline: bool = True) -> str:
    """`text` without escape sequences or control characters, safe to print.

    A carriage return becomes a line break (a lone one would let text overwrite the line it is
    on), a tab one space, an undecodable byte U+FFFD. With ``multiline=False`` line breaks
    become spaces too, for output that must stay one line (an error message)."""
    text = without_escape_sequences(_LINE_BREAK.sub("\n", text))
    text = _CONTROL.sub("", text.replace("\t", " "))
    text = _SURROGATE.sub("\ufffd", text)
    return text if multiline else _BREAKS_AND_SPACE.sub(" ", text)


def echo(text: str, *, err: bool = False) -> None:
    """typer.echo of cleaned text: the CLI's plain output and its one-line messages."""
    typer.echo(clean(text), err=err)


def clean_logging() -> None:
    """Print warnings that no logging handler takes as Python does (the bare message on stderr),
    cleaned. Python's documented `logging.lastResort` is replaced, so an application's own
    logging setup still wins."""
    import logging

    class _CleanFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return clean(super().format(record))

    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(_CleanFormatter())
    logging.lastResort = handler
