"""The one LangGraph graph: plan -> references -> render (fan-out) -> audit -> (repair -> audit)*
-> compose -> report.

Nodes are small functions that do one step and write its files through the run store; which
node runs next is decided only by the routing functions here. Backends arrive through the
run-scoped context (never through state), so the checkpoint holds data only.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from storyviz.agents.context import PipelineContext
from storyviz.agents.plan_review import checked_plan
from storyviz.agents.render_requests import panel_request, panel_seed, reference_request
from storyviz.agents.repair_fallback import drawable
from storyviz.agents.state import PipelineState, View, merge_versions
from storyviz.consistency import consistency_index, flagged_panels
from storyviz.masks import box_mask
from storyviz.metering import llm_costs
from storyviz.protocols import AuditItem, Auditor, RenderResult, unsupported_repairs
from storyviz.run_store import AUDIT_FILE, PLAN_FILE, REPORT_FILE, Run, drawing_path
from storyviz.schemas import (
    AuditLog,
    AuditRound,
    PanelAudit,
    PanelVersion,
    RenderRequest,
    RepairAction,
    StoryPlan,
    StoryRequest,
)

Ctx = Runtime[PipelineContext]


def _elapsed(t0: float) -> float:
    return round(time.perf_counter() - t0, 4)


# -- nodes -------------------------------------------------------------------------------------
def plan_story(state: PipelineState, runtime: Ctx) -> dict[str, Any]:
    ctx, t0 = runtime.context, time.perf_counter()
    given = "plan" in state  # a seeded run (chat, ViStoryBench) renders the plan it was given
    update: dict[str, Any] = {}
    if given:
        plan = StoryPlan.model_validate(state["plan"])
    else:
        request = StoryRequest.model_validate(state["request"])
        plan, findings = checked_plan(ctx.planner, request, ctx.planner.plan(request), ctx.run)
        update["plan_findings"] = [f.model_dump(mode="json") for f in findings]
    ctx.run.write_model(PLAN_FILE, plan)
    ctx.run.emit(
        "planned",
        "plan",
        seconds=_elapsed(t0),
        detail={
            "title": plan.title,
            "panels": len(plan.panels),
            "characters": len(plan.characters),
            "pages": len(plan.pages),
            "given": given,
        },
    )
    return {**update, "plan": plan.model_dump(mode="json"), "timings": {"plan": _elapsed(t0)}}


def draw_references(state: PipelineState, runtime: Ctx) -> dict[str, Any]:
    ctx, t0 = runtime.context, time.perf_counter()
    view = View(state)
    plan = view.plan
    references: dict[str, str] = dict(state.get("references", {}))  # given ones are kept
    for sheet in plan.characters:
        if sheet.id in references:
            continue
        t1 = time.perf_counter()
        request = reference_request(plan, sheet, view.limits["panel_size"])
        if ctx.run.drawn(request) is not None:  # drawn before a kill the checkpoint missed
            references[sheet.id] = drawing_path(request)
            _recovered(ctx.run, "references", request)
            continue
        with ctx.render_slots:
            result = ctx.generator.render(request)
        seed = result.seed_used(request.seed)  # a broken output may have been reseeded
        references[sheet.id] = ctx.run.save_drawing(request, result.image, {"seed": seed})
        _render_warnings(ctx.run, "references", request, result)
        ctx.run.emit(
            "reference",
            "references",
            seconds=_elapsed(t1),
            detail={"character": sheet.id, "seed": seed},
        )
    return {"references": references, "timings": {"references": _elapsed(t0)}}


def render_panel(state: PipelineState, runtime: Ctx) -> dict[str, Any]:
    """Render one panel version; runs once per Send, several at a time."""
    ctx, t0 = runtime.context, time.perf_counter()
    job = state["job"]
    request = RenderRequest.model_validate(job["request"])
    repair = RepairAction.model_validate(job["repair"]) if job.get("repair") else None
    step, event = ("repair", "repaired") if repair else ("render", "rendered")
    done = ctx.run.drawn(request)
    if done is not None:  # drawn before a kill the checkpoint missed: taken, not drawn again
        _recovered(ctx.run, step, request)
        return {"versions": {request.target_id: [done]}}
    with ctx.render_slots:
        result = ctx.generator.render(request)
    seconds = _elapsed(t0)
    version = PanelVersion(
        panel_id=request.target_id,
        version=request.version,
        path=drawing_path(request),
        seed=result.seed_used(request.seed),  # a broken output may have been reseeded
        prompt=request.prompt,
        backend=ctx.generator.spec,
        parameters={
            "width": request.width,
            "height": request.height,
            "steps": request.steps,
            "guidance": request.guidance,
            "emphasis": request.emphasis,
            **result.info,
        },
        repair=repair,
        seconds=seconds,
    )
    record = version.model_dump(mode="json")
    ctx.run.save_drawing(request, result.image, record)
    _render_warnings(ctx.run, step, request, result)
    ctx.run.emit(
        event,
        step,
        panel_id=request.target_id,
        version=request.version,
        seconds=seconds,
        detail={"strategy": repair.strategy} if repair else {},
    )
    return {
        "versions": {request.target_id: [record]},
        "timings": {step: seconds},
    }


def _recovered(run: Run, step: str, request: RenderRequest) -> None:
    """Say that a drawing was taken from the run folder, so the log shows the resume's work."""
    run.emit(
        "recovered",
        step,
        panel_id=request.target_id if request.kind == "panel" else None,
        version=request.version if request.kind == "panel" else None,
        detail={"kind": request.kind, "target": request.target_id, "path": drawing_path(request)},
    )


