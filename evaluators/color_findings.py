"""Turning colour measurements into Findings a reader and the repairer can act on.

Every finding carries its evidence (the measured colour, its name and ΔE) so the report can show
why a panel was flagged, and a suggestion phrased as the repair the sheet calls for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from storyviz.anatomy import ColourPart
from storyviz.colors import COLOR_RGB, RGB, SKIN_RGB, nearest_color_name
from storyviz.geometry import Box, clamp, rounded
from storyviz.schemas import CharacterSheet, Finding, Severity

if TYPE_CHECKING:
    from .color_presence import Presence

if TYPE_CHECKING:
    pass

_SKIN_VOCABULARY = tuple(SKIN_RGB) + tuple(n for n in COLOR_RGB if n not in SKIN_RGB)


@dataclass(frozen=True)
class Measurement:
    """One colour part as found in the image."""

    colour: ColourPart
    region: Box
    observed: RGB
    distance: float
    measurable: bool = True
    """Big enough for its median to be judged; smaller regions only count as glimpses."""
    match_share: float | None = None
    """For a region too small to judge: the share of its pixels within `minor` ΔE of the sheet."""

    @property
    def observed_name(self) -> str:
        vocabulary = _SKIN_VOCABULARY if self.colour.part == "skin" else tuple(COLOR_RGB)
        return nearest_color_name(self.observed, vocabulary)


def describe(parts: Sequence[ColourPart]) -> str:
    return ", ".join(f"{p.word} {p.part}" for p in parts)


def attribute_finding(
    finding_id: str,
    panel_id: str,
    sheet: CharacterSheet,
    m: Measurement,
    severity: Severity,
    auditor: str,
) -> Finding:
    name, c = m.observed_name, m.colour
    return Finding(
        id=finding_id,
        panel_id=panel_id,
        character_id=sheet.id,
        kind="attribute",
        attribute=c.part,
        expected=c.word,
        observed=name,
        severity=severity,
        region=rounded(clamp(m.region)),
        evidence=(
            f"{c.part} region median RGB {m.observed} ~ {name}, ΔE {m.distance:.1f} from {c.word}"
        ),
        suggestion=f"restore {c.word} {c.part}",
        auditor=auditor,
    )


def missing_finding(
    finding_id: str,
    panel_id: str,
    sheet: CharacterSheet,
    box: Box,
    measured: Sequence[Measurement],
    presence: Presence,
    auditor: str,
) -> Finding:
    wanted = describe([m.colour for m in measured])
    off = "; ".join(
        f"{m.colour.part} ~ {m.observed_name}, ΔE {m.distance:.1f} from {m.colour.word}"
        for m in measured
        if m not in presence.blended
    )
    evidence = f"no colour region of {sheet.name} matches the sheet ({off})"
    if presence.blended:
        blended = ", ".join(m.colour.part for m in presence.blended)
        evidence += f"; the {blended} match, but so does the scenery around the figure"
    if presence.distinctive:
        colours = ", ".join(p.word for p in presence.distinctive)
        evidence += f"; only {presence.share:.1%} of the figure box shows {colours}"
    return Finding(
        id=finding_id,
        panel_id=panel_id,
        character_id=sheet.id,
        kind="missing",
        expected=wanted,
        observed="absent",
        severity="critical",
        region=rounded(clamp(box)),
        evidence=evidence,
        suggestion=f"draw {sheet.name} ({wanted}) in the cast box",
        auditor=auditor,
    )
