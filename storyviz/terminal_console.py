"""The rich console the commands print tables, replies and progress through.

It cleans text (storyviz/terminal_text.py) at the two public points every piece of text passes:
`render_str`, which turns each string (a printed line, a table cell) into rich Text before it is
measured, so columns are as wide as what is shown; and `render`, whose output segments are
cleaned as well, for Text objects built elsewhere. Rich's own styles and cursor movements are
added after the text is cleaned (control segments are left alone), so colours and progress bars
still work. Markup is off: a story saying "[/b]" is printed as written, not parsed (and not an
error).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Text

from storyviz.terminal_text import clean


class CleanConsole(Console):
    """A rich Console that never prints an escape sequence or control character it was given."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(clean(text), **kwargs)

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control or segment.text.isprintable() or segment.text == "\n":
                yield segment
            else:
                yield Segment(clean(segment.text), segment.style)


def console(*, stderr: bool = False, **options: Any) -> Console:
    """The console for stdout (or stderr): no markup, no highlighting of numbers and paths."""
    return CleanConsole(stderr=stderr, markup=False, highlight=False, **options)
