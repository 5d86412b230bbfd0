"""One browser session's work: a chat thread, driven by the page's buttons instead of typed lines.

Every step that may draw (approving, an edit after approval, a redraw, undo) is a generator of
`Screen`s: the chat session runs in a worker thread and each reference sheet and panel is shown
as its event arrives, then the finished run folder is read. A cancel stops the drawing at the
next event (the run is recorded as interrupted, so `storyviz resume` can finish it). Nothing
here raises for what a person typed: a bad story, backend string or cell is a one-line notice,
and their text stays in the page.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storyviz import registry
from storyviz.agents.chat.state import Reply
from storyviz.errors import InputError, RunCancelled, StoryvizError
from storyviz.schemas import RunEvent, StoryPlan
from storyviz.studio import plan_cells
from storyviz.studio.run_view import DrawingProgress, FlaggedVersion, RunView, VersionChoice

if TYPE_CHECKING:
    from storyviz.agents.chat.catalog import ThreadSummary
    from storyviz.agents.chat.session import ChatSession

CANCELLED = "the drawing was cancelled"
# Events after which a cancel takes effect: all of them are emitted inside the run's graph, so
# the run is stopped (and recorded) by the runner, never half-created.
_CANCEL_POINTS = frozenset({"planned", "reference", "rendered", "repaired", "audited", "denoise"})
_DONE = object()


def open_session(thread: str | None, **kwargs: Any) -> ChatSession:
    """`ChatSession.open`, imported at the first story rather than at start-up: the chat
    engine (LangGraph and its tracing) is half a second of the studio's start on 2 cores."""
    from storyviz.agents.chat.session import ChatSession

    return ChatSession.open(thread, **kwargs)


def warm_up() -> None:
    """Import the chat engine ahead of the first story (run in a background thread once the
    page is up), so pressing Plan does not wait for it."""
    import storyviz.agents.chat.catalog
    import storyviz.agents.chat.session  # noqa: F401


@dataclass
class StoryOptions:
    """What the Story section asks for; backend strings as typed (or picked)."""

    story: str
    style: str = "storyboard sketch"
    reading_order: str = "ltr"
    page_size: str = "A4"
    panels: int | None = None
    seed: int = 0
    backends: dict[str, str] = field(default_factory=dict)  # role -> backend string


@dataclass(frozen=True)
class PanelEditor:
    """The Pages section's fields for one panel: its texts as the table shows them, and its
    drawn versions."""

    caption: str = ""
    dialogue: str = ""
    prompt: str = ""
    versions: list[VersionChoice] = field(default_factory=list)

    @property
    def shown(self) -> VersionChoice | None:
        return next((c for c in self.versions if c.shown), None)


def panel_editor(plan: StoryPlan | None, view: RunView, number: int) -> PanelEditor:
    if plan is None or not 1 <= number <= len(plan.panels):
        return PanelEditor()
    row = plan_cells.panel_rows(plan)[number - 1]
    return PanelEditor(
        caption=row[4],
        dialogue=row[5],
        prompt=plan_cells.panel_prompt(plan, number),
        versions=view.versions.get(plan.panels[number - 1].id, []),
    )


@dataclass
class Screen:
    """Everything the page shows after one step."""

    notice: str = ""
    error: bool = False
    thread: str | None = None
    title: str = ""
    messages: list[dict[str, str]] = field(default_factory=list)
    characters: list[list[str]] = field(default_factory=list)
    panels: list[list[str]] = field(default_factory=list)
    view: RunView = field(default_factory=RunView)
    drawing: bool = False
    approved: bool = False
    plan: StoryPlan | None = None

    def editor(self, number: int) -> PanelEditor:
        return panel_editor(self.plan, self.view, number)


