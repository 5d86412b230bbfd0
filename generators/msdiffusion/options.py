"""The options of ``msdiffusion:SDXL?adapter=&image_encoder=&scale=...``, checked before loading.

Pure parsing (no torch), so a typo fails in milliseconds. The defaults are the release's
inference settings (30 steps, guidance 7.5, scale 0.6, its negative prompt) and its files: the
adapter on the hub at ``doge1516/MS-Diffusion`` and the CLIP ViT-bigG image encoder in the
transformers layout that its training used (``h94/IP-Adapter``'s ``sdxl_models/image_encoder``).
"""

from __future__ import annotations

from dataclasses import dataclass

from storyviz.errors import BackendError
from storyviz.generators.diffusers.options import Settings, choice, sampling_settings
from storyviz.generators.diffusers.presets import Preset
from storyviz.generators.seed_models.sources import Source, source_option
from storyviz.generators.seed_models.subjects import OVERFLOWS
from storyviz.registry import BackendSpec

NAME = "msdiffusion"
PRESET = Preset("msdiffusion", steps=30, guidance=7.5, size=1024, family="sdxl")
DEFAULT_ADAPTER = "doge1516/MS-Diffusion/ms_adapter.bin"
DEFAULT_IMAGE_ENCODER = "h94/IP-Adapter/sdxl_models/image_encoder"
DEFAULT_SCALE = 0.6  # the README's advice; 0.4 when a subject should shape the whole picture
DEFAULT_HEADS = 20  # the resampler's 20 x 64 split: no weight shows it
DEFAULT_FOURIER_FREQS = 8  # the box embedding's frequencies: no weight shows the split either
MAX_SUBJECTS = 4  # the most subjects the released adapter was trained with
REFERENCES = ("figure", "sheet")

OPTIONS = frozenset(
    {
        "steps",
        "guidance",
        "size",
        "device",
        "dtype",
        "offload",
        "negative",
        "adapter",
        "image_encoder",
        "scale",
        "heads",
        "fourier_freqs",
        "max_subjects",
        "overflow",
        "reference",
    }
)


@dataclass(frozen=True)
class MSSettings:
    sampling: Settings
    adapter: Source
    image_encoder: Source
    scale: float
    heads: int
    fourier_freqs: int
    max_subjects: int
    overflow: str  # "largest": draw the largest boxes, record the rest; "error": refuse
    reference: str  # "figure": the sheet's figure cut out onto black; "sheet": as drawn


def parse_settings(spec: BackendSpec) -> MSSettings:
    spec.check_options(OPTIONS)
    if not spec.model:
        raise BackendError(
            f"backend '{NAME}' needs an SDXL base model: "
            f"{NAME}:stabilityai/stable-diffusion-xl-base-1.0 or {NAME}:/path/to/sdxl"
        )
    sampling = sampling_settings(spec, PRESET, negative_default=True)
    adapter = spec.option("adapter", source_option("adapter", True), Source(DEFAULT_ADAPTER))
    encoder = spec.option(
        "image_encoder", source_option("image encoder", False), Source(DEFAULT_IMAGE_ENCODER)
    )
    return MSSettings(
        sampling=sampling,
        adapter=adapter,
        image_encoder=encoder,
        scale=spec.option("scale", float, DEFAULT_SCALE, low=0.0, high=2.0),
        heads=spec.option("heads", int, DEFAULT_HEADS, low=1, high=256),
        fourier_freqs=spec.option("fourier_freqs", int, DEFAULT_FOURIER_FREQS, low=1, high=64),
        max_subjects=spec.option("max_subjects", int, MAX_SUBJECTS, low=1, high=16),
        overflow=spec.option("overflow", choice("overflow", OVERFLOWS), "largest"),
        reference=spec.option("reference", choice("reference", REFERENCES), "figure"),
    )
