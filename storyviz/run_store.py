"""The one writer of run folders.

Every file a run leaves is written here, atomically (temporary file, then rename), so a run that
is killed never leaves a half-written image or JSON file that looks complete. Panel versions are
never overwritten once recorded: a repair is a new version.

Only one process writes a run folder at a time (`Run.lock`, an OS lock that a killed writer
cannot leave behind). Every drawing a generator makes is journalled before its image lands
(`journal/`, see `Run.save_drawing`), so a resumed run takes a drawing that is already complete
on disk instead of asking the generator for it again, whatever the checkpoint had time to record.

Where each file goes is run_layout's; the rest of the project imports the file names from here.
Reading a run folder back is run_reader's (`RunReader`), the run store's one reader.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import threading
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from storyviz.errors import RunNotFoundError, RunStoreError
from storyviz.run_layout import AUDIT_FILE as AUDIT_FILE
from storyviz.run_layout import (
    CHECKPOINT_FILE,
    EVENTS_FILE,
    JOURNAL_DIR,
    LOCK_FILE,
    MANIFEST_FILE,
    PAGE_GLOB,
    PAGES_DIR,
    REPORT_FILE,
    REQUEST_FILE,
    mask_file,
    page_file,
    panel_file,
    reference_file,
)
from storyviz.run_layout import PLAN_FILE as PLAN_FILE
from storyviz.run_reader import RunReader
from storyviz.schemas import RenderRequest, RunEvent, RunManifest, StoryRequest, utc_now
from storyviz.text_checks import without_escape_sequences
from storyviz.writer_lock import WriterLock, holder_pid

if TYPE_CHECKING:
    from PIL.Image import Image

EventListener = Callable[[RunEvent], None]

_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # used with fullmatch

_LEFTOVER = ".*.tmp"  # what _atomic_write_bytes leaves when killed between write and rename


def _slug(text: str, words: int = 5) -> str:
    visible = without_escape_sequences(text)
    ascii_text = unicodedata.normalize("NFKD", visible).encode("ascii", "ignore").decode()
    tokens = re.findall(r"[a-z0-9]+", ascii_text.lower())
    return "-".join(tokens[:words])[:40].strip("-") or "story"


def new_run_id(story: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{_slug(story)}-{secrets.token_hex(2)}"


def drawing_path(request: RenderRequest) -> str:
    """Where the image a request asks for lives in its run folder."""
    if request.kind == "reference":
        return reference_file(request.target_id)
    return panel_file(request.target_id, request.version)


def _journal_path(request: RenderRequest) -> str:
    if request.kind == "reference":
        return f"{JOURNAL_DIR}/reference-{request.target_id}.json"
    return f"{JOURNAL_DIR}/panel-{request.target_id}_v{request.version}.json"


def _png(image: Image) -> bytes:
    from io import BytesIO

    buf = BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Run:
    """One run folder."""

    def __init__(self, run_dir: Path) -> None:
        self.dir = run_dir
        self.run_id = run_dir.name
        self._lock = threading.RLock()
        self._listeners: list[EventListener] = []
        self.writer = WriterLock(run_dir / LOCK_FILE, f"run {self.run_id}")

    # -- one writer ------------------------------------------------------------------------
    def lock(self) -> None:
        """Become the run's one writer, or fail at once naming the process that is."""
        self.writer.acquire()

    def unlock(self) -> None:
        self.writer.release()

    def writer_pid(self) -> int | None:
        """The live process writing this run (0 if it has not said its pid yet), else None."""
        return self.writer_pid_of(self.dir)

    @staticmethod
    def writer_pid_of(run_dir: Path) -> int | None:
        return holder_pid(run_dir / LOCK_FILE)

    def remove_leftovers(self) -> list[Path]:
        """Delete the temporary files of writes a killed writer never finished. Only the lock
        holder may call this: a live writer's temporary files look the same."""
        if not self.writer.held:
            raise RunStoreError(f"run {self.run_id}: leftovers are removed only by its writer")
        removed = []
        for path in self.dir.rglob(_LEFTOVER):
            if path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed

    # -- paths -----------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.dir / CHECKPOINT_FILE

    @property
    def report_path(self) -> Path:
        return self.dir / REPORT_FILE

    def path(self, relative: str) -> Path:
        return self.dir / relative

    # -- generic writers -------------------------------------------------------------------
    def write_text(self, name: str, text: str) -> Path:
        target = self.dir / name
        _atomic_write_bytes(target, text.encode("utf-8"))
        return target

    def write_model(self, name: str, model: BaseModel) -> Path:
        return self.write_text(name, model.model_dump_json(indent=2) + "\n")

    def write_json(self, name: str, data: Any) -> Path:
        return self.write_text(name, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def read_json(self, name: str) -> Any:
        with open(self.dir / name, encoding="utf-8") as fh:
            return json.load(fh)

    def _save_image(self, relative: str, image: Image, *, overwrite: bool) -> str:
        target = self.dir / relative
        if target.exists() and not overwrite:
            raise RunStoreError(f"refusing to overwrite {target}: panel versions are immutable")
        _atomic_write_bytes(target, _png(image))
        return relative

    def save_panel(self, panel_id: str, version: int, image: Image) -> str:
        """Write ``panels/<panel>_v<N>.png`` for a version made elsewhere (a seeded run's)."""
        return self._save_image(panel_file(panel_id, version), image, overwrite=False)

    # -- drawings and their journal --------------------------------------------------------
    def save_drawing(self, request: RenderRequest, image: Image, record: dict[str, Any]) -> str:
        """Write what a generator drew for ``request`` (at `drawing_path`), with its journal
        entry: the request's fingerprint, the image's sha256 and ``record`` (what the graph
        keeps of the drawing). The entry is written first and names the image's hash, so the
        image's own atomic rename is the moment the drawing counts as done: from then on
        `drawn` returns ``record`` and a resume never draws it again. A file already at the
        path was drawn by a process killed before it counted (or for another request), and is
        replaced."""
        relative = drawing_path(request)
        data = _png(image)
        entry = {
            "request": self._fingerprint(request),
            "image": relative,
            "sha256": _sha256(data),
            "record": record,
        }
        self.write_json(_journal_path(request), entry)
        _atomic_write_bytes(self.dir / relative, data)
        return relative

    def drawn(self, request: RenderRequest) -> dict[str, Any] | None:
        """The record of a drawing of exactly this request that is complete in the folder, or
        None: no entry, an entry for another request, or an image missing or not the one the
        entry names (a kill between the entry and the image)."""
        try:
            entry = self.read_json(_journal_path(request))
            if entry["request"] != self._fingerprint(request):
                return None
            data = (self.dir / entry["image"]).read_bytes()
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if _sha256(data) != entry.get("sha256"):
            return None
        record = entry.get("record")
        return record if isinstance(record, dict) else None

    def _fingerprint(self, request: RenderRequest) -> str:
        """A request's identity across processes: its fields, with the repair inputs written
        into this folder named relative to it (a resume may reach the folder by another
        path: another working directory, an absolute --runs-dir)."""
        fields = request.model_dump(mode="json")
        for name in ("init_image", "mask"):
            if fields.get(name):
                fields[name] = self._relative(fields[name])
        return _sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode())

    def _relative(self, path: str) -> str:
        try:
            return Path(path).resolve().relative_to(self.dir.resolve()).as_posix()
        except (ValueError, OSError):
            return path

    def save_mask(self, panel_id: str, version: int, image: Image) -> str:
        """The mask a repair of ``panel_id`` into ``version`` redraws inside."""
        return self._save_image(mask_file(panel_id, version), image, overwrite=True)

    def save_reference(self, character_id: str, image: Image) -> str:
        return self._save_image(reference_file(character_id), image, overwrite=True)

    def save_page(self, index: int, image: Image) -> str:
        return self._save_image(page_file(index), image, overwrite=True)

    def save_pages(self, pages: Sequence[Image]) -> list[str]:
        """Replace the pages with these, numbered from 1. Encoded several at a time: a page is
        a large PNG, and Pillow releases the GIL while it encodes."""
        self.clear_pages()
        workers = max(1, min(4, os.cpu_count() or 1, len(pages)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(self.save_page, range(1, len(pages) + 1), pages))

    def clear_pages(self) -> None:
        pages = self.dir / PAGES_DIR
        if pages.is_dir():
            for old in pages.glob(PAGE_GLOB):
                old.unlink()

    # -- manifest and events ---------------------------------------------------------------
    def manifest(self) -> RunManifest:
        """The manifest as it is on disk now; RunStoreError if it is missing or damaged."""
        return RunReader(self.dir).need_manifest()

    def update_manifest(self, **changes: Any) -> RunManifest:
        with self._lock:
            data = self.manifest().model_dump()
            data.update(changes)
            data["updated_at"] = utc_now()
            manifest = RunManifest.model_validate(data)
            self.write_model(MANIFEST_FILE, manifest)
            return manifest

    def subscribe(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    def emit(self, event: str, step: str = "", **fields: Any) -> RunEvent:
        """Append one line to events.jsonl and tell listeners (the CLI's progress display)."""
        record = RunEvent(event=event, step=step, **fields)
        line = record.model_dump_json(exclude_none=True) + "\n"
        with self._lock:
            with open(self.dir / EVENTS_FILE, "a", encoding="utf-8") as fh:
                fh.write(line)
            for listener in self._listeners:
                listener(record)
        return record

    def notify(self, event: str, step: str = "", **fields: Any) -> None:
        """Tell listeners without writing events.jsonl: for fine-grained progress (denoising
        steps) that a person watches live but nobody needs in the record."""
        record = RunEvent(event=event, step=step, **fields)
        with self._lock:
            for listener in self._listeners:
                listener(record)

    def events(self) -> Iterator[RunEvent]:
        """events.jsonl as it is on disk now, less lines cut short by a kill (RunReader)."""
        return iter(RunReader(self.dir).events())


class RunStore:
    """The runs directory."""

    def __init__(self, runs_dir: Path) -> None:
        self.root = Path(runs_dir)

    def create(self, request: StoryRequest, manifest_fields: dict[str, Any]) -> Run:
        """A new run folder, locked by this process (`Run.unlock` when done) before anything
        is written into it."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            run_id = new_run_id(request.story)
            run_dir = self.root / run_id
            run_dir.mkdir()
            probe = run_dir / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
            run = Run(run_dir)
            run.lock()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise RunStoreError(
                f"cannot write to the runs directory {self.root}: {reason}"
            ) from None
        manifest = RunManifest(run_id=run_id, request=request, pid=os.getpid(), **manifest_fields)
        try:  # the manifest first: it is what makes a folder a run, and it holds the request
            run.write_model(MANIFEST_FILE, manifest)
            run.write_model(REQUEST_FILE, request)
        except OSError as exc:  # a full disk: leave no folder that looks like a run
            run.unlock()
            shutil.rmtree(run_dir, ignore_errors=True)
            reason = exc.strerror or str(exc)
            raise RunStoreError(f"cannot write the run folder {run_dir}: {reason}") from None
        return run

    def open(self, run_id: str) -> Run:
        if not _RUN_ID.fullmatch(run_id or ""):
            raise RunNotFoundError(f"{run_id!r} is not a valid run id")
        run_dir = self.root / run_id
        if not (run_dir / MANIFEST_FILE).is_file():
            hint = " (see `storyviz runs`)" if self.root.is_dir() else ""
            raise RunNotFoundError(f"no run {run_id!r} in {self.root}{hint}")
        return Run(run_dir)

    def list(self) -> list[RunManifest]:
        """Manifests of every run, newest first; folders without a readable manifest are skipped."""
        if not self.root.is_dir():
            return []
        found = [RunReader(child).manifest() for child in self.root.iterdir()]
        return sorted(filter(None, found), key=lambda m: m.created_at, reverse=True)
