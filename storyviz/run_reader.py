"""Reading a run folder back: the one reader every part of storyviz uses.

The report, the exports, `storyviz eval`, the chat and the run store itself each used to read run
folders with their own file names, patterns and fallbacks, so one damaged file was a notice in
one, a traceback in another and silently skipped in a third. `RunReader` knows the layout
(run_layout) and fails in one way:

* ``manifest``, ``request``, ``plan``, ``audit`` and ``events`` return None (or no events) for a
  file that is missing or cannot be used, and record a `Problem` saying which and why, for
  readers that show what they can (the report, run lists);
* ``need_manifest``, ``need_plan`` and ``need_audit`` raise RunStoreError with one line instead,
  for readers that cannot go on without the file. A caller with a better word for a file that
  is simply not there yet (exports, eval: "finish the run first") asks `has` before.

Each JSON file is read at most once per reader, so a reader is a snapshot: make a new one to see
what a live writer wrote since. Images are located, never opened: whether a PNG decodes is the
caller's business (eval skips a broken one, the report shows its name). A reader takes no lock;
one that must not see a half-drawn run checks `Run.writer.check_free()` first (the chat does).

    reader = RunReader(run_dir)
    plan = reader.need_plan()                    # or reader.plan(), then reader.problems()
    for panel in plan.panels:
        shown = reader.current_panel(panel.id)   # PanelFile(version, path), or None
    pages = reader.pages()                       # page_01.png ... page_10.png, in order
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError

from storyviz.errors import RunStoreError
from storyviz.run_layout import (
    AUDIT_FILE,
    EVENTS_FILE,
    MANIFEST_FILE,
    PAGES_DIR,
    PANELS_DIR,
    PLAN_FILE,
    REPORT_FILE,
    REQUEST_FILE,
    page_number,
    panel_version,
    reference_file,
)
from storyviz.schemas import AuditLog, RunEvent, RunManifest, StoryPlan, StoryRequest
from storyviz.validation_errors import place_and_message

ModelT = TypeVar("ModelT", bound=BaseModel)

_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")  # used with match: "https:", "file:", "C:"
_NEWLINE = re.compile(r"\r\n|\r|\n")  # what a text-mode file splits lines on, and only that


@dataclass(frozen=True)
class Problem:
    """Why a file of the run could not be used."""

    file: str
    """Its run-relative name (``audit.json``)."""
    kind: Literal["missing", "malformed", "unreadable"]
    reason: str = ""
    """One line: pydantic's complaint, the system's error, or how many lines were skipped."""
    where: str = ""
    """For a malformed document, the field that failed (``rounds.0.round``, ``document``)."""

    @property
    def detail(self) -> str:
        """Where and why, for a person reading a report."""
        return f"{self.where}: {self.reason}" if self.where else self.reason

    def message(self, run_id: str) -> str:
        """The one line a reader that needed the file fails with."""
        if self.kind == "missing":
            return f"run {run_id} has no {self.file}"
        if self.kind == "malformed":
            return f"run {run_id}: {self.file} is damaged ({self.reason})"
        return f"run {run_id}: cannot read {self.file} ({self.reason})"


class PanelFile(NamedTuple):
    """One image of a panel on disk (or where audit.json says it is)."""

    version: int
    path: Path


class RunReader:
    """One run folder, read-only. ``run_id`` is the folder's name, as `Run`'s is."""

    def __init__(self, run_dir: Path | str) -> None:
        self.dir = Path(run_dir)
        self.run_id = self.dir.name
        self._models: dict[str, BaseModel | None] = {}
        self._events: list[RunEvent] | None = None
        self._problems: dict[str, Problem] = {}

    # -- the JSON files ------------------------------------------------------------------------
    def manifest(self) -> RunManifest | None:
        return self._model(MANIFEST_FILE, RunManifest)

    def request(self) -> StoryRequest | None:
        """request.json, else the request the manifest holds (written with it, first)."""
        request = self._model(REQUEST_FILE, StoryRequest)
        if request is None and (manifest := self.manifest()) is not None:
            return manifest.request
        return request

    def plan(self) -> StoryPlan | None:
        return self._model(PLAN_FILE, StoryPlan)

    def audit(self) -> AuditLog | None:
        return self._model(AUDIT_FILE, AuditLog)

    def need_manifest(self) -> RunManifest:
        return self._need(self.manifest(), MANIFEST_FILE)

    def need_plan(self) -> StoryPlan:
        return self._need(self.plan(), PLAN_FILE)

    def need_audit(self) -> AuditLog:
        return self._need(self.audit(), AUDIT_FILE)

    def events(self) -> list[RunEvent]:
        """events.jsonl in order. A line that cannot be read (one cut short by a kill) is
        skipped and counted in the file's Problem; the rest of the log still counts."""
        if self._events is None:
            self._events = self._read_events()
        return self._events

    def has(self, name: str) -> bool:
        """Whether the run-relative file ``name`` is there (read or not)."""
        return (self.dir / name).is_file()

    def problems(self) -> list[Problem]:
        """What the reads so far could not use, in the order they were read."""
        return list(self._problems.values())

    def problem(self, name: str) -> Problem | None:
        """Why the file ``name`` read as None (after reading it), or None if it did not."""
        return self._problems.get(name)

    # -- images --------------------------------------------------------------------------------
    def pages(self) -> list[Path]:
        """The composed pages in reading order (page_2 before page_10)."""
        numbered = []
        for child in self._listing(PAGES_DIR):
            number = page_number(child.name)
            if number is not None and child.is_file():
                numbered.append((number, child))
        return [path for _, path in sorted(numbered)]

    def panel_versions(self, panel_id: str) -> dict[int, Path]:
        """Every version of a panel with an image on disk, oldest first (whatever the audit
        log says: a run killed before its audit still has them)."""
        found: dict[int, Path] = {}
        for child in sorted(self._listing(PANELS_DIR)):
            version = panel_version(child.name, panel_id)
            if version is not None:
                found[version] = child
        return dict(sorted(found.items()))

    def panel_candidates(self, panel_id: str) -> list[PanelFile]:
        """Where a panel's current image may be, best first: the version audit.json calls
        current, then every version on disk, newest first. A reader takes the first it can
        use (`current_panel`: the first that exists), so a run whose audit was never written
        still shows its panels."""
        found: list[PanelFile] = []
        audit = self.audit()
        if audit is not None and panel_id in audit.current:
            number = audit.current[panel_id]
            found += [PanelFile(number, self.dir / v.path) for v in audit.versions.get(panel_id, [])
                      if v.version == number]  # fmt: skip
        on_disk = sorted(self.panel_versions(panel_id).items(), reverse=True)
        return found + [PanelFile(number, path) for number, path in on_disk]

    def current_panel(self, panel_id: str) -> PanelFile | None:
        """The panel's current image that is on disk, or None if it has none."""
        return next((f for f in self.panel_candidates(panel_id) if f.path.is_file()), None)

    def reference_name(self, character_id: str) -> str:
        """A character's reference image, run-relative: where audit.json records it, else where
        a run puts it."""
        audit = self.audit()
        recorded = audit.references if audit is not None else {}
        return recorded.get(character_id, reference_file(character_id))

    def reference(self, character_id: str) -> Path:
        return self.dir / self.reference_name(character_id)

    @property
    def report_path(self) -> Path:
        return self.dir / REPORT_FILE

    def inside(self, relative: str) -> Path | None:
        """The file a run-relative path (as audit.json records one) names, or None if it is
        absent, a URL or outside the run folder: for readers that must not follow a damaged or
        hostile record anywhere else (the report, which links and inlines what it finds)."""
        if not relative or _URL.match(relative):
            return None
        root = self.dir.resolve()
        candidate = (root / relative).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
        return candidate

    # -- reading -------------------------------------------------------------------------------
    def _model(self, name: str, model: type[ModelT]) -> ModelT | None:
        if name not in self._models:
            self._models[name] = self._read_model(name, model)
        found = self._models[name]
        return found if isinstance(found, model) else None

    def _read_model(self, name: str, model: type[ModelT]) -> ModelT | None:
        path = self.dir / name
        if not path.is_file():
            self._fail(Problem(name, "missing"))
            return None
        try:
            return model.model_validate_json(path.read_bytes())
        except ValidationError as exc:
            where, reason = place_and_message(exc.errors(include_url=False)[0], "document")
            self._fail(Problem(name, "malformed", reason, where))
        except OSError as exc:
            self._fail(Problem(name, "unreadable", exc.strerror or str(exc)))
        return None

    def _read_events(self) -> list[RunEvent]:
        path = self.dir / EVENTS_FILE
        if not path.is_file():
            self._fail(Problem(EVENTS_FILE, "missing"))
            return []
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            self._fail(Problem(EVENTS_FILE, "unreadable", exc.strerror or str(exc)))
            return []
        events: list[RunEvent] = []
        bad = 0
        for line in _NEWLINE.split(text):
            if not line.strip():
                continue
            try:
                events.append(RunEvent.model_validate_json(line))
            except ValidationError:
                bad += 1
        if bad:
            skipped = f"{bad} line(s) could not be read and are skipped"
            self._fail(Problem(EVENTS_FILE, "malformed", skipped))
        return events

    def _fail(self, problem: Problem) -> None:
        self._problems[problem.file] = problem

    def _need(self, found: ModelT | None, name: str) -> ModelT:
        if found is not None:
            return found
        problem = self.problem(name) or Problem(name, "missing")
        raise RunStoreError(problem.message(self.run_id))

    def _listing(self, folder: str) -> Iterator[Path]:
        try:
            yield from (self.dir / folder).iterdir()
        except OSError:  # no such folder yet (or not a folder): nothing in it
            return