def _render_warnings(run: Run, step: str, request: RenderRequest, result: RenderResult) -> None:
    """What the renderer could not honour, as warning events (the CLI prints them)."""
    panel = request.kind == "panel"
    for warning in result.warnings:
        run.emit(
            "warning",
            step,
            panel_id=request.target_id if panel else None,
            version=request.version if panel else None,
            detail={"message": warning, "kind": request.kind, "target": request.target_id},
        )


def audit_panels(state: PipelineState, runtime: Ctx) -> dict[str, Any]:
    """Audit every version not yet audited: all panels first, then only the repaired ones."""
    ctx, t0 = runtime.context, time.perf_counter()
    view = View(state)
    plan = view.plan
    sheets = {c.id: c for c in plan.characters}
    references = {cid: ctx.run.path(p) for cid, p in state.get("references", {}).items()}
    pending = sorted(view.unaudited(), key=lambda v: (v.panel_id, v.version))
    items = []
    for v in pending:
        panel = plan.panel(v.panel_id)
        cast = [sheets[m.character_id] for m in panel.cast]
        items.append(
            AuditItem(
                panel=panel,
                version=v.version,
                image_path=ctx.run.path(v.path),
                characters=cast,
                references={c.id: references[c.id] for c in cast if c.id in references},
            )
        )
    audits = ctx.auditor.audit(items) if items else []
    updates: dict[str, list[dict[str, Any]]] = {}
    audit_by_panel: dict[str, PanelAudit] = {}
    for v, audit in zip(pending, audits, strict=True):
        scored = v.model_copy(
            update={
                "score": audit.score,
                "scores": audit.character_scores,
                "findings": audit.findings,
            }
        )
        updates.setdefault(v.panel_id, []).append(scored.model_dump(mode="json"))
        audit_by_panel[v.panel_id] = audit

    merged = View({**state, "versions": _merged(state, updates)})
    current = merged.current()
    panel_scores = {p.id: current[p.id].score or 0.0 for p in plan.panels if p.id in current}
    threshold = view.limits["threshold"]
    audit_round = AuditRound(
        round=len(view.rounds),
        audited=sorted(audit_by_panel),
        audits=audit_by_panel,
        consistency_index=consistency_index(panel_scores),
        panel_scores=panel_scores,
        flagged=flagged_panels(panel_scores, threshold),
        seconds=_elapsed(t0),
    )
    rounds = [*state.get("rounds", []), audit_round.model_dump(mode="json")]
    write_audit_log(ctx.run, View({**merged.state, "rounds": rounds}))
    ctx.run.emit(
        "audited",
        "audit",
        seconds=audit_round.seconds,
        detail={
            "round": audit_round.round,
            "audited": audit_round.audited,
            "consistency_index": audit_round.consistency_index,
            "flagged": audit_round.flagged,
            "findings": sum(len(a.findings) for a in audits),
            **_escalation(ctx.auditor, bool(items)),
        },
    )
    return {"versions": updates, "rounds": rounds, "timings": {"audit": _elapsed(t0)}}


