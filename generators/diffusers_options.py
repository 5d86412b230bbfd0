"""The options of ``diffusers:MODEL?key=value&...``, parsed and checked before anything loads.

Parsing is pure (no torch) so a typo in a backend string fails in milliseconds with a message
that names the option, instead of after a multi-gigabyte load.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from storyviz.errors import BackendError
from storyviz.registry import BackendSpec

from .diffusers_presets import Preset, preset_for

OPTIONS = frozenset({"steps", "guidance", "size", "device", "dtype", "offload", "negative"})
DEVICES = ("cuda", "mps", "cpu")
DTYPES = ("float32", "float16", "bfloat16")
_DTYPE_ALIASES = {"fp32": "float32", "fp16": "float16", "half": "float16", "bf16": "bfloat16"}
OFFLOADS = ("none", "model", "sequential")


@dataclass(frozen=True)
class Size:
    """``size=512`` fixes the long side (the panel keeps its aspect); ``size=768x512`` is exact."""

    width: int
    height: int | None = None  # None: ``width`` is the long side

    def for_request(self, width: int, height: int) -> tuple[int, int]:
        """The generation size for a request of this width and height, multiples of 8."""
        if self.height is not None:
            return snap8(self.width), snap8(self.height)
        scale = self.width / max(width, height)
        return snap8(width * scale), snap8(height * scale)


@dataclass(frozen=True)
class Settings:
    """Everything the options decide; ``device``/``dtype`` None means choose automatically."""

    model: str
    preset: Preset
    steps: int
    guidance: float
    size: Size | None
    device: str | None
    dtype: str | None
    offload: str
    negative: bool


def snap8(value: float) -> int:
    """Nearest multiple of 8, at least 64: the VAE downsamples by 8 and tiny sizes break UNets."""
    return max(64, int(value / 8.0 + 0.5) * 8)  # half up, not to even: 100 -> 104


def parse_size(text: str) -> Size:
    raw = text.strip().lower()
    width_text, sep, height_text = raw.partition("x")
    width = int(width_text)
    height = int(height_text) if sep else None
    if width < 64 or (height is not None and height < 64):
        raise ValueError("sizes below 64 pixels are not supported")
    return Size(width, height)


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _choice(
    name: str, choices: tuple[str, ...], aliases: dict[str, str] | None = None
) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower()
        value = (aliases or {}).get(value, value)
        if value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}")
        return value

    return parse


def parse_settings(spec: BackendSpec) -> Settings:
    """Check the options against the allowed set and fill the rest from the model's preset."""
    spec.check_options(OPTIONS)
    if not spec.model:
        raise BackendError(
            "backend 'diffusers' needs a model: diffusers:stabilityai/sd-turbo "
            "or diffusers:/path/to/local/model"
        )
    preset = preset_for(spec.model)
    steps = spec.option("steps", int, preset.steps)
    guidance = spec.option("guidance", float, preset.guidance)
    if steps < 1:
        raise BackendError(f"backend 'diffusers': steps must be at least 1, got {steps}")
    if not (math.isfinite(guidance) and guidance >= 0.0):
        raise BackendError(f"backend 'diffusers': guidance must be >= 0, got {guidance}")
    size: Size | None = spec.option("size", parse_size, None)
    device: str | None = spec.option("device", _choice("device", DEVICES), None)
    dtype: str | None = spec.option("dtype", _choice("dtype", DTYPES, _DTYPE_ALIASES), None)
    offload = spec.option("offload", _choice("offload", OFFLOADS), "none")
    negative = spec.option("negative", _bool, preset.family != "flux")
    return Settings(
        model=spec.model,
        preset=preset,
        steps=steps,
        guidance=guidance,
        size=size,
        device=device,
        dtype=dtype,
        offload=offload,
        negative=negative,
    )
