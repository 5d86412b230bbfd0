"""What a chat's next run keeps from its last one: panel versions and reference images.

A new run is diffed against the run folder that last drew the comic (its plan.json), not against
the previous message's plan: edits made while a render failed, or before approval, all count.
Panels the diff leaves alone carry every version they had (their scores too, so they are not
audited again); characters whose sheet is unchanged keep their reference image.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from storyviz.agents.planner.edit.plans import PlanEdit, diff_plans
from storyviz.agents.runner import CarriedVersion, RunSeed
from storyviz.errors import RunStoreError
from storyviz.run_reader import RunReader
from storyviz.run_store import Run
from storyviz.schemas import AuditLog, PanelVersion, StoryPlan


@dataclass(frozen=True)
class RenderedRun:
    """A run folder as the chat reads it: its plan and its audit log."""

    dir: Path
    plan: StoryPlan
    audit: AuditLog

    @classmethod
    def open(cls, run_dir: str | Path) -> RenderedRun:
        """The run as its writer left it; a run another process is drawing right now (a
        `storyviz resume` from another shell) is refused rather than read half-drawn."""
        folder = Path(run_dir)
        Run(folder).writer.check_free()
        reader = RunReader(folder)
        try:
            return cls(folder, reader.need_plan(), reader.need_audit())
        except RunStoreError as exc:
            raise RunStoreError(f"cannot read the run folder {folder}: {exc}") from None

    def current(self, panel_id: str) -> PanelVersion | None:
        """The version of a panel the comic shows (the picked one, else the best-scoring)."""
        number = self.audit.current.get(panel_id)
        return next((v for v in self.audit.versions.get(panel_id, []) if v.version == number), None)

    def image(self, panel_id: str) -> Path | None:
        version = self.current(panel_id)
        return self.dir / version.path if version else None

    def carried(self, panel_id: str) -> list[CarriedVersion]:
        return [
            CarriedVersion(image=self.dir / v.path, version=v)
            for v in self.audit.versions.get(panel_id, [])
            if (self.dir / v.path).is_file()
        ]


def seed_after_edit(previous: RenderedRun, plan: StoryPlan) -> tuple[RunSeed, PlanEdit]:
    """The seed of a run drawing `plan`, keeping all `previous` drew that still holds."""
    diff = diff_plans(previous.plan, plan)
    redraw = {*diff.changed_panels, *diff.added}
    panels = {
        p.id: carried
        for p in plan.panels
        if p.id not in redraw and (carried := previous.carried(p.id))
    }
    restyled = plan.style != previous.plan.style  # references are drawn in the style too
    references = {
        cid: previous.dir / path
        for cid, path in previous.audit.references.items()
        if not restyled
        and cid not in diff.changed_characters
        and any(c.id == cid for c in plan.characters)
        and (previous.dir / path).is_file()
    }
    chosen = {pid: n for pid, n in previous.audit.chosen.items() if pid in panels}
    return RunSeed(plan=plan, references=references, panels=panels, chosen=chosen), diff


def seed_redrawing(previous: RenderedRun, plan: StoryPlan, panel_id: str) -> RunSeed:
    """The seed of a run that draws one panel afresh (/regen) and keeps everything else."""
    seed, _ = seed_after_edit(previous, plan)
    seed.panels.pop(panel_id, None)
    seed.chosen.pop(panel_id, None)
    return seed


def seed_choosing(previous: RenderedRun, plan: StoryPlan, panel_id: str, version: int) -> RunSeed:
    """The seed of a run that shows the picked version of one panel (/use) and keeps the rest."""
    seed, _ = seed_after_edit(previous, plan)
    if all(c.version.version != version for c in seed.panels.get(panel_id, [])):
        raise RunStoreError(f"{panel_id} v{version} is not in {previous.dir}")
    seed.chosen[panel_id] = version
    return seed
