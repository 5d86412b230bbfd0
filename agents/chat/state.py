"""A chat session's state (checkpointed), its run-time context (not), and the replies it gives.

The state holds plain JSON data, like the pipeline's, so the SQLite checkpoint reads back the
same in a later process: `storyviz chat --thread NAME` continues where the last session stopped.
A reply is structured (text, plan table, changed panels, run folder) so that a terminal and a
web page can each show it in their own way.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, Literal, TypedDict

from storyviz.agents.context import Backends
from storyviz.config import Settings
from storyviz.schemas import RunEvent

ReplyKind = Literal["plan", "edit", "render", "undo", "info", "error", "help", "bye"]


class Snapshot(TypedDict):
    """What /undo goes back to: a plan and the run folder that drew it (None before approval)."""

    plan: dict[str, Any]
    run_dir: str | None


class ChatState(TypedDict, total=False):
    request: dict[str, Any]  # the StoryRequest the first message made
    settings: dict[str, Any]  # the redacted settings the session started with (for resume)
    plan: dict[str, Any]
    run_dir: str | None  # the run folder showing the current plan, once approved
    history: list[Snapshot]
    runs: list[str]  # every run folder this session made, oldest first
    inbox: dict[str, Any]  # the message being handled
    reply: dict[str, Any]
    messages: Annotated[list[dict[str, str]], operator.add]  # {"role", "text"}, for the recap


@dataclass
class ChatContext:
    """What the nodes use during one call; rebuilt by every process, never checkpointed."""

    settings: Settings
    backends: Backends
    listener: Callable[[RunEvent], None] | None = None


@dataclass
class Reply:
    """One answer of the session.

    `plan` is the plan as table data (tables.plan_table) when the answer shows the plan;
    `changed`/`added`/`removed` name panel ids an edit touched; `run_dir` and `report` point at
    the run folder that now shows the comic; `done` ends the conversation.
    """

    text: str
    kind: ReplyKind = "info"
    plan: dict[str, Any] | None = None
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    run_dir: str | None = None
    report: str | None = None
    image: str | None = None  # /show: the panel image to preview
    done: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        return cls(**data)
