"""The MS-Diffusion generator (backend ``msdiffusion:SDXL?adapter=&image_encoder=...``).

Everything a diffusers SDXL render does (seeds, sizes, broken-output reseeds, inpaint and
img2img repairs from ``from_pipe``, progress, the prompt cache) is ``DiffusersGenerator``'s; this
subclass adds what the release adds to a panel: each cast member with a reference becomes
16 image tokens (its CLIP-G features resampled from queries made of its class phrase and box)
appended after the prompt, and the UNet's box-masked processors let each subject's tokens act
only inside its box. References, panels without references and ``scale=0`` are plain SDXL.
See ``docs/msdiffusion.md`` for what differs from the release and why.
"""

from __future__ import annotations

from contextlib import nullcontext
from functools import partial
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from storyviz.errors import BackendError
from storyviz.generators.diffusers.backend import Conditioning, DiffusersGenerator
from storyviz.generators.diffusers.loading import Loaded, LoadKey, load
from storyviz.generators.diffusers.options import Settings
from storyviz.generators.msdiffusion.loading import Extra, MSParts, build
from storyviz.generators.msdiffusion.masks import subject_masks
from storyviz.generators.msdiffusion.options import NAME, MSSettings, parse_settings
from storyviz.generators.msdiffusion.subjects import Subject, Subjects, panel_subjects
from storyviz.generators.seed_models.masked_attention import ImageCall
from storyviz.generators.seed_models.references import figure_cutout
from storyviz.prompts import load as load_prompt
from storyviz.registry import BackendSpec
from storyviz.schemas import RenderRequest

REFERENCE_SIDE = 512  # the release squares every reference to 512 x 512 before CLIP's processor
NEGATIVE = "msdiffusion_negative.txt"


class MSDiffusionGenerator(DiffusersGenerator):
    name = NAME

    def _parse(self, spec: BackendSpec) -> Settings:
        self.ms: MSSettings = parse_settings(spec)
        return self.ms.sampling

    def _load_key(self, offload: str) -> LoadKey:
        extra = Extra(
            adapter=self.ms.adapter,
            image_encoder=self.ms.image_encoder,
            heads=self.ms.heads,
            fourier_freqs=self.ms.fourier_freqs,
        )
        return LoadKey(self.settings.model, self.device, self.dtype, offload, None, (extra,), NAME)

    def _load(self) -> Loaded:
        return load(self.key, build)

    @property
    def parts(self) -> MSParts:
        parts: MSParts = self.loaded.parts
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
        subjects = panel_subjects(request, self.ms.max_subjects, self.ms.overflow)
        info: dict[str, Any] = {
            "layout": "none",
            "ms_adapter": self.parts.adapter_file.name,
            "ms_scale": self.ms.scale if subjects.drawn else 0.0,
            "ms_reference": self.ms.reference,
            "ms_subjects": [s.character_id for s in subjects.drawn],
            "ms_phrases": [s.phrase for s in subjects.drawn],
            "ms_dropped": subjects.dropped,
        }
        if not subjects.drawn or self.ms.scale == 0.0:
            return Conditioning(nullcontext, info)
        self._ensure_embeddings(pipe, request, negative, guidance, call)
        positive = call["prompt_embeds"]
        with torch.inference_mode():
            tokens = self._image_tokens(pipe, subjects).to(positive.device, positive.dtype)
        call["prompt_embeds"] = torch.cat([positive, tokens], dim=1)
        if call.get("negative_prompt_embeds") is not None:
            call["negative_prompt_embeds"] = torch.cat(
                [call["negative_prompt_embeds"], torch.zeros_like(tokens)], dim=1
            )
        guided = guidance > 1.0 and pipe.unet.config.time_cond_proj_dim is None
        scale = int(getattr(pipe, "vae_scale_factor", 8))
        image_call = ImageCall(
            tokens=int(tokens.shape[1]),
            scale=self.ms.scale,
            latent=(height // scale, width // scale),
            masks=subject_masks(
                [s.box for s in subjects.drawn],
                self.parts.resampler.shape.queries,
                int(self.parts.dummy_tokens.shape[1]),
                guided,
            ),
        )
        info["layout"] = "ms-diffusion boxes"
        return Conditioning(partial(self.parts.conditioning.active, image_call), info)

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
        if embeds is None:  # not an SDXL pipeline: the loader refuses those
            raise BackendError(f"backend '{NAME}': {type(pipe).__name__} has no prompt embeddings")
        call.pop("prompt", None)
        call.pop("negative_prompt", None)
        call.update(embeds)

    def _image_tokens(self, pipe: Any, subjects: Subjects) -> torch.Tensor:
        """``[1, dummies + subjects*queries, cross]``: the dummy tokens, then each subject's."""
        parts = self.parts
        dtype = next(parts.resampler.parameters()).dtype
        device = next(parts.resampler.parameters()).device
        images = [self._reference(subject) for subject in subjects.drawn]
        pixels = parts.processor(images=images, return_tensors="pt").pixel_values
        encoder_dtype = next(parts.encoder.parameters()).dtype
        hidden = parts.encoder(
            pixels.to(device=device, dtype=encoder_dtype), output_hidden_states=True
        ).hidden_states[-2]
        phrases = self._phrases(pipe, [s.phrase for s in subjects.drawn])
        boxes = torch.tensor([list(s.box) for s in subjects.drawn], dtype=torch.float32)
        tokens = parts.resampler(
            hidden.to(dtype), phrases.to(device=device, dtype=dtype), boxes.to(device, dtype)
        )
        subject_tokens = tokens.reshape(1, -1, tokens.shape[-1])
        return torch.cat([parts.dummy_tokens.to(subject_tokens.dtype), subject_tokens], dim=1)

    def _phrases(self, pipe: Any, phrases: list[str]) -> torch.Tensor:
        """Each phrase's pooled CLIP-L embedding (the first text encoder's ``pooler_output``)."""
        tokenizer = pipe.tokenizer
        ids = tokenizer(
            phrases,
            padding="max_length",
            max_length=tokenizer.model_max_length,
            truncation=True,
            return_tensors="pt",
        ).input_ids
        output = pipe.text_encoder(ids.to(pipe._execution_device))
        pooled: torch.Tensor = output.pooler_output
        return pooled

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
        if self.ms.reference == "figure":
            image = figure_cutout(image)
        return image.resize((REFERENCE_SIDE, REFERENCE_SIDE), Image.Resampling.BICUBIC)
