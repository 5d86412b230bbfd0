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
        """The prompt with `values` filled in, whitespace collapsed to single spaces."""
        return " ".join(_compiled(self.text).render(**values).split())


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
