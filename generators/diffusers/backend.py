"""The diffusers generator (backend ``diffusers:MODEL_ID_OR_PATH?options``).

``diffusers:stabilityai/sd-turbo`` and ``diffusers:/path/to/folder`` take the same code path:
``AutoPipelineForText2Image.from_pretrained``, loaded once per process (``loading``)
and reused for every panel, reference and repair. Panels are rendered at the size their page
slot asks for (or ``?size=``), seeded so the same request gives the same pixels, checked for
broken output (NaN, black, safety-blanked) and re-rendered with a derived seed if needed.

Repairs arrive as requests with ``init_image``: with a ``mask`` they are inpainted, without one
they go through img2img at low strength; both pipelines are made with ``from_pipe`` and share
the loaded weights. Importing this module without torch, diffusers or transformers raises
ModuleNotFoundError naming the package, which the registry turns into the pip extra to install.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers  # noqa: F401  (absent -> ModuleNotFoundError now, not a confusing error later)
from PIL import Image

from storyviz.errors import BackendError
from storyviz.generators.diffusers import long_prompts, prompts
from storyviz.generators.diffusers.device import choose_device, choose_dtype
from storyviz.generators.diffusers.identity import AdapterCall, adapter_call
from storyviz.generators.diffusers.loading import Loaded, LoadKey, load, load_count
from storyviz.generators.diffusers.options import Settings, parse_settings, snap8
from storyviz.generators.diffusers.outputs import broken_reason, fit, to_pil
from storyviz.generators.diffusers.regions import (
    RegionalAttnProcessor,
    regional_attention,
    regional_embeds,
    usable_regions,
)
from storyviz.masks import keep_outside
from storyviz.protocols import PromptFormat, RenderResult, RenderTask, Reseed
from storyviz.registry import BackendSpec
from storyviz.schemas import RenderRequest
from storyviz.seeding import stable_seed

RENDERER = "diffusers"
MAX_RESEEDS = 2
IMG2IMG_STRENGTH = 0.35  # small fixes: keep composition and colours, redraw detail
INPAINT_STRENGTH = 0.85  # a character's region: mostly redrawn, still anchored to what was there

Progress = Callable[[int, int], None]


class DiffusersGenerator:
    """Renders panels, references and repairs with one diffusers pipeline.

    ``progress`` (``callable(step, total)`` or None) is called after every denoising step;
    ``base_dir`` resolves run-relative ``init_image``/``mask`` paths (default: the working
    directory); ``cache_prompts`` (default True) reuses text embeddings for repeated prompts
    (``prompts``) and exists to switch that off for a comparison."""

    name = RENDERER  # the backend name its messages and records use

    def __init__(self, spec: BackendSpec) -> None:
        self.settings: Settings = self._parse(spec)
        self.spec = spec.redacted()
        self.device = choose_device(self.settings.device, self.name)
        self.dtype = choose_dtype(self.device, self.settings.dtype, self.settings.preset.family)
        # Offloading moves modules between CPU and a GPU; with no GPU there is nothing to offload.
        offload = self.settings.offload if self.device == "cuda" else "none"
        self.key = self._load_key(offload)
        self.progress: Progress | None = None
        # False sends prompts as text every time (the tests compare both ways pixel for pixel).
        self.cache_prompts = True
        self.base_dir: Path | None = None
        self.loaded: Loaded = self._load()

    # -- what a subclass for another model family replaces ------------------------------------
    def _parse(self, spec: BackendSpec) -> Settings:
        return parse_settings(spec)

    def _load_key(self, offload: str) -> LoadKey:
        return LoadKey(
            self.settings.model, self.device, self.dtype, offload, self.settings.ip_adapter
        )

    def _load(self) -> Loaded:
        return load(self.key)

    def _negative(self, request: RenderRequest) -> str | None:
        """The negative prompt sent with ``request`` (None: none)."""
        return (request.negative_prompt if self.settings.negative else None) or None

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
        """Everything beyond the prompt: regional prompts and the IP-Adapter here. Called under
        the render lock with the prompt's arguments already in ``call``; may extend ``call``.
        Returns what to set on the shared UNet for the call, and what to record about it."""
        regional = self._regional(pipe, request, negative, guidance, call, width, height)
        adapter: AdapterCall | None = None
        if self.settings.ip_adapter is not None:
            base = self.base_dir or Path.cwd()
            adapter = adapter_call(request, width, height, self.settings.ip_scale, base)
            call.update(adapter.arguments)
        info: dict[str, Any] = {
            "layout": "regions"
            if regional
            else "ip-adapter masks"
            if adapter and adapter.characters
            else "none"
        }
        if adapter is not None:
            info["ip_adapter"] = str(self.settings.ip_adapter)
            info["ip_scale"] = adapter.scale
            info["ip_references"] = adapter.characters
        return Conditioning(partial(_shared_unet, pipe, adapter, regional), info)

    def _output(self, image: Image.Image) -> Image.Image:
        """The drawing in what the pipeline returned (all of it here; DSD's right half)."""
        return image

    @property
    def text2img(self) -> Any:
        return self.loaded.text2img

    def model_loads(self) -> int:
        """Pipelines loaded from disk in this process: a batch's render actors report it, so a
        batch shows its weights loaded once per actor, not once per story."""
        return load_count()

    def prompt_format(self) -> PromptFormat:
        """Tags within one CLIP window for SD/SDXL (longer prompts are read in windows, but
        attention thins out over them); sentences within the T5 window for FLUX and other
        pipelines that take text; counted with the loaded tokenizers."""
        pipe = self.text2img
        kind = prompts.family(pipe)
        readers = long_prompts.tokenizers(pipe)
        if kind is not None:
            model = "SDXL (two CLIP text encoders)" if kind == "sdxl" else "Stable Diffusion"
            return PromptFormat(
                "tags",
                f"{model}, {self.settings.preset.name}",
                budget=long_prompts.count(pipe, "", readers).budget,
                count=lambda text: long_prompts.count(pipe, text, readers).tokens,
            )
        readers = readers[-1:]  # FLUX: the T5 tokenizer carries the text
        if not readers:
            return PromptFormat("sentences", type(pipe).__name__)
        limit = _sequence_limit(pipe)
        budget = long_prompts.count(pipe, "", readers).budget
        return PromptFormat(
            "sentences",
            f"{type(pipe).__name__}, {self.settings.preset.name}",
            budget=min(budget, limit - 1) if limit is not None else budget,
            count=lambda text: long_prompts.count(pipe, text, readers).tokens,
        )

    def render(self, request: RenderRequest) -> RenderResult:
        started = time.perf_counter()
        width, height = self._generation_size(request)
        task, pipe, call, original, mask = self._prepare(request, width, height)
        steps = request.steps if request.steps is not None else self.settings.steps
        guidance = request.guidance if request.guidance is not None else self.settings.guidance
        strength = call.get("strength")
        if strength is not None:  # img2img runs steps*strength steps; at least one must remain
            steps = max(steps, math.ceil(1.0 / strength))
        call.update(num_inference_steps=steps, guidance_scale=guidance, output_type="np")
        negative = self._negative(request)
        # The tokenizer keeps truncation and padding as state on the backend every pipeline on
        # these weights shares: encoding takes turns with renders, like the pipeline calls do.
        with self.loaded.render_lock:
            call.update(self._prompt_arguments(pipe, request.prompt, negative, guidance))
            reading, warnings = _prompt_reading(pipe, request, negative, call)
            conditioning = self._condition(pipe, request, negative, guidance, call, width, height)
        if task != "img2img":  # img2img takes its size from the init image
            call.update(width=width, height=height)
        if self.progress is not None:
            call["callback_on_step_end"] = self._step_callback(pipe, steps)

        pixels, seed, reseeded = self._render_checked(pipe, call, request.seed, conditioning.setup)
        image = fit(self._output(to_pil(pixels)), request.width, request.height)
        if original is not None and mask is not None and request.init_image and request.mask:
            # at the delivered size, from the files themselves: outside the mask the repaired
            # version is the earlier one pixel for pixel, whatever size the model drew at
            image = keep_outside(
                self._open(request.init_image, "RGB").resize(image.size),
                image,
                self._open(request.mask, "L").resize(image.size),
            )
        seconds = time.perf_counter() - started
        info: dict[str, Any] = {
            "renderer": self.name,
            "backend": self.spec,
            "model": self.settings.model,
            "preset": self.settings.preset.name,
            "pipeline": type(pipe).__name__,
            "task": task,
            "kind": request.kind,
            "target_id": request.target_id,
            "version": request.version,
            "device": self.device,
            "dtype": self.dtype,
            "offload": self.key.offload,
            "steps": steps,
            "guidance": guidance,
            "seed": seed,
            "requested_seed": request.seed,
            "render_size": [width, height],
            "size": [request.width, request.height],
            "reseeded": [asdict(r) for r in reseeded],
            "seconds": round(seconds, 4),
        }
        if strength is not None:
            info["strength"] = strength
        info.update(reading)
        info.update(conditioning.info)
        return RenderResult(
            image,
            seconds,
            info,
            seed=seed,
            task=task,
            strength=strength,
            reseeds=reseeded,
            warnings=warnings,
        )

    # -- what to run ---------------------------------------------------------------------------
    def _generation_size(self, request: RenderRequest) -> tuple[int, int]:
        if self.settings.size is not None:
            return self.settings.size.for_request(request.width, request.height)
        return snap8(request.width), snap8(request.height)

    def _prepare(
        self, request: RenderRequest, width: int, height: int
    ) -> tuple[RenderTask, Any, dict[str, Any], Image.Image | None, Image.Image | None]:
        """The task, its pipeline, task-specific call arguments, and the original and mask that
        are pasted back outside the repaired region."""
        if not request.init_image:
            return "text2img", self.text2img, {}, None, None
        original = self._open(request.init_image, "RGB").resize((width, height))
        if request.mask:
            mask = self._open(request.mask, "L").resize((width, height))
            strength = request.strength if request.strength is not None else INPAINT_STRENGTH
            call = {"image": original, "mask_image": mask, "strength": _unit(strength, self.name)}
            return "inpaint", self.loaded.derived("inpaint"), call, original, mask
        strength = request.strength if request.strength is not None else IMG2IMG_STRENGTH
        call = {"image": original, "strength": _unit(strength, self.name)}
        return "img2img", self.loaded.derived("img2img"), call, None, None

    def _open(self, path: str, mode: str) -> Image.Image:
        file = Path(path)
        if not file.is_absolute():
            file = (self.base_dir or Path.cwd()) / file
        try:
            with Image.open(file) as image:
                return image.convert(mode)
        except OSError as exc:
            raise BackendError(
                f"backend '{self.name}': cannot read repair input {file}: {exc}"
            ) from None

    def _prompt_arguments(
        self, pipe: Any, prompt: str, negative: str | None, guidance: float
    ) -> dict[str, Any]:
        """Cached embeddings where the pipeline family allows it (see ``prompts``),
        else the text; encoded once per request, not once per reseed. Prompts past the CLIP
        window are always sent as embeddings: as text, the pipeline would cut them."""
        if self.cache_prompts:
            with torch.inference_mode():
                embeds = self.loaded.prompts.embeds(pipe, prompt, negative, guidance)
            if embeds is not None:
                return embeds
        elif prompts.needs_embeds(pipe, prompt, negative):
            with torch.inference_mode():
                embeds = prompts.encode(pipe, prompt, negative, guidance)
            if embeds is not None:
                return embeds
        text: dict[str, Any] = {"prompt": prompt}
        if negative is not None:
            text["negative_prompt"] = negative
        return text

    def _regional(
        self,
        pipe: Any,
        request: RenderRequest,
        negative: str | None,
        guidance: float,
        call: dict[str, Any],
        width: int,
        height: int,
    ) -> RegionalAttnProcessor | None:
        """Regional prompts for the cast boxes, when the options and the pipeline allow them:
        the region embeddings are appended to ``call``'s and the processor to apply returned."""
        regions = usable_regions(request.regions) if request.kind == "panel" else []
        if not (regions and self.settings.regional_prompts and "prompt_embeds" in call):
            return None
        with torch.inference_mode():
            blocks = [
                self.loaded.prompts.embeds(pipe, r.prompt, negative, guidance) for r in regions
            ]
        if any(block is None for block in blocks):
            return None
        found = [b for b in blocks if b is not None]
        lengths = [int(b["prompt_embeds"].shape[1]) for b in (call, *found)]
        call.update(regional_embeds(call, found))
        scale = int(getattr(pipe, "vae_scale_factor", 8))
        latent = (height // scale, width // scale)
        return RegionalAttnProcessor([r.box for r in regions], lengths, latent)

    # -- running it ----------------------------------------------------------------------------
    def _render_checked(
        self, pipe: Any, call: dict[str, Any], seed: int, setup: UnetSetup = nullcontext
    ) -> tuple[np.ndarray, int, tuple[Reseed, ...]]:
        """Run, and re-run with derived seeds while the output is NaN, black or blanked."""
        reseeded: list[Reseed] = []
        for attempt in range(MAX_RESEEDS + 1):
            current = seed if attempt == 0 else stable_seed("diffusers-reseed", seed, attempt)
            output = self._call(pipe, call, current, setup)
            pixels = np.asarray(output.images[0], dtype=np.float32)
            reason = broken_reason(pixels, getattr(output, "nsfw_content_detected", None))
            if reason is None:
                return pixels, current, tuple(reseeded)
            reseeded.append(Reseed(current, reason))
        reasons = ", ".join(f"seed {r.seed}: {r.reason}" for r in reseeded)
        hint = " (try dtype=float32)" if self.dtype == "float16" else ""
        raise BackendError(
            f"backend '{self.name}': {self.settings.model} gave only broken images "
            f"({reasons}){hint}"
        )

    def _call(
        self, pipe: Any, call: dict[str, Any], seed: int, setup: UnetSetup = nullcontext
    ) -> Any:
        # A CPU generator gives the same initial noise on cuda, mps and cpu (diffusers' own advice
        # for reproducibility); the pipeline moves the noise to its device.
        generator = torch.Generator(device="cpu").manual_seed(seed)
        try:
            with self.loaded.render_lock, torch.inference_mode(), setup():
                return pipe(**call, generator=generator)
        except torch.OutOfMemoryError:
            raise self._oom() from None
        except RuntimeError as exc:
            if "out of memory" in str(exc).lower():
                raise self._oom() from None
            raise

    def _oom(self) -> BackendError:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return BackendError(
            f"backend '{self.name}': out of memory on {self.device} rendering with "
            f"{self.settings.model}; try a smaller size (?size=512) or offload=model "
            "(offload=sequential for the least memory)"
        )

    def _step_callback(self, pipe: Any, steps: int) -> Callable[..., dict[str, Any]]:
        progress = self.progress
        assert progress is not None

        def on_step_end(
            _pipe: Any, step: int, _timestep: Any, kwargs: dict[str, Any]
        ) -> dict[str, Any]:
            total = int(getattr(_pipe, "num_timesteps", 0) or steps)
            progress(step + 1, total)
            return kwargs

        return on_step_end


UnetSetup = Callable[[], AbstractContextManager[Any]]
"""What one call needs of the UNet every pipeline on these weights shares, entered under the
render lock so concurrent renders never see each other's settings."""


@dataclass(frozen=True)
class Conditioning:
    """What ``_condition`` decided for one render: the UNet setup and the provenance to record."""

    setup: UnetSetup
    info: dict[str, Any] = field(default_factory=dict)


@contextmanager
def _shared_unet(
    pipe: Any, adapter: AdapterCall | None, regional: RegionalAttnProcessor | None
) -> Iterator[None]:
    if adapter is not None:  # the adapter's scale lives in the UNet's attention processors
        pipe.set_ip_adapter_scale(adapter.scale)
    if regional is None:
        yield
        return
    with regional_attention(pipe.unet, regional):
        yield


def _prompt_reading(
    pipe: Any, request: RenderRequest, negative: str | None, call: dict[str, Any]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """How long the prompts were in the model's own tokens, and a warning for each one the
    model could not read in full. SD/SDXL prompts past 77 tokens went in as windows
    (``long_prompts``), so only pipelines taking text (FLUX's T5 reads ``max_sequence_length``;
    its CLIP encoder only gives a pooled summary, cut at 77 by design) can drop words."""
    readers = long_prompts.tokenizers(pipe)
    if not readers:
        return {}, ()
    windowed = "prompt_embeds" in call
    if prompts.family(pipe) is None:
        readers = readers[-1:]
    limit = _sequence_limit(pipe)
    info: dict[str, Any] = {}
    warnings: list[str] = []
    for key, what, text in (
        ("prompt_tokens", "prompt", request.prompt),
        ("negative_prompt_tokens", "negative prompt", negative),
    ):
        if not text:
            continue
        counted = long_prompts.count(pipe, text, readers)
        if limit is not None and not windowed:
            counted = long_prompts.TokenCount(counted.tokens, min(counted.budget, limit - 1))
        info[key] = counted.record() | {"encoding": "windows" if windowed else "text"}
        if windowed or counted.fits:
            continue
        dropped = long_prompts.cut_text(readers[-1], text, counted.budget)
        shown = dropped if len(dropped) <= 80 else dropped[:77] + "..."
        warnings.append(
            f"{request.kind} {request.target_id}: the {what} is {counted.tokens} tokens and "
            f'{type(pipe).__name__} reads {counted.budget}; it never saw "{shown}"'
        )
    return info, tuple(warnings)


def _sequence_limit(pipe: Any) -> int | None:
    """The ``max_sequence_length`` a text-taking pipeline tokenizes to by default (FLUX: 512)."""
    try:
        parameter = inspect.signature(pipe.__call__).parameters.get("max_sequence_length")
    except (TypeError, ValueError):
        return None
    default = getattr(parameter, "default", None)
    return default if isinstance(default, int) else None


def _unit(strength: float, name: str) -> float:
    if not (math.isfinite(strength) and 0.0 < strength <= 1.0):
        raise BackendError(f"backend '{name}': strength must be in (0, 1], got {strength}")
    return float(strength)
