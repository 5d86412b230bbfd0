"""Which cast members a seed model draws from their references, and what happens past its limit.

Subjects are the panel's cast members with a reference, in cast order, each with its plan box.
The released models were trained with at most a few (four for both seeds); past ``limit`` either
the largest boxes are drawn and the rest recorded (``overflow=largest``), or the render is
refused in one line (``overflow=error``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from storyviz.errors import BackendError
from storyviz.schemas import CharacterSheet, NormBox, RenderRequest

OVERFLOWS = ("largest", "error")


@dataclass(frozen=True)
class Subject:
    character_id: str
    reference: str  # path, as in the request
    box: NormBox
    phrase: str = ""  # the class word, for models grounded on one (MS-Diffusion)


@dataclass(frozen=True)
class Subjects:
    drawn: list[Subject]
    dropped: list[str]  # character ids left out past the limit


def panel_subjects(
    request: RenderRequest,
    limit: int,
    overflow: str,
    backend: str,
    phrase: Callable[[CharacterSheet | None], str] | None = None,
) -> Subjects:
    """The request's subjects, at most ``limit`` of them (``overflow`` says how)."""
    if request.kind != "panel" or request.panel is None or not request.references:
        return Subjects([], [])
    sheets = {sheet.id: sheet for sheet in request.characters}
    found = [
        Subject(
            member.character_id,
            request.references[member.character_id],
            member.box,
            phrase(sheets.get(member.character_id)) if phrase else "",
        )
        for member in request.panel.cast
        if member.character_id in request.references
    ]
    if len(found) <= limit:
        return Subjects(found, [])
    if overflow == "error":
        raise BackendError(
            f"backend '{backend}': panel {request.target_id} has {len(found)} characters with "
            f"references, more than max_subjects={limit}; raise max_subjects or use "
            "overflow=largest"
        )
    ranked = sorted(range(len(found)), key=lambda i: (-area(found[i].box), i))
    keep = sorted(ranked[:limit])
    dropped = [found[i].character_id for i in sorted(ranked[limit:])]
    return Subjects([found[i] for i in keep], dropped)


def area(box: NormBox) -> float:
    x0, y0, x1, y1 = box
    return max(0.0, x1 - x0) * max(0.0, y1 - y0)
