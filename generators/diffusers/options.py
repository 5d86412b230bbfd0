"""The options of ``diffusers:MODEL?key=value&...``, parsed and checked before anything loads.

Parsing is pure (no torch) so a typo in a backend string fails in milliseconds with a message
that names the option, instead of after a multi-gigabyte load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from storyviz.errors import BackendError
from storyviz.generators.diffusers.presets import Preset, preset_for
from storyviz.registry import BackendSpec

OPTIONS = frozenset(
    {
        "steps",
        "guidance",
        "size",
        "device",
        "dtype",
        "offload",
        "negative",
        "ip_adapter",
        "ip_scale",
        "layout",
    }
)
DEVICES = ("cuda", "mps", "cpu")
DTYPES = ("float32", "float16", "bfloat16")
_DTYPE_ALIASES = {"fp32": "float32", "fp16": "float16", "half": "float16", "bf16": "bfloat16"}
OFFLOADS = ("none", "model", "sequential")
LAYOUTS = ("auto", "regions", "off")  # auto: IP-Adapter masks with an adapter, else regions
DEFAULT_IP_SCALE = 0.6  # identity without copying the reference's pose and background
MAX_STEPS = 1000  # the schedulers' training timesteps; more cannot be scheduled
MAX_GUIDANCE = 50.0  # far past any model's useful classifier-free guidance (about 1-15)
MIN_SIZE, MAX_SIZE = 64, 4096  # as --panel-size: tiny sizes break UNets, huge ones any GPU

# Short names for the IP-Adapter weights people use most (h94/IP-Adapter on the hub).
ADAPTER_SHORTHANDS = {
    "sd15": "h94/IP-Adapter/models/ip-adapter_sd15.safetensors",
    "sd15-plus": "h94/IP-Adapter/models/ip-adapter-plus_sd15.safetensors",
    "sdxl": "h94/IP-Adapter/sdxl_models/ip-adapter_sdxl.safetensors",
}


@dataclass(frozen=True)
class AdapterSource:
    """Where ``load_ip_adapter`` finds the weights: a hub repo or local folder, the subfolder
    holding the weight file (its ``image_encoder/`` beside it), and the file's name."""

    repo: str
    subfolder: str
    weight_name: str

    def __str__(self) -> str:
        return "/".join(part for part in (self.repo, self.subfolder, self.weight_name) if part)


def parse_adapter(text: str) -> AdapterSource:
    """``sd15`` | ``OWNER/REPO/SUBFOLDER/FILE`` | a local weight file ``/path/models/FILE``."""
    raw = ADAPTER_SHORTHANDS.get(text.strip().lower(), text.strip())
    if raw.startswith(("/", ".", "~")):
        file = Path(raw).expanduser()
        if not file.is_file():
            raise ValueError(f"no IP-Adapter weight file at {file}")
        return AdapterSource(str(file.parent.parent), file.parent.name, file.name)
    parts = [part for part in raw.split("/") if part]
    if len(parts) < 3:
        shorthands = ", ".join(ADAPTER_SHORTHANDS)
        raise ValueError(f"expected {shorthands}, OWNER/REPO/[SUBFOLDER/]FILE or a local file")
    return AdapterSource("/".join(parts[:2]), "/".join(parts[2:-1]), parts[-1])


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
    ip_adapter: AdapterSource | None = None
    ip_scale: float = DEFAULT_IP_SCALE
    layout: str = "auto"

    @property
    def regional_prompts(self) -> bool:
        """Cast boxes as masked regional prompts (``regions``)."""
        return self.layout == "regions" or (self.layout == "auto" and self.ip_adapter is None)


def snap8(value: float) -> int:
    """Nearest multiple of 8, at least 64: the VAE downsamples by 8 and tiny sizes break UNets."""
    return max(64, int(value / 8.0 + 0.5) * 8)  # half up, not to even: 100 -> 104


def parse_size(text: str) -> Size:
    raw = text.strip().lower()
    width_text, sep, height_text = raw.partition("x")
    width = int(width_text)
    height = int(height_text) if sep else None
    if width < MIN_SIZE or (height is not None and height < MIN_SIZE):
        raise ValueError(f"sizes below {MIN_SIZE} pixels are not supported")
    if width > MAX_SIZE or (height is not None and height > MAX_SIZE):
        raise ValueError(f"sizes above {MAX_SIZE} pixels are not supported")
    return Size(width, height)


def choice(
    name: str, choices: tuple[str, ...], aliases: dict[str, str] | None = None
) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower()
        value = (aliases or {}).get(value, value)
        if value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}")
        return value

    return parse


def sampling_settings(spec: BackendSpec, preset: Preset, negative_default: bool) -> Settings:
    """The options every diffusion backend shares (steps, guidance, size, device, dtype, offload,
    negative), with ``preset`` filling what is not given; no IP-Adapter, no regional prompts.
    The caller checks the option names and that a model is named."""
    assert spec.model is not None
    size: Size | None = spec.option("size", parse_size, None)
    device: str | None = spec.option("device", choice("device", DEVICES), None)
    dtype: str | None = spec.option("dtype", choice("dtype", DTYPES, _DTYPE_ALIASES), None)
    return Settings(
        model=spec.model,
        preset=preset,
        steps=spec.option("steps", int, preset.steps, low=1, high=MAX_STEPS),
        guidance=spec.option("guidance", float, preset.guidance, low=0.0, high=MAX_GUIDANCE),
        size=size,
        device=device,
        dtype=dtype,
        offload=spec.option("offload", choice("offload", OFFLOADS), "none"),
        negative=spec.flag("negative", negative_default),
        layout="off",
    )


def parse_settings(spec: BackendSpec) -> Settings:
    """Check the options against the allowed set and fill the rest from the model's preset."""
    spec.check_options(OPTIONS)
    if not spec.model:
        raise BackendError(
            "backend 'diffusers' needs a model: diffusers:stabilityai/sd-turbo "
            "or diffusers:/path/to/local/model"
        )
    preset = preset_for(spec.model)
    common = sampling_settings(spec, preset, negative_default=preset.family != "flux")
    ip_adapter: AdapterSource | None = spec.option("ip_adapter", parse_adapter, None)
    ip_scale = spec.option("ip_scale", float, DEFAULT_IP_SCALE, low=0.0, high=2.0)
    if "ip_scale" in spec.options and ip_adapter is None:
        raise BackendError("backend 'diffusers': ip_scale needs ip_adapter= as well")
    layout = spec.option("layout", choice("layout", LAYOUTS), "auto")
    if layout == "regions" and ip_adapter is not None:
        raise BackendError(
            "backend 'diffusers': layout=regions cannot be combined with ip_adapter (both replace "
            "the UNet's cross-attention); with an IP-Adapter the boxes act through its masks"
        )
    return replace(common, ip_adapter=ip_adapter, ip_scale=ip_scale, layout=layout)
