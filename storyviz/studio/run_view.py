"""What a run folder shows in the page: references, panels, findings, rounds, pages.

Paths only, no pixels: the page serves the files from the runs directory. A run folder that is
being drawn is read through its events (`DrawingProgress`); a finished one through its
audit.json (`RunView.read`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from storyviz.colors import rgb_of
from storyviz.errors import StoryvizError
from storyviz.run_layout import PAGE_GLOB, page_number, panel_file, reference_file
from storyviz.run_reader import RunReader
from storyviz.run_store import REPORT_FILE
from storyviz.schemas import AuditLog, Finding, PanelVersion, RunEvent, StoryPlan

Picture = tuple[str, str]
"""(image path, caption), what a gallery shows."""
PixelBox = tuple[int, int, int, int]
MARK_COLOUR = "#b3261e"  # a finding whose expected colour is not a colour word


@dataclass(frozen=True)
class Mark:
    """One finding as a box on its picture: the region it names and what was wrong there."""

    region: tuple[float, float, float, float]  # normalised x0, y0, x1, y1
    label: str
    colour: str  # the expected colour, so the box shows what should be there


@dataclass(frozen=True)
class FlaggedVersion:
    """A panel version with findings, as the page draws it: the picture and its marks."""

    path: str
    label: str
    marks: list[Mark] = field(default_factory=list)

    def annotated(self) -> tuple[str, list[tuple[PixelBox, str]]]:
        """The picture with its boxes in pixels, as an annotated image wants them; only the
        picture's header is read for its size."""
        from PIL import Image

        with Image.open(self.path) as image:
            width, height = image.size
        boxes = [
            (
                (
                    round(m.region[0] * width),
                    round(m.region[1] * height),
                    round(m.region[2] * width),
                    round(m.region[3] * height),
                ),
                m.label,
            )
            for m in self.marks
        ]
        return self.path, boxes

    def colours(self) -> dict[str, str]:
        return {m.label: m.colour for m in self.marks}


@dataclass(frozen=True)
class VersionChoice:
    """One drawn version of a panel, as the page offers it for picking."""

    number: int
    path: str
    label: str  # "v2 · score 0.81 · shown"
    shown: bool = False  # the version the comic shows


FINDING_COLUMNS = [
    "panel",
    "version",
    "score",
    "severity",
    "character",
    "what",
    "expected",
    "observed",
    "repair",
]
ROUND_COLUMNS = ["round", "consistency index", "flagged", "repairs"]


@dataclass
class RunView:
    run_dir: Path | None = None
    references: list[Picture] = field(default_factory=list)
    panels: list[Picture] = field(default_factory=list)
    panel_ids: list[str] = field(default_factory=list)  # the panel each picture shows
    pages: list[Picture] = field(default_factory=list)
    findings: list[list[str]] = field(default_factory=list)
    rounds: list[list[str]] = field(default_factory=list)
    flagged: list[FlaggedVersion] = field(default_factory=list)  # versions with findings
    versions: dict[str, list[VersionChoice]] = field(default_factory=dict)  # panel id -> drawn
    consistency_index: float | None = None

    @property
    def report(self) -> Path | None:
        return self.run_dir / REPORT_FILE if self.run_dir else None

    @classmethod
    def read(cls, run_dir: str | Path | None) -> RunView:
        """A finished run; a folder that is gone or unreadable shows nothing rather than fail."""
        if not run_dir:
            return cls()
        folder = Path(run_dir).resolve()
        reader = RunReader(folder)
        try:
            plan, audit = reader.need_plan(), reader.need_audit()
        except StoryvizError:
            return cls(run_dir=folder)
        names = {c.id: c.name for c in plan.characters}
        view = cls(run_dir=folder, consistency_index=audit.consistency_index)
        view.references = [
            (str(folder / path), names.get(cid, cid))
            for cid, path in audit.references.items()
            if (folder / path).is_file()
        ]
        for n, spec in enumerate(plan.panels, start=1):
            version = _current(audit, spec.id)
            if version is not None and (folder / version.path).is_file():
                view.panels.append((str(folder / version.path), _caption(n, spec.id, version)))
                view.panel_ids.append(spec.id)
        view.pages = [
            (str(path), f"page {page_number(path.name)}")
            for path in sorted(folder.glob(f"pages/{PAGE_GLOB}"))
        ]
        view.findings, view.flagged = _findings(folder, plan, audit, names)
        view.versions = {
            spec.id: _choices(folder, audit, spec.id)
            for spec in plan.panels
            if audit.versions.get(spec.id)
        }
        view.rounds = [
            [
                str(r.round),
                f"{r.consistency_index:.3f}",
                ", ".join(r.flagged) or "-",
                str(len(r.repairs)),
            ]
            for r in audit.rounds
        ]
        return view


def _current(audit: AuditLog, panel_id: str) -> PanelVersion | None:
    number = audit.current.get(panel_id)
    return next((v for v in audit.versions.get(panel_id, []) if v.version == number), None)


def _caption(n: int, panel_id: str, version: PanelVersion) -> str:
    score = "" if version.score is None else f", score {version.score:.2f}"
    return f"{n}. {panel_id} v{version.version}{score}"