def _escalation(auditor: Auditor, audited: bool) -> dict[str, Any]:
    """What a chained auditor (``clip:...+vlm:...``) says of its last call: which panels each
    later stage was asked about, and the model calls that spared (``vlm_calls_saved``)."""
    summary = getattr(auditor, "round_summary", None)
    return dict(summary()) if audited and callable(summary) else {}


def plan_repairs(state: PipelineState, runtime: Ctx) -> dict[str, Any]:
    """Ask the repairer for one action per repairable flagged panel, aimed at its best version."""
    ctx, t0 = runtime.context, time.perf_counter()
    view = View(state)
    plan = view.plan
    current = view.current()
    rounds = view.rounds
    jobs: list[dict[str, Any]] = []
    actions: list[RepairAction] = []
    for pid in view.repair_candidates():
        best = current[pid]
        audit = PanelAudit(
            panel_id=pid,
            version=best.version,
            score=best.score or 0.0,
            character_scores=best.scores,
            findings=best.findings,
        )
        history = view.versions(pid)
        action = ctx.repairer.propose(plan, audit, history)
        latest = max(v.version for v in history)
        action = action.model_copy(update={"from_version": best.version, "to_version": latest + 1})
        unsupported = unsupported_repairs(ctx.generator)
        action = drawable(action, unsupported, history, ctx.generator.spec)
        request = panel_request(
            plan,
            pid,
            seed=best.seed if action.parameters.seed is None else action.parameters.seed,
            version=latest + 1,
            long_side=view.limits["panel_size"],
            references=state.get("references", {}),
            emphasis=list(action.parameters.emphasis),
        )
        request = _with_repair_inputs(ctx.run, request, action, best)
        actions.append(action)
        jobs.append(
            {"request": request.model_dump(mode="json"), "repair": action.model_dump(mode="json")}
        )
        ctx.run.emit(
            "repair_planned",
            "repair",
            panel_id=pid,
            version=latest + 1,
            detail={"strategy": action.strategy, "rationale": action.rationale},
        )
    last = rounds[-1].model_copy(update={"repairs": [*rounds[-1].repairs, *actions]})
    updated_rounds = [r.model_dump(mode="json") for r in rounds[:-1]] + [
        last.model_dump(mode="json")
    ]
    return {"rounds": updated_rounds, "repair_jobs": jobs, "timings": {"repair": _elapsed(t0)}}


def _with_repair_inputs(
    run: Run, request: RenderRequest, action: RepairAction, best: PanelVersion
) -> RenderRequest:
    """Inpaint and img2img start from the best version; inpaint also gets a feathered mask of the
    region to redraw, written to the run folder. Paths are absolute so any generator finds them."""
    if action.strategy not in ("inpaint", "img2img"):
        return request
    update: dict[str, Any] = {"init_image": str(run.path(best.path))}
    strength = action.parameters.strength
    if strength is not None:
        update["strength"] = strength
    region = action.parameters.region
    if action.strategy == "inpaint" and region is not None:
        mask = box_mask((request.width, request.height), [region])
        update["mask"] = str(run.path(run.save_mask(request.target_id, request.version, mask)))
    return request.model_copy(update=update)


def compose_pages(state: PipelineState, runtime: Ctx) -> dict[str, Any]:
    from PIL import Image

    from storyviz.compose import compose_pages as compose
    from storyviz.fonts import font_warnings

    ctx, t0 = runtime.context, time.perf_counter()
    view = View(state)
    images = {}
    for pid, version in view.current().items():
        with Image.open(ctx.run.path(version.path)) as im:
            images[pid] = im.convert("RGB")
    paths = ctx.run.save_pages(compose(view.plan, images))
    for warning in font_warnings(view.plan):  # a script no font covers: say so, once per run
        ctx.run.emit("warning", "compose", detail={"message": warning})
    ctx.run.emit("composed", "compose", seconds=_elapsed(t0), detail={"pages": len(paths)})
    return {"pages": paths, "timings": {"compose": _elapsed(t0)}}


