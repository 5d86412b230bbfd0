"""The MS-Diffusion generator on a tiny SDXL and a tiny random release (``tiny_msdiffusion``).

Loaded by path through ``msdiffusion:/folder?adapter=/file&image_encoder=/folder``, the code
path of the real release; random weights say nothing about likeness, so these tests check the
plumbing: strict loading, each subject's tokens acting inside its own box, the release's mask
rule, plain SDXL where there is nothing to condition on, overflow, repairs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from storyviz.errors import BackendError
from storyviz.generators.msdiffusion.masks import box_cells, subject_masks
from storyviz.generators.msdiffusion.options import MAX_SUBJECTS, parse_settings
from storyviz.generators.msdiffusion.subjects import panel_subjects, phrase_for
from storyviz.generators.seed_models.masked_attention import MASKED
from storyviz.registry import parse_backend
from storyviz.schemas import CastMember, CharacterSheet, PanelSpec, RenderRequest


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from diffusers import UNet2DConditionModel
    from tiny_diffusers import save_tiny_pipeline
    from tiny_msdiffusion import save_tiny_image_encoder, save_tiny_ms_adapter

    root = tmp_path_factory.mktemp("tiny-ms")
    sdxl = save_tiny_pipeline(root / "sdxl", family="sdxl")
    unet = UNet2DConditionModel.from_pretrained(sdxl / "unet")
    return {
        "sdxl": sdxl,
        "adapter": save_tiny_ms_adapter(root / "ms_adapter.bin", unet),
        "encoder": save_tiny_image_encoder(root / "image_encoder"),
    }


def _spec(release: dict[str, Path], options: str = "", adapter: Path | None = None) -> str:
    spec = (
        f"msdiffusion:{release['sdxl']}?adapter={adapter or release['adapter']}"
        f"&image_encoder={release['encoder']}&steps=2&guidance=2"
    )
    return f"{spec}&{options}" if options else spec


def _generator(release: dict[str, Path], options: str = "", adapter: Path | None = None) -> Any:
    from storyviz.generators.msdiffusion.backend import MSDiffusionGenerator

    return MSDiffusionGenerator(parse_backend(_spec(release, options, adapter)))


def _refs(folder: Path, *ids: str) -> dict[str, str]:
    folder.mkdir(exist_ok=True)
    colours = [(220, 40, 30), (30, 60, 220), (30, 200, 60), (230, 200, 20), (200, 30, 200)]
    paths = {}
    for cid, colour in zip(ids or ("mia", "bolt"), colours, strict=False):
        path = folder / f"{cid}.png"
        image = Image.new("RGB", (48, 64), (245, 245, 240))  # a sheet: a figure on light ground
        image.paste(colour, (12, 8, 36, 60))
        image.save(path)
        paths[cid] = str(path)
    return paths


def _request(references: dict[str, str], boxes: dict[str, Any] | None = None, **changes: Any):
    boxes = boxes or {"mia": (0.0, 0.0, 0.34, 1.0), "bolt": (0.66, 0.0, 1.0, 1.0)}
    panel = PanelSpec(
        id="p01",
        beat="Mia and Bolt",
        cast=[CastMember(character_id=cid, box=box) for cid, box in boxes.items()],
    )
    base: dict[str, Any] = {
        "target_id": "p01",
        "prompt": "a girl with red hair and a robot dog",
        "width": 96,
        "height": 64,
        "seed": 3,
        "panel": panel,
        "references": references,
        "characters": [
            CharacterSheet(id="mia", name="Mia", description="a girl with red hair"),
            CharacterSheet(
                id="bolt", name="Bolt", description="a small robot", attributes={"species": "dog"}
            ),
        ],
    }
    return RenderRequest(**{**base, **changes})


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float32)


def _one_line(exc: pytest.ExceptionInfo[BackendError], *fragments: str) -> None:
    text = str(exc.value)
    assert "\n" not in text and text.startswith("backend 'msdiffusion'")
    for fragment in fragments:
        assert fragment in text, text


# -- options ---------------------------------------------------------------------------------


def test_options_take_the_release_defaults_and_refuse_bad_values(tmp_path: Path) -> None:
    settings = parse_settings(parse_backend("msdiffusion:stabilityai/stable-diffusion-xl-base-1.0"))
    assert (settings.sampling.steps, settings.sampling.guidance) == (30, 7.5)
    assert settings.scale == 0.6 and settings.max_subjects == MAX_SUBJECTS == 4
    assert settings.adapter.hub() == ("doge1516/MS-Diffusion", "ms_adapter.bin")
    assert settings.image_encoder.hub() == ("h94/IP-Adapter", "sdxl_models/image_encoder")
    assert (settings.overflow, settings.reference) == ("largest", "figure")
    for bad, words in [
        ("msdiffusion", "needs an SDXL base model"),
        ("msdiffusion:m?ip_adapter=sd15", "ip_adapter"),
        ("msdiffusion:m?scale=3", "scale"),
        ("msdiffusion:m?overflow=shrink", "overflow"),
        ("msdiffusion:m?reference=photo", "reference"),
        (f"msdiffusion:m?adapter={tmp_path / 'none.bin'}", "no adapter file"),
        (f"msdiffusion:m?image_encoder={tmp_path / 'none'}", "no image encoder folder"),
        ("msdiffusion:m?adapter=just/a-repo", "OWNER/REPO/FILE"),
    ]:
        with pytest.raises(BackendError) as caught:
            parse_settings(parse_backend(bad))
        assert "\n" not in str(caught.value) and words in str(caught.value), (bad, caught.value)


def test_phrases_are_class_words_from_the_sheet() -> None:
    def sheet(description: str, **attributes: Any) -> CharacterSheet:
        return CharacterSheet(id="x", name="X", description=description, attributes=attributes)

    assert phrase_for(sheet("a girl with red hair")) == "girl"
    assert phrase_for(sheet("a small robot", species="dog")) == "dog"
    assert phrase_for(sheet("tall, in a coat", age="old man")) == "man"
    assert phrase_for(sheet("tall, in a coat")) == "person"
    assert phrase_for(None) == "person"


# -- masks -----------------------------------------------------------------------------------


def _release_square_rule(box: tuple[float, ...], n: int) -> torch.Tensor:
    """The release's cells on an n x n grid: floor of the start, ceil of the end, per axis."""
    import math

    x0, y0, x1, y1 = box
    rows = torch.zeros(n, dtype=torch.bool)
    cols = torch.zeros(n, dtype=torch.bool)
    cols[math.floor(x0 * n) : math.ceil(x1 * n)] = True
    rows[math.floor(y0 * n) : math.ceil(y1 * n)] = True
    return (rows[:, None] & cols[None, :]).flatten()


