"""After planning, before drawing: the plan checked against its story, and corrected once.

The check itself is `planner/plan_check.py`. Here is what a run does with it: a planner that
takes corrections (`PlanCorrector`: the model planners) gets the findings back as instructions
once; the corrected plan is checked again and kept only when it is valid and no worse. Every
finding is kept for audit.json and the report, those the correction fixed marked `corrected`,
and a run whose plan still contradicts its story says so in one warning line. A failed check or
correction never stops the run: the plan as planned is drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storyviz.agents.planner.plan_check import check_plan, corrections
from storyviz.errors import StoryvizError
from storyviz.protocols import PlanCorrector, Planner
from storyviz.run_store import Run
from storyviz.schemas import PlanFinding, StoryPlan, StoryRequest

SHOWN = 3  # findings named in the warning line; the report has them all


Emit = Callable[[str, dict[str, Any]], None]
"""(event, detail): how a review reports; a run writes events, a chat collects warnings."""


def checked_plan(
    planner: Planner, request: StoryRequest, plan: StoryPlan, run: Run
) -> tuple[StoryPlan, list[PlanFinding]]:
    """The plan a run draws and its findings, reported as the run's events."""

    def emit(event: str, detail: dict[str, Any]) -> None:
        run.emit(event, "plan", detail=detail)

    return review_plan(planner, request, plan, emit)


def review_plan(
    planner: Planner, request: StoryRequest, plan: StoryPlan, emit: Emit
) -> tuple[StoryPlan, list[PlanFinding]]:
    """The plan to draw and its findings."""
    findings = check_plan(request.story, plan)
    asked = 0  # findings sent back to the planner
    if findings and isinstance(planner, PlanCorrector):
        asked = len(findings)
        try:
            revised = planner.correct_plan(request, plan, corrections(findings))
        except StoryvizError as exc:
            emit("warning", {"message": f"the plan correction failed: {exc}"})
        else:
            after = check_plan(request.story, revised)
            if len(after) <= len(findings):
                plan, findings = revised, _merged(findings, after)
    remaining = [f for f in findings if not f.corrected]
    emit(
        "plan_checked",
        {
            "findings": len(remaining),
            "corrected": sum(f.corrected for f in findings),
            "asked": asked,
        },
    )
    if remaining:
        named = "; ".join(f.evidence for f in remaining[:SHOWN])
        more = f" (and {len(remaining) - SHOWN} more)" if len(remaining) > SHOWN else ""
        emit("warning", {"message": f"the plan does not match the story: {named}{more}"})
    return plan, findings


def _merged(before: list[PlanFinding], after: list[PlanFinding]) -> list[PlanFinding]:
    """The first check's findings, those the correction fixed marked so, then any new ones."""
    still = {_key(f) for f in after}
    fixed = [f.model_copy(update={"corrected": _key(f) not in still}) for f in before]
    seen = {_key(f) for f in before}
    new = [f for f in after if _key(f) not in seen]
    merged = fixed + new
    return [f.model_copy(update={"id": f"plan-{n:02d}"}) for n, f in enumerate(merged, 1)]


def _key(f: PlanFinding) -> tuple[str, str, str, str]:
    return (f.kind, f.character, f.part or "", f.panel_id or "")
