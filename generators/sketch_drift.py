"""Deliberate, seeded character drift: the sketch renderer's demonstration aid.

A clean offline run is consistent by construction, so the audit/repair loop would have nothing to
do. With ``sketch?drift=P`` a seeded fraction P of first renders gets one cast member wrong (a
recoloured hair/outfit/fur, or the character left out), which exercises the loop the way a real
model's drift would. Repairs (version >= 2) and references are never drifted, so one repair
round always restores the panel.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from typing import Any, Literal

from storyviz import anatomy
from storyviz.colors import COLOR_RGB, delta_e, rgb_to_lab
from storyviz.schemas import RenderRequest

MISSING_SHARE = 0.25
"""Of the drifted panels, the share that loses a character rather than a colour."""

MIN_DRIFT_DELTA_E = 45.0
"""A recolour lands at least this far (CIE76) from the sheet's colour: always at least major."""

RECOLOURABLE = ("hair", "outfit", "fur")
DRIFT_COLOURS = (
    "red", "orange", "yellow", "green", "teal", "blue", "purple", "pink",
    "magenta", "cyan", "lime", "navy", "black", "white", "brown",
)  # fmt: skip


def stable_seed(*parts: object) -> int:
    """A seed that is the same in every process (Python's hash() is salted per process)."""
    return zlib.crc32(":".join(str(p) for p in parts).encode())


@dataclass(frozen=True)
class Drift:
    """What was done wrong on purpose, recorded in the render's provenance."""

    character_id: str
    change: Literal["recolor", "missing"]
    part: str | None = None
    expected: str | None = None
    drawn: str | None = None

    def overrides(self) -> dict[str, str]:
        return {self.part: self.drawn} if self.part and self.drawn else {}

    def as_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"character_id": self.character_id, "change": self.change}
        if self.change == "recolor":
            info.update(part=self.part, expected=self.expected, drawn=self.drawn)
        return info


def _far_colours(word: str, part: str) -> list[str]:
    rgb = anatomy.resolve_colour(word, part)
    if rgb is None:
        return list(DRIFT_COLOURS)
    lab = rgb_to_lab(rgb)
    return [n for n in DRIFT_COLOURS if delta_e(lab, rgb_to_lab(COLOR_RGB[n])) >= MIN_DRIFT_DELTA_E]


def choose_drift(request: RenderRequest, probability: float) -> Drift | None:
    """The perturbation for this render, or None; the same request always gets the same answer."""
    panel = request.panel
    if probability <= 0 or request.kind != "panel" or request.version != 1 or panel is None:
        return None
    rng = random.Random(stable_seed("drift", request.seed, panel.id))
    if rng.random() >= probability:
        return None
    sheets = {sheet.id: sheet for sheet in request.characters}
    cast = [m.character_id for m in panel.cast if m.character_id in sheets]
    if not cast:
        return None
    # Prefer someone whose sheet names colours: drifting a colourless character is invisible.
    coloured = [cid for cid in cast if anatomy.colour_parts(sheets[cid])]
    character_id = rng.choice(coloured or cast)
    colours = anatomy.colour_parts(sheets[character_id])
    # A recolour needs another colour left to recognise the character by; otherwise it is a
    # different character altogether, which the auditor rightly reports as missing.
    parts = [p for p in RECOLOURABLE if p in colours] if len(colours) >= 2 else []
    if not parts or rng.random() < MISSING_SHARE:
        return Drift(character_id, "missing")
    part = rng.choice(parts)
    expected = colours[part].word
    return Drift(character_id, "recolor", part, expected, rng.choice(_far_colours(expected, part)))
