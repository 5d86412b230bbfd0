"""The graph's one state, its reducers, and what can be derived from it.

State holds plain JSON-ready data (model dumps), not model objects, so the SQLite checkpoint
needs no custom serialiser and reads back the same in any process. Which version of a panel is
current, which panels are flagged and which may still be repaired are derived, never stored twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

from storyviz.schemas import AuditRound, PanelVersion, PlanFinding, StoryPlan

VersionDump = dict[str, Any]


def merge_versions(
    left: dict[str, list[VersionDump]] | None, right: dict[str, list[VersionDump]] | None
) -> dict[str, list[VersionDump]]:
    """Merge per-panel versions by version number: a later write of the same version (its audit
    scores) replaces the earlier one; new versions are appended in order."""
    merged = {pid: list(vs) for pid, vs in (left or {}).items()}
    for pid, updates in (right or {}).items():
        by_number = {v["version"]: v for v in merged.get(pid, [])}
        for v in updates:
            by_number[v["version"]] = v
        merged[pid] = [by_number[n] for n in sorted(by_number)]
    return merged


def add_timings(left: dict[str, float] | None, right: dict[str, float] | None) -> dict[str, float]:
    out = dict(left or {})
    for step, seconds in (right or {}).items():
        out[step] = round(out.get(step, 0.0) + seconds, 4)
    return out


class Limits(TypedDict):
    threshold: float
    max_rounds: int
    max_attempts: int
    panel_size: int
    seed: int


class PipelineState(TypedDict, total=False):
    request: dict[str, Any]
    limits: Limits
    plan: dict[str, Any]
    references: dict[str, str]
    versions: Annotated[dict[str, list[VersionDump]], merge_versions]
    rounds: list[dict[str, Any]]
    repair_jobs: list[dict[str, Any]]
    chosen: dict[str, int]  # panel id -> version a person picked (chat /use); never repaired
    plan_findings: list[dict[str, Any]]  # the plan checked against its story (PlanFinding dumps)
    pages: list[str]
    timings: Annotated[dict[str, float], add_timings]
    job: dict[str, Any]  # the payload a Send hands to one render task


@dataclass(frozen=True)
class View:
    """Typed read access to a state snapshot."""

    state: PipelineState

    @property
    def plan(self) -> StoryPlan:
        return StoryPlan.model_validate(self.state["plan"])

    @property
    def limits(self) -> Limits:
        return self.state["limits"]

    def versions(self, panel_id: str) -> list[PanelVersion]:
        return [
            PanelVersion.model_validate(v) for v in self.state.get("versions", {}).get(panel_id, [])
        ]

    def all_versions(self) -> dict[str, list[PanelVersion]]:
        return {pid: self.versions(pid) for pid in self.state.get("versions", {})}

    @property
    def rounds(self) -> list[AuditRound]:
        return [AuditRound.model_validate(r) for r in self.state.get("rounds", [])]

    def unaudited(self) -> list[PanelVersion]:
        return [v for vs in self.all_versions().values() for v in vs if v.score is None]

    @property
    def plan_findings(self) -> list[PlanFinding]:
        return [PlanFinding.model_validate(f) for f in self.state.get("plan_findings", [])]

    @property
    def chosen(self) -> dict[str, int]:
        return dict(self.state.get("chosen", {}))

    def current(self) -> dict[str, PanelVersion]:
        """The version a person picked, else the best-scoring audited one; the earliest wins a
        tie, so a repair that does not improve a panel never replaces it."""
        current: dict[str, PanelVersion] = {}
        picked = self.chosen
        for pid, versions in self.all_versions().items():
            mine = [v for v in versions if v.version == picked.get(pid)]
            audited = mine or [v for v in versions if v.score is not None] or versions
            if audited:
                current[pid] = max(audited, key=lambda v: (v.score or 0.0, -v.version))
        return current

    def repairs_done(self, panel_id: str) -> int:
        return sum(1 for v in self.versions(panel_id) if v.repair is not None)

    def repair_candidates(self) -> list[str]:
        """Flagged panels of the last round that may still be repaired within the limits; a
        panel whose version a person picked is theirs, not the repairer's."""
        rounds = self.rounds
        if not rounds:
            return []
        repair_rounds_done = len(rounds) - 1
        if repair_rounds_done >= self.limits["max_rounds"]:
            return []
        picked = self.chosen
        return [
            pid
            for pid in rounds[-1].flagged
            if self.repairs_done(pid) < self.limits["max_attempts"] and pid not in picked
        ]
