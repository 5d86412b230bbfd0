"""Prompt text as data: templates beside this file, loaded by name and hashed for the manifest."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def render(self, **values: Any) -> str:
        """The prompt with `values` filled in, whitespace collapsed to single spaces (image
        prompts are one line)."""
        return " ".join(_compiled(self.text).render(**values).split())

    def render_lines(self, **values: Any) -> str:
        """The prompt with its line breaks kept and runs of blank lines squeezed to one: the
        lists and sections a language model reads stay readable."""
        text = _compiled_blocks(self.text).render(**values)
        lines = [line.rstrip() for line in text.strip().splitlines()]
        return "\n".join(line for i, line in enumerate(lines) if line or (i and lines[i - 1]))


@cache
def _compiled(text: str) -> Any:
    """Compiling a template costs ~10 ms; a run renders the same few templates dozens of times."""
    from jinja2 import StrictUndefined, Template

    return Template(text, undefined=StrictUndefined, keep_trailing_newline=False)


@cache
def load(name: str) -> PromptTemplate:
    """A prompt by file name (e.g. ``panel.j2``), read from the installed package."""
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return PromptTemplate(name=name, text=text)


@cache
def _compiled_blocks(text: str) -> Any:
    """A template whose block tags leave no blank lines behind."""
    from jinja2 import Environment, StrictUndefined

    env = Environment(undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.from_string(text)
