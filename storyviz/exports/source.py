"""What every export reads from a run folder, checked once.

Exports take a finished run as it is on disk: the plan (title, characters, reading order, page
size), the composed pages in reading order, the current version of every panel, and the story
(for summaries). A run that did not complete or has no pages is refused with one line, so no
export ever packages a comic that is still being drawn.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from storyviz.errors import InputError, RunStoreError
from storyviz.run_store import MANIFEST_FILE, PLAN_FILE, panel_files, read_audit
from storyviz.schemas import RunManifest, StoryPlan

EXPORTS_DIR = "exports"
_PAGE_FILE = re.compile(r"page_(\d+)\.png")  # used with fullmatch


@dataclass(frozen=True)
class RunSource:
    """A completed run, ready to export."""

    run_dir: Path
    manifest: RunManifest
    plan: StoryPlan
    pages: tuple[Path, ...]
    """Page images in reading order (page 1 first)."""
    panels: dict[str, Path]
    """Panel id -> the current version's image, for formats that re-flow panels."""

    @property
    def run_id(self) -> str:
        return self.manifest.run_id

    @property
    def title(self) -> str:
        return self.manifest.request.title or self.plan.title

    @property
    def author(self) -> str:
        return "storyviz"

    @property
    def summary(self) -> str:
        """The story as the user told it, on one line."""
        return " ".join(self.manifest.request.story.split())

    @property
    def stem(self) -> str:
        """A file name stem for exports: the run id is unique and already file-safe."""
        return self.run_id

    def panel_order(self) -> list[str]:
        """Panel ids in reading order (page by page, slot by slot)."""
        return [pid for page in self.plan.pages for pid in page.panel_ids]


def load_run(run_dir: Path) -> RunSource:
    """Read and check a run folder; every problem is a one-line InputError/RunStoreError."""
    run_dir = Path(run_dir)
    if not (run_dir / MANIFEST_FILE).is_file():
        raise InputError(f"{run_dir} is not a run folder (no {MANIFEST_FILE})")
    try:
        manifest = RunManifest.model_validate_json((run_dir / MANIFEST_FILE).read_text("utf-8"))
    except ValidationError as exc:
        raise RunStoreError(
            f"{run_dir.name}: {MANIFEST_FILE} is damaged ({exc.errors()[0]['msg']})"
        ) from None
    if manifest.status != "completed":
        raise InputError(
            f"run {manifest.run_id} is {manifest.status}, not completed; finish it first "
            f"(storyviz resume {manifest.run_id})"
        )
    try:
        plan = StoryPlan.model_validate_json((run_dir / PLAN_FILE).read_text("utf-8"))
    except FileNotFoundError:
        raise InputError(f"run {manifest.run_id} has no {PLAN_FILE}") from None
    except ValidationError as exc:
        raise RunStoreError(
            f"run {manifest.run_id}: {PLAN_FILE} is damaged ({exc.errors()[0]['msg']})"
        ) from None
    pages = _page_files(run_dir)
    if not pages:
        raise InputError(f"run {manifest.run_id} has no composed pages in {run_dir / 'pages'}")
    return RunSource(run_dir, manifest, plan, pages, _current_panels(run_dir, plan))


def _page_files(run_dir: Path) -> tuple[Path, ...]:
    folder = run_dir / "pages"
    if not folder.is_dir():
        return ()
    numbered = []
    for child in folder.iterdir():
        match = _PAGE_FILE.fullmatch(child.name)
        if match and child.is_file():
            numbered.append((int(match.group(1)), child))
    return tuple(path for _, path in sorted(numbered))


def _current_panels(run_dir: Path, plan: StoryPlan) -> dict[str, Path]:
    """The current version of each panel per audit.json, else the newest file on disk."""
    audit = read_audit(run_dir)
    found: dict[str, Path] = {}
    for panel in plan.panels:
        path = next((f for _, f in panel_files(run_dir, panel.id, audit) if f.is_file()), None)
        if path is not None:
            found[panel.id] = path
    return found


def output_path(source: RunSource, out: Path | None, suffix: str) -> Path:
    """Where a single-file export goes: `out` if it names a file (it has an extension), inside
    `out` if it is a folder or has no extension, else `run_dir/exports/<run id><suffix>`."""
    if out is None:
        return source.run_dir / EXPORTS_DIR / f"{source.stem}{suffix}"
    out = Path(out)
    if out.is_dir() or not out.suffix:  # a folder, existing or to be made
        return out / f"{source.stem}{suffix}"
    return out


def output_dir(source: RunSource, out: Path | None, name: str) -> Path:
    """Where a many-file export goes: `out` as a folder, or `run_dir/exports/<name>/`."""
    return source.run_dir / EXPORTS_DIR / name if out is None else Path(out)


def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Let `write` fill a temporary file beside `path`, then rename it into place, so a reader
    never sees a half-written export under the final name."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.open("wb").close()  # created as any file is (umask), unlike mkstemp's private 0600
    except OSError as exc:
        raise InputError(f"cannot write to {path.parent}: {exc.strerror or exc}") from None
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path
