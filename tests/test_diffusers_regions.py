"""Cast boxes as regional prompts: each region's words act inside its box (tiny pipelines)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from storyviz.errors import BackendError
from storyviz.generators.diffusers.options import parse_settings
from storyviz.registry import parse_backend
from storyviz.schemas import CastMember, PanelSpec, RegionPrompt, RenderRequest


def test_layer_grids_follow_the_unet_downsampling() -> None:
    from storyviz.generators.diffusers.regions import layer_grid

    assert layer_grid((12, 24), 288) == (12, 24)
    assert layer_grid((12, 24), 72) == (6, 12)
    assert layer_grid((13, 7), 28) == (7, 4)  # odd sizes round up, as strided convs do
    assert layer_grid((8, 8), 4) == (2, 2)


def test_layout_options_are_checked() -> None:
    assert parse_settings(parse_backend("diffusers:m")).regional_prompts
    assert not parse_settings(parse_backend("diffusers:m?layout=off")).regional_prompts
    assert not parse_settings(parse_backend("diffusers:m?ip_adapter=sd15")).regional_prompts
    with pytest.raises(BackendError, match="cannot be combined"):
        parse_settings(parse_backend("diffusers:m?ip_adapter=sd15&layout=regions"))
    with pytest.raises(BackendError, match="layout must be one of"):
        parse_settings(parse_backend("diffusers:m?layout=gligen"))


def _request(region_words: str, **changes: Any) -> RenderRequest:
    box = (0.0, 0.0, 0.34, 1.0)
    panel = PanelSpec(
        id="p01", beat="Mia in the rain", cast=[CastMember(character_id="mia", box=box)]
    )
    base: dict[str, Any] = {
        "target_id": "p01",
        "prompt": "a comic panel of a rain street",
        "negative_prompt": "blurry",
        "width": 192,
        "height": 64,
        "seed": 11,
        "panel": panel,
        "regions": [RegionPrompt(box=box, prompt=region_words, character_id="mia")],
    }
    return RenderRequest(**{**base, **changes})


def _column_change(generator: Any) -> tuple[float, float]:
    """Mean change in the region's third and in the far third when only the region's words
    change."""
    a = np.asarray(generator.render(_request("a girl with red hair")).image, dtype=np.float32)
    b = np.asarray(generator.render(_request("silver robot dog night")).image, dtype=np.float32)
    diff = np.abs(a - b).mean(axis=(0, 2))
    return float(diff[:64].mean()), float(diff[128:].mean())


@pytest.mark.parametrize("guidance", ["0", "3"])
def test_a_regions_words_act_inside_its_box(
    make_generator: Callable[..., Any], guidance: str
) -> None:
    generator = make_generator(f"steps=2&guidance={guidance}")
    inside, outside = _column_change(generator)
    assert inside > 3 * outside
    result = generator.render(_request("a girl"))
    assert result.info["layout"] == "regions"


def test_layout_off_ignores_the_regions(make_generator: Callable[..., Any]) -> None:
    generator = make_generator("steps=2&layout=off")
    inside, outside = _column_change(generator)
    assert inside == outside == 0.0
    assert generator.render(_request("a girl")).info["layout"] == "none"


def test_regions_leave_the_processors_as_they_were(make_generator: Callable[..., Any]) -> None:
    generator = make_generator("steps=2")
    before = {k: type(v) for k, v in generator.text2img.unet.attn_processors.items()}
    generator.render(_request("a girl with red hair"))
    after = {k: type(v) for k, v in generator.text2img.unet.attn_processors.items()}
    assert before == after


def test_regions_on_sdxl(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    from tiny_diffusers import save_tiny_pipeline

    from storyviz.generators.diffusers.backend import DiffusersGenerator

    folder = save_tiny_pipeline(tmp_path_factory.mktemp("sdxl-regions"), family="sdxl")
    generator = DiffusersGenerator(parse_backend(f"diffusers:{folder}?steps=2&guidance=5"))
    inside, outside = _column_change(generator)
    # The tiny SDXL UNet is weakly text-conditioned and spreads more (two transformer layers
    # at its deeper level): the change still sits mostly inside the box (3x as measured).
    assert inside > 2 * outside > 0.0
    assert isinstance(generator.render(_request("a girl")).image, Image.Image)
