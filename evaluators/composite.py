"""Auditors in a chain (``clip:ViT-B-32+vlm:openai:gpt-4.1-mini``): each later stage is asked
only about the panels the stage before it flagged.

A measuring auditor is cheap and runs on every panel; a vision-language model is slow, billed
per call, and better at saying *what* is wrong. Chaining them spends model calls only where the
measurement saw a problem. Rules (docs/evaluation.md):

- a stage *flags* a panel when it has any finding on it;
- findings of every stage that saw a panel are kept, in stage order, renumbered
  ``{panel}-v{version}-f{n}`` so ids stay unique (each finding's ``auditor`` names its stage);
- the panel's score and character scores are those of the last stage that saw it: a later stage
  is the judge the earlier one escalated to, so its verdict stands (a minimum would let a noisy
  measurement overrule the judge, and the repair loop would redraw panels the judge passed);
- calls saved are counted per audit round in `rounds` and in total in `vlm_calls_saved`: for a
  stage that batches panels (``panels_per_call``), ceil(all / batch) - ceil(asked / batch).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from storyviz.metering import CallMeter, Metered
from storyviz.protocols import AuditItem, Auditor
from storyviz.redaction import redact
from storyviz.registry import BackendSpec
from storyviz.schemas import PanelAudit

log = logging.getLogger(__name__)


class CompositeAuditor:
    """Stage 1 audits everything; stage k+1 audits what stage k flagged."""

    def __init__(self, stages: Sequence[Auditor], spec: BackendSpec | str) -> None:
        if len(stages) < 2:
            raise ValueError("a composite auditor needs at least two stages")
        self.stages = list(stages)
        self.spec = spec.redacted() if isinstance(spec, BackendSpec) else redact(spec)
        self.rounds: list[dict[str, Any]] = []
        """Per audit() call: panels, and per later stage the panels asked, calls made and saved."""
        self.vlm_calls_saved = 0

    def round_summary(self) -> dict[str, Any]:
        """The last audit() call's escalation, for the ``audited`` event: which panels each
        later stage was asked about and the model calls that saved (``vlm_calls_saved``)."""
        if not self.rounds:
            return {}
        last = self.rounds[-1]
        return {
            "vlm_calls_saved": last["vlm_calls_saved"],
            "escalated": {s["stage"]: s["asked"] for s in last["stages"]},
        }

    @property
    def notes(self) -> list[str]:
        return [note for stage in self.stages for note in getattr(stage, "notes", [])]

    def bind_meter(self, meter: CallMeter, role: str) -> None:
        for stage in self.stages:
            if isinstance(stage, Metered):
                stage.bind_meter(meter, role)

    def prompt_names(self) -> list[str]:
        names: list[str] = []
        for stage in self.stages:
            for name in getattr(stage, "prompt_names", lambda: [])():
                if name not in names:
                    names.append(name)
        return names

    def audit(self, items: Sequence[AuditItem]) -> list[PanelAudit]:
        results = list(self.stages[0].audit(items))
        record: dict[str, Any] = {"panels": len(items), "stages": []}
        pending = [p for p, audit in enumerate(results) if audit.findings]
        for stage in self.stages[1:]:
            before = getattr(stage, "calls", 0)
            audits = stage.audit([items[p] for p in pending]) if pending else []
            for position, audit in zip(pending, audits, strict=True):
                results[position] = merged(results[position], audit, self.spec)
            saved = calls_saved(len(items), len(pending), getattr(stage, "panels_per_call", 1))
            self.vlm_calls_saved += saved
            record["stages"].append(
                {
                    "stage": stage.spec,
                    "asked": [items[p].panel.id for p in pending],
                    "calls": getattr(stage, "calls", 0) - before,
                    "calls_saved": saved,
                }
            )
            pending = [p for p, audit in zip(pending, audits, strict=True) if audit.findings]
        record["vlm_calls_saved"] = sum(s["calls_saved"] for s in record["stages"])
        self.rounds.append(record)
        log.info("%s: %s", self.spec, record)
        for position, audit in enumerate(results):
            if audit.auditor != self.spec:
                results[position] = audit.model_copy(update={"auditor": self.spec})
        return results


def merged(earlier: PanelAudit, later: PanelAudit, auditor: str) -> PanelAudit:
    """Both stages' findings (ids renumbered after the earlier ones); the later verdict's scores."""
    prefix = f"{earlier.panel_id}-v{earlier.version}-f"
    findings = list(earlier.findings)
    for finding in later.findings:
        findings.append(finding.model_copy(update={"id": f"{prefix}{len(findings) + 1}"}))
    return PanelAudit(
        panel_id=earlier.panel_id,
        version=earlier.version,
        score=later.score,
        character_scores={**earlier.character_scores, **later.character_scores},
        findings=findings,
        auditor=auditor,
    )


def calls_saved(total: int, asked: int, per_call: int) -> int:
    """Calls a batching stage would have made for every panel, minus those it made."""
    per_call = max(1, int(per_call))
    return math.ceil(total / per_call) - math.ceil(asked / per_call)
