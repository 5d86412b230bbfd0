"""The DSD generator on a tiny FLUX base and a tiny release saved as released, loaded through
``--generator "dsd:..."``: what the condition, the LoRA and the crop do, and what is refused."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_flux import SIDE, save_tiny_dsd, save_tiny_flux

from storyviz.errors import BackendError
from storyviz.registry import parse_backend
from storyviz.schemas import CastMember, CharacterSheet, PanelSpec, RenderRequest

PROMPT = "a comic panel of a girl with red hair in the rain street"


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("dsd")
    base = save_tiny_flux(root / "FLUX.1-dev")
    transformer, lora = save_tiny_dsd(root / "dsd_model", base)
    zero, _ = save_tiny_dsd(root / "dsd_zero", base, condition_scale=0.0, lora=False)
    assert lora is not None
    sheets = root / "sheets"
    sheets.mkdir()
    for name, colour in (("red", (200, 40, 40)), ("blue", (40, 60, 200)), ("green", (40, 160, 60))):
        sheet = Image.new("RGB", (24, 32), (235, 235, 230))
        sheet.paste(Image.new("RGB", (10, 24), colour), (7, 4))
        sheet.save(sheets / f"{name}.png")
    return {
        "base": base,
        "transformer": transformer,
        "lora": lora,
        "zero": zero,
        "sheets": sheets,
    }


def _generator(release: dict[str, Path], options: str = "") -> Any:
    from storyviz.generators.dsd.backend import DSDGenerator

    spec = (
        f"dsd:{release['base']}?transformer={release['transformer']}&lora={release['lora']}"
        f"&size={SIDE}&steps=2"
    )
    return DSDGenerator(parse_backend(spec + (f"&{options}" if options else "")))


def _sheet(character: str) -> CharacterSheet:
    return CharacterSheet(
        id=character, name=character.title(), description="a girl", reference_prompt="", seed=1
    )


def _panel(
    release: dict[str, Path],
    refs: dict[str, str],
    boxes: dict[str, tuple[float, float, float, float]] | None = None,
    **changes: Any,
) -> RenderRequest:
    boxes = boxes or {"mia": (0.0, 0.1, 0.6, 1.0), "ada": (0.6, 0.3, 0.9, 0.9)}
    panel = PanelSpec(
        id="p01",
        beat="Mia and Ada",
        cast=[CastMember(character_id=c, box=b) for c, b in boxes.items()],
    )
    values: dict[str, Any] = {
        "target_id": "p01",
        "prompt": PROMPT,
        "width": SIDE,
        "height": SIDE,
        "seed": 4,
        "panel": panel,
        "characters": [_sheet(c) for c in boxes],
        "references": {c: str(release["sheets"] / f"{refs[c]}.png") for c in refs},
    }
    return RenderRequest(**{**values, **changes})


def _pixels(generator: Any, request: RenderRequest) -> np.ndarray:
    return np.asarray(generator.render(request).image, dtype=np.float32)


def _bare(base: Path, seed: int, steps: int = 2) -> np.ndarray:
    """The stock FluxPipeline on the base folder at the release's call size, right half."""
    from diffusers import FluxPipeline

    pipe = FluxPipeline.from_pretrained(str(base))
    with torch.inference_mode():
        image = pipe(
            prompt=PROMPT,
            height=SIDE,
            width=2 * SIDE,
            num_inference_steps=steps,
            guidance_scale=3.5,
            generator=torch.Generator("cpu").manual_seed(seed),
        ).images[0]
    return np.asarray(image.crop((SIDE, 0, 2 * SIDE, SIDE)), dtype=np.float32)


def test_a_zero_c_embedder_without_lora_draws_the_base_models_right_half(
    release: dict[str, Path],
) -> None:
    """The zero-initialised embedder adds nothing: the pixels are the base FLUX pipeline's at
    the 2:1 call size, cropped to the right half, whatever the reference."""
    from storyviz.generators.dsd.backend import DSDGenerator

    spec = (
        f"dsd:{release['base']}?transformer={release['zero']}&lora=none&size={SIDE}&steps=2"
        "&dtype=float32"
    )
    generator = DSDGenerator(parse_backend(spec))
    drawn = _pixels(generator, _panel(release, {"mia": "red"}))
    assert np.abs(drawn - _bare(release["base"], 4)).max() <= 1.0  # uint8 rounding at most
    assert np.array_equal(drawn, _pixels(generator, _panel(release, {"mia": "blue"})))


