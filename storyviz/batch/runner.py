"""Running a batch, whatever the engine: which stories are left, the live status, and what the
folder says when it ends (batch.json, index.html, the manifest's status).

A batch interrupted (Ctrl-C, a killed driver) keeps every story's state; ``--resume`` runs the
stories not completed, and each of those resumes its own run.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storyviz.batch.engine import Engine, OnResult
from storyviz.batch.folder import (
    INDEX_FILE,
    SUMMARY_FILE,
    BatchFolder,
    StoryState,
    write_json_atomic,
)
from storyviz.batch.status import BatchStatus, panels_drawn
from storyviz.config import Settings
from storyviz.registry import ROLES


@dataclass
class BatchOutcome:
    batch_id: str
    folder: Path
    status: str
    stories: list[StoryState]
    summary: dict[str, Any]

    @property
    def failed(self) -> list[StoryState]:
        return [s for s in self.stories if s.status != "completed"]

    def as_json(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "folder": str(self.folder),
            "status": self.status,
            "stories": [
                {"key": s.key, "status": s.status, "run_id": s.run_id, "run_dir": s.run_dir,
                 "error": s.error}
                for s in self.stories
            ],
        }  # fmt: skip


def run_batch(
    folder: BatchFolder, settings: Settings, engine: Engine, *, show: bool
) -> BatchOutcome:
    """Draw the batch's stories that are not completed yet; returns when all have ended or the
    batch was interrupted (then with status ``interrupted``)."""
    folder.lock.acquire()
    try:
        manifest = folder.manifest()
        todo = [job for job in manifest.jobs if folder.state(job.key).status != "completed"]
        folder.update_manifest(
            status="running", pid=os.getpid(), engine=engine.name, engine_options=engine.options()
        )
        before = sum(panels_drawn(s) for s in folder.states())
        began = time.monotonic()
        status = "completed"
        with BatchStatus(folder, show) as display:
            try:
                if todo:
                    record = _recorder(folder)
                    engine.run(todo, settings, folder, manifest.vistorybench, record, display.tick)
            except KeyboardInterrupt:
                status = "interrupted"
        seconds = time.monotonic() - began
        states = _settle(folder)
        drawn = sum(panels_drawn(s) for s in states) - before
        summary = _summary(folder, states, status, engine, seconds, drawn)
        write_json_atomic(folder.root / SUMMARY_FILE, summary)
        (folder.root / INDEX_FILE).write_text(_index(folder, summary, states), encoding="utf-8")
        folder.update_manifest(status=status, engine_options=engine.options())
        return BatchOutcome(folder.batch_id, folder.root, status, states, summary)
    finally:
        folder.lock.release()


def _recorder(folder: BatchFolder) -> OnResult:
    """What the driver does with a story's returned state. The worker wrote it to the folder
    already, except where it could not see the folder (a Ray node without the shared disk):
    an ended state the folder does not show yet is written here."""

    def record(result: dict[str, Any]) -> None:
        returned = StoryState.model_validate(result)
        if returned.status in ("pending", "running"):
            return
        if folder.state(returned.key).status in ("pending", "running"):
            folder.write_state(returned)

    return record


def _settle(folder: BatchFolder) -> list[StoryState]:
    """The stories' states once the engine has stopped: one still marked running had its worker
    stopped under it, so it is interrupted (its run says so too)."""
    states = folder.states()
    for state in states:
        if state.status == "running":
            state.status, state.error = "interrupted", "the batch was interrupted"
            folder.write_state(state)
    return states


def _summary(
    folder: BatchFolder,
    states: list[StoryState],
    status: str,
    engine: Engine,
    seconds: float,
    drawn: int,
) -> dict[str, Any]:
    manifest = folder.manifest()
    stats = engine.stats()
    counts = Counter(s.status for s in states)
    return {
        "batch_id": folder.batch_id,
        "folder": str(folder.root),
        "status": status,
        "engine": engine.name,
        "engine_options": engine.options(),
        "engine_stats": stats,
        "model_loads": _model_loads(states, stats),
        "backends": {r: manifest.config.get(r) for r in ROLES},
        "counts": {
            "stories": len(states),
            "completed": counts["completed"],
            "failed": counts["failed"],
            "unfinished": counts["interrupted"] + counts["pending"] + counts["running"],
        },
        "seconds": round(seconds, 3),
        "panels_drawn": drawn,
        "panels_per_second": round(drawn / seconds, 4) if seconds > 0 else 0.0,
        "stories_per_minute": round(counts["completed"] * 60 / seconds, 3) if seconds > 0 else 0.0,
        "vistorybench": manifest.vistorybench.model_dump() if manifest.vistorybench else None,
        "stories": [s.model_dump(mode="json") for s in states],
    }


def _model_loads(states: list[StoryState], engine_stats: dict[str, Any]) -> int | None:
    """Models loaded from disk for this batch: the render actors' loads plus, for stories that
    loaded their own, each process's count (a process keeps its model for its next story, so
    its last count is its total). None when nothing reports a count."""
    per_process: dict[tuple[str | None, int | None], int] = {}
    for state in states:
        if state.model_loads is not None:
            where = (state.host, state.pid)
            per_process[where] = max(per_process.get(where, 0), state.model_loads)
    actors = engine_stats.get("model_loads")
    if actors is None and not per_process:
        return None
    return (actors or 0) + sum(per_process.values())


def _index(folder: BatchFolder, summary: dict[str, Any], states: list[StoryState]) -> str:
    import jinja2

    def link(path: str | None) -> str | None:
        return None if not path else os.path.relpath(path, folder.root)

    stories = [
        {
            "key": s.key,
            "status": s.status,
            "error": s.error,
            "panels": s.panels,
            "consistency": "n/a" if s.consistency_index is None else f"{s.consistency_index:.3f}",
            "attempts": s.attempts,
            "run_id": s.run_id,
            "report": link(s.report),
            "pages": [link(p) for p in s.pages],
        }
        for s in states
    ]
    env = jinja2.Environment(loader=jinja2.PackageLoader("storyviz", "templates"), autoescape=True)
    backends = summary["backends"]
    return env.get_template("batch_index.html.j2").render(
        batch_id=summary["batch_id"],
        status=summary["status"],
        engine=summary["engine"],
        counts=summary["counts"],
        total=len(states),
        panels=summary["panels_drawn"],
        seconds=summary["seconds"],
        panels_per_second=summary["panels_per_second"],
        planner=backends["planner"],
        generator=backends["generator"],
        auditor=backends["auditor"],
        vistorybench=(summary["vistorybench"] or {}).get("out"),
        stories=stories,
    )
