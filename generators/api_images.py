"""What the API image backends (``openai-image``, ``gemini-image``) share, beside the SDK calls.

An API image model is told what to draw in words and pictures, and answers at one of a few fixed
sizes. Around that call every such backend does the same things:

- read the request's images: the cast's reference sheets (run-relative paths, resolved against
  ``base_dir``, which the runner sets to the run folder), and for repairs the panel to fix and its
  mask (absolute paths);
- choose the supported size nearest to the panel's aspect, and bring the answer back to the exact
  size the page slot asked for (``fit``: cover, then crop the centre);
- for an edit, stretch the panel to the model's size and the answer back, so that the mask keeps
  lining up with the region, then paste the original back outside the mask (``keep_outside``):
  the model may repaint the whole picture, a repair must touch only the region;
- one instruction from ``prompts/api_image.j2`` that says which attached picture is which.

Only Pillow here: no SDK, no torch.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError

from storyviz.errors import BackendError, ModelOutputError
from storyviz.generators.diffusers.outputs import fit
from storyviz.masks import keep_outside
from storyviz.prompts import load
from storyviz.schemas import RenderRequest

PROMPT = "api_image.j2"
Task = Literal["generate", "references", "edit", "inpaint"]
Size = tuple[int, int]


@dataclass(frozen=True)
class Reference:
    """One cast member's reference sheet, as sent to the model."""

    character_id: str
    name: str
    image: Image.Image


@dataclass(frozen=True)
class RepairInputs:
    """The panel to fix and, for an inpaint, the region to redraw (L mode, white = redraw)."""

    original: Image.Image  # at the request's size
    mask: Image.Image | None


def read_image(path: str, base_dir: Path | None, mode: str, who: str) -> Image.Image:
    """An image file in `mode`; a relative path is taken from `base_dir` (else the cwd)."""
    file = Path(path)
    if not file.is_absolute():
        file = (base_dir or Path.cwd()) / file
    try:
        with Image.open(file) as image:
            return image.convert(mode)
    except (OSError, UnidentifiedImageError) as exc:
        raise BackendError(f"{who}: cannot read image {file}: {exc}") from None


def references_of(
    request: RenderRequest, base_dir: Path | None, who: str, limit: int
) -> list[Reference]:
    """The reference sheets of the request's cast, in cast order, at most `limit`."""
    names = {c.id: c.name for c in request.characters}
    order = [c.id for c in request.characters if c.id in request.references]
    order += [cid for cid in request.references if cid not in order]
    return [
        Reference(
            cid, names.get(cid, cid), read_image(request.references[cid], base_dir, "RGB", who)
        )
        for cid in order[: max(0, limit)]
    ]


def repair_inputs(request: RenderRequest, base_dir: Path | None, who: str) -> RepairInputs | None:
    """The init image (and mask) of a repair at the request's size, or None for a fresh panel."""
    if not request.init_image:
        return None
    size = (request.width, request.height)
    original = read_image(request.init_image, base_dir, "RGB", who).resize(size)
    mask = None
    if request.mask:
        mask = read_image(request.mask, base_dir, "L", who).resize(size)
    return RepairInputs(original, mask)


def task_of(request: RenderRequest, repair: RepairInputs | None, references: int) -> Task:
    if repair is not None:
        return "inpaint" if repair.mask is not None else "edit"
    return "references" if references else "generate"


def nearest_size(sizes: Sequence[Size], width: int, height: int) -> Size:
    """The size whose aspect is closest to width:height (on a log scale, so 2:1 and 1:2 are
    equally far from square); ties go to the first listed."""
    wanted = math.log(width / height)
    return min(sizes, key=lambda s: abs(math.log(s[0] / s[1]) - wanted))


def nearest_ratio(ratios: Sequence[str], width: int, height: int) -> str:
    """The ``W:H`` ratio closest to width:height, as ``nearest_size`` chooses."""
    sizes = [(int(w), int(h)) for w, h in (r.split(":") for r in ratios)]
    w, h = nearest_size(sizes, width, height)
    return f"{w}:{h}"


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def decode(data: bytes, who: str) -> Image.Image:
    """An answer's image bytes as RGB, or a ModelOutputError: bytes that are no image are the
    model's fault, not the backend's settings."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise ModelOutputError(f"{who}: the answer's image cannot be decoded ({exc})") from None


def transparent_where_masked(mask: Image.Image) -> Image.Image:
    """Our mask (L, white = redraw) in the convention of OpenAI's edits: an RGBA image whose
    fully transparent pixels (alpha 0) are where the model may draw."""
    rgba = Image.new("RGBA", mask.size, (0, 0, 0, 255))
    rgba.putalpha(mask.convert("L").point(lambda v: 255 - v))
    return rgba


def finish(answer: Image.Image, request: RenderRequest, repair: RepairInputs | None) -> Image.Image:
    """The answer at the request's exact size; a repair keeps the original outside its mask.

    Edits were sent stretched to the model's size, so they are stretched back (the mask must
    line up); fresh panels are covered and centre-cropped, which never distorts."""
    size = (request.width, request.height)
    if repair is None:
        return fit(answer, *size)
    image = answer.resize(size, Image.Resampling.LANCZOS)
    if repair.mask is not None:
        image = keep_outside(repair.original, image, repair.mask)
    return image


def instruction(
    request: RenderRequest,
    task: Task,
    references: Sequence[Reference],
    *,
    first_reference: int,
    mask_position: int | None = None,
) -> str:
    """The one prompt an API image model reads: the panel prompt, what to keep when editing,
    which attached image is whose reference sheet (1-based positions), and what to avoid."""
    return load(PROMPT).render(
        prompt=request.prompt.strip().rstrip(".,;"),  # the template ends the sentence
        negative=request.negative_prompt.strip().rstrip(".,;"),
        task=task,
        references=[
            {"position": first_reference + i, "name": r.name} for i, r in enumerate(references)
        ],
        mask_position=mask_position,
    )


def base_info(
    renderer: str,
    spec: str,
    model: str,
    request: RenderRequest,
    task: Task,
    references: Sequence[Reference],
) -> dict[str, Any]:
    """The provenance every API image render records. APIs take no seed: the requested one is
    kept (the graph files the panel under it) and marked as not honoured."""
    return {
        "renderer": renderer,
        "backend": spec,
        "model": model,
        "task": task,
        "kind": request.kind,
        "target_id": request.target_id,
        "version": request.version,
        "seed": request.seed,
        "seed_honoured": False,
        "references": [r.character_id for r in references],
        "size": [request.width, request.height],
    }