def test_the_reference_conditions_the_drawing(release: dict[str, Path]) -> None:
    generator = _generator(release)
    red = _pixels(generator, _panel(release, {"mia": "red"}))
    blue = _pixels(generator, _panel(release, {"mia": "blue"}))
    assert np.abs(red - blue).mean() > 0.5
    assert np.array_equal(red, _pixels(generator, _panel(release, {"mia": "red"})))  # seeded
    info = generator.render(_panel(release, {"mia": "red"})).info
    assert info["dsd_condition"] == "reference" and info["dsd_subjects"] == ["mia"]
    assert info["dsd_lora"] == "pytorch_lora_weights.safetensors"
    assert info["render_size"] == [2 * SIDE, SIDE]


def test_the_lora_changes_the_pixels(release: dict[str, Path]) -> None:
    with_lora = _pixels(_generator(release), _panel(release, {"mia": "red"}))
    from storyviz.generators.dsd.backend import DSDGenerator

    spec = f"dsd:{release['base']}?transformer={release['transformer']}&lora=none&size={SIDE}"
    without = _pixels(
        DSDGenerator(parse_backend(spec + "&steps=2")), _panel(release, {"mia": "red"})
    )
    assert np.abs(with_lora - without).mean() > 0.5
    assert _generator(release).parts.lora_layers == 7  # every layer the file names landed


def test_the_principal_is_the_largest_box_and_the_collage_reads_every_sheet(
    release: dict[str, Path],
) -> None:
    principal = _generator(release)
    a = _panel(release, {"mia": "red", "ada": "blue"})
    b = _panel(release, {"mia": "red", "ada": "green"})
    assert np.array_equal(_pixels(principal, a), _pixels(principal, b))  # Ada is left out
    info = principal.render(a).info
    assert info["dsd_subjects"] == ["mia"] and info["dsd_dropped"] == ["ada"]

    collage = _generator(release, "cast=collage")
    assert np.abs(_pixels(collage, a) - _pixels(collage, b)).mean() > 0.1
    assert collage.render(a).info["dsd_subjects"] == ["mia", "ada"]


def test_panels_of_other_sizes_are_fitted_from_the_square(release: dict[str, Path]) -> None:
    generator = _generator(release)
    square = generator.render(_panel(release, {"mia": "red"})).image
    wide = generator.render(_panel(release, {"mia": "red"}, width=48, height=24)).image
    assert wide.size == (48, 24) and square.size == (SIDE, SIDE)
    # scaled to cover the width (x 1.5), then the centre band: the square's middle rows
    band = square.resize((48, 48), Image.Resampling.LANCZOS).crop((0, 12, 48, 36))
    assert np.abs(np.asarray(band, np.float32) - np.asarray(wide, np.float32)).mean() < 2.0


def test_references_and_reference_less_panels_draw_on_a_black_condition(
    release: dict[str, Path],
) -> None:
    generator = _generator(release)
    result = generator.render(
        RenderRequest(kind="reference", target_id="mia", prompt=PROMPT, width=24, height=32, seed=2)
    )
    assert result.image.size == (24, 32)
    assert result.info["dsd_condition"] == "black" and result.info["dsd_subjects"] == []


