"""The DSD generator (backend ``dsd:FLUX?transformer=&lora=&cast=...``).

Everything a diffusers render does (seeds, broken-output reseeds, progress, prompt-length
records and warnings, repairs through ``from_pipe``) is ``DiffusersGenerator``'s; this subclass
does what the release does around the FLUX call. The call is ``2 side`` x ``side`` (1024 x 512
as released): the condition picture (the reference square | black) is VAE-encoded into packed
latents that ``c_embedder`` adds to the noisy ones, and the right half of the output is the
drawing, then fitted to the panel (scaled to cover, centre cropped): DSD draws squares.

Which reference: DSD conditions on one subject. ``cast=principal`` (default) takes the cast
member with the largest box (the panel's principal subject) and leaves the others to the
prompt; ``cast=collage`` tiles up to four sheets into the square, a layout outside DSD's
training (``docs/dsd.md`` has what each does on the tiny model). A reference sheet itself, or a
panel with no reference, is drawn with a black condition.

Repairs keep the layout: the panel (placed in the square as ``fit`` would crop it) goes on the
right of the reference, and FLUX's inpaint (mask on the right) or img2img pipeline, made with
``from_pipe`` on the same weights and the same condition, redraws it.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from storyviz.errors import BackendError
from storyviz.generators.diffusers.backend import Conditioning, DiffusersGenerator
from storyviz.generators.diffusers.loading import Loaded, LoadKey, load
from storyviz.generators.diffusers.options import Settings
from storyviz.generators.dsd.condition import collage, encode, layout, square
from storyviz.generators.dsd.loading import DSDParts, Extra, build
from storyviz.generators.dsd.options import NAME, DSDSettings, parse_settings
from storyviz.generators.seed_models.subjects import Subjects, panel_subjects
from storyviz.protocols import RenderTask
from storyviz.registry import BackendSpec
from storyviz.schemas import RenderRequest

MAX_COLLAGE = 4  # columns narrower than a quarter of the square are too thin to read


class DSDGenerator(DiffusersGenerator):
    name = NAME

    def _parse(self, spec: BackendSpec) -> Settings:
        self.dsd: DSDSettings = parse_settings(spec)
        return self.dsd.sampling

    def _load_key(self, offload: str) -> LoadKey:
        extra = Extra(transformer=self.dsd.transformer, lora=self.dsd.lora)
        return LoadKey(self.settings.model, self.device, self.dtype, offload, None, (extra,), NAME)

    def _load(self) -> Loaded:
        return load(self.key, build)

    @property
    def parts(self) -> DSDParts:
        parts: DSDParts = self.loaded.parts
        return parts

    def _negative(self, request: RenderRequest) -> str | None:
        return None  # FLUX.1-dev takes no negative prompt (its guidance is embedded)

    def _generation_size(self, request: RenderRequest) -> tuple[int, int]:
        return 2 * self.dsd.side, self.dsd.side

    def _output(self, image: Image.Image) -> Image.Image:
        side = self.dsd.side
        return image.crop((side, 0, 2 * side, side))

    # -- the condition ---------------------------------------------------------------------------
    def _subjects(self, request: RenderRequest) -> Subjects:
        limit = 1 if self.dsd.cast == "principal" else MAX_COLLAGE
        return panel_subjects(request, limit, "largest", NAME)

    def _left(self, subjects: Subjects) -> Image.Image | None:
        """The condition's square: the principal's sheet, or the collage; None: black."""
        if not subjects.drawn:
            return None
        sheets = [self._sheet(s.reference, s.character_id) for s in subjects.drawn]
        side, reference = self.dsd.side, self.dsd.reference
        if self.dsd.cast == "principal":
            return square(sheets[0], side, reference)
        return collage(sheets, side, reference)

    def _condition(
        self,
        pipe: Any,
        request: RenderRequest,
        negative: str | None,
        guidance: float,
        call: dict[str, Any],
        width: int,
        height: int,
    ) -> Conditioning:
        subjects = self._subjects(request)
        left = self._left(subjects)
        with torch.inference_mode():
            latents = encode(pipe, layout(left, self.dsd.side), request.seed)
        info: dict[str, Any] = {
            "layout": "none",
            "dsd_cast": self.dsd.cast,
            "dsd_subjects": [s.character_id for s in subjects.drawn],
            "dsd_dropped": subjects.dropped,
            "dsd_condition": "reference" if left is not None else "black",
            "dsd_reference": self.dsd.reference,
            "dsd_size": self.dsd.side,
            "dsd_transformer": self.parts.transformer_dir.name,
            "dsd_lora": self.parts.lora_file.name if self.parts.lora_file else None,
        }
        return Conditioning(partial(self.parts.condition.active, latents), info)

    # -- repairs -----------------------------------------------------------------------------
    def _prepare(
        self, request: RenderRequest, width: int, height: int
    ) -> tuple[RenderTask, Any, dict[str, Any], Image.Image | None, Image.Image | None]:
        """Repairs draw in the layout's right half: the panel there as ``fit`` crops it out of
        the square, the reference on the left, the mask (if any) over the panel only."""
        if not request.init_image:
            return "text2img", self.text2img, {}, None, None
        side = self.dsd.side
        panel = self._open(request.init_image, "RGB")
        original = _in_square(panel, side, request.width, request.height, "RGB")
        left = self._left(self._subjects(request))
        picture = layout(left, side)
        picture.paste(original, (side, 0))
        if request.mask:
            mask = _in_square(
                self._open(request.mask, "L"), side, request.width, request.height, "L"
            )
            full = Image.new("L", (2 * side, side), 0)
            full.paste(mask, (side, 0))
            strength = request.strength if request.strength is not None else 0.85
            call = {"image": picture, "mask_image": full, "strength": _checked(strength)}
            return "inpaint", self.loaded.derived("inpaint"), call, original, mask
        strength = request.strength if request.strength is not None else 0.35
        # FLUX's img2img draws at its default size, not the image's: the layout's size is given
        call = {"image": picture, "strength": _checked(strength), "width": 2 * side, "height": side}
        return "img2img", self.loaded.derived("img2img"), call, None, None

    def _sheet(self, path: str, character_id: str) -> Image.Image:
        file = Path(path)
        if not file.is_absolute():
            file = (self.base_dir or Path.cwd()) / file
        try:
            with Image.open(file) as opened:
                return opened.convert("RGB")
        except OSError as exc:
            raise BackendError(
                f"backend '{NAME}': cannot read the reference of {character_id} at {file}: {exc}"
            ) from None


def _in_square(image: Image.Image, side: int, width: int, height: int, mode: str) -> Image.Image:
    """``image`` (a panel of ``width`` x ``height``) where ``fit`` would take it from a
    ``side`` square: scaled to the square's width or height and centred; the rest black."""
    scale = side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    canvas = Image.new(mode, (side, side), 0)
    canvas.paste(image.convert(mode).resize(size), ((side - size[0]) // 2, (side - size[1]) // 2))
    return canvas


def _checked(strength: float) -> float:
    if not 0.0 < strength <= 1.0:
        raise BackendError(f"backend '{NAME}': strength {strength} is outside (0, 1]")
    return strength
