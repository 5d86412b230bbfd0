"""What the pixel-measuring auditors (offline colour, clip/dino identity) do around judging a
panel, so that their PanelAudits agree wherever the report and the repairer compare them:

- finding ids are ``{panel}-v{version}-f{n}``, numbered in the order findings are made, unique
  within the panel version (the repairer and the report refer to findings by id);
- a panel image that cannot be read is one critical ``artifact`` finding and a score of 0, not
  a crash: the run goes on and the repairer renders that panel again;
- a panel's score is the mean of its characters' scores, 1.0 when no one could be judged.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from PIL import UnidentifiedImageError

from storyviz.protocols import AuditItem
from storyviz.schemas import Finding, PanelAudit

T = TypeVar("T")

Judge = Callable[[AuditItem, T, Iterator[str]], PanelAudit]
"""Judges one readable panel: the item, its image as the auditor loaded it, the finding ids."""


def audit_each(
    items: Sequence[AuditItem], load: Callable[[Path], T], judge: Judge[T], auditor: str
) -> list[PanelAudit]:
    """One PanelAudit per item, in order: `judge` for the panels `load` can read, an
    unreadable-panel audit for the others."""
    audits: list[PanelAudit] = []
    for item in items:
        ids = finding_ids(item)
        try:
            image = load(Path(item.image_path))
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            finding = unreadable_finding(next(ids), item.panel.id, str(exc), auditor)
            audits.append(
                PanelAudit(
                    panel_id=item.panel.id,
                    version=item.version,
                    score=0.0,
                    findings=[finding],
                    auditor=auditor,
                )
            )
            continue
        audits.append(judge(item, image, ids))
    return audits


def finding_ids(item: AuditItem) -> Iterator[str]:
    return (f"{item.panel.id}-v{item.version}-f{n}" for n in itertools.count(1))


def unreadable_finding(finding_id: str, panel_id: str, reason: str, auditor: str) -> Finding:
    return Finding(
        id=finding_id,
        panel_id=panel_id,
        kind="artifact",
        severity="critical",
        evidence=f"the panel image cannot be read: {reason}",
        suggestion="render the panel again",
        auditor=auditor,
    )


def scored_audit(
    item: AuditItem, scores: dict[str, float], findings: list[Finding], auditor: str
) -> PanelAudit:
    """The panel's audit from its characters' scores (each 1 - the worst finding's weight)."""
    score = round(sum(scores.values()) / len(scores), 4) if scores else 1.0
    return PanelAudit(
        panel_id=item.panel.id,
        version=item.version,
        score=score,
        character_scores=scores,
        findings=findings,
        auditor=auditor,
    )
