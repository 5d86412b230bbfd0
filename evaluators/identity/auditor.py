"""The measuring identity auditor (``clip:...``, ``dino:...``): does each character still look
like its reference image?

For every cast member that has a reference, the character is located (the plan's cast box, or a
detector's box when one is configured, see identity_locate), cropped, embedded, and compared
with the embedding of its reference image by cosine similarity. Below the auditor's threshold it
is an ``identity`` finding whose severity grows with the shortfall; scores follow the other
auditors' convention (1 - the severity weight), so the Consistency Index means the same thing
whichever auditor ran. The raw similarities are kept in `measured` and in every finding's
evidence. Thresholds and their reasons: docs/evaluation.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from storyviz.evaluators.identity.embed import Embedder, cosine
from storyviz.evaluators.identity.locate import Detector, Located, crop, locate
from storyviz.evaluators.panel_audits import audit_each, scored_audit
from storyviz.protocols import AuditItem
from storyviz.schemas import SEVERITY_WEIGHT, Finding, PanelAudit, Severity

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

log = logging.getLogger(__name__)

MINOR_GAP = 0.05
MAJOR_GAP = 0.15
"""Severity by how far the similarity falls below the threshold: less than MINOR_GAP is minor,
less than MAJOR_GAP major, more critical."""


def severity_for(similarity: float, threshold: float) -> Severity | None:
    """None at or above the threshold; else minor, major or critical by the shortfall."""
    gap = threshold - similarity
    if gap <= 0:
        return None
    if gap < MINOR_GAP:
        return "minor"
    if gap < MAJOR_GAP:
        return "major"
    return "critical"


@dataclass
class Measurement:
    panel_id: str
    version: int
    character_id: str
    similarity: float
    located: Located


@dataclass
class IdentityAuditor:
    """Crop, embed, compare with the reference; satisfies the Auditor protocol."""

    embedder: Embedder
    threshold: float
    spec: str
    detector: Detector | None = None
    measured: list[Measurement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _references: dict[Path, NDArray[np.float32]] = field(default_factory=dict)

    def audit(self, items: Sequence[AuditItem]) -> list[PanelAudit]:
        return audit_each(items, _open, self._audit_panel, self.spec)

    def _audit_panel(self, item: AuditItem, image: PILImage, ids: Iterator[str]) -> PanelAudit:
        panel_id, version = item.panel.id, item.version
        sheets = {sheet.id: sheet for sheet in item.characters}
        cast = [(m, sheets[m.character_id]) for m in item.panel.cast if m.character_id in sheets]
        judged = [(m, s) for m, s in cast if self._reference(item, s.id) is not None]
        for member, sheet in cast:
            if self._reference(item, sheet.id) is None:
                self._note(f"{panel_id}: no reference image for {member.character_id}; not judged")
        where = locate(image, judged, self.detector)
        crops = [crop(image, where[m.character_id].box) for m, _ in judged]
        vectors = self.embedder.embed(crops) if crops else None
        findings: list[Finding] = []
        scores: dict[str, float] = {}
        for index, (member, sheet) in enumerate(judged):
            reference = self._reference(item, sheet.id)
            assert reference is not None and vectors is not None
            similarity = round(cosine(vectors[index], reference), 4)
            located = where[member.character_id]
            self.measured.append(Measurement(panel_id, version, sheet.id, similarity, located))
            severity = severity_for(similarity, self.threshold)
            score = 1.0
            if severity is not None:
                findings.append(self._finding(next(ids), item, sheet.id, sheet.name, similarity,
                                              severity, located))  # fmt: skip
                score = round(1.0 - SEVERITY_WEIGHT[severity], 4)
            scores[sheet.id] = min(scores.get(sheet.id, 1.0), score)
        return scored_audit(item, scores, findings, self.spec)

    def _finding(
        self,
        finding_id: str,
        item: AuditItem,
        character_id: str,
        name: str,
        similarity: float,
        severity: Severity,
        located: Located,
    ) -> Finding:
        return Finding(
            id=finding_id,
            panel_id=item.panel.id,
            character_id=character_id,
            kind="identity",
            expected=f"similarity >= {self.threshold:.2f} to the reference of {name}",
            observed=f"similarity {similarity:.3f}",
            severity=severity,
            region=located.box,
            evidence=(
                f"{self.embedder.name} cosine similarity {similarity:.3f} between {name} "
                f"({located.how}) and the reference image; threshold {self.threshold:.2f}"
            ),
            suggestion=f"redraw {name} to match the reference sheet",
            auditor=self.spec,
        )

    def _reference(self, item: AuditItem, character_id: str) -> NDArray[np.float32] | None:
        path = item.references.get(character_id)
        if path is None:
            return None
        path = Path(path)
        if path not in self._references:
            try:
                image = _open(path)
            except (OSError, UnidentifiedImageError, ValueError) as exc:
                self._note(f"reference image of {character_id} cannot be read: {exc}")
                return None
            self._references[path] = self.embedder.embed([image])[0]
        return self._references[path]

    def _note(self, note: str) -> None:
        if note not in self.notes:
            log.info("%s: %s", self.spec, note)
            self.notes.append(note)


def _open(path: Path) -> PILImage:
    with Image.open(path) as image:
        image.load()
        return image.convert("RGB")