def write_report(state: PipelineState, runtime: Ctx) -> dict[str, Any]:
    from storyviz.report import build_report

    ctx, t0 = runtime.context, time.perf_counter()
    view = View(state)  # audit.json is current: the last audit wrote it and nothing changed since
    timings = dict(state.get("timings", {}))
    timings["report"] = _elapsed(t0)
    summary = run_summary(view, timings)
    summary["costs"].update(llm_costs(ctx.run.events()))
    ctx.run.update_manifest(status="completed", **summary)
    ctx.run.write_text(REPORT_FILE, build_report(ctx.run.dir))
    ctx.run.emit("reported", "report", seconds=_elapsed(t0), detail={"path": REPORT_FILE})
    return {"timings": {"report": _elapsed(t0)}}


# -- routing -----------------------------------------------------------------------------------
def dispatch_renders(state: PipelineState) -> list[Send] | Literal["audit"]:
    """One render per panel that has no version yet; a seeded run's carried panels keep theirs."""
    view = View(state)
    plan = view.plan
    limits = view.limits
    carried = state.get("versions", {})
    sends = []
    for panel in plan.panels:
        if carried.get(panel.id):
            continue
        request = panel_request(
            plan,
            panel.id,
            seed=panel_seed(limits["seed"], panel.id),
            version=1,
            long_side=limits["panel_size"],
            references=state.get("references", {}),
        )
        sends.append(Send("render_panel", {"job": {"request": request.model_dump(mode="json")}}))
    return sends or "audit"


def route_after_audit(state: PipelineState) -> Literal["plan_repairs", "compose"]:
    return "plan_repairs" if View(state).repair_candidates() else "compose"


def dispatch_repairs(state: PipelineState) -> list[Send]:
    return [Send("render_panel", {"job": job}) for job in state.get("repair_jobs", [])]


def build_graph() -> StateGraph[PipelineState, PipelineContext, PipelineState, PipelineState]:
    graph = StateGraph(PipelineState, context_schema=PipelineContext)
    graph.add_node("plan", plan_story)
    graph.add_node("references", draw_references)
    graph.add_node("render_panel", render_panel)
    graph.add_node("audit", audit_panels)
    graph.add_node("plan_repairs", plan_repairs)
    graph.add_node("compose", compose_pages)
    graph.add_node("report", write_report)
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "references")
    graph.add_conditional_edges("references", dispatch_renders, ["render_panel", "audit"])
    graph.add_edge("render_panel", "audit")
    graph.add_conditional_edges("audit", route_after_audit, ["plan_repairs", "compose"])
    graph.add_conditional_edges("plan_repairs", dispatch_repairs, ["render_panel"])
    graph.add_edge("compose", "report")
    graph.add_edge("report", END)
    return graph


# -- derived records ---------------------------------------------------------------------------
def _merged(state: PipelineState, updates: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return merge_versions(state.get("versions", {}), updates)


def audit_log(view: View) -> AuditLog:
    rounds = view.rounds
    return AuditLog(
        threshold=view.limits["threshold"],
        max_rounds=view.limits["max_rounds"],
        rounds=rounds,
        versions=view.all_versions(),
        current={pid: v.version for pid, v in view.current().items()},
        chosen=view.chosen,
        plan_checked="plan_findings" in view.state,
        plan_findings=view.plan_findings,
        references=dict(view.state.get("references", {})),
        consistency_index=rounds[-1].consistency_index if rounds else None,
    )


def write_audit_log(run: Run, view: View) -> None:
    run.write_model(AUDIT_FILE, audit_log(view))


def run_summary(view: View, timings: dict[str, float]) -> dict[str, Any]:
    """The manifest's summary fields, derived from the final state."""
    rounds = view.rounds
    versions = [v for vs in view.all_versions().values() for v in vs]
    return {
        "rounds": max(0, len(rounds) - 1),
        "consistency_index": rounds[-1].consistency_index if rounds else None,
        "panels": len(view.state.get("plan", {}).get("panels", [])),
        "findings": sum(len(v.findings) for v in versions),
        "repairs": sum(1 for v in versions if v.repair is not None),
        "costs": {
            "images": len(versions) + len(view.state.get("references", {})),
            "seconds": timings,
        },
    }
