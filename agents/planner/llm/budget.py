"""How much one planning call may write, and how long the whole planning may take.

A weak local model does not stop when the plan is done: it repeats a panel, or pads with
whitespace, until its context is full, and on a laptop CPU that is minutes per call. An answer
to our schemas has a size we can bound from the request, so each call is capped a little above
what a complete answer takes (`answer_tokens`), and the planning as a whole has a deadline
(`Deadline`) after which no call starts and the call in flight is cut.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pydantic import BaseModel

from storyviz.agents.planner.llm.schema import (
    CharacterBible,
    EditPlanAnswer,
    PanelPromptsAnswer,
    PanelsAnswer,
    PlanAnswer,
)
from storyviz.agents.planner.llm.validation import AUTO_MAX_PANELS

CHARACTER_TOKENS = 250
"""One character, every field filled, pretty-printed: about 80 tokens compact (measured on the
test bible with the characters/4 rule), so 250 leaves room for long descriptions and indent."""
PANEL_TOKENS = 400
"""One panel with two cast members and a line: 115-125 tokens compact; 400 holds three cast
members, several lines and indentation."""
PROMPT_TOKENS = 200
"""One written generation prompt with its panel id."""
OVERHEAD_TOKENS = 150
"""The title, the brackets, a model's habit of a sentence before the JSON."""
MOST_CHARACTERS = 8
"""The characters a bible is budgeted for: more than any comic of up to a dozen panels needs."""


def answer_tokens(schema: type[BaseModel], panels: int | None, characters: int = 0) -> int:
    """The most output tokens an answer of `schema` needs for `panels` panels (None: the
    model chooses, up to AUTO_MAX_PANELS) and, for an edit, `characters` known characters."""
    count = panels if panels is not None else AUTO_MAX_PANELS
    cast = max(characters, MOST_CHARACTERS)
    if schema is CharacterBible:
        return OVERHEAD_TOKENS + CHARACTER_TOKENS * MOST_CHARACTERS
    if schema is PanelsAnswer:
        return OVERHEAD_TOKENS + PANEL_TOKENS * count
    if schema is PanelPromptsAnswer:
        return OVERHEAD_TOKENS + PROMPT_TOKENS * count
    if schema in (PlanAnswer, EditPlanAnswer):
        return OVERHEAD_TOKENS + CHARACTER_TOKENS * cast + PANEL_TOKENS * count
    raise ValueError(f"no token budget for {schema.__name__}")


@dataclass
class Deadline:
    """An instant on the monotonic clock, how it was asked for, and the calls started before
    it (both for the message)."""

    at: float
    seconds: float
    calls: int = 0

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds, seconds)

    def passed(self) -> bool:
        return time.monotonic() >= self.at

    def message(self) -> str:
        """The one line a user reads when planning stopped at it."""
        calls = self.calls
        return (
            f"the planning deadline of {self.seconds:g} s (?deadline={self.seconds:g}) was "
            f"reached after {calls} model call{'s' if calls != 1 else ''}"
        )
