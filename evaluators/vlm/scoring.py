"""Scoring a panel from its findings, by the conventions of the offline auditor.

- A character's score is ``1 - the largest SEVERITY_WEIGHT`` among the findings about it
  (``extra`` findings excepted, see below); a missing character scores 0. Cast members the model
  found nothing wrong with score 1.0.
- The panel score starts as the mean over the expected cast members that have a sheet (1.0 for a
  panel with no such cast).
- A finding about the whole panel (an ``artifact`` with no character: broken image, refusal, no
  verdict) caps the panel score at ``1 - its weight``: the panel cannot be trusted beyond it.
- Every ``extra`` finding (a second Mia, a stranger in a cast member's place) subtracts
  ``EXTRA_PENALTY * its weight``. An extra figure leaves the expected cast as drawn, so it is not
  charged to any character, but it spoils the panel: a critical duplicate costs 0.5, which flags
  the panel under the default threshold (0.8); a minor one costs 0.125 and does not. The score
  never goes below 0.
- Scores are rounded to 4 decimals.
"""

from __future__ import annotations

from collections.abc import Sequence

from storyviz.evaluators.vlm.reading import cast_ids
from storyviz.protocols import AuditItem
from storyviz.schemas import SEVERITY_WEIGHT, Finding, PanelAudit

EXTRA_PENALTY = 0.5


def character_scores(item: AuditItem, findings: Sequence[Finding]) -> dict[str, float]:
    scores: dict[str, float] = {}
    for cid in cast_ids(item):
        own = [f for f in findings if f.character_id == cid and f.kind != "extra"]
        if any(f.kind == "missing" for f in own):
            scores[cid] = 0.0
            continue
        worst = max((SEVERITY_WEIGHT[f.severity] for f in own), default=0.0)
        scores[cid] = round(1.0 - worst, 4)
    return scores


def panel_score(scores: dict[str, float], findings: Sequence[Finding]) -> float:
    score = sum(scores.values()) / len(scores) if scores else 1.0
    panel_wide = [f for f in findings if f.character_id is None and f.kind != "extra"]
    cap = 1.0 - max((SEVERITY_WEIGHT[f.severity] for f in panel_wide), default=0.0)
    penalty = EXTRA_PENALTY * sum(
        SEVERITY_WEIGHT[f.severity] for f in findings if f.kind == "extra"
    )
    return round(max(0.0, min(score, cap) - penalty), 4)


def panel_audit(
    item: AuditItem, findings: list[Finding], auditor: str, *, judged: bool = True
) -> PanelAudit:
    """The audit of one panel; `judged=False` when no character was looked at (the image could
    not be read, the model refused or gave no verdict), so no character score pretends 1.0."""
    scores = character_scores(item, findings) if judged else {}
    return PanelAudit(
        panel_id=item.panel.id,
        version=item.version,
        score=panel_score(scores, findings),
        character_scores=scores,
        findings=findings,
        auditor=auditor,
    )
