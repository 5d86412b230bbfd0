"""Answers to the /commands, read from the session's state and its run folders.

Commands that only look (/plan, /show, /audit, /report, /runs, /export) are answered here without
touching the conversation graph. Commands that change the comic (/regen, /undo) are checked here
and, when they make sense, turned into the message the graph acts on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeAlias

from storyviz.agents.chat.carry import RenderedRun
from storyviz.agents.chat.commands import help_text
from storyviz.agents.chat.state import Reply
from storyviz.agents.chat.tables import plan_table
from storyviz.agents.planner.edit.refs import resolve_panel
from storyviz.errors import StoryvizError
from storyviz.run_reader import RunReader
from storyviz.run_store import REPORT_FILE
from storyviz.schemas import StoryPlan
from storyviz.seeding import stable_seed

NOT_DRAWN = "Nothing is drawn yet: approve the plan first ('yes')."
NO_PLAN = "There is no plan yet: describe your story first."

Values: TypeAlias = dict[str, Any]
Action: TypeAlias = Reply | dict[str, Any]
"""A command's outcome: an answer, or a message for the graph ({"kind": "regen", ...})."""


def answer(name: str, args: tuple[str, ...], values: Values) -> Action:
    if name == "help":
        return Reply(help_text(), kind="help")
    if not values.get("plan"):
        return Reply(NO_PLAN, kind="error")
    plan = StoryPlan.model_validate(values["plan"])
    if name == "plan":
        drawn = "" if values.get("run_dir") else " Say 'yes' to draw it, or tell me what to change."
        return Reply(f"{plan.title}: {len(plan.panels)} panels.{drawn}", "plan", plan_table(plan))
    if name == "runs":
        return _runs(values.get("runs", []))
    if name == "undo":
        if not values.get("history"):
            return Reply("Nothing to undo.", kind="error")
        return {"kind": "undo", "text": "/undo"}
    run_dir = values.get("run_dir")
    if not run_dir:
        return Reply(NOT_DRAWN, kind="error")
    try:
        if name == "show":
            return _show(plan, RenderedRun.open(run_dir), args)
        if name == "regen":
            return _regen(plan, values, args)
        if name == "use":
            return _use(plan, RenderedRun.open(run_dir), args)
        if name == "audit":
            return _audit(RenderedRun.open(run_dir))
        if name == "report":
            report = Path(run_dir) / REPORT_FILE
            return Reply(f"Report: {report.resolve()}", run_dir=run_dir, report=str(report))
        if name == "export":
            return _export(Path(run_dir), args)
    except StoryvizError as exc:
        return Reply(str(exc), kind="error")
    return Reply(f"/{name} is not available here; /help lists the commands.", kind="error")


def _panel_arg(plan: StoryPlan, args: tuple[str, ...], usage: str) -> str:
    if not args:
        raise StoryvizError(f"which panel? usage: {usage}")
    return plan.panels[resolve_panel(plan, args[0]).index].id


def _show(plan: StoryPlan, run: RenderedRun, args: tuple[str, ...]) -> Reply:
    panel_id = _panel_arg(plan, args, "/show N")
    number = plan.panel_number(panel_id)
    version = run.current(panel_id)
    if version is None or plan.panel(panel_id) != _panel_in(run, panel_id):
        return Reply(f"Panel {number} ({panel_id}) is not drawn yet in its current form.", "error")
    image = (run.dir / version.path).resolve()
    score = "" if version.score is None else f", score {version.score:.3f}"
    return Reply(
        f"Panel {number} ({panel_id}) v{version.version}{score}: {image}",
        run_dir=str(run.dir),
        image=str(image),
    )


def _panel_in(run: RenderedRun, panel_id: str) -> object:
    return next((p for p in run.plan.panels if p.id == panel_id), None)