@pytest.mark.parametrize("n", [8, 16, 32, 64])
def test_square_grids_reproduce_the_release_masks(n: int) -> None:
    for box in [(0.0, 0.0, 0.5, 1.0), (0.13, 0.27, 0.61, 0.9), (0.5, 0.5, 1.0, 1.0)]:
        assert torch.equal(box_cells(box, n, n), _release_square_rule(box, n))


def test_masks_on_a_wide_grid_follow_x_over_width_and_guide_with_no_boxes() -> None:
    boxes = [(0.0, 0.0, 0.25, 1.0), (0.5, 0.5, 1.0, 1.0)]
    bias, keep = subject_masks(boxes, queries=2, dummies=1, guided=True)(4, 8)
    assert bias.shape == (2, 32, 5) and keep is not None and keep.shape == (2, 32, 1)
    uncond, cond = bias[0], bias[1]
    assert (uncond[:, 0] == 0).all() and (uncond[:, 1:] == MASKED).all() and (keep[0] == 0).all()
    grid = cond.view(4, 8, 5)
    assert (grid[:, :2, 1:3] == 0).all() and (grid[:, 2:, 1:3] == MASKED).all()  # x < 0.25
    assert (grid[2:, 4:, 3:] == 0).all() and (grid[:2, :, 3:] == MASKED).all()
    covered = keep[1].view(4, 8)
    assert covered[0, 0] == 1 and covered[0, 3] == 0 and covered[3, 7] == 1
    assert (grid[0, 3, 0] == 0) and (grid[0, 0, 0] == MASKED)  # dummies only where no box


