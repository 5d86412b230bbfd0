"""The DiffSensei generator without its MLLM (backend ``diffsensei:DIR_OR_ID?options``).

Everything a diffusers SDXL render does (seeds, sizes, reseeds, inpaint and img2img repairs
from ``from_pipe``, progress, the prompt cache) is ``DiffusersGenerator``'s, on DiffSensei's
manga-tuned UNet. This subclass adds the release's no-MLLM conditioning: 16 dummy tokens and
16 tokens per character slot (four slots, empty ones padded as the release pads them) after the
prompt, each character's visible only inside its box; and the dialog embedding in the regions
where storyviz will letter the caption and balloons. ``ip_scale=0`` with ``dialogs=false`` is
the fine-tuned UNet alone. See ``docs/diffsensei.md``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from storyviz.errors import BackendError
from storyviz.generators.diffsensei.dialogs import DialogCall, chosen_dialogs
from storyviz.generators.diffsensei.loading import DSParts, Extra, build
from storyviz.generators.diffsensei.masks import character_masks
from storyviz.generators.diffsensei.options import NAME, DSSettings, parse_settings
from storyviz.generators.diffusers.backend import Conditioning, DiffusersGenerator
from storyviz.generators.diffusers.loading import Loaded, LoadKey, load
from storyviz.generators.diffusers.options import Settings
from storyviz.generators.seed_models.masked_attention import ImageCall
from storyviz.generators.seed_models.references import figure_cutout
from storyviz.generators.seed_models.subjects import Subject, panel_subjects
from storyviz.prompts import load as load_prompt
from storyviz.registry import BackendSpec
from storyviz.schemas import RenderRequest
from storyviz.seeding import stable_seed

NEGATIVE = "diffsensei_negative.txt"
PAPER = (255, 255, 255)  # manga references: the figure on white paper


class DiffSenseiGenerator(DiffusersGenerator):
    name = NAME

    def _parse(self, spec: BackendSpec) -> Settings:
        self.ds: DSSettings = parse_settings(spec)
        return self.ds.sampling

    def _load_key(self, offload: str) -> LoadKey:
        extra = (Extra(heads=self.ds.heads),)
        return LoadKey(self.settings.model, self.device, self.dtype, offload, None, extra, NAME)

    def _load(self) -> Loaded:
        return load(self.key, build)

    @property
    def parts(self) -> DSParts:
        parts: DSParts = self.loaded.parts
        return parts

    def _negative(self, request: RenderRequest) -> str | None:
        """The release's negative prompt, then the run's own terms it lacks."""
        if not self.settings.negative:
            return None
        terms: list[str] = []
        for text in (load_prompt(NEGATIVE).text, request.negative_prompt):
            for term in (t.strip() for t in text.split(",")):
                if term and term.lower() not in (known.lower() for known in terms):
                    terms.append(term)
        return ", ".join(terms) or None

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
        ds = self.ds
        subjects = panel_subjects(request, ds.max_subjects, ds.overflow, NAME)
        regions = request.text_regions if ds.dialogs and request.kind == "panel" else []
        dialogs, dialogs_dropped = chosen_dialogs(regions, ds.max_dialogs)
        info: dict[str, Any] = {
            "layout": "none",
            "ip_scale": ds.ip_scale,
            "ds_subjects": [s.character_id for s in subjects.drawn],
            "ds_dropped": subjects.dropped,
            "ds_dialogs": [[round(v, 4) for v in box] for box in dialogs],
            "ds_dialogs_dropped": dialogs_dropped,
            "ds_reference": f"{ds.reference}{', grey' if ds.grey else ''}",
            "ds_magi_mask": ds.magi_mask,
        }
        if ds.ip_scale == 0.0 and not dialogs:
            return Conditioning(nullcontext, info)
        guided = guidance > 1.0 and pipe.unet.config.time_cond_proj_dim is None
        image_call: ImageCall | None = None
        if ds.ip_scale != 0.0:
            self._ensure_embeddings(pipe, request, negative, guidance, call)
            positive = call["prompt_embeds"]
            with torch.inference_mode():
                tokens, empty = self._image_tokens(subjects.drawn, request.seed)
            tokens = tokens.to(positive.device, positive.dtype)
            call["prompt_embeds"] = torch.cat([positive, tokens], dim=1)
            if call.get("negative_prompt_embeds") is not None:
                call["negative_prompt_embeds"] = torch.cat(
                    [call["negative_prompt_embeds"], empty.to(positive.device, positive.dtype)],
                    dim=1,
                )
            scale = int(getattr(pipe, "vae_scale_factor", 8))
            shape = self.parts.resampler.shape
            image_call = ImageCall(
                tokens=int(tokens.shape[1]),
                scale=ds.ip_scale,
                latent=(height // scale, width // scale),
                masks=character_masks(
                    [s.box for s in subjects.drawn],
                    max(ds.max_subjects, len(subjects.drawn)),
                    shape.queries,
                    shape.dummies,
                    guided,
                ),
            )
            info["layout"] = "diffsensei boxes"
        dialog_call = DialogCall(tuple(dialogs), guided) if dialogs else None
        if dialog_call is not None and image_call is None:
            info["layout"] = "diffsensei dialogs"
        return Conditioning(_both(self.parts, image_call, dialog_call), info)

    def _ensure_embeddings(
        self,
        pipe: Any,
        request: RenderRequest,
        negative: str | None,
        guidance: float,
        call: dict[str, Any],
    ) -> None:
        """The image tokens go after the prompt's embeddings, so the prompt must be embedded
        here even when the prompt cache is off."""
        if "prompt_embeds" in call:
            return
        with torch.inference_mode():
            embeds = self.loaded.prompts.embeds(pipe, request.prompt, negative, guidance)
        if embeds is None:  # not an SDXL pipeline: the loader builds only SDXL
            raise BackendError(f"backend '{NAME}': {type(pipe).__name__} has no prompt embeddings")
        call.pop("prompt", None)
        call.pop("negative_prompt", None)
        call.update(embeds)

    def _image_tokens(self, drawn: list[Subject], seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``[1, dummies + slots*queries, cross]`` for the conditional half (the characters,
        then empty slots) and for the unconditional one (every slot empty), as the release
        builds them: an empty slot is the resampler's answer to all-zero features."""
        parts = self.parts
        resampler = parts.resampler
        dtype = next(resampler.parameters()).dtype
        device = next(resampler.parameters()).device
        slots = max(self.ds.max_subjects, len(drawn))
        shape = resampler.shape
        zero_features = torch.zeros(
            1, parts.clip_tokens, shape.features, device=device, dtype=dtype
        )
        zero_magi = torch.zeros(1, shape.magi, device=device, dtype=dtype)
        empty_slot = resampler(zero_features, zero_magi)[0]  # [queries, output]
        dummy = resampler.dummy_tokens
        filled: list[torch.Tensor] = []
        if drawn:
            images = [self._reference(subject) for subject in drawn]
            clip_pixels = parts.clip_processor(images=images, return_tensors="pt").pixel_values
            clip_dtype = next(parts.clip.parameters()).dtype
            features = parts.clip(
                clip_pixels.to(device=device, dtype=clip_dtype), output_hidden_states=True
            ).hidden_states[-2]
            magi = self._magi(images, seed, device)
            filled = list(resampler(features.to(dtype), magi.to(dtype)))
        cond = torch.cat([dummy, *filled, *[empty_slot] * (slots - len(filled))])
        uncond = torch.cat([dummy, *[empty_slot] * slots])
        return cond[None], uncond[None]

    def _magi(self, images: list[Image.Image], seed: int, device: torch.device) -> torch.Tensor:
        """Each reference's Magi CLS vector; with ``magi_mask=off`` every patch is seen, with
        ``release`` the released 75% masking, its noise seeded from the panel's seed."""
        parts = self.parts
        magi = parts.magi
        pixels = parts.magi_processor(images=images, return_tensors="pt").pixel_values
        pixels = pixels.to(device=device, dtype=next(magi.parameters()).dtype)
        patches = (int(magi.config.image_size) // int(magi.config.patch_size)) ** 2
        ratio = parts.magi_mask_ratio if self.ds.magi_mask == "release" else 0.0
        generator = torch.Generator().manual_seed(stable_seed("diffsensei-magi", seed))
        noise = torch.rand(len(images), patches, generator=generator).to(device)
        saved = magi.config.mask_ratio
        magi.config.mask_ratio = ratio  # the embeddings read the shared config per call
        try:
            output = magi(pixel_values=pixels, noise=noise)
        finally:
            magi.config.mask_ratio = saved
        vectors: torch.Tensor = output.last_hidden_state[:, 0]
        return vectors

    def _reference(self, subject: Subject) -> Image.Image:
        file = Path(subject.reference)
        if not file.is_absolute():
            file = (self.base_dir or Path.cwd()) / file
        try:
            with Image.open(file) as opened:
                image = opened.convert("RGB")
        except OSError as exc:
            raise BackendError(
                f"backend '{NAME}': cannot read the reference of {subject.character_id} "
                f"at {file}: {exc}"
            ) from None
        if self.ds.reference == "figure":
            image = figure_cutout(image, background=PAPER)
        if self.ds.grey:
            image = image.convert("L").convert("RGB")
        return image


@contextmanager
def _active(
    parts: DSParts, image_call: ImageCall | None, dialog_call: DialogCall | None
) -> Iterator[None]:
    with ExitStack() as stack:
        stack.enter_context(parts.conditioning.active(image_call))
        stack.enter_context(parts.dialogs.active(dialog_call))
        yield


def _both(parts: DSParts, image_call: ImageCall | None, dialog_call: DialogCall | None) -> Any:
    def setup() -> Any:
        return _active(parts, image_call, dialog_call)

    return setup