def _regen(plan: StoryPlan, values: Values, args: tuple[str, ...]) -> Action:
    panel_id = _panel_arg(plan, args, "/regen N [SEED]")
    if len(args) > 1:
        try:
            seed = int(args[1])
        except ValueError:
            raise StoryvizError(f"the seed must be a whole number, not {args[1]!r}") from None
        if not 0 <= seed < 2**32:
            raise StoryvizError(f"the seed must be between 0 and {2**32 - 1}")
    else:  # a new seed, the same in every process for the same conversation
        seed = stable_seed("regen", values["request"].get("seed", 0), panel_id, len(values["runs"]))
    return {"kind": "regen", "panel": panel_id, "seed": seed, "text": " ".join(("/regen", *args))}


def _use(plan: StoryPlan, run: RenderedRun, args: tuple[str, ...]) -> Action:
    panel_id = _panel_arg(plan, args, "/use N V")
    number = plan.panel_number(panel_id)
    drawn = [v.version for v in run.audit.versions.get(panel_id, [])]
    if len(args) < 2:
        raise StoryvizError(f"which version of panel {number}? usage: /use N V ({_listed(drawn)})")
    try:
        version = int(args[1].lstrip("vV"))
    except ValueError:
        raise StoryvizError(f"the version must be a number, not {args[1]!r}") from None
    if version not in drawn:
        raise StoryvizError(f"panel {number} ({panel_id}) has no v{version}: {_listed(drawn)}")
    if plan.panel(panel_id) != _panel_in(run, panel_id):
        raise StoryvizError(
            f"panel {number} ({panel_id}) changed since it was drawn; draw it first"
        )
    shown = run.current(panel_id)
    if shown is not None and shown.version == version and panel_id in run.audit.chosen:
        return Reply(f"Panel {number} ({panel_id}) already shows v{version}.", kind="info")
    return {"kind": "use", "panel": panel_id, "version": version, "text": " ".join(("/use", *args))}


def _listed(versions: list[int]) -> str:
    return "drawn: " + ", ".join(f"v{n}" for n in versions) if versions else "none drawn yet"


def _audit(run: RenderedRun) -> Reply:
    log = run.audit
    ci = "n/a" if log.consistency_index is None else f"{log.consistency_index:.3f}"
    lines = [f"Consistency index {ci} (threshold {log.threshold}), {len(log.rounds)} round(s)."]
    for panel in run.plan.panels:
        version = run.current(panel.id)
        if version is None:
            continue
        score = "unscored" if version.score is None else f"{version.score:.3f}"
        lines.append(f"  {panel.id} v{version.version}: {score}")
        for f in version.findings:
            what = f.attribute or f.kind
            seen = f" (expected {f.expected}, saw {f.observed})" if f.expected else ""
            who = f"{f.character_id} " if f.character_id else ""
            lines.append(f"    {f.severity}: {who}{what}{seen}")
    findings = sum(len(v.findings) for vs in log.versions.values() for v in vs)
    lines.append(f"{findings} finding(s) in all versions; report: {run.dir / REPORT_FILE}")
    return Reply("\n".join(lines), run_dir=str(run.dir), report=str(run.dir / REPORT_FILE))


def _export(run_dir: Path, args: tuple[str, ...]) -> Reply:
    fmt = args[0] if args else "pdf"
    try:
        from storyviz.exports import export_run
    except ImportError:
        return Reply("Exports are unavailable in this installation.", kind="error")
    try:
        written = export_run(run_dir, fmt)
    except ImportError as exc:
        return Reply(f"The {fmt} export is unavailable here ({exc}).", kind="error")
    listed = "\n".join(f"  {path}" for path in written)
    return Reply(f"Exported {fmt}:\n{listed}", run_dir=str(run_dir))


def _runs(runs: list[str]) -> Reply:
    if not runs:
        return Reply("No runs yet: nothing has been drawn in this session.")
    lines = []
    for n, run_dir in enumerate(runs, start=1):
        manifest = RunReader(run_dir).manifest()
        if manifest is None:
            about = "missing or unreadable"
        else:
            ci = (
                "n/a" if manifest.consistency_index is None else f"{manifest.consistency_index:.3f}"
            )
            about = f"{manifest.status}, {manifest.panels} panels, CI {ci}"
        lines.append(f"  {n}. {run_dir} ({about})")
    return Reply("Runs of this session, oldest first:\n" + "\n".join(lines), run_dir=runs[-1])
