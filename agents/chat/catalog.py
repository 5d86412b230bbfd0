"""The chat threads kept in a runs directory, newest first, as a history list shows them.

Read-only: each thread's last checkpoint is read through its own connection, without taking the
thread's writer lock, so a list can be shown while a session holds a thread (that one is marked
busy) and nothing a reader does can change a thread.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver

from storyviz.agents.chat.threads import CHATS_DIR
from storyviz.writer_lock import holder_pid


@dataclass(frozen=True)
class ThreadSummary:
    name: str
    title: str
    panels: int
    runs: int
    updated: datetime
    busy: bool

    @property
    def label(self) -> str:
        drawn = f"{self.runs} run(s)" if self.runs else "not drawn"
        busy = ", open elsewhere" if self.busy else ""
        when = self.updated.strftime("%Y-%m-%d %H:%M")
        return f"{self.title} ({self.panels} panels, {drawn}{busy}) {when} [{self.name}]"


def list_threads(runs_dir: Path) -> list[ThreadSummary]:
    """Threads that hold a plan; empty or unreadable files are left out."""
    found = []
    folder = Path(runs_dir) / CHATS_DIR
    for path in folder.glob("*.sqlite") if folder.is_dir() else ():
        summary = _summary(path)
        if summary is not None:
            found.append(summary)
    return sorted(found, key=lambda s: s.updated, reverse=True)


def _summary(path: Path) -> ThreadSummary | None:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            saved = SqliteSaver(conn).get_tuple({"configurable": {"thread_id": path.stem}})
        updated = datetime.fromtimestamp(path.stat().st_mtime)
    except (OSError, sqlite3.Error):
        return None
    values = saved.checkpoint["channel_values"] if saved else {}
    plan = values.get("plan")
    if not isinstance(plan, dict):
        return None
    return ThreadSummary(
        name=path.stem,
        title=str(plan.get("title", path.stem)),
        panels=len(plan.get("panels", [])),
        runs=len(values.get("runs", [])),
        updated=updated,
        busy=holder_pid(path.with_suffix(".lock")) is not None,
    )