# -- loading ---------------------------------------------------------------------------------


def test_it_loads_by_path_renders_deterministically_and_records_its_subjects(
    release: dict[str, Path], tmp_path: Path
) -> None:
    generator = _generator(release)
    refs = _refs(tmp_path / "refs")
    first = generator.render(_request(refs))
    assert first.image.size == (96, 64)
    info = first.info
    assert info["renderer"] == "msdiffusion" and info["layout"] == "ms-diffusion boxes"
    assert info["ms_subjects"] == ["mia", "bolt"] and info["ms_phrases"] == ["girl", "dog"]
    assert info["ms_scale"] == 0.6 and info["ms_dropped"] == [] and info["steps"] == 2
    again = generator.render(_request(refs))
    assert np.array_equal(_pixels(first.image), _pixels(again.image))
    unet = generator.text2img.unet
    attn2 = [n for n in unet.attn_processors if n.endswith("attn2.processor")]
    assert attn2 and all(
        type(unet.attn_processors[n]).__name__ == "MaskedImageAttention" for n in attn2
    )


@pytest.mark.parametrize(
    "change, words",
    [
        ("missing", "missing key '1.to_v_ip.weight'"),
        ("unexpected", "unexpected key 'pos_emb.weight'"),
        ("misshapen", "'norm_out.weight' has shape (65,)"),
        ("no_dummy", "has no 'dummy_image_tokens'"),
        ("narrow_dummy", "dummy_image_tokens are 8 wide"),
    ],
)
def test_a_checkpoint_that_does_not_fit_fails_in_one_line(
    release: dict[str, Path], tmp_path: Path, change: str, words: str
) -> None:
    from diffusers import UNet2DConditionModel
    from tiny_msdiffusion import adapter_state

    state = adapter_state(UNet2DConditionModel.from_pretrained(release["sdxl"] / "unet"))
    if change == "missing":
        del state["ms_adapter"]["1.to_v_ip.weight"]
    elif change == "unexpected":
        state["image_proj"]["pos_emb.weight"] = torch.zeros(16, 40)  # the apply_pos_emb variant
    elif change == "misshapen":
        state["image_proj"]["norm_out.weight"] = torch.ones(65)
    elif change == "no_dummy":
        del state["dummy_image_tokens"]
    else:
        state["dummy_image_tokens"] = torch.zeros(1, 4, 8)
    file = tmp_path / f"{change}.bin"
    torch.save(state, file)
    with pytest.raises(BackendError) as caught:
        _generator(release, adapter=file)
    _one_line(caught, words)


