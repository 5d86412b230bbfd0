"""What every export reads from a run folder, checked once.

Exports take a finished run as it is on disk: the plan (title, characters, reading order, page
size), the composed pages in reading order, the current version of every panel, and the story
(for summaries). A run that did not complete or has no pages is refused with one line, so no
export ever packages a comic that is still being drawn.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from storyviz.errors import InputError
from storyviz.run_layout import PAGES_DIR
from storyviz.run_reader import RunReader
from storyviz.run_store import MANIFEST_FILE, PLAN_FILE
from storyviz.schemas import RunManifest, StoryPlan

EXPORTS_DIR = "exports"


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
    reader = RunReader(run_dir)
    run_dir = reader.dir
    if not reader.has(MANIFEST_FILE):
        raise InputError(f"{run_dir} is not a run folder (no {MANIFEST_FILE})")
    manifest = reader.need_manifest()
    if manifest.status != "completed":
        raise InputError(
            f"run {manifest.run_id} is {manifest.status}, not completed; finish it first "
            f"(storyviz resume {manifest.run_id})"
        )
    if not reader.has(PLAN_FILE):
        raise InputError(f"run {manifest.run_id} has no {PLAN_FILE}")
    plan = reader.need_plan()
    pages = tuple(reader.pages())
    if not pages:
        raise InputError(f"run {manifest.run_id} has no composed pages in {run_dir / PAGES_DIR}")
    return RunSource(run_dir, manifest, plan, pages, _current_panels(reader, plan))


def _current_panels(reader: RunReader, plan: StoryPlan) -> dict[str, Path]:
    """The current version of each panel that has an image (RunReader.current_panel)."""
    return {
        panel.id: found.path
        for panel in plan.panels
        if (found := reader.current_panel(panel.id)) is not None
    }


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
