"""`storyviz eval` for one run: read the run folder, measure every current panel, summarise.

Works on any run, finished or not, whichever backends drew it: it reads plan.json, the current
panel versions (audit.json, else the newest file per panel) and the reference images. What it
measures with is recorded beside the numbers (``embedder``, ``detector``, ``judge``), because a
pixel-embedding similarity and a CLIP similarity are different scales. Formulas: eval_metrics.

Onstage count D: the detector's figures when one is configured; otherwise the cast members the
offline colour auditor does not report missing (its presence check, evaluators/color_presence),
which can see absence but never an extra figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from storyviz.errors import InputError
from storyviz.evaluators.identity.embed import Embedder, cosine
from storyviz.evaluators.identity.locate import Detector, crop, locate, query_for
from storyviz.protocols import AuditItem
from storyviz.run_reader import RunReader
from storyviz.run_store import PLAN_FILE
from storyviz.schemas import StoryPlan, utc_now

from .eval_metrics import NEAR_COPY, copy_paste, mean, mean_pairwise, onstage_count_score

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

    from .eval_judge import AlignmentJudge

EVAL_FILE = "eval.json"
COLOUR_PRESENCE = "colour presence (offline auditor)"


@dataclass
class _Panel:
    id: str
    version: int
    path: Path
    image: PILImage


def evaluate_run(
    run_dir: Path,
    *,
    embedder: Embedder,
    detector: Detector | None = None,
    judge: AlignmentJudge | None = None,
) -> dict[str, Any]:
    """Every metric for the run's current panels, as the JSON written to eval.json."""
    reader = RunReader(run_dir)
    plan = _plan(reader)
    sheets = {c.id: c for c in plan.characters}
    panels = _panels(reader, plan)
    references = _references(reader, plan)
    ref_vectors = dict(zip(references, embedder.embed(list(references.values())), strict=True))
    whole = embedder.embed([p.image for p in panels]) if panels else np.zeros((0, 0))
    present = None if detector is not None else _colour_present(plan, panels, references, run_dir)
    rows: dict[str, Any] = {}
    crops_by_character: dict[str, list[Any]] = {}
    cross_all: list[float] = []
    copies: list[float] = []
    onstage: list[float] = []
    alignment: dict[str, list[float]] = {"scene": [], "camera": [], "actions": []}
    for panel in panels:
        spec = plan.panel(panel.id)
        cast = [(m, sheets[m.character_id]) for m in spec.cast if m.character_id in sheets]
        where = locate(panel.image, cast, detector)
        crops = [crop(panel.image, where[m.character_id].box) for m, _ in cast]
        vectors = embedder.embed(crops) if crops else np.zeros((0, 0), dtype=np.float32)
        characters: dict[str, Any] = {}
        for (member, sheet), piece, vector in zip(cast, crops, vectors, strict=True):
            crops_by_character.setdefault(sheet.id, []).append(vector)
            row: dict[str, Any] = {"box": list(where[member.character_id].box),
                                   "located": where[member.character_id].how}  # fmt: skip
            if sheet.id in references:
                row["identity_cross"] = round(cosine(vector, ref_vectors[sheet.id]), 4)
                row["copy_paste"] = copy_paste(piece, references[sheet.id])
                cross_all.append(row["identity_cross"])
                copies.append(row["copy_paste"])
            characters[sheet.id] = row
        expected = len({m.character_id for m in spec.cast})
        detected = _detected(panel, cast, detector, present)
        onstage.append(onstage_count_score(detected, expected))
        row_panel: dict[str, Any] = {
            "version": panel.version,
            "characters": characters,
            "expected": expected,
            "detected": detected,
            "onstage": onstage[-1],
        }
        if judge is not None:
            verdict = judge.judge(spec, panel.path, plan.characters)
            row_panel["alignment"] = verdict
            for aspect in alignment:
                if verdict is not None:
                    alignment[aspect].append(float(verdict[aspect]))  # type: ignore[arg-type]
        rows[panel.id] = row_panel
    self_sim = {cid: mean_pairwise(vs) for cid, vs in crops_by_character.items()}
    summary: dict[str, Any] = {
        "panels": len(panels),
        "identity_cross": mean(cross_all),
        "identity_self": mean([v for v in self_sim.values() if v is not None]),
        "style": mean_pairwise(list(whole)),
        "onstage": mean(onstage),
        "copy_paste": mean(copies),
        "near_copies": sum(1 for c in copies if c >= NEAR_COPY),
    }
    if judge is not None:
        summary["alignment"] = {k: mean(v) for k, v in alignment.items()}
    return {
        "run_id": run_dir.name,
        "evaluated_at": utc_now(),
        "embedder": embedder.name,
        "detector": detector.name if detector is not None else COLOUR_PRESENCE,
        "judge": judge.name if judge is not None else None,
        "summary": summary,
        "characters": {
            cid: {"identity_self": self_sim[cid], "panels": len(vs)}
            for cid, vs in crops_by_character.items()
        },
        "panels": rows,
    }


def _detected(
    panel: _Panel,
    cast: Sequence[Any],
    detector: Detector | None,
    present: dict[str, set[str]] | None,
) -> int:
    if detector is not None:
        queries = list(dict.fromkeys(query_for(sheet) for _, sheet in cast)) or ["a person"]
        return len(detector.detect(panel.image, queries))
    assert present is not None
    return len(present.get(panel.id, set()))


def _colour_present(
    plan: StoryPlan, panels: Sequence[_Panel], references: dict[str, Any], run_dir: Path
) -> dict[str, set[str]]:
    """Per panel, the cast members the offline auditor does not find missing."""
    from storyviz.registry import build

    sheets = {c.id: c for c in plan.characters}
    items = [
        AuditItem(
            panel=plan.panel(p.id),
            version=p.version,
            image_path=p.path,
            characters=[sheets[m.character_id] for m in plan.panel(p.id).cast],
        )
        for p in panels
    ]
    present: dict[str, set[str]] = {}
    for audit in build("auditor", "offline").audit(items):
        cast = {m.character_id for m in plan.panel(audit.panel_id).cast}
        missing = {f.character_id for f in audit.findings if f.kind == "missing"}
        present[audit.panel_id] = cast - missing
    return present


def _plan(reader: RunReader) -> StoryPlan:
    if not reader.has(PLAN_FILE):
        raise InputError(f"run {reader.run_id} has no plan yet; nothing to evaluate")
    return reader.need_plan()


def _panels(reader: RunReader, plan: StoryPlan) -> list[_Panel]:
    """The current version of each panel that has a readable image, in plan order (the first
    of its candidates that decodes: a broken current file falls back to an older version)."""
    found: list[_Panel] = []
    for spec in plan.panels:
        for version, path in reader.panel_candidates(spec.id):
            image = _open(path)
            if image is not None:
                found.append(_Panel(spec.id, version, path, image))
                break
    if not found:
        raise InputError(f"run {reader.run_id} has no panel images yet; nothing to evaluate")
    return found


def _references(reader: RunReader, plan: StoryPlan) -> dict[str, PILImage]:
    found: dict[str, PILImage] = {}
    for sheet in plan.characters:
        image = _open(reader.reference(sheet.id))
        if image is not None:
            found[sheet.id] = image
    return found


def _open(path: Path) -> PILImage | None:
    try:
        with Image.open(path) as image:
            image.load()
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError):
        return None
