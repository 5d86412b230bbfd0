"""The offline generator: a deterministic Pillow storyboard renderer (backend ``sketch``).

It draws from structure, not from the prompt: the panel's setting, time and weather become a
muted background, and each cast member becomes a simple figure in its sheet's colours, painted
where storyviz.anatomy says the offline auditor will look. The same request always yields the
same pixels, so runs are reproducible and tests can compare bytes.

A region repair (``init_image`` with a ``mask``) is honoured the simple way: the panel is drawn
anew from structure and pasted into the original inside the mask only, so everything outside the
repaired region stays as it was, as with a real inpainting model. Other repair inputs
(``emphasis``, ``regions``, ``strength``, an ``init_image`` without a mask) are accepted and
ignored: a re-render from structure is already the repaired panel, and version >= 2 is never
drifted. They are listed under ``info["ignored"]`` so a reader of the provenance knows.
"""

from __future__ import annotations

import random
import time
from typing import Any

from PIL import Image

from storyviz import anatomy
from storyviz.errors import BackendError
from storyviz.geometry import Box
from storyviz.masks import keep_outside
from storyviz.protocols import RenderResult, RenderTask
from storyviz.registry import BackendSpec
from storyviz.schemas import CastMember, CharacterSheet, RenderRequest

from .sketch_drift import Drift, choose_drift, stable_seed
from .sketch_figures import Figure, figure_for, paint_figure
from .sketch_labels import paint_labels
from .sketch_scenery import paint_background

RENDERER = "sketch"
OPTIONS = frozenset({"drift", "delay"})
MAX_DELAY = 3600.0  # seconds: a simulated slow backend, not a way to hang a run for good
REFERENCE_PAPER = (244, 242, 236)
_REPAIR_INPUTS = ("emphasis", "regions", "init_image", "mask", "strength")
_INPAINT_INPUTS = ("init_image", "mask")


def _reference_box(species: str) -> Box:
    """Centred, standing, with room for the name label below."""
    if anatomy.NATURAL_ASPECT[anatomy.body_plan(species)] > 1:
        return (0.12, 0.3, 0.88, 0.84)
    return (0.25, 0.08, 0.75, 0.86)


class SketchGenerator:
    """Renders panels and character references; ``?drift=`` and ``?delay=`` are demo/test aids."""

    def __init__(self, spec: BackendSpec) -> None:
        spec.check_options(OPTIONS)
        self.spec = spec.redacted()
        self.drift = spec.option("drift", float, 0.0, low=0.0, high=1.0)
        self.delay = spec.option("delay", float, 0.0, low=0.0, high=MAX_DELAY)

    def render(self, request: RenderRequest) -> RenderResult:
        started = time.perf_counter()
        info: dict[str, Any] = {
            "renderer": RENDERER,
            "backend": self.spec,
            "kind": request.kind,
            "target_id": request.target_id,
            "version": request.version,
            "seed": request.seed,
            "size": [request.width, request.height],
            "drift": None,
        }
        inpaint = request.kind == "panel" and bool(request.init_image and request.mask)
        honoured = _INPAINT_INPUTS if inpaint else ()
        ignored = [n for n in _REPAIR_INPUTS if getattr(request, n) and n not in honoured]
        if ignored:
            info["ignored"] = ignored
        if request.kind == "reference":
            image = self._reference(request)
        else:
            image, scene, drift = self._panel(request)
            info["scene"] = scene
            info["drift"] = drift.as_info() if drift else None
        task: RenderTask = "text2img"
        if inpaint:
            image = _inpainted(request, image)
            task = info["task"] = "inpaint"
        if self.delay:
            time.sleep(self.delay)
        seconds = time.perf_counter() - started
        return RenderResult(image, seconds, info, seed=request.seed, task=task)

    def _panel(self, request: RenderRequest) -> tuple[Image.Image, dict[str, str], Drift | None]:
        panel = request.panel
        if panel is None:
            raise ValueError(f"panel render {request.target_id!r} has no panel spec")
        rng = random.Random(stable_seed("scene", request.seed, request.target_id))
        image, scene = paint_background(
            request.width, request.height, panel.setting, panel.time_of_day, panel.weather, rng
        )
        drift = choose_drift(request, self.drift)
        sheets = {sheet.id: sheet for sheet in request.characters}
        figures: list[Figure] = []
        for member in panel.cast:
            if drift and drift.change == "missing" and member.character_id == drift.character_id:
                continue
            sheet = sheets.get(member.character_id) or _unknown_sheet(member)
            overrides = drift.overrides() if drift and drift.character_id == sheet.id else None
            figures.append(figure_for(sheet, member, overrides))
        for figure in figures:
            paint_figure(image, figure)
        paint_labels(image, figures)
        return image, scene, drift

    def _reference(self, request: RenderRequest) -> Image.Image:
        if not request.characters:
            raise ValueError(f"reference render {request.target_id!r} has no character sheet")
        sheet = next(
            (s for s in request.characters if s.id == request.target_id), request.characters[0]
        )
        image = Image.new("RGB", (request.width, request.height), REFERENCE_PAPER)
        member = CastMember(
            character_id=sheet.id, box=_reference_box(sheet.attributes.species), action="stand"
        )
        figure = figure_for(sheet, member)
        paint_figure(image, figure)
        paint_labels(image, [figure], scale=1.6)
        return image


def _inpainted(request: RenderRequest, image: Image.Image) -> Image.Image:
    """The new drawing inside the mask, the original panel outside it."""
    assert request.init_image and request.mask
    try:
        with Image.open(request.init_image) as original, Image.open(request.mask) as mask:
            return keep_outside(
                original.convert("RGB").resize(image.size), image, mask.convert("L")
            )
    except OSError as exc:
        raise BackendError(f"backend 'sketch': cannot read repair input: {exc}") from None


def _unknown_sheet(member: CastMember) -> CharacterSheet:
    """A plain stand-in for a cast member whose sheet was not sent, so the panel still renders."""
    return CharacterSheet(id=member.character_id, name=member.character_id, description="")
