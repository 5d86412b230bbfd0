"""Sensible sampling defaults per model family, matched by model id.

Distilled models (the *-turbo ones, FLUX.1-schnell) are trained for one to four steps without
classifier-free guidance; running them with SD 1.5's 25 steps at guidance 7.5 wastes time and
burns the image. A user who names a hub id gets the right numbers without knowing this; options
(``?steps=&guidance=&size=``) still override every field.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """Defaults for one model family."""

    name: str
    steps: int
    guidance: float
    size: int  # the long side the model was trained at
    family: str  # "sd15", "sdxl", "flux": what the pipeline can be asked (negative prompts ...)


SD15 = Preset("sd15", steps=25, guidance=7.5, size=512, family="sd15")

# Most specific first: "sdxl-turbo" must win over "sdxl" and "sd-turbo".
_BY_SUBSTRING: tuple[tuple[str, Preset], ...] = (
    ("sdxl-turbo", Preset("sdxl-turbo", steps=1, guidance=0.0, size=512, family="sdxl")),
    ("sd-turbo", Preset("sd-turbo", steps=1, guidance=0.0, size=512, family="sd15")),
    ("flux.1-schnell", Preset("flux-schnell", steps=4, guidance=0.0, size=1024, family="flux")),
    ("stable-diffusion-xl", Preset("sdxl", steps=30, guidance=6.0, size=1024, family="sdxl")),
    ("sdxl", Preset("sdxl", steps=30, guidance=6.0, size=1024, family="sdxl")),
    ("stable-diffusion-v1-5", SD15),
    ("stable-diffusion-v1", SD15),
)


def preset_for(model: str) -> Preset:
    """The preset whose key occurs in the model id (case-insensitive); SD 1.5 defaults otherwise.

    Local folders carry no family in their name as a rule, so they get the SD 1.5 numbers, the
    most conservative choice (more steps never breaks a model, too few does)."""
    lowered = model.lower()
    for key, preset in _BY_SUBSTRING:
        if key in lowered:
            return preset
    return SD15