def test_an_inpaint_repair_keeps_everything_outside_its_mask(
    release: dict[str, Path], tmp_path: Path
) -> None:
    generator = _generator(release)
    generator.base_dir = tmp_path
    first = generator.render(_panel(release, {"mia": "red"}, width=48, height=32))
    first.image.save(tmp_path / "v1.png")
    mask = Image.new("L", (48, 32), 0)
    mask.paste(255, (0, 0, 24, 32))
    mask.save(tmp_path / "mask.png")
    request = _panel(
        release, {"mia": "red"}, width=48, height=32, init_image="v1.png", mask="mask.png"
    )
    repaired = generator.render(request)
    assert repaired.task == "inpaint" and repaired.image.size == (48, 32)
    before = np.asarray(first.image, np.float32)
    after = np.asarray(repaired.image, np.float32)
    assert np.array_equal(before[:, 26:], after[:, 26:])  # outside, past the blend seam
    assert np.abs(before[:, :22] - after[:, :22]).mean() > 0.5
    redrawn = generator.render(
        _panel(release, {"mia": "red"}, width=48, height=32, init_image="v1.png")
    )
    assert redrawn.task == "img2img" and redrawn.image.size == (48, 32)


def test_options_are_checked_before_loading(release: dict[str, Path]) -> None:
    from storyviz.generators.dsd.options import parse_settings

    with pytest.raises(BackendError, match="needs a FLUX.1-dev base model"):
        parse_settings(parse_backend("dsd"))
    with pytest.raises(BackendError, match="must be a multiple of 16"):
        parse_settings(parse_backend("dsd:m?size=40"))
    with pytest.raises(BackendError, match="cast must be one of principal, collage"):
        parse_settings(parse_backend("dsd:m?cast=all"))
    with pytest.raises(BackendError, match="no DSD LoRA file at"):
        parse_settings(parse_backend("dsd:m?lora=/nowhere/lora.safetensors"))
    with pytest.raises(BackendError, match="unknown option|not an option|does not take"):
        parse_settings(parse_backend("dsd:m?negative=true"))
    settings = parse_settings(parse_backend("dsd:black-forest-labs/FLUX.1-dev"))
    assert (settings.sampling.steps, settings.sampling.guidance, settings.side) == (28, 3.5, 512)
    assert settings.transformer.text == "primecai/dsd_model/transformer"
    assert settings.lora is not None and settings.lora.text.endswith(
        "pytorch_lora_weights.safetensors"
    )


def test_a_stock_flux_transformer_is_refused(release: dict[str, Path]) -> None:
    from storyviz.generators.dsd.backend import DSDGenerator

    stock = release["base"] / "transformer"
    spec = f"dsd:{release['base']}?transformer={stock}&lora=none&size={SIDE}"
    with pytest.raises(BackendError, match="missing key 'c_embedder.weight'"):
        DSDGenerator(parse_backend(spec))


def test_a_lora_for_another_model_is_refused(release: dict[str, Path], tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from storyviz.generators.dsd.backend import DSDGenerator

    other = tmp_path / "other.safetensors"
    save_file(
        {
            "transformer.no_such_block.to_q.lora_A.weight": torch.zeros(4, 32),
            "transformer.no_such_block.to_q.lora_B.weight": torch.zeros(32, 4),
        },
        str(other),
    )
    spec = f"dsd:{release['base']}?transformer={release['transformer']}&lora={other}&size={SIDE}"
    with pytest.raises(BackendError, match="other.safetensors"):
        DSDGenerator(parse_backend(spec))


@pytest.mark.slow
def test_a_whole_run_with_dsd(release: dict[str, Path], tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from cli_helpers import last_json, storyviz

    spec = (
        f"dsd:{release['base']}?transformer={release['transformer']}&lora={release['lora']}"
        f"&size={SIDE}&steps=2"
    )
    summary = last_json(
        storyviz(
            "run", "Mia, a girl with red hair, walks home. She meets Bolt, a robot dog.",
            "--panels", "2", "--generator", spec,
            "--runs-dir", str(tmp_path / "runs"), "--max-rounds", "1", "--json", "-q",
            timeout=300,
        )
    )  # fmt: skip
    assert summary["status"] == "completed" and summary["panels"] == 2
    run_dir = Path(summary["run_dir"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["backends"]["generator"].startswith("dsd:")
    audit = json.loads((run_dir / "audit.json").read_text())
    first = audit["versions"]["p01"][0]["parameters"]
    assert first["renderer"] == "dsd" and first["dsd_condition"] == "reference"
    assert list((run_dir / "pages").glob("page_*.png"))