def test_options_the_weights_cannot_show_are_checked_against_them(
    release: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(BackendError) as heads:
        _generator(release, "heads=3")
    _one_line(heads, "heads=3 does not divide the attention width 40")
    with pytest.raises(BackendError) as freqs:
        _generator(release, "fourier_freqs=4")
    _one_line(freqs, "96-wide grounding inputs", "fourier_freqs=4 makes 64")
    not_sdxl = tmp_path / "empty"
    not_sdxl.mkdir()
    with pytest.raises(BackendError) as folder:
        from storyviz.generators.msdiffusion.backend import MSDiffusionGenerator

        MSDiffusionGenerator(
            parse_backend(
                f"msdiffusion:{not_sdxl}?adapter={release['adapter']}&image_encoder={release['encoder']}"
            )
        )
    _one_line(folder, "not a diffusers model folder")


# -- what it draws ---------------------------------------------------------------------------


def test_without_subjects_or_at_scale_zero_it_draws_plain_sdxl(
    release: dict[str, Path], tmp_path: Path
) -> None:
    from storyviz.generators.diffusers.backend import DiffusersGenerator

    refs = _refs(tmp_path / "refs")
    plain = DiffusersGenerator(
        parse_backend(f"diffusers:{release['sdxl']}?steps=2&guidance=2&layout=off")
    )
    generator = _generator(release)
    request = _request(refs)
    negative = generator._negative(request)
    assert negative and negative.startswith("monochrome, lowres, bad anatomy")
    expected = _pixels(plain.render(_request(refs, negative_prompt=negative)).image)
    silent = _generator(release, "scale=0").render(request)
    assert silent.info["layout"] == "none" and silent.info["ms_scale"] == 0.0
    assert np.abs(_pixels(silent.image) - expected).max() <= 2.0
    sheet = RenderRequest(
        kind="reference", target_id="mia", prompt="a girl", width=96, height=64, seed=3,
        negative_prompt=negative,
    )  # fmt: skip
    reference = generator.render(sheet)
    assert reference.info["ms_subjects"] == [] and reference.info["layout"] == "none"
    assert np.abs(_pixels(reference.image) - _pixels(plain.render(sheet).image)).max() <= 2.0


def test_each_reference_acts_mostly_inside_its_own_box(
    release: dict[str, Path], tmp_path: Path
) -> None:
    """Changing Mia's reference changes her box more than the rest of the panel, and moving her
    box moves where the change lands. (The UNet's own self-attention and convolutions carry
    some of it outside the box; the image tokens themselves act only inside.)"""
    generator = _generator(release, "scale=1")

    def change(mia_box: tuple[float, ...], folder: Path, with_bolt: bool) -> np.ndarray:
        refs = _refs(folder, *(("mia", "bolt") if with_bolt else ("mia",)))
        boxes = {"mia": mia_box, "bolt": (0.66, 0.0, 1.0, 1.0)}
        request = _request(refs, boxes, width=192, height=64)
        base = _pixels(generator.render(request).image)
        Image.new("RGB", (48, 64), (20, 220, 230)).save(refs["mia"])
        changed = _pixels(generator.render(request).image)
        diff = np.abs(changed - base).mean(axis=(0, 2))
        return np.array([diff[:64].mean(), diff[64:128].mean(), diff[128:].mean()])

    left, _, far = change((0.0, 0.0, 0.34, 1.0), tmp_path / "alone", with_bolt=False)
    assert left > 1.0 and left > 2 * far
    near, middle, right = change((0.66, 0.0, 1.0, 1.0), tmp_path / "beside", with_bolt=True)
    assert right > 2 * max(near, middle)


def test_the_same_reference_in_another_box_or_under_another_name_draws_otherwise(
    release: dict[str, Path], tmp_path: Path
) -> None:
    generator = _generator(release, "scale=1")
    refs = _refs(tmp_path / "refs", "mia")
    base = _pixels(generator.render(_request(refs, {"mia": (0.0, 0.0, 0.5, 1.0)})).image)
    moved = _pixels(generator.render(_request(refs, {"mia": (0.5, 0.0, 1.0, 1.0)})).image)
    assert np.abs(moved - base).mean() > 1.0
    renamed = _request(refs, {"mia": (0.0, 0.0, 0.5, 1.0)}, characters=[])
    result = generator.render(renamed)
    assert result.info["ms_phrases"] == ["person"]
    assert not np.array_equal(_pixels(result.image), base)


def test_past_max_subjects_the_largest_are_drawn_or_the_render_refused(
    release: dict[str, Path], tmp_path: Path
) -> None:
    ids = ("a", "b", "c")
    refs = _refs(tmp_path / "refs", *ids)
    boxes = {"a": (0.0, 0.0, 0.2, 0.5), "b": (0.2, 0.0, 0.8, 1.0), "c": (0.8, 0.0, 1.0, 1.0)}
    request = _request(refs, boxes, characters=[])
    kept = panel_subjects(request, 2, "largest")
    assert [s.character_id for s in kept.drawn] == ["b", "c"] and kept.dropped == ["a"]
    result = _generator(release, "max_subjects=2").render(request)
    assert result.info["ms_subjects"] == ["b", "c"] and result.info["ms_dropped"] == ["a"]
    with pytest.raises(BackendError) as refused:
        _generator(release, "max_subjects=2&overflow=error").render(request)
    _one_line(refused, "panel p01 has 3 characters", "max_subjects=2")


def test_an_unreadable_reference_is_one_line(release: dict[str, Path], tmp_path: Path) -> None:
    refs = _refs(tmp_path / "refs")
    Path(refs["bolt"]).write_bytes(b"not a png")
    with pytest.raises(BackendError) as caught:
        _generator(release).render(_request(refs))
    _one_line(caught, "cannot read the reference of bolt")


def test_repairs_are_conditioned_too_and_keep_the_rest(
    release: dict[str, Path], tmp_path: Path
) -> None:
    from storyviz.masks import box_mask

    generator = _generator(release, "scale=1")
    refs = _refs(tmp_path / "refs")
    first = generator.render(_request(refs))
    init, mask = tmp_path / "init.png", tmp_path / "mask.png"
    first.image.save(init)
    box_mask((96, 64), [(0.0, 0.0, 0.34, 1.0)]).save(mask)
    repair = generator.render(_request(refs, version=2, init_image=str(init), mask=str(mask)))
    assert repair.info["task"] == "inpaint" and repair.info["layout"] == "ms-diffusion boxes"
    outside = np.abs(_pixels(repair.image) - _pixels(first.image))[:, 72:]
    assert outside.max() <= 2.0
    touched = generator.render(_request(refs, version=3, init_image=str(init)))
    assert touched.info["task"] == "img2img" and touched.info["ms_subjects"] == ["mia", "bolt"]


def test_the_prompt_cache_off_gives_the_same_pixels(
    release: dict[str, Path], tmp_path: Path
) -> None:
    refs = _refs(tmp_path / "refs")
    cached = _generator(release).render(_request(refs))
    generator = _generator(release)
    generator.cache_prompts = False
    uncached = generator.render(_request(refs))
    assert np.abs(_pixels(cached.image) - _pixels(uncached.image)).max() <= 1.0


# -- through the CLI ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_whole_run_with_msdiffusion(release: dict[str, Path], tmp_path: Path) -> None:
    """The CLI, the graph, the repair loop and the report, with the generator found by name in
    the registry: references drawn first, panels conditioned on them in their boxes."""
    sys.path.insert(0, str(Path(__file__).parent))
    from cli_helpers import last_json, storyviz

    summary = last_json(
        storyviz(
            "run", "Mia, a girl with red hair, walks home. She meets Bolt, a robot dog.",
            "--panels", "2", "--generator", _spec(release, "size=64"),
            "--runs-dir", str(tmp_path / "runs"), "--max-rounds", "1", "--json", "-q",
            timeout=300,
        )
    )  # fmt: skip
    assert summary["status"] == "completed" and summary["panels"] == 2
    run_dir = Path(summary["run_dir"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["backends"]["generator"].startswith("msdiffusion:")
    audit = json.loads((run_dir / "audit.json").read_text())
    assert set(audit["references"]) == {"mia", "bolt"}
    first = audit["versions"]["p01"][0]["parameters"]
    assert first["renderer"] == "msdiffusion" and first["ms_subjects"]
    assert first["layout"] == "ms-diffusion boxes"
    # Random weights draw noise, so the colour auditor flags the characters: region repairs.
    repaired = [v for vs in audit["versions"].values() for v in vs if v["repair"]]
    inpainted = [v for v in repaired if v["repair"]["strategy"] == "inpaint"]
    assert inpainted and all(v["parameters"]["task"] == "inpaint" for v in inpainted)
    assert all(v["parameters"]["layout"] == "ms-diffusion boxes" for v in inpainted)
    plan = json.loads((run_dir / "plan.json").read_text())
    assert any(p.get("caption") or p.get("dialogue") for p in plan["panels"])  # to be lettered
    assert list((run_dir / "pages").glob("page_*.png"))
    assert "made by inpaint of v1, region" in (run_dir / "report.html").read_text()
