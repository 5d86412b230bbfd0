"""IP-Adapter identity on the tiny pipeline: references condition panels inside their boxes.

The adapter is built from a tiny random state dict (tests/tiny_diffusers.py) in the layout of
h94/IP-Adapter and loaded through ``?ip_adapter=/that/file``, the code path of ``ip_adapter=sd15``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from storyviz.errors import BackendError
from storyviz.generators.diffusers.options import AdapterSource, parse_adapter, parse_settings
from storyviz.registry import parse_backend
from storyviz.schemas import CastMember, PanelSpec, RenderRequest


def test_adapter_sources_from_shorthands_hub_paths_and_files(tmp_path: Path) -> None:
    assert parse_adapter("sd15") == AdapterSource(
        "h94/IP-Adapter", "models", "ip-adapter_sd15.safetensors"
    )
    assert parse_adapter("me/adapters/ip.bin") == AdapterSource("me/adapters", "", "ip.bin")
    weights = tmp_path / "models" / "ip.safetensors"
    weights.parent.mkdir()
    weights.write_bytes(b"")
    assert parse_adapter(str(weights)) == AdapterSource(str(tmp_path), "models", "ip.safetensors")
    for bad in ("just-a-name", str(tmp_path / "missing.safetensors")):
        with pytest.raises(ValueError):
            parse_adapter(bad)


def test_adapter_options_are_checked_before_loading() -> None:
    settings = parse_settings(parse_backend("diffusers:m?ip_adapter=sd15&ip_scale=0.8"))
    assert settings.ip_scale == 0.8 and settings.ip_adapter is not None
    for bad, words in [
        ("diffusers:m?ip_adapter=sd15&ip_scale=3", "ip_scale must be"),
        ("diffusers:m?ip_scale=0.5", "needs ip_adapter"),
        ("diffusers:m?ip_adapter=nowhere", "ip_adapter="),
    ]:
        with pytest.raises(BackendError, match=words):
            parse_settings(parse_backend(bad))


@pytest.fixture(scope="module")
def tiny_adapter(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from diffusers import UNet2DConditionModel
    from tiny_diffusers import save_tiny_ip_adapter

    unet = UNet2DConditionModel.from_pretrained(tiny_model / "unet")
    return save_tiny_ip_adapter(tmp_path_factory.mktemp("tiny-ip"), unet)


def _refs(folder: Path) -> dict[str, str]:
    folder.mkdir(exist_ok=True)
    paths = {}
    for cid, colour in (("mia", (220, 40, 30)), ("bolt", (30, 60, 220))):
        path = folder / f"{cid}.png"
        Image.new("RGB", (48, 64), colour).save(path)
        paths[cid] = str(path)
    return paths


def _panel_request(references: dict[str, str], **changes: Any) -> RenderRequest:
    panel = PanelSpec(
        id="p01",
        beat="Mia and Bolt",
        cast=[
            CastMember(character_id="mia", box=(0.0, 0.0, 0.5, 1.0)),
            CastMember(character_id="bolt", box=(0.5, 0.0, 1.0, 1.0)),
        ],
    )
    base: dict[str, Any] = {
        "target_id": "p01",
        "prompt": "a girl with red hair and a robot dog",
        "width": 64,
        "height": 64,
        "seed": 3,
        "panel": panel,
        "references": references,
    }
    return RenderRequest(**{**base, **changes})


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float32)


def test_the_adapter_changes_the_output_and_is_recorded(
    make_generator: Callable[..., Any], tiny_adapter: Path, tmp_path: Path
) -> None:
    refs = _refs(tmp_path / "refs")
    plain = make_generator().render(_panel_request(refs))
    conditioned = make_generator(f"steps=2&ip_adapter={tiny_adapter}&ip_scale=1.0")
    result = conditioned.render(_panel_request(refs))
    assert np.abs(_pixels(result.image) - _pixels(plain.image)).mean() > 1.0
    assert result.info["ip_references"] == ["mia", "bolt"]
    assert result.info["ip_scale"] == 1.0 and result.info["ip_adapter"].endswith(".safetensors")

    again = conditioned.render(_panel_request(refs))
    assert np.array_equal(_pixels(again.image), _pixels(result.image))  # still deterministic

    other = _refs(tmp_path / "other")
    Image.new("RGB", (48, 64), (10, 200, 10)).save(other["mia"])
    swapped = conditioned.render(_panel_request(other))
    assert not np.array_equal(_pixels(swapped.image), _pixels(result.image))


def test_without_references_the_adapter_is_silent(
    make_generator: Callable[..., Any], tiny_adapter: Path
) -> None:
    """References themselves and empty panels render at scale 0: as the text alone draws them."""
    conditioned = make_generator(f"steps=2&ip_adapter={tiny_adapter}")
    reference = RenderRequest(
        kind="reference", target_id="mia", prompt="a girl", width=64, height=64, seed=3
    )
    result = conditioned.render(reference)
    assert result.info["ip_scale"] == 0.0 and result.info["ip_references"] == []
    plain = make_generator().render(reference)
    assert np.abs(_pixels(result.image) - _pixels(plain.image)).max() <= 2.0


def test_inpaint_repairs_are_conditioned_on_the_reference_too(
    make_generator: Callable[..., Any], tiny_adapter: Path, tmp_path: Path
) -> None:
    from storyviz.masks import box_mask

    refs = _refs(tmp_path / "refs")
    generator = make_generator(f"steps=2&ip_adapter={tiny_adapter}&ip_scale=1.0")
    first = generator.render(_panel_request(refs))
    init, mask = tmp_path / "init.png", tmp_path / "mask.png"
    first.image.save(init)
    box_mask((64, 64), [(0.0, 0.0, 0.5, 1.0)]).save(mask)
    repair = _panel_request(refs, version=2, init_image=str(init), mask=str(mask))
    result = generator.render(repair)
    assert result.info["task"] == "inpaint" and result.info["ip_references"] == ["mia", "bolt"]
    assert generator.loaded.derived("inpaint").unet is generator.text2img.unet


def test_a_pipeline_without_adapter_support_says_so(tiny_model: Path) -> None:
    from storyviz.generators.diffusers.identity import load_adapter

    with pytest.raises(BackendError, match="does not take an IP-Adapter"):
        load_adapter(object(), AdapterSource("a/b", "", "c.bin"))


def test_each_reference_acts_mostly_inside_its_characters_box(
    make_generator: Callable[..., Any], tiny_adapter: Path, tmp_path: Path
) -> None:
    """The cast boxes reach the model as IP-Adapter attention masks: changing Mia's reference
    changes the left half (her box) more than Bolt's right half."""
    refs = _refs(tmp_path / "refs")
    generator = make_generator(f"steps=2&ip_adapter={tiny_adapter}&ip_scale=1.0")
    wide = {"width": 192, "height": 64}  # room between the boxes for the decoder's blur
    base = _pixels(generator.render(_panel_request(refs, **wide)).image)
    Image.new("RGB", (48, 64), (250, 250, 250)).save(refs["mia"])
    changed = _pixels(generator.render(_panel_request(refs, **wide)).image)
    diff = np.abs(changed - base).mean(axis=(0, 2))
    left, right = diff[:64].mean(), diff[128:].mean()  # the outer thirds
    assert left > 2 * right
