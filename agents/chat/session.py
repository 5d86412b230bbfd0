"""A chat session: one conversation thread, driven message by message from any front end.

    with ChatSession.open("mia", runs_dir=Path("runs")) as chat:
        reply = chat.send("A shy girl named Mia ...")   # the plan, waiting for approval
        reply = chat.send("yes")                        # drawn: reply.run_dir, reply.report
        reply = chat.send("make panel 3 at night")      # only panel 3 drawn again

Threads live in ``<runs-dir>/chats/<thread>.sqlite`` (a LangGraph SQLite checkpointer, one file
per thread, so a thread is deleted by deleting its file). One session holds a thread at a time
(``<thread>.lock``): a second one would interleave its messages into the same state. Opening an
existing thread continues it with the settings it started with; backend flags given again win,
as with `storyviz resume`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command
from pydantic import ValidationError

from storyviz.agents.chat.answers import answer
from storyviz.agents.chat.commands import parse_message
from storyviz.agents.chat.graph import build_chat_graph
from storyviz.agents.chat.state import ChatContext, Reply
from storyviz.agents.chat.threads import new_thread_name, thread_path
from storyviz.agents.context import Backends
from storyviz.agents.runner import build_backends
from storyviz.config import Settings, load_settings, recorded_settings
from storyviz.errors import InputError, RunStoreError
from storyviz.schemas import MAX_PANELS, RunEvent, StoryPlan
from storyviz.text_checks import is_utf8
from storyviz.validation_errors import describe_validation_error
from storyviz.writer_lock import WriterLock

NO_PLAN_YET = "There is no plan yet: describe your story first."


class ChatSession:
    """One thread of conversation; `send` takes a message and returns the structured Reply."""

    def __init__(
        self,
        thread: str,
        conn: sqlite3.Connection,
        settings: Settings,
        listener: Callable[[RunEvent], None] | None,
        backends: Backends | None = None,
    ) -> None:
        self.thread = thread
        self.settings = settings
        self._conn = conn
        self._writer: WriterLock | None = None  # set by `open`, released by `close`
        self._graph = build_chat_graph().compile(checkpointer=SqliteSaver(conn))
        self._config: RunnableConfig = {"configurable": {"thread_id": thread}}
        self._context = ChatContext(settings, backends or build_backends(settings), listener)
        self._settle()

    @classmethod
    def open(
        cls,
        thread: str | None = None,
        *,
        runs_dir: Path | None = None,
        listener: Callable[[RunEvent], None] | None = None,
        backends: Backends | None = None,
        **overrides: Any,
    ) -> ChatSession:
        """Start or continue `thread` (a new name when None); overrides are Settings fields.

        `backends` replaces the ones the settings name (an application that built its own,
        e.g. a planner around its own model client)."""
        base = load_settings(runs_dir=runs_dir)
        name = thread or new_thread_name()
        path = thread_path(base.runs_dir, name)
        writer = WriterLock(path.with_suffix(".lock"), f"chat thread {name}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            writer.acquire()  # one session per thread: a second one fails here, naming the first
            conn = sqlite3.connect(path, check_same_thread=False)
            recorded = _recorded_settings(conn, name)
        except (OSError, sqlite3.Error) as exc:
            writer.release()
            raise RunStoreError(f"cannot open the chat thread {path}: {exc}") from None
        try:
            settings = _settings(recorded, base.runs_dir, overrides)
            session = cls(name, conn, settings, listener, backends)
        except BaseException:
            conn.close()
            writer.release()
            raise
        session._writer = writer
        return session

    # -- the conversation ------------------------------------------------------------------
    def send(self, text: str) -> Reply:
        if not is_utf8(text):  # undecodable bytes could not be checkpointed
            return Reply("That message is not UTF-8 text; nothing was changed.", "error")
        self._settle()  # a step an error cut short (a busy run folder) is finished first
        message = parse_message(text)
        values = self.values
        if message.kind == "empty":
            wanted = "a change or a /command" if values.get("plan") else "your story"
            return Reply(f"Nothing was said: type {wanted} (/help lists the commands).", "error")
        if message.kind == "unknown":
            shown = f"/{message.name}" if message.name else "'/'"
            return Reply(f"Unknown command {shown}; /help lists the commands.", kind="error")
        if message.kind == "command":
            if message.name == "quit":
                return Reply(
                    f"Bye. Resume with: storyviz chat --thread {self.thread}", "bye", done=True
                )
            action = answer(message.name, message.args, values)
            return action if isinstance(action, Reply) else self._resume(action)
        if not values.get("plan") or not self.waiting:
            if message.kind == "approve":
                return Reply("There is no plan to approve yet: describe your story first.", "error")
            return self._start(message.text)
        kind = "approve" if message.kind == "approve" else "edit"
        return self._resume({"kind": kind, "text": message.text})

    def replace_plan(
        self, plan: StoryPlan | dict[str, Any], said: str = "edited the plan"
    ) -> Reply:
        """Take a plan edited directly (a web page's tables) as the next change, as a chat
        message would: before approval it waits for 'yes', afterwards only what changed is drawn.
        `said` is how the conversation records it. An invalid plan is answered, not raised."""
        self._settle()
        if not self.values.get("plan") or not self.waiting:
            return Reply(NO_PLAN_YET, "error")
        try:
            checked = StoryPlan.model_validate(
                plan.model_dump(mode="json") if isinstance(plan, StoryPlan) else plan
            )
        except ValidationError as exc:
            return Reply(f"That plan is not valid: {describe_validation_error(exc)}", "error")
        edit = {"kind": "edit", "text": said, "plan": checked.model_dump(mode="json")}
        return self._resume(edit)

    def recap(self) -> Reply | None:
        """A short reminder of where a resumed thread stands (None for a new thread)."""
        values = self.values
        if not values.get("plan"):
            return None
        plan = StoryPlan.model_validate(values["plan"])
        runs = values.get("runs", [])
        lines = [
            f"Resuming thread {self.thread}: '{plan.title}', {len(plan.panels)} panels, "
            f"{len(runs)} run(s)."
        ]
        for said in values.get("messages", [])[-4:]:
            who = "you" if said["role"] == "user" else "storyviz"
            lines.append(f"  {who}: {said['text'].splitlines()[0][:90]}")
        run_dir = values.get("run_dir")
        lines.append(f"Current run: {run_dir}" if run_dir else "The plan waits for your 'yes'.")
        return Reply("\n".join(lines), run_dir=run_dir)

    # -- state -----------------------------------------------------------------------------
    @property
    def values(self) -> dict[str, Any]:
        return dict(self._graph.get_state(self._config).values)

    @property
    def waiting(self) -> bool:
        """Whether the graph is paused for the next message."""
        return any(task.interrupts for task in self._graph.get_state(self._config).tasks)

    @property
    def plan(self) -> StoryPlan | None:
        data = self.values.get("plan")
        return StoryPlan.model_validate(data) if data else None

    def close(self) -> None:
        self._conn.close()
        if self._writer is not None:
            self._writer.release()

    def __enter__(self) -> ChatSession:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- driving the graph -----------------------------------------------------------------
    def _start(self, story: str) -> Reply:
        try:
            request = self.settings.story_request(story)
        except ValidationError as exc:
            return Reply(f"That story cannot be used: {describe_validation_error(exc)}", "error")
        recorded = {k: v for k, v in self.settings.redacted().items() if k != "runs_dir"}
        state = {
            "request": request.model_dump(mode="json"),
            "settings": recorded,
            "messages": [{"role": "user", "text": story}],
        }
        return self._invoke(state)

    def _resume(self, message: dict[str, Any]) -> Reply:
        return self._invoke(Command(resume=message))

    def _invoke(self, payload: Any) -> Reply:
        self._graph.invoke(payload, self._config, context=self._context, durability="sync")
        return Reply.from_dict(self.values["reply"])

    def _settle(self) -> None:
        """Finish a step a killed process left half done (a render), so the thread waits again."""
        snapshot = self._graph.get_state(self._config)
        if snapshot.next and not any(task.interrupts for task in snapshot.tasks):
            self._graph.invoke(None, self._config, context=self._context, durability="sync")


def _recorded_settings(conn: sqlite3.Connection, thread: str) -> dict[str, Any]:
    """The settings a thread started with, read from its last checkpoint ({} when new)."""
    saver = SqliteSaver(conn)
    found = saver.get_tuple({"configurable": {"thread_id": thread}})
    if found is None:
        return {}
    recorded = found.checkpoint["channel_values"].get("settings", {})
    return dict(recorded) if isinstance(recorded, dict) else {}


def _settings(recorded: dict[str, Any], runs_dir: Path, overrides: dict[str, Any]) -> Settings:
    settings = recorded_settings(recorded, runs_dir, overrides, "thread")
    if settings.panels is not None and not 1 <= settings.panels <= MAX_PANELS:
        raise InputError(f"panels must be between 1 and {MAX_PANELS}, got {settings.panels}")
    return settings
