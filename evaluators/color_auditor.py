"""The offline auditor (backend ``offline``): character drift judged from pixels alone.

For every expected cast member it looks where storyviz.anatomy says each colour part is painted,
takes the region's median colour and measures its CIELAB distance from the sheet's colour word.
When nothing in its frame gives the character away (see color_presence), it is reported
missing instead. Thresholds, scoring and limits:
docs/consistency.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from storyviz import anatomy
from storyviz.colors import delta_e, rgb_to_lab
from storyviz.geometry import Box, pixels_inside
from storyviz.protocols import AuditItem
from storyviz.registry import BackendSpec
from storyviz.schemas import SEVERITY_WEIGHT, CastMember, CharacterSheet, Finding, PanelAudit

from .color_findings import (
    Measurement,
    attribute_finding,
    missing_finding,
)
from .color_measure import median_colour, shares_near, visible_pixels, visible_share
from .color_presence import judge_presence
from .color_thresholds import Thresholds
from .panel_audits import audit_each, scored_audit

MIN_REGION_SIDE = 3
"""Pixels; a thinner colour region is mostly outline (eyes of a small figure, a thin scarf), so
it is not judged for drift, though a glimpse of its colour still counts as presence."""

MIN_FIGURE_HEIGHT = 24
"""Pixels; a shorter figure is a few strokes, too small to judge at all."""

MIN_VISIBLE_FRAME = 0.25
"""Below this visible share of its frame a character is too hidden behind others to judge."""


@dataclass
class _Verdict:
    """A character's score and the findings that explain it."""

    score: float = 1.0
    findings: list[Finding] = field(default_factory=list)


class ColorAuditor:
    """Colour-attribute and presence checks per character region; edits nothing."""

    def __init__(self, spec: BackendSpec) -> None:
        self.thresholds = Thresholds.from_spec(spec)
        self.spec = spec.redacted()

    def audit(self, items: Sequence[AuditItem]) -> list[PanelAudit]:
        return audit_each(items, _load, self._audit_panel, self.spec)

    def _audit_panel(
        self, item: AuditItem, image: NDArray[np.uint8], ids: Iterator[str]
    ) -> PanelAudit:
        panel_id = item.panel.id
        sheets = {sheet.id: sheet for sheet in item.characters}
        aspect = image.shape[1] / image.shape[0]
        cast = item.panel.cast
        findings: list[Finding] = []
        scores: dict[str, float] = {}
        for index, member in enumerate(cast):
            sheet = sheets.get(member.character_id)
            if sheet is None:
                continue  # no sheet, nothing to compare with
            # Figures are painted in cast order: everyone later stands in front of this one.
            in_front = [_frame(sheets, later, aspect) for later in cast[index + 1 :]]
            verdict = self._judge(image, member, sheet, in_front, aspect, panel_id, ids)
            findings.extend(verdict.findings)
            scores[sheet.id] = round(min(scores.get(sheet.id, 1.0), verdict.score), 4)
        return scored_audit(item, scores, findings, self.spec)

    def _judge(
        self,
        image: NDArray[np.uint8],
        member: CastMember,
        sheet: CharacterSheet,
        in_front: list[Box],
        aspect: float,
        panel_id: str,
        ids: Iterator[str],
    ) -> _Verdict:
        """One character: missing, or one finding per colour region off by at least `minor`."""
        species = sheet.attributes.species
        expected = anatomy.colour_parts(sheet)
        if not expected:
            return _Verdict()  # the sheet names no colour this auditor can check
        frame = anatomy.figure_frame(species, member.box, aspect)
        size = (image.shape[1], image.shape[0])
        if (frame[3] - frame[1]) * size[1] < MIN_FIGURE_HEIGHT:
            return _Verdict()  # a few strokes: cannot judge
        if visible_share(size, frame, in_front) < MIN_VISIBLE_FRAME:
            return _Verdict()  # mostly behind other figures: cannot judge
        measured = self._measure(image, member, species, list(expected.values()), in_front, aspect)
        sized = [m for m in measured if m.measurable]
        if not sized:
            return _Verdict()  # every colour region is hidden or too small: cannot judge
        t = self.thresholds
        presence = judge_presence(image, frame, in_front, list(expected.values()), measured, t)
        if not presence.present:
            finding = missing_finding(
                next(ids), panel_id, sheet, member.box, sized, presence, self.spec
            )
            return _Verdict(0.0, [finding])
        findings = [
            attribute_finding(next(ids), panel_id, sheet, m, severity, self.spec)
            for m in sized
            if (severity := t.severity(m.distance)) is not None
        ]
        worst = max((SEVERITY_WEIGHT[f.severity] for f in findings), default=0.0)
        return _Verdict(round(1.0 - worst, 4), findings)

    def _measure(
        self,
        image: NDArray[np.uint8],
        member: CastMember,
        species: str,
        colours: list[anatomy.ColourPart],
        in_front: list[Box],
        aspect: float,
    ) -> list[Measurement]:
        """The median colour of every visible colour region and its ΔE from the sheet."""
        measured: list[Measurement] = []
        for colour in colours:
            region = anatomy.part_box(species, colour.part, member.box, aspect)
            if region is None:
                continue
            pixels, total = visible_pixels(image, region, in_front)
            if len(pixels) == 0 or len(pixels) < total / 2:
                continue  # mostly behind a figure in front
            left, top, right, bottom = pixels_inside(region, image.shape[1], image.shape[0])
            measurable = min(right - left, bottom - top) >= MIN_REGION_SIDE
            observed = median_colour(pixels)
            glimpse = (
                None if measurable else shares_near(pixels, [colour.rgb], self.thresholds.minor)[0]
            )
            measured.append(
                Measurement(
                    colour=colour,
                    region=region,
                    observed=observed,
                    distance=delta_e(rgb_to_lab(observed), rgb_to_lab(colour.rgb)),
                    measurable=measurable,
                    match_share=glimpse,
                )
            )
        return measured


def _load(path: Path) -> NDArray[np.uint8]:
    with Image.open(path) as image:
        image.load()
        return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))


def _frame(sheets: dict[str, CharacterSheet], member: CastMember, aspect: float) -> Box:
    sheet = sheets.get(member.character_id)
    species = sheet.attributes.species if sheet else "human"
    return anatomy.figure_frame(species, member.box, aspect)
