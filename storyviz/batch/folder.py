"""A batch folder, ``<runs_dir>/batches/<batch_id>/``: what it holds and who may write it.

- ``manifest.json``: the batch's stories (jobs), engine, settings (secrets masked), ViStoryBench
  output options, and its status; written by the driver, atomically.
- ``stories/<key>.json``: each story's state (run id, status, attempts, error), written by the
  worker that draws it, atomically. These files and the run folders they point to are the source
  of truth: a retried task, a resumed batch and the live status all read them.
- ``batch.json`` and ``index.html``: the summary and the page linking every story's report and
  pages, written when the batch ends (also when it ends interrupted).
- ``vistorybench/``: the benchmark's output tree, for a batch over ViStoryBench (default ``--out``).

The run folders themselves are ordinary runs in the runs directory, so ``storyviz resume``,
``report``, ``export`` and ``eval`` work on each one.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from storyviz.batch.jobs import StoryJob
from storyviz.errors import InputError, RunStoreError
from storyviz.writer_lock import WriterLock

BATCHES_DIR = "batches"
MANIFEST_FILE = "manifest.json"
SUMMARY_FILE = "batch.json"
INDEX_FILE = "index.html"

StoryStatus = Literal["pending", "running", "completed", "failed", "interrupted"]
BatchStatus = Literal["running", "completed", "interrupted", "failed"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class VistoryOutput(BaseModel):
    """Where a ViStoryBench batch writes the benchmark's tree, and under which names."""

    out: str
    method: str = "storyviz"
    mode: str = "base"
    stamp: str  # YYYYMMDD-HHMMSS, one for the whole batch


class BatchManifest(BaseModel):
    batch_id: str
    created_at: str = Field(default_factory=_now)
    status: BatchStatus = "running"
    engine: str
    engine_options: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)  # Settings.redacted()
    jobs: list[StoryJob]
    vistorybench: VistoryOutput | None = None
    pid: int | None = None


class StoryState(BaseModel):
    key: str
    status: StoryStatus = "pending"
    run_id: str | None = None
    run_dir: str | None = None
    attempts: int = 0
    error: str | None = None
    notes: list[str] = Field(default_factory=list)  # the import's warnings (ViStoryBench)
    panels: int = 0
    consistency_index: float | None = None
    report: str | None = None
    pages: list[str] = Field(default_factory=list)
    exported: list[str] = Field(default_factory=list)
    seconds: float = 0.0
    # Models the story's process had loaded from disk when it ended (that process's count, so
    # with ``host`` and ``pid`` it gives the batch's loads); None where the generator loads
    # none here (sketch, an API, the Ray engine's render actors).
    model_loads: int | None = None
    started_at: str | None = None
    finished_at: str | None = None
    host: str | None = None
    pid: int | None = None


def new_batch_id(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-batch-{secrets.token_hex(2)}"


def stamp_of(batch_id: str) -> str:
    return batch_id[:15]


def write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class BatchFolder:
    """One batch's folder; the driver holds its lock while the batch runs."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.batch_id = self.root.name
        self.lock = WriterLock(self.root / ".lock", f"batch {self.batch_id}")

    @staticmethod
    def create(runs_dir: Path, manifest: BatchManifest) -> BatchFolder:
        root = Path(runs_dir) / BATCHES_DIR / manifest.batch_id
        try:
            root.mkdir(parents=True)
            (root / "stories").mkdir()
        except OSError as exc:
            raise RunStoreError(
                f"cannot write the batch folder {root}: {exc.strerror or exc}"
            ) from None
        folder = BatchFolder(root)
        folder.lock.acquire()
        folder.write_manifest(manifest)
        return folder

    @staticmethod
    def open(runs_dir: Path, batch_id: str) -> BatchFolder:
        root = Path(runs_dir) / BATCHES_DIR / batch_id
        if "/" in batch_id or batch_id in ("", ".", "..") or not (root / MANIFEST_FILE).is_file():
            raise InputError(f"no batch {batch_id!r} in {Path(runs_dir) / BATCHES_DIR}")
        return BatchFolder(root)

    def manifest(self) -> BatchManifest:
        try:
            return BatchManifest.model_validate_json((self.root / MANIFEST_FILE).read_bytes())
        except (OSError, ValueError) as exc:
            raise InputError(f"batch {self.batch_id}: unreadable manifest.json ({exc})") from None

    def write_manifest(self, manifest: BatchManifest) -> None:
        write_json_atomic(self.root / MANIFEST_FILE, manifest.model_dump(mode="json"))

    def update_manifest(self, **changes: Any) -> BatchManifest:
        manifest = self.manifest().model_copy(update=changes)
        self.write_manifest(manifest)
        return manifest

    def state_path(self, key: str) -> Path:
        return self.root / "stories" / f"{key}.json"

    def state(self, key: str) -> StoryState:
        path = self.state_path(key)
        try:
            return StoryState.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            return StoryState(key=key)
        except ValueError:  # never half-written (atomic), but a hand edit may break it
            return StoryState(key=key, error=f"unreadable {path.name}")

    def write_state(self, state: StoryState) -> None:
        write_json_atomic(self.state_path(state.key), state.model_dump(mode="json"))

    def states(self) -> list[StoryState]:
        return [self.state(job.key) for job in self.manifest().jobs]
