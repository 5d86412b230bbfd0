"""The options of ``dsd:FLUX_ID_OR_DIR?transformer=&lora=...``, checked before loading.

Pure parsing (no torch). Defaults are the release's: FLUX.1-dev as the base (named by the user),
the fine-tuned transformer and the LoRA from ``primecai/dsd_model``, 28 steps at embedded
guidance 3.5, and its one working size, 512 x 512 (the call itself is 512 x 1024: the condition
on the left, the picture on the right).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from storyviz.errors import BackendError
from storyviz.generators.diffusers.options import Settings, choice, sampling_settings
from storyviz.generators.diffusers.presets import Preset
from storyviz.generators.seed_models.sources import Source, source_option
from storyviz.registry import BackendSpec

NAME = "dsd"
PRESET = Preset("dsd", steps=28, guidance=3.5, size=512, family="flux")
DEFAULT_TRANSFORMER = "primecai/dsd_model/transformer"
DEFAULT_LORA = "primecai/dsd_model/pytorch_lora_weights.safetensors"
CASTS = ("principal", "collage")
REFERENCES = ("figure", "sheet")
SIDE_STEP = 16  # FLUX packs 2 x 2 latents of an 8x VAE: sides are multiples of 16

OPTIONS = frozenset(
    {
        "steps",
        "guidance",
        "size",
        "device",
        "dtype",
        "offload",
        "transformer",
        "lora",
        "cast",
        "reference",
    }
)


@dataclass(frozen=True)
class DSDSettings:
    sampling: Settings
    transformer: Source
    lora: Source | None  # None: the fine-tuned transformer alone (lora=none)
    side: int  # the square the model draws (and the condition's half of the call)
    cast: str  # "principal": the largest cast box's sheet; "collage": every sheet, tiled
    reference: str  # "figure": the sheet's figure cut out; "sheet": as drawn


def parse_settings(spec: BackendSpec) -> DSDSettings:
    spec.check_options(OPTIONS)
    if not spec.model:
        raise BackendError(
            f"backend '{NAME}' needs a FLUX.1-dev base model: "
            f"{NAME}:black-forest-labs/FLUX.1-dev or {NAME}:/path/to/FLUX.1-dev"
        )
    # size= is DSD's square side, not a panel size: the shared parser must not read it
    bare = replace(spec, options={k: v for k, v in spec.options.items() if k != "size"})
    sampling = sampling_settings(bare, PRESET, negative_default=False)
    side = spec.option("size", int, PRESET.size, low=SIDE_STEP * 2, high=2048)
    if side % SIDE_STEP:
        raise BackendError(
            f"backend '{NAME}': size={side} must be a multiple of {SIDE_STEP} "
            f"(the square DSD draws; the release's is {PRESET.size})"
        )
    transformer = spec.option(
        "transformer", source_option("DSD transformer", False), Source(DEFAULT_TRANSFORMER)
    )
    lora_text = spec.options.get("lora", DEFAULT_LORA).strip()
    lora = (
        None
        if lora_text.lower() == "none"
        else spec.option("lora", source_option("DSD LoRA", True), Source(DEFAULT_LORA))
    )
    return DSDSettings(
        sampling=sampling,
        transformer=transformer,
        lora=lora,
        side=side,
        cast=spec.option("cast", choice("cast", CASTS), "principal"),
        reference=spec.option("reference", choice("reference", REFERENCES), "figure"),
    )
