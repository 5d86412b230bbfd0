"""The conversation as a LangGraph graph: plan -> wait -> (edit | render | regen | use | undo).

`wait` pauses the graph with `interrupt` until the next message arrives (`Command(resume=...)`),
so a conversation is a checkpointed thread that any later process can continue. Nothing is drawn
before the user approves the plan; after that, every edit is drawn at once, as a new run of the
rendering pipeline (agents/graph.py, untouched) seeded with what the last run drew that still
holds. Nodes never raise for a user's mistake: they answer it and wait for the next message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from storyviz.agents.chat.carry import (
    RenderedRun,
    seed_after_edit,
    seed_choosing,
    seed_redrawing,
)
from storyviz.agents.chat.state import ChatContext, ChatState, Reply, Snapshot
from storyviz.agents.chat.tables import plan_table
from storyviz.agents.plan_review import review_plan
from storyviz.agents.planner.edit.plans import diff_plans
from storyviz.agents.runner import RunOutcome, RunSeed, start_run
from storyviz.errors import RunCancelled, StoryvizError, WriterBusyError
from storyviz.run_store import REPORT_FILE
from storyviz.schemas import StoryPlan, StoryRequest

Ctx = Runtime[ChatContext]
Next = Literal["wait", "edit", "render", "regen", "use", "undo"]
ASK_APPROVAL = "Say 'yes' to draw it, or tell me what to change."


def _say(reply: Reply, **update: Any) -> dict[str, Any]:
    return {
        **update,
        "reply": reply.as_dict(),
        "messages": [{"role": "assistant", "text": reply.text}],
    }


def plan_story(state: ChatState, runtime: Ctx) -> Command[str]:
    request = StoryRequest.model_validate(state["request"])
    planner = runtime.context.backends.planner
    warnings: list[str] = []

    def noted(event: str, detail: dict[str, Any]) -> None:
        if event == "warning":
            warnings.append(str(detail.get("message", "")))

    try:
        plan, _ = review_plan(planner, request, planner.plan(request), noted)
    except StoryvizError as exc:
        reply = Reply(f"I could not plan that story: {exc}", kind="error")
        return Command(goto=END, update=_say(reply))
    notes = "".join(f" Note: {w[:1].upper()}{w[1:]}." for w in warnings)
    reply = Reply(
        f"Here is the plan: {len(plan.panels)} panels, {len(plan.characters)} characters.{notes} "
        + ASK_APPROVAL,
        kind="plan",
        plan=plan_table(plan),
    )
    update = _say(reply, plan=plan.model_dump(mode="json"), run_dir=None, history=[], runs=[])
    return Command(goto="wait", update=update)


def wait(state: ChatState) -> Command[Next]:
    """Pause until the next message; the session has already read and checked it."""
    message: dict[str, Any] = interrupt({"awaiting": "change" if state.get("run_dir") else "ok"})
    routes: dict[str, Next] = {
        "approve": "render",
        "edit": "edit",
        "regen": "regen",
        "use": "use",
        "undo": "undo",
    }
    goto = routes.get(str(message.get("kind")), "wait")
    said = [{"role": "user", "text": str(message.get("text", ""))}]
    return Command(goto=goto, update={"inbox": message, "messages": said})


def edit(state: ChatState, runtime: Ctx) -> Command[Literal["wait", "render"]]:
    plan = StoryPlan.model_validate(state["plan"])
    planner = runtime.context.backends.planner
    editor = getattr(planner, "edit_plan", None)
    if editor is None and "plan" not in state["inbox"]:
        reply = Reply(f"The planner {planner.spec} cannot edit plans.", kind="error")
        return Command(goto="wait", update=_say(reply))
    seed = int(state["request"].get("seed", 0))
    given = state["inbox"].get("plan")
    try:
        if (
            given is not None
        ):  # a plan edited directly (the studio's tables), checked by the session
            change = diff_plans(plan, StoryPlan.model_validate(given))
        else:
            assert editor is not None
            change = editor(plan, state["inbox"]["text"], seed=seed)
    except StoryvizError as exc:
        return Command(goto="wait", update=_say(Reply(str(exc), kind="error")))
    if change.plan == plan:
        reply = Reply(f"Nothing changed ({change.summary}).", kind="info")
        return Command(goto="wait", update=_say(reply))
    history = [
        *state.get("history", []),
        Snapshot(plan=state["plan"], run_dir=state.get("run_dir")),
    ]
    update: dict[str, Any] = {"plan": change.plan.model_dump(mode="json"), "history": history}
    marked = [*change.changed_panels, *change.added]
    if state.get("run_dir"):
        update["inbox"] = {**state["inbox"], "summary": change.summary}
        return Command(goto="render", update=update)
    reply = Reply(
        f"Changed: {change.summary}. {ASK_APPROVAL}",
        kind="edit",
        plan=plan_table(change.plan, marked),
        changed=change.changed_panels,
        added=change.added,
        removed=change.removed,
    )
    return Command(goto="wait", update=_say(reply, **update))


def render(state: ChatState, runtime: Ctx) -> Command[Literal["wait"]]:
    """Draw the current plan: everything on approval, afterwards only what changed."""
    plan = StoryPlan.model_validate(state["plan"])
    previous, lost = _previous(state)
    said = "; ".join(s for s in (state.get("inbox", {}).get("summary", ""), lost) if s)
    if previous is not None and previous.plan == plan:
        reply = Reply("That is already drawn: ask for a change, or /help.", kind="info")
        return Command(goto="wait", update=_say(reply))
    if previous is None:  # the first drawing: every panel is new, none is marked
        seed, changed, added, removed = RunSeed(plan=plan), [], [], []
    else:
        seed, diff = seed_after_edit(previous, plan)
        changed, added, removed = diff.changed_panels, diff.added, diff.removed
    request = StoryRequest.model_validate(state["request"])
    return _draw(state, runtime, request, seed, said, changed, added, removed)


def regen(state: ChatState, runtime: Ctx) -> Command[Literal["wait"]]:
    """/regen N [SEED]: panel N drawn again from another seed; every other panel is kept."""
    plan = StoryPlan.model_validate(state["plan"])
    panel_id, run_seed = state["inbox"]["panel"], int(state["inbox"]["seed"])
    previous, lost = _previous(state)
    seed = seed_redrawing(previous, plan, panel_id) if previous else RunSeed(plan=plan)
    request = StoryRequest.model_validate({**state["request"], "seed": run_seed})
    history = [*state.get("history", []), Snapshot(plan=state["plan"], run_dir=state["run_dir"])]
    number = plan.panel_number(panel_id)
    said = f"panel {number} ({panel_id}) drawn again with run seed {run_seed}"
    said = f"{said}; {lost}" if lost else said
    redrawn = [pid for pid in (p.id for p in plan.panels) if pid not in seed.panels]
    return _draw(state, runtime, request, seed, said, redrawn, [], [], history=history)


def use(state: ChatState, runtime: Ctx) -> Command[Literal["wait"]]:
    """/use N V: panel N shows its version V from now on; nothing is drawn, the pages are
    lettered again, and no repair replaces the version a person picked."""
    plan = StoryPlan.model_validate(state["plan"])
    panel_id, version = state["inbox"]["panel"], int(state["inbox"]["version"])
    previous, lost = _previous(state)
    try:
        if previous is None:
            raise StoryvizError(lost or "nothing is drawn yet")
        seed = seed_choosing(previous, plan, panel_id, version)
    except StoryvizError as exc:
        return Command(goto="wait", update=_say(Reply(str(exc), kind="error")))
    request = StoryRequest.model_validate(state["request"])
    history = [*state.get("history", []), Snapshot(plan=state["plan"], run_dir=state["run_dir"])]
    number = plan.panel_number(panel_id)
    said = f"panel {number} ({panel_id}) now shows v{version}"
    return _draw(state, runtime, request, seed, said, [], [], [], history=history)


def undo(state: ChatState) -> Command[Literal["wait", "render"]]:
    """Back to the plan (and the run that drew it) before the last change."""
    history = list(state.get("history", []))
    last = history.pop()
    update: dict[str, Any] = {"plan": last["plan"], "history": history}
    if last["run_dir"] is not None or not state.get("run_dir"):
        update["run_dir"] = last["run_dir"]
        plan = StoryPlan.model_validate(last["plan"])
        where = f" Run folder: {last['run_dir']}" if last["run_dir"] else ""
        reply = Reply(
            f"Undone: back to the previous plan and its panels.{where}",
            kind="undo",
            plan=plan_table(plan),
            run_dir=last["run_dir"],
            report=_report(last["run_dir"]),
        )
        return Command(goto="wait", update=_say(reply, **update))
    # The change undone was made before the first drawing: draw the plan it replaced.
    update["inbox"] = {**state.get("inbox", {}), "summary": "undone: back to the previous plan"}
    return Command(goto="render", update=update)


def _draw(
    state: ChatState,
    runtime: Ctx,
    request: StoryRequest,
    seed: RunSeed,
    said: str,
    changed: list[str],
    added: list[str],
    removed: list[str],
    history: list[Snapshot] | None = None,
) -> Command[Literal["wait"]]:
    ctx = runtime.context
    assert seed.plan is not None
    try:
        outcome = start_run(
            ctx.settings, request, seed=seed, backends=ctx.backends, listener=ctx.listener
        )
    except RunCancelled as exc:
        reply = Reply(f"{exc}. The plan is kept: say 'render' to draw it, or /undo.", kind="error")
        return Command(goto="wait", update=_say(reply))
    except Exception as exc:  # noqa: BLE001 - the run folder records it; the chat goes on
        why = str(exc) if isinstance(exc, StoryvizError) else f"{type(exc).__name__}: {exc}"
        reply = Reply(
            f"Drawing failed: {why}. The plan is kept: say 'render' to try again, or /undo.",
            kind="error",
        )
        return Command(goto="wait", update=_say(reply))
    kept = len(seed.panels)
    redrawn = _numbered(seed.plan, [*changed, *added])
    text = _drawn_text(outcome, said, len(seed.plan.panels) - kept, kept, redrawn)
    reply = Reply(
        text,
        kind="render",
        plan=plan_table(seed.plan, [*changed, *added]),
        changed=changed,
        added=added,
        removed=removed,
        run_dir=str(outcome.run_dir),
        report=str(outcome.report) if outcome.report else None,
    )
    update: dict[str, Any] = {
        "run_dir": str(outcome.run_dir),
        "runs": [*state.get("runs", []), str(outcome.run_dir)],
    }
    if history is not None:
        update["history"] = history
    return Command(goto="wait", update=_say(reply, **update))


def _previous(state: ChatState) -> tuple[RenderedRun | None, str]:
    """The run folder that last drew the comic, and a note when it can no longer be read (then
    everything is drawn again rather than the thread getting stuck on a missing folder)."""
    if not state.get("run_dir"):
        return None, ""
    try:
        return RenderedRun.open(str(state["run_dir"])), ""
    except WriterBusyError:
        raise  # being drawn elsewhere: not gone, and not to be drawn over
    except StoryvizError:
        return None, f"the last run folder {state['run_dir']} is gone, so every panel is drawn"


def _drawn_text(outcome: RunOutcome, said: str, drawn: int, kept: int, redrawn: str) -> str:
    ci = "n/a" if outcome.consistency_index is None else f"{outcome.consistency_index:.3f}"
    lines = [f"{said[:1].upper()}{said[1:]}."] if said else []
    if redrawn:
        lines.append(f"Redrawn: {redrawn}.")
    lines += [
        f"Drew {drawn} panel(s), kept {kept}: {outcome.status}, consistency index {ci}, "
        f"{outcome.repairs} repair(s).",
        f"Run folder: {outcome.run_dir}",
        f"Report: {outcome.report}",
    ]
    return "\n".join(lines)


def _numbered(plan: StoryPlan, panel_ids: list[str]) -> str:
    """ "panel 3 (p03), panel 9 (p09)": how the user counts, and the ids the run folder uses."""
    order = [p.id for p in plan.panels]
    return ", ".join(f"panel {order.index(pid) + 1} ({pid})" for pid in panel_ids if pid in order)


def _report(run_dir: str | None) -> str | None:
    return str(Path(run_dir) / REPORT_FILE) if run_dir else None


def build_chat_graph() -> StateGraph[ChatState, ChatContext, ChatState, ChatState]:
    graph = StateGraph(ChatState, context_schema=ChatContext)
    graph.add_node("plan", plan_story)
    graph.add_node("wait", wait)
    graph.add_node("edit", edit)
    graph.add_node("render", render)
    graph.add_node("regen", regen)
    graph.add_node("use", use)
    graph.add_node("undo", undo)
    graph.add_edge(START, "plan")
    return graph