def _choices(folder: Path, audit: AuditLog, panel_id: str) -> list[VersionChoice]:
    shown, picked = audit.current.get(panel_id), audit.chosen.get(panel_id)
    choices = []
    for v in audit.versions.get(panel_id, []):
        if not (folder / v.path).is_file():
            continue
        words = [f"v{v.version}"]
        words.append("unscored" if v.score is None else f"score {v.score:.2f}")
        if v.repair is not None:
            words.append(f"{v.repair.strategy} of v{v.repair.from_version}")
        if v.version == shown:
            words.append("picked, shown" if v.version == picked else "shown")
        path = str(folder / v.path)
        choices.append(VersionChoice(v.version, path, " · ".join(words), v.version == shown))
    return choices


def _mark(finding: Finding, who: str) -> Mark | None:
    if finding.region is None:
        return None
    what = finding.attribute or finding.kind
    said = [f"{who} {what}".strip()]
    if finding.expected:
        said.append(f"expected {finding.expected}")
    if finding.observed:
        said.append(f"saw {finding.observed}")
    try:
        r, g, b = rgb_of((finding.expected or "").split(" ")[0])
        colour = f"#{int(r):02x}{int(g):02x}{int(b):02x}"
    except KeyError:
        colour = MARK_COLOUR
    x0, y0, x1, y1 = finding.region
    return Mark((x0, y0, x1, y1), f"{finding.id}: " + ", ".join(said), colour)


def _findings(
    folder: Path, plan: StoryPlan, audit: AuditLog, names: dict[str, str]
) -> tuple[list[list[str]], list[FlaggedVersion]]:
    """Every version's findings, each with the repair that answered it (the next version whose
    repair names the finding), and the versions that had findings, with their boxes."""
    rows: list[list[str]] = []
    flagged: list[FlaggedVersion] = []
    order = {p.id: n for n, p in enumerate(plan.panels, start=1)}
    for panel_id, versions in audit.versions.items():
        answered = {
            fid: f"v{v.version} {v.repair.strategy}"
            for v in versions
            if v.repair is not None
            for fid in v.repair.finding_ids
        }
        for v in versions:
            for f in v.findings:
                who = names.get(f.character_id or "", f.character_id or "")
                what = f.attribute or f.kind
                rows.append(
                    [
                        f"{order.get(panel_id, '?')} ({panel_id})",
                        f"v{v.version}",
                        "" if v.score is None else f"{v.score:.3f}",
                        f.severity,
                        who,
                        what,
                        f.expected or "",
                        f.observed or "",
                        answered.get(f.id, "-"),
                    ]
                )
            image = folder / v.path
            if v.findings and image.is_file():
                n = order.get(panel_id, "?")
                marks = [
                    mark
                    for f in v.findings
                    if (mark := _mark(f, names.get(f.character_id or "", ""))) is not None
                ]
                count = f"{len(v.findings)} finding{'s' if len(v.findings) != 1 else ''}"
                label = f"{n}. {panel_id} v{v.version} ({count})"
                flagged.append(FlaggedVersion(str(image), label, marks))
    return rows, flagged


@dataclass
class DrawingProgress:
    """A drawing as its events arrive: the pictures so far and one line saying where it is."""

    runs_dir: Path
    plan: StoryPlan | None
    before: RunView = field(default_factory=RunView)
    run_dir: Path | None = None
    line: str = "starting"
    references: dict[str, Picture] = field(default_factory=dict)
    panels: dict[str, Picture] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The panels the last drawing showed stay on screen until their new version lands.
        for panel_id, picture in zip(self.before.panel_ids, self.before.panels, strict=True):
            self.panels[panel_id] = picture

    def take(self, event: RunEvent) -> bool:
        """Fold one event in; True when the pictures changed."""
        d = event.detail
        if event.event == "started":
            self.run_dir = (self.runs_dir / str(d.get("run_id", ""))).resolve()
            self.line = f"drawing in {self.run_dir.name}"
            return False
        if self.run_dir is None:
            return False
        if event.event == "reference" and d.get("character"):
            cid = str(d["character"])
            self.references[cid] = (str(self.run_dir / reference_file(cid)), self._name(cid))
            self.line = f"drew the reference sheet of {self._name(cid)}"
            return True
        if event.event in ("rendered", "repaired") and event.panel_id and event.version:
            path = self.run_dir / panel_file(event.panel_id, event.version)
            n = self._number(event.panel_id)
            self.panels[event.panel_id] = (str(path), f"{n}. {event.panel_id} v{event.version}")
            verb = "drew" if event.event == "rendered" else "repaired"
            self.line = f"{verb} panel {n} ({event.panel_id}) v{event.version}"
            return True
        if event.event == "audited":
            ci = d.get("consistency_index")
            flagged = ", ".join(d.get("flagged", [])) or "none"
            self.line = (
                f"audit: consistency index {ci:.3f}, flagged: {flagged}"
                if isinstance(ci, float)
                else "audited"
            )
            return False
        if event.event == "denoise" and d.get("total"):
            self.line = f"denoising {d.get('step')}/{d.get('total')}"
        return False

    def pictures(self) -> tuple[list[Picture], list[Picture]]:
        order = [p.id for p in self.plan.panels] if self.plan else list(self.panels)
        panels = [self.panels[pid] for pid in order if pid in self.panels]
        return list(self.references.values()), panels

    def _name(self, cid: str) -> str:
        if self.plan is not None:
            for c in self.plan.characters:
                if c.id == cid:
                    return c.name
        return cid

    def _number(self, panel_id: str) -> int | str:
        order = [p.id for p in self.plan.panels] if self.plan else []
        return order.index(panel_id) + 1 if panel_id in order else "?"
