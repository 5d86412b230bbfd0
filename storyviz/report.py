"""The run report: one HTML file that explains a run to someone who never saw the tool.

It reads whatever the run folder holds and says plainly what is missing or damaged, so a failed
or interrupted run still gets a report. The file is self-contained (inline CSS, images as small
data: URIs linking to the full-size files by relative path, no scripts, nothing fetched from a
network), so it opens from disk anywhere and can be archived with its run. Story text, dialogue
and every other value from the run are user input: the template autoescapes all of it.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from PIL import Image, UnidentifiedImageError

from storyviz.colors import rgb_of
from storyviz.errors import RunNotFoundError
from storyviz.run_layout import PAGES_DIR, PANELS_DIR
from storyviz.run_reader import Problem, RunReader
from storyviz.run_store import AUDIT_FILE, EVENTS_FILE, MANIFEST_FILE, PLAN_FILE, REQUEST_FILE
from storyviz.schemas import (
    AuditLog,
    AuditRound,
    CharacterSheet,
    Finding,
    PanelSpec,
    PanelVersion,
    RepairAction,
    RunEvent,
    RunManifest,
    StoryPlan,
    StoryRequest,
)

THUMB_LONG_SIDE = 360
PAGE_LONG_SIDE = 720  # pages carry lettering: big enough to read in the report itself

STATUS_COLORS = {
    "completed": "#1f7a3a",
    "running": "#1f5fa8",
    "interrupted": "#a86a00",
    "failed": "#b3261e",
}

# -- reading the run folder ---------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """A file the report wanted and could not use."""

    file: str
    problem: str
    detail: str = ""


@dataclass
class RunFolder:
    """The run folder as the report shows it: what RunReader could use, and a Notice for each
    file it could not."""

    path: Path
    reader: RunReader
    request: StoryRequest | None = None
    plan: StoryPlan | None = None
    manifest: RunManifest | None = None
    audit: AuditLog | None = None
    events: list[RunEvent] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    # Thumbnails are made in parallel between two passes over the views: the first pass records
    # which (path, size) pictures it wants, the second finds them here.
    pictures: dict[tuple[str, int], Picture | None] = field(default_factory=dict)
    wanted: set[tuple[str, int]] = field(default_factory=set)

    def file(self, relative: str) -> Path | None:
        """The file at a run-relative path, or None if it is absent or points outside the run."""
        return self.reader.inside(relative)


# What the report cannot tell when a file is missing.
_MISSING = {
    MANIFEST_FILE: "status, costs and provenance are unknown",
    REQUEST_FILE: "the story request",
    PLAN_FILE: "the run stopped before a plan was written",
    AUDIT_FILE: "no panel was audited (or the audit log was lost)",
    EVENTS_FILE: "no timeline of steps",
}


def _notice(problem: Problem) -> Notice:
    if problem.kind == "missing":
        return Notice(problem.file, "missing", _MISSING.get(problem.file, ""))
    return Notice(problem.file, problem.kind, problem.detail)


def read_run_folder(run_dir: Path) -> RunFolder:
    reader = RunReader(run_dir)
    folder = RunFolder(reader.dir, reader)
    # in this order, which is the order of the notices
    folder.manifest = reader.manifest()
    folder.request = reader.request()  # the manifest's, when request.json is unusable
    folder.plan = reader.plan()
    folder.audit = reader.audit()
    folder.events = reader.events()
    folder.notices = [_notice(problem) for problem in reader.problems()]
    return folder


# -- pictures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Picture:
    """A downscaled copy inline (`src`) linking to the full-size file (`href`, run-relative)."""

    src: str
    href: str
    width: int
    height: int


def _encode_smallest(image: Image.Image) -> tuple[str, bytes]:
    """Flat sketches are smaller as PNG, painted renders as JPEG: keep whichever is smaller."""
    png, jpeg = io.BytesIO(), io.BytesIO()
    image.save(png, format="PNG", compress_level=3)
    image.save(jpeg, format="JPEG", quality=82)
    if len(jpeg.getvalue()) < len(png.getvalue()):
        return "image/jpeg", jpeg.getvalue()
    return "image/png", png.getvalue()


def _picture(folder: RunFolder, relative: str, long_side: int) -> Picture | None:
    """The thumbnail if it was made already; otherwise note that it is wanted."""
    key = (relative, long_side)
    if key in folder.pictures:
        return folder.pictures[key]
    folder.wanted.add(key)
    return None


def _make_pictures(folder: RunFolder) -> None:
    """Decode, shrink and encode every wanted picture, several at a time (Pillow releases the
    GIL while it does so, which halves the report's time on two cores)."""
    keys = sorted(folder.wanted - folder.pictures.keys())
    workers = max(1, min(4, os.cpu_count() or 1, len(keys)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        made = pool.map(lambda key: _make_picture(folder, *key), keys)
        folder.pictures.update(zip(keys, made, strict=True))


def _make_picture(folder: RunFolder, relative: str, long_side: int) -> Picture | None:
    path = folder.file(relative)
    if path is None:
        return None
    try:
        with Image.open(path) as opened:
            # reducing_gap lets Pillow shrink by whole factors first: a page thumbnail in
            # milliseconds instead of a full-resolution Lanczos pass
            opened.thumbnail((long_side, long_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
            image = opened.convert("RGBA")
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
        return None
    flat = Image.new("RGB", image.size, (255, 255, 255))
    flat.paste(image, mask=image.getchannel("A"))
    mime, data = _encode_smallest(flat)
    src = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return Picture(src, relative, flat.width, flat.height)


# -- formatting helpers (also template filters) -------------------------------------------------


def swatch(value: str | None) -> str | None:
    """A CSS colour for a colour word ('red', or 'bright red hair' by its first colour word)."""
    if not value:
        return None
    for candidate in (value, *re.findall(r"[A-Za-z]+", value)):
        try:
            r, g, b = rgb_of(candidate)
        except KeyError:
            continue
        return f"rgb({r}, {g}, {b})"
    return None


def fmt_score(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f} s" if value < 60 else f"{int(value // 60)} min {value % 60:.0f} s"


def fmt_time(value: str | None) -> str:
    if not value:
        return "–"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def fmt_box(box: tuple[float, ...] | None) -> str:
    return "–" if box is None else "[" + ", ".join(f"{v:.2f}" for v in box) + "]"


def fmt_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


# -- the header ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    title: str
    run_id: str
    status: str
    status_color: str
    created_at: str | None
    updated_at: str | None
    consistency_index: float | None
    threshold: float | None
    rounds: int
    panels: int
    findings: int
    repairs: int
    error: str | None

    @property
    def passed(self) -> bool | None:
        if self.consistency_index is None or self.threshold is None:
            return None
        return self.consistency_index >= self.threshold


def _audit_counts(audit: AuditLog | None) -> tuple[int, int, int]:
    """Rounds, distinct findings and repairs as the audit log tells them (no manifest)."""
    if audit is None:
        return 0, 0, 0
    findings = {f.id for r in audit.rounds for a in r.audits.values() for f in a.findings}
    return len(audit.rounds), len(findings), sum(len(r.repairs) for r in audit.rounds)


def _configured_threshold(manifest: RunManifest | None) -> float | None:
    """The threshold the run was configured with, for runs that never wrote an audit log."""
    value = manifest.config.get("threshold") if manifest else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _header(folder: RunFolder) -> Header:
    manifest, plan, audit, request = folder.manifest, folder.plan, folder.audit, folder.request
    title = (plan.title if plan else None) or (request.title if request else None)
    status = manifest.status if manifest else "unknown"
    ci = manifest.consistency_index if manifest else None
    if ci is None and audit is not None:
        ci = audit.consistency_index
    rounds, findings, repairs = _audit_counts(audit)
    if manifest is not None:
        rounds, findings, repairs = manifest.rounds, manifest.findings, manifest.repairs
    panels = manifest.panels if manifest else len(plan.panels) if plan else 0
    return Header(
        title=title or "Untitled story",
        run_id=manifest.run_id if manifest else folder.path.name,
        status=status,
        status_color=STATUS_COLORS.get(status, "#555555"),
        created_at=manifest.created_at if manifest else None,
        updated_at=manifest.updated_at if manifest else None,
        consistency_index=ci,
        threshold=audit.threshold if audit else _configured_threshold(manifest),
        rounds=rounds,
        panels=panels,
        findings=findings,
        repairs=repairs,
        error=manifest.error if manifest else None,
    )


# -- pages and characters -----------------------------------------------------------------------


def _pages(folder: RunFolder) -> list[Picture | str]:
    """Each composed page as a picture, or its file name when it cannot be read."""
    found: list[Picture | str] = []
    for path in folder.reader.pages():
        relative = f"{PAGES_DIR}/{path.name}"
        found.append(_picture(folder, relative, PAGE_LONG_SIDE) or relative)
    return found


ASSIGNED_NOTE = "(assigned, not in the story)"


def _marked(text: str | None, assigned: bool) -> str | None:
    return f"{text} {ASSIGNED_NOTE}" if text and assigned else text


@dataclass(frozen=True)
class CharacterView:
    sheet: CharacterSheet
    attributes: list[tuple[str, str]]
    colors: list[tuple[str, str, str | None, bool]]
    """Part, colour word, swatch CSS, and whether the planner assigned it (the story states no
    colour for that part), so a reader does not take an invented colour for the story's."""
    reference: Picture | None
    reference_path: str


def _characters(folder: RunFolder) -> list[CharacterView]:
    if folder.plan is None:
        return []
    views = []
    for sheet in folder.plan.characters:
        attrs = sheet.attributes
        rows = [
            ("species", attrs.species),
            ("age", attrs.age),
            ("hair", attrs.hair),
            ("eyes", attrs.eyes),
            ("skin", _marked(attrs.skin, "fur" in attrs.assigned_colors)),
            ("outfit", _marked(attrs.outfit, "outfit" in attrs.assigned_colors)),
            ("accessories", ", ".join(attrs.accessories)),
        ]
        reference_path = folder.reader.reference_name(sheet.id)
        views.append(
            CharacterView(
                sheet=sheet,
                attributes=[(name, value) for name, value in rows if value],
                colors=[
                    (part, word, swatch(word), part in attrs.assigned_colors)
                    for part, word in attrs.colors.items()
                ],
                reference=_picture(folder, reference_path, THUMB_LONG_SIDE),
                reference_path=reference_path,
            )
        )
    return views


# -- the Consistency Index per round ------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """An inline SVG line chart of the CI per round on a 0..1 axis, laid out here, drawn there."""

    width: int
    height: int
    left: int
    right: int
    points: list[tuple[float, float, int, float]]  # x, y, round, CI
    ticks: list[tuple[float, str]]  # y, label
    threshold: float | None
    threshold_y: float | None

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in self.points)


def _chart(rounds: list[AuditRound], threshold: float | None) -> Chart | None:
    if not rounds:
        return None
    width, height, left, right, top, bottom = 520, 180, 44, 500, 16, 150

    def y_of(value: float) -> float:
        return round(bottom - min(1.0, max(0.0, value)) * (bottom - top), 1)

    span = max(1, len(rounds) - 1)
    points = [
        (
            round(left + (right - left) * (i / span if len(rounds) > 1 else 0.5), 1),
            y_of(r.consistency_index),
            r.round,
            r.consistency_index,
        )
        for i, r in enumerate(rounds)
    ]
    ticks = [(y_of(v), f"{v:.1f}") for v in (0.0, 0.5, 1.0)]
    threshold_y = y_of(threshold) if threshold is not None else None
    return Chart(width, height, left, right, points, ticks, threshold, threshold_y)


# -- panels, versions, findings, repairs --------------------------------------------------------


@dataclass(frozen=True)
class VersionView:
    version: int
    path: str
    picture: Picture | None
    current: bool
    record: PanelVersion | None
    chosen: bool = False  # a person picked it (chat /use, the studio)


@dataclass(frozen=True)
class RepairView:
    action: RepairAction
    to_version: int | None
    to_score: float | None


@dataclass(frozen=True)
class FindingView:
    finding: Finding
    round: int | None
    version: int | None
    character: str | None
    expected_swatch: str | None
    observed_swatch: str | None
    repair: RepairView | None


@dataclass(frozen=True)
class PanelView:
    panel_id: str
    spec: PanelSpec | None
    cast: list[tuple[str, str, str, str]]  # name, box, action, expression
    dialogue: list[tuple[str, str, str]]  # speaker, kind, text
    versions: list[VersionView]
    findings: list[FindingView]
    round_scores: list[tuple[int, float]]


def _character_name(plan: StoryPlan | None, character_id: str | None) -> str | None:
    if character_id is None:
        return None
    if plan is not None:
        try:
            return plan.character(character_id).name
        except KeyError:
            pass
    return character_id


def _versions(folder: RunFolder, panel_id: str) -> list[VersionView]:
    audit = folder.audit
    records = {v.version: v for v in audit.versions.get(panel_id, [])} if audit else {}
    # the renders on disk, for runs whose audit log does not list them all
    on_disk = folder.reader.panel_versions(panel_id)
    paths = {number: f"{PANELS_DIR}/{path.name}" for number, path in on_disk.items()}
    paths.update({number: record.path for number, record in records.items()})
    current = audit.current.get(panel_id) if audit else None
    return [
        VersionView(
            version=number,
            path=paths[number],
            picture=_picture(folder, paths[number], THUMB_LONG_SIDE),
            current=number == current,
            record=records.get(number),
            chosen=audit is not None and audit.chosen.get(panel_id) == number,
        )
        for number in sorted(paths)
    ]


def _repairs_by_finding(audit: AuditLog, panel_id: str) -> dict[str, RepairView]:
    """Which repair answered each finding: the version it produced names it, or a round does."""
    answered: dict[str, RepairView] = {}
    for record in audit.versions.get(panel_id, []):
        if record.repair is not None:
            for finding_id in record.repair.finding_ids:
                answered[finding_id] = RepairView(record.repair, record.version, record.score)
    scores = {v.version: v.score for v in audit.versions.get(panel_id, [])}
    for audit_round in audit.rounds:
        for action in audit_round.repairs:
            if action.panel_id != panel_id:
                continue
            for finding_id in action.finding_ids:
                answered.setdefault(
                    finding_id,
                    RepairView(action, action.to_version, scores.get(action.to_version or -1)),
                )
    return answered


def _findings(folder: RunFolder, panel_id: str) -> list[FindingView]:
    audit = folder.audit
    if audit is None:
        return []
    repairs = _repairs_by_finding(audit, panel_id)
    seen: set[str] = set()
    found: list[tuple[Finding, int | None, int | None]] = []
    for audit_round in audit.rounds:
        panel_audit = audit_round.audits.get(panel_id)
        if panel_audit is None:
            continue
        for finding in panel_audit.findings:
            if finding.id not in seen:
                seen.add(finding.id)
                found.append((finding, audit_round.round, panel_audit.version))
    for record in audit.versions.get(panel_id, []):
        for finding in record.findings:
            if finding.id not in seen:
                seen.add(finding.id)
                found.append((finding, None, record.version))
    return [
        FindingView(
            finding=finding,
            round=round_number,
            version=version,
            character=_character_name(folder.plan, finding.character_id),
            expected_swatch=swatch(finding.expected),
            observed_swatch=swatch(finding.observed),
            repair=repairs.get(finding.id),
        )
        for finding, round_number, version in found
    ]


def _panel_ids(folder: RunFolder) -> list[str]:
    ids = [panel.id for panel in folder.plan.panels] if folder.plan else []
    if folder.audit is not None:
        ids += [pid for pid in folder.audit.versions if pid not in ids]
    return ids


def _panels(folder: RunFolder) -> list[PanelView]:
    plan, audit = folder.plan, folder.audit
    views = []
    for panel_id in _panel_ids(folder):
        spec = None
        if plan is not None:
            try:
                spec = plan.panel(panel_id)
            except KeyError:
                spec = None
        cast = [
            (_character_name(plan, m.character_id) or "", fmt_box(m.box), m.action, m.expression)
            for m in (spec.cast if spec else [])
        ]
        dialogue = [
            (_character_name(plan, line.speaker_id) or "(narrator)", str(line.kind), line.text)
            for line in (spec.dialogue if spec else [])
        ]
        round_scores = [
            (r.round, r.panel_scores[panel_id])
            for r in (audit.rounds if audit else [])
            if panel_id in r.panel_scores
        ]
        views.append(
            PanelView(
                panel_id=panel_id,
                spec=spec,
                cast=cast,
                dialogue=dialogue,
                versions=_versions(folder, panel_id),
                findings=_findings(folder, panel_id),
                round_scores=round_scores,
            )
        )
    return views


# -- costs and timings --------------------------------------------------------------------------


@dataclass(frozen=True)
class EventSummary:
    event: str
    count: int
    seconds: float


def _event_summary(events: list[RunEvent]) -> list[EventSummary]:
    counts: dict[str, int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    for event in events:
        counts[event.event] += 1
        seconds[event.event] += event.seconds or 0.0
    return [EventSummary(name, counts[name], seconds[name]) for name in counts]


# -- rendering ----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("storyviz", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        score=fmt_score, seconds=fmt_seconds, time=fmt_time, box=fmt_box, pretty_json=fmt_json
    )
    return env


def build_report(run_dir: Path) -> str:
    """The report for one run folder as a single HTML document (the caller writes it)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunNotFoundError(f"no run folder at {run_dir}")
    folder = read_run_folder(run_dir)
    views = _views(folder)
    if folder.wanted:
        _make_pictures(folder)
        views = _views(folder)
    return _environment().get_template("report.html.j2").render(**views)


def _views(folder: RunFolder) -> dict[str, Any]:
    """Everything the template shows, derived from the folder."""
    header = _header(folder)
    rounds = folder.audit.rounds if folder.audit else []
    return dict(
        header=header,
        notices=folder.notices,
        request=folder.request,
        plan=folder.plan,
        manifest=folder.manifest,
        audit=folder.audit,
        pages=_pages(folder),
        characters=_characters(folder),
        rounds=rounds,
        chart=_chart(rounds, header.threshold),
        panels=_panels(folder),
        events=folder.events,
        event_summary=_event_summary(folder.events),
    )