class Workbench:
    """The studio's logic for one browser session; `page.py` maps each Screen onto components."""

    def __init__(
        self,
        runs_dir: Path,
        fixed: dict[str, Any] | None = None,
        opener: Callable[..., ChatSession] = open_session,
    ) -> None:
        """`fixed` are the settings the server was started with (backend flags); a field the
        page sets wins, except that a masked secret shown in the page means the real one."""
        self.runs_dir = Path(runs_dir)
        self._fixed = dict(fixed or {})
        self._open = opener
        self._session: ChatSession | None = None
        self._view = RunView()
        self._events: queue.Queue[object] | None = None
        self._cancel = threading.Event()
        self._lock = threading.Lock()  # one step at a time per browser session

    # -- what the page offers ----------------------------------------------------------------
    def shown_backend(self, role: registry.Role, default: str) -> str:
        """The backend string as the page may show it: secrets masked."""
        text = str(self._fixed.get(role) or default)
        try:
            return registry.parse_backend(text).redacted()
        except StoryvizError:
            return text

    def threads(self) -> list[ThreadSummary]:
        from storyviz.agents.chat.catalog import list_threads

        return list_threads(self.runs_dir)

    def editor(self, number: int) -> PanelEditor:
        """Panel `number`'s texts and drawn versions in the comic shown now."""
        return panel_editor(self.plan, self._view, number)

    def versions(self, number: int) -> list[VersionChoice]:
        return self.editor(number).versions

    def flagged(self, label: str) -> FlaggedVersion | None:
        return next((f for f in self._view.flagged if f.label == label), None)

    @property
    def thread(self) -> str | None:
        return self._session.thread if self._session else None

    @property
    def plan(self) -> StoryPlan | None:
        return self._session.plan if self._session else None

    # -- steps ---------------------------------------------------------------------------------
    def start(self, options: StoryOptions) -> Iterator[Screen]:
        """A new thread for a new story: its plan, waiting for approval."""
        if not options.story.strip():
            yield self._screen(Reply("The story is empty: write or upload one first.", "error"))
            return
        try:
            overrides = self._overrides(options)
        except StoryvizError as exc:
            yield self._screen(Reply(str(exc), "error"))
            return
        self.close()
        try:
            self._session = self._open(
                None, runs_dir=self.runs_dir, listener=self._listen, **overrides
            )
        except StoryvizError as exc:
            yield self._screen(Reply(registry.one_line(exc), "error"))
            return
        self._view = RunView()
        yield from self._step(lambda s: s.send(options.story))

    def say(self, text: str) -> Iterator[Screen]:
        """A chat message: an approval, an edit ("make panel 2 at night") or a /command."""
        if self._session is None:
            yield self._screen(Reply("Plan a story first: write it above and press Plan.", "error"))
            return
        yield from self._step(lambda s: s.send(text))

    def approve(self) -> Iterator[Screen]:
        yield from self.say("yes")

    def apply_cells(self, characters: plan_cells.Rows, panels: plan_cells.Rows) -> Iterator[Screen]:
        plan = self.plan
        if plan is None:
            yield self._screen(Reply("There is no plan to edit yet.", "error"))
            return
        try:
            edited = plan_cells.plan_from_rows(plan, characters, panels)
        except StoryvizError as exc:
            yield self._screen(Reply(str(exc), "error"))
            return
        yield from self._step(lambda s: s.replace_plan(edited, "edited the plan's tables"))

    def edit_panel(self, number: int, caption: str, dialogue: str, prompt: str) -> Iterator[Screen]:
        plan = self.plan
        if plan is None:
            yield self._screen(Reply("There is no plan to edit yet.", "error"))
            return
        try:
            edited = plan_cells.edit_panel_text(
                plan, number, caption=caption, dialogue=dialogue, prompt=prompt
            )
        except StoryvizError as exc:
            yield self._screen(Reply(str(exc), "error"))
            return
        yield from self._step(lambda s: s.replace_plan(edited, f"edited panel {number}"))

    def redraw(self, number: int, seed: int | None = None) -> Iterator[Screen]:
        words = ["/regen", str(number)] + ([] if seed is None else [str(seed)])
        yield from self.say(" ".join(words))

    def use_version(self, number: int, version: int) -> Iterator[Screen]:
        """Show version `version` of panel `number` from now on (the chat's /use)."""
        yield from self.say(f"/use {number} {version}")

    def undo(self) -> Iterator[Screen]:
        yield from self.say("/undo")

    def export(self, fmt: str) -> tuple[Screen, list[Path]]:
        run_dir = self._view.run_dir
        if run_dir is None:
            return self._screen(Reply("Nothing is drawn yet to export.", "error")), []
        from storyviz.exports import export_run

        try:
            written = export_run(run_dir, fmt)
        except (StoryvizError, ImportError, OSError) as exc:
            return self._screen(Reply(f"The {fmt} export failed: {exc}", "error")), []
        return self._screen(Reply(f"Exported {fmt}: {', '.join(p.name for p in written)}")), written

    def reopen(self, thread: str) -> Screen:
        """Continue an earlier thread (one `storyviz chat --thread` also continues)."""
        if not thread:
            return self._screen(Reply("Pick a thread to reopen.", "error"))
        if self._session is not None and self._session.thread == thread:
            return self._screen(Reply(f"Thread {thread} is already open."))
        self.close()
        try:
            self._session = self._open(
                thread, runs_dir=self.runs_dir, listener=self._listen, **self._fixed
            )
        except StoryvizError as exc:
            return self._screen(Reply(registry.one_line(exc), "error"))
        self._view = RunView.read(self._session.values.get("run_dir"))
        recap = self._session.recap()
        return self._screen(Reply(f"Reopened thread {thread}." if recap is None else recap.text))

    def cancel(self) -> str:
        if self._events is None:
            return "Nothing is being drawn."
        self._cancel.set()
        return "Cancelling: the drawing stops after the current step."

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- driving the session -------------------------------------------------------------------
    def _step(self, call: Callable[[ChatSession], Reply]) -> Iterator[Screen]:
        session = self._session
        assert session is not None
        if not self._lock.acquire(blocking=False):
            yield self._screen(Reply("Still working on the last step; wait or cancel it.", "error"))
            return
        try:
            yield from self._drive(session, call)
        finally:
            self._lock.release()

    def _drive(
        self, session: ChatSession, call: Callable[[ChatSession], Reply]
    ) -> Iterator[Screen]:
        events: queue.Queue[object] = queue.Queue()
        outcome: dict[str, Any] = {}
        progress = DrawingProgress(self.runs_dir, session.plan, before=self._view)

        def work() -> None:
            try:
                outcome["reply"] = call(session)
            except StoryvizError as exc:
                outcome["reply"] = Reply(registry.one_line(exc), "error")
            except Exception as exc:  # noqa: BLE001 - shown in the page, the server goes on
                outcome["reply"] = Reply(f"{type(exc).__name__}: {exc}", "error")
            finally:
                events.put(_DONE)

        base = self._screen(Reply(""), said=False)  # read before the worker writes the thread
        self._cancel.clear()
        self._events = events
        worker = threading.Thread(target=work, name=f"studio-{session.thread}", daemon=True)
        worker.start()
        try:
            while (item := events.get()) is not _DONE:
                assert isinstance(item, RunEvent)
                if progress.take(item) or item.event in ("started", "audited"):
                    yield _drawing(base, progress)
        finally:
            worker.join()
            self._events = None
            self._cancel.clear()
        reply: Reply = outcome["reply"]
        run_dir = session.values.get("run_dir")
        self._view = RunView.read(run_dir)
        yield self._screen(reply)

    def _listen(self, event: RunEvent) -> None:
        """Called in the drawing's threads for every event of the run."""
        if self._cancel.is_set() and event.event in _CANCEL_POINTS:
            raise RunCancelled(CANCELLED)
        events = self._events
        if events is not None:
            events.put(event)

    def _overrides(self, options: StoryOptions) -> dict[str, Any]:
        overrides = dict(self._fixed)
        for role in registry.ROLES:
            text = options.backends.get(role, "").strip()
            if not text or text == self.shown_backend(role, ""):
                continue  # the server's own (its secrets never came back from the page)
            registry.resolve(role, text)  # an unknown name or a malformed string fails here
            overrides[role] = text
        if options.panels is not None and int(options.panels) < 1:
            raise InputError("the number of panels must be 1 or more (empty: the planner picks)")
        overrides.update(
            style=options.style.strip() or "storyboard sketch",
            reading_order=options.reading_order,
            page_size=options.page_size,
            panels=int(options.panels) if options.panels else None,
            seed=int(options.seed or 0),
        )
        return overrides

    # -- screens -------------------------------------------------------------------------------
    def _screen(self, reply: Reply, said: bool = True) -> Screen:
        """`said`: the reply is an answer, shown in the chat unless the thread recorded it."""
        session = self._session
        values = session.values if session else {}  # one read of the thread's checkpoint
        plan = StoryPlan.model_validate(values["plan"]) if values.get("plan") else None
        return Screen(
            notice=_notice(reply),
            error=reply.kind == "error",
            thread=session.thread if session else None,
            title=plan.title if plan else "",
            messages=_messages(values.get("messages", []), reply if said else None),
            characters=plan_cells.character_rows(plan) if plan else [],
            panels=plan_cells.panel_rows(plan) if plan else [],
            view=self._view,
            approved=bool(values.get("run_dir")),
            plan=plan,
        )


def _notice(reply: Reply) -> str:
    """The reply in one line for the status box: what changed and what was drawn, without the
    folder paths (the chat has the whole text)."""
    lines = [
        line for line in reply.text.splitlines() if not line.startswith(("Run folder:", "Report:"))
    ]
    return " ".join(lines[:3])


def _drawing(base: Screen, progress: DrawingProgress) -> Screen:
    """`base` (the page before the step) with the drawing's pictures so far."""
    references, panels = progress.pictures()
    view = RunView(run_dir=progress.run_dir, references=references, panels=panels)
    return replace(base, notice=progress.line, error=False, view=view, drawing=True)


def _messages(said: list[dict[str, str]], reply: Reply | None) -> list[dict[str, str]]:
    """The conversation as chat bubbles; an answer the thread did not record (an error, a
    /command's answer) is shown last."""
    shown = [
        {"role": "user" if m.get("role") == "user" else "assistant", "content": m.get("text", "")}
        for m in said
    ]
    if reply is not None and reply.text and (not shown or shown[-1]["content"] != reply.text):
        shown.append({"role": "assistant", "content": reply.text})
    return shown
