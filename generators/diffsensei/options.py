"""The options of ``diffsensei:DIR_OR_ID?ip_scale=&...``, checked before loading.

Pure parsing (no torch). The defaults are the release's no-MLLM inference settings (its
``configs/inference/diffsensei.yaml``: 30 steps, guidance 7.5, ip scale 0.6, its negative prompt)
and the model config's limits (4 characters, 8 dialog boxes, a 20-head resampler), which no
weight carries.
"""

from __future__ import annotations

from dataclasses import dataclass

from storyviz.errors import BackendError
from storyviz.generators.diffusers.options import Settings, choice, sampling_settings
from storyviz.generators.diffusers.presets import Preset
from storyviz.generators.seed_models.subjects import OVERFLOWS
from storyviz.registry import BackendSpec

NAME = "diffsensei"
PRESET = Preset("diffsensei", steps=30, guidance=7.5, size=1024, family="sdxl")
DEFAULT_IP_SCALE = 0.6
DEFAULT_HEADS = 20  # the resampler's 20 x 64 split: no weight shows it
MAX_SUBJECTS = 4  # max_num_ips
MAX_DIALOGS = 8  # max_num_dialogs
REFERENCES = ("figure", "sheet")
MAGI_MASKS = ("off", "release")

OPTIONS = frozenset(
    {
        "steps",
        "guidance",
        "size",
        "device",
        "dtype",
        "offload",
        "negative",
        "ip_scale",
        "heads",
        "max_subjects",
        "overflow",
        "max_dialogs",
        "dialogs",
        "reference",
        "grey",
        "magi_mask",
    }
)


@dataclass(frozen=True)
class DSSettings:
    sampling: Settings
    ip_scale: float
    heads: int
    max_subjects: int
    overflow: str  # "largest": draw the largest boxes, record the rest; "error": refuse
    max_dialogs: int
    dialogs: bool  # leave the lettering's balloon and caption regions for text
    reference: str  # "figure": the sheet's figure cut out onto white; "sheet": as drawn
    grey: bool  # references in greyscale, as the release's demo gives them
    magi_mask: str  # "off": the Magi encoder sees every patch; "release": 75% masked, seeded


def parse_settings(spec: BackendSpec) -> DSSettings:
    spec.check_options(OPTIONS)
    if not spec.model:
        raise BackendError(
            f"backend '{NAME}' needs the release's folder or hub id: "
            f"{NAME}:jianzongwu/DiffSensei or {NAME}:/path/to/DiffSensei"
        )
    return DSSettings(
        sampling=sampling_settings(spec, PRESET, negative_default=True),
        ip_scale=spec.option("ip_scale", float, DEFAULT_IP_SCALE, low=0.0, high=2.0),
        heads=spec.option("heads", int, DEFAULT_HEADS, low=1, high=256),
        max_subjects=spec.option("max_subjects", int, MAX_SUBJECTS, low=1, high=16),
        overflow=spec.option("overflow", choice("overflow", OVERFLOWS), "largest"),
        max_dialogs=spec.option("max_dialogs", int, MAX_DIALOGS, low=0, high=64),
        dialogs=spec.flag("dialogs", True),
        reference=spec.option("reference", choice("reference", REFERENCES), "figure"),
        grey=spec.flag("grey", True),
        magi_mask=spec.option("magi_mask", choice("magi_mask", MAGI_MASKS), "off"),
    )
