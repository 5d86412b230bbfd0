"""What the language model answers when asked how to repair a panel, and how it is checked.

The model chooses the strategy, the emphasis and, for inpaint/img2img, the strength; it never
chooses the seed (the repairer derives seeds, so a resumed run repairs identically). The shape
suits strict structured outputs: optional fields are nullable with a ``None`` default. The
checks that a schema cannot express (a non-empty emphasis, a strength in range, finding ids that
exist) are made by ``answer_problems`` and fed back to the model once.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from storyviz.schemas import RepairStrategy

MAX_PHRASES = 12
"""More phrases than this dilute a prompt; the first ones (the drifted attributes) are kept."""

DEFAULT_STRENGTH: dict[str, float] = {"inpaint": 0.8, "img2img": 0.55}
"""Used when the model picks inpaint/img2img without a strength: enough to repaint a region,
and for a whole image enough to change colours while keeping the layout."""


class RepairAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    strategy: RepairStrategy
    emphasis: list[str] = Field(description="phrases restoring the sheet, drifted parts first")
    strength: float | None = Field(
        default=None, description="0..1, for inpaint and img2img; null otherwise"
    )
    finding_ids: list[str] | None = Field(
        default=None, description="the findings this action addresses; null for all"
    )
    rationale: str


@dataclass(frozen=True)
class Decision:
    """A checked answer, ready to become a RepairAction."""

    strategy: RepairStrategy
    emphasis: list[str]
    strength: float | None
    finding_ids: list[str]
    rationale: str


def clean_emphasis(phrases: list[str]) -> list[str]:
    """Stripped, without blanks or repeats, at most MAX_PHRASES."""
    seen: dict[str, str] = {}
    for phrase in phrases:
        text = " ".join(phrase.split())
        if text and text.lower() not in seen:
            seen[text.lower()] = text
    return list(seen.values())[:MAX_PHRASES]


def answer_problems(answer: RepairAnswer, known_findings: Collection[str]) -> list[str]:
    """What makes the answer unusable, worded for the model to fix."""
    problems = []
    if not clean_emphasis(answer.emphasis):
        problems.append(
            "emphasis is empty: give at least one phrase restoring the sheet, "
            'such as "Mia\'s red hair"'
        )
    if answer.strength is not None and answer.strategy in DEFAULT_STRENGTH:
        strength = answer.strength
        if not (math.isfinite(strength) and 0.0 < strength <= 1.0):
            problems.append(f"strength {strength} is out of range: give a number in (0, 1]")
    unknown = [fid for fid in answer.finding_ids or [] if fid not in known_findings]
    if unknown:
        problems.append(
            f"finding_ids {unknown} are not findings of this panel "
            f"({', '.join(known_findings) or 'none'})"
        )
    return problems


def decide(answer: RepairAnswer, known_findings: Collection[str]) -> Decision:
    """The answer with defaults filled in; call only when answer_problems found nothing."""
    strength = None
    if answer.strategy in DEFAULT_STRENGTH:
        strength = (
            answer.strength if answer.strength is not None else DEFAULT_STRENGTH[answer.strategy]
        )
    return Decision(
        strategy=answer.strategy,
        emphasis=clean_emphasis(answer.emphasis),
        strength=strength,
        finding_ids=list(answer.finding_ids or known_findings),
        rationale=" ".join(answer.rationale.split()),
    )
