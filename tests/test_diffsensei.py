"""The DiffSensei generator on a tiny random release (``tiny_diffsensei``), loaded by path.

Random weights say nothing about manga; these tests check the plumbing: the release's folder
layout and strict loading, each character's tokens acting inside its own box, dialog regions
changing the pixels inside them, the release's mask rule, plain UNet pixels where nothing
conditions, overflow, repairs and a whole run through the CLI.
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
from storyviz.generators.diffsensei.dialogs import chosen_dialogs
from storyviz.generators.diffsensei.masks import box_points, character_masks
from storyviz.generators.diffsensei.options import parse_settings
from storyviz.generators.seed_models.masked_attention import MASKED
from storyviz.registry import parse_backend
from storyviz.schemas import CastMember, PanelSpec, RenderRequest

IP_KEY = "down_blocks.1.attentions.0.transformer_blocks.0.attn2.processor.to_v_ip.weight"


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_diffsensei import save_tiny_diffsensei

    return save_tiny_diffsensei(tmp_path_factory.mktemp("tiny-diffsensei"))


def _spec(folder: Path, options: str = "") -> str:
    spec = f"diffsensei:{folder}?steps=2&guidance=2"
    return f"{spec}&{options}" if options else spec


def _generator(folder: Path, options: str = "") -> Any:
    from storyviz.generators.diffsensei.backend import DiffSenseiGenerator

    return DiffSenseiGenerator(parse_backend(_spec(folder, options)))


def _refs(folder: Path, *ids: str) -> dict[str, str]:
    folder.mkdir(exist_ok=True)
    shades = [(40, 40, 40), (150, 150, 150), (90, 90, 90), (200, 200, 200), (10, 10, 10)]
    paths = {}
    for cid, shade in zip(ids or ("mia", "bolt"), shades, strict=False):
        path = folder / f"{cid}.png"
        image = Image.new("RGB", (48, 64), (245, 245, 240))
        image.paste(shade, (12, 8, 36, 60))
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
    }
    return RenderRequest(**{**base, **changes})


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float32)


def _one_line(exc: pytest.ExceptionInfo[BackendError], *fragments: str) -> None:
    text = str(exc.value)
    assert "\n" not in text and text.startswith("backend 'diffsensei'"), text
    for fragment in fragments:
        assert fragment in text, text


def test_options_take_the_release_defaults_and_refuse_bad_values() -> None:
    settings = parse_settings(parse_backend("diffsensei:jianzongwu/DiffSensei"))
    assert (settings.sampling.steps, settings.sampling.guidance, settings.ip_scale) == (
        30,
        7.5,
        0.6,
    )
    assert (settings.max_subjects, settings.max_dialogs, settings.heads) == (4, 8, 20)
    assert settings.dialogs and settings.grey and settings.magi_mask == "off"
    for bad, words in [
        ("diffsensei", "needs the release's folder"),
        ("diffsensei:m?scale=0.5", "scale"),
        ("diffsensei:m?ip_scale=9", "ip_scale"),
        ("diffsensei:m?magi_mask=half", "magi_mask"),
        ("diffsensei:m?overflow=drop", "overflow"),
    ]:
        with pytest.raises(BackendError) as caught:
            parse_settings(parse_backend(bad))
        assert "\n" not in str(caught.value) and words in str(caught.value), (bad, caught.value)


def test_masks_follow_the_release_rule_on_any_grid() -> None:
    points = box_points((0.0, 0.0, 0.5, 1.0), 3, 5).view(3, 5)  # x at 0, .25, .5, .75, 1
    assert points[:, :3].all() and not points[:, 3:].any()  # the edge at 0.5 is inside
    assert box_points((0.0, 0.0, 0.0, 0.0), 4, 4).nonzero().flatten().tolist() == [0]  # the quirk
    bias, keep = character_masks([(0.5, 0.5, 1.0, 1.0)], slots=2, queries=1, dummies=1,
                                 guided=True)(3, 3)  # fmt: skip
    assert keep is None and bias.shape == (2, 9, 3)
    uncond, cond = bias[0], bias[1]
    assert uncond[0].tolist() == [MASKED, 0.0, 0.0]  # top-left: the empty slots' quirk
    assert (uncond[1:, 0] == 0).all() and (uncond[1:, 1:] == MASKED).all()
    grid = cond.view(3, 3, 3)
    assert (grid[1:, 1:, 1] == 0).all() and (grid[1:, 1:, 0] == MASKED).all()
    assert grid[0, 2, 0] == 0 and grid[0, 2, 1] == MASKED  # outside: the dummies only


def test_the_largest_dialog_boxes_are_kept_in_their_order() -> None:
    boxes = [(0.0, 0.0, 0.1, 0.1), (0.0, 0.0, 0.5, 0.5), (0.5, 0.5, 0.7, 0.7)]
    assert chosen_dialogs(boxes, 2) == ([boxes[1], boxes[2]], 1)
    assert chosen_dialogs(boxes, 8) == (boxes, 0)


def test_it_loads_the_release_layout_strictly_and_records_what_it_drew(
    release: Path, tmp_path: Path
) -> None:
    generator = _generator(release)
    refs = _refs(tmp_path / "refs")
    first = generator.render(_request(refs, text_regions=[(0.4, 0.0, 0.6, 0.3)]))
    info = first.info
    assert first.image.size == (96, 64) and info["renderer"] == "diffsensei"
    assert info["layout"] == "diffsensei boxes" and info["ds_subjects"] == ["mia", "bolt"]
    assert info["ds_dialogs"] == [[0.4, 0.0, 0.6, 0.3]] and info["ip_scale"] == 0.6
    again = generator.render(_request(refs, text_regions=[(0.4, 0.0, 0.6, 0.3)]))
    assert np.array_equal(_pixels(first.image), _pixels(again.image))
    unet = generator.text2img.unet
    assert "dialog_bbox_embedding" in unet.state_dict()
    # the image folder given as image_generator/ itself loads the same
    assert _generator(release / "image_generator").text2img is not None


@pytest.mark.parametrize(
    "breakage, words",
    [
        ("no_magi", "has no magi_image_encoder"),
        ("no_unet_pickle", "has none of pytorch_model.bin"),
        ("missing_ip_key", f"missing key '{IP_KEY}'"),
        ("unexpected", "unexpected key 'extra.weight'"),
        ("no_dialog", "missing key 'dialog_bbox_embedding'"),
        ("resampler_shape", "'norm_out.weight' has shape (65,)"),
    ],
)  # fmt: skip
def test_a_release_that_does_not_fit_fails_in_one_line(
    release: Path, tmp_path: Path, breakage: str, words: str
) -> None:
    from tiny_diffsensei import copy_release

    broken = copy_release(release, tmp_path / breakage)
    folder = broken / "image_generator"
    unet_file = folder / "unet" / "pytorch_model.bin"
    proj_file = folder / "image_proj_model" / "pytorch_model.bin"
    if breakage == "no_magi":
        import shutil

        shutil.rmtree(folder / "magi_image_encoder")
    elif breakage == "no_unet_pickle":
        unet_file.unlink()
    elif breakage in ("missing_ip_key", "unexpected", "no_dialog"):
        state = torch.load(unet_file, weights_only=True)
        if breakage == "missing_ip_key":
            del state[
                "down_blocks.1.attentions.0.transformer_blocks.0.attn2.processor.to_v_ip.weight"
            ]
        elif breakage == "unexpected":
            state["extra.weight"] = torch.zeros(1)
        else:
            del state["dialog_bbox_embedding"]
        torch.save(state, unet_file)
    else:
        state = torch.load(proj_file, weights_only=True)
        state["norm_out.weight"] = torch.ones(65)
        torch.save(state, proj_file)
    with pytest.raises(BackendError) as caught:
        _generator(broken)
    _one_line(caught, words)


def test_at_ip_scale_zero_without_dialogs_it_is_the_fine_tuned_unet_alone(
    release: Path, tmp_path: Path
) -> None:
    """The tiny release's UNet holds the tiny SDXL's own weights, so the same folder drawn by
    the plain diffusers generator (with its UNet restored) must give the same pixels."""
    from diffusers import UNet2DConditionModel

    from storyviz.generators.diffusers.backend import DiffusersGenerator

    generator = _generator(release, "ip_scale=0&dialogs=false")
    request = _request(_refs(tmp_path / "refs"), text_regions=[(0.4, 0.0, 0.6, 0.3)])
    silent = generator.render(request)
    assert silent.info["layout"] == "none"
    plain_folder = tmp_path / "plain"
    import shutil

    shutil.copytree(release / "image_generator", plain_folder)
    state = torch.load(plain_folder / "unet" / "pytorch_model.bin", weights_only=True)
    unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(plain_folder / "unet"))
    unet.load_state_dict({k: v for k, v in state.items() if k in unet.state_dict()})
    unet.save_pretrained(plain_folder / "unet")
    plain = DiffusersGenerator(
        parse_backend(f"diffusers:{plain_folder}?steps=2&guidance=2&layout=off")
    )
    expected = plain.render(
        request.model_copy(update={"negative_prompt": generator._negative(request)})
    )
    assert np.abs(_pixels(silent.image) - _pixels(expected.image)).max() <= 2.0


def test_each_reference_acts_mostly_inside_its_own_box(release: Path, tmp_path: Path) -> None:
    generator = _generator(release, "ip_scale=1&dialogs=false")

    def change(mia_box: tuple[float, ...], folder: Path, with_bolt: bool) -> np.ndarray:
        refs = _refs(folder, *(("mia", "bolt") if with_bolt else ("mia",)))
        boxes = {"mia": mia_box, "bolt": (0.66, 0.0, 1.0, 1.0)}
        request = _request(refs, boxes, width=192, height=64)
        base = _pixels(generator.render(request).image)
        image = Image.new("RGB", (48, 64), (245, 245, 240))
        image.paste((0, 0, 0), (4, 2, 44, 62))
        image.save(refs["mia"])
        changed = _pixels(generator.render(request).image)
        diff = np.abs(changed - base).mean(axis=(0, 2))
        return np.array([diff[:64].mean(), diff[64:128].mean(), diff[128:].mean()])

    left, _, far = change((0.0, 0.0, 0.34, 1.0), tmp_path / "alone", with_bolt=False)
    assert left > 1.0 and left > 2 * far
    near, middle, right = change((0.66, 0.0, 1.0, 1.0), tmp_path / "beside", with_bolt=True)
    assert right > 2 * max(near, middle)


def test_a_dialog_box_changes_the_pixels_inside_it(release: Path, tmp_path: Path) -> None:
    generator = _generator(release)
    refs = _refs(tmp_path / "refs")
    wide = {"width": 192, "height": 64}
    without = _pixels(generator.render(_request(refs, **wide)).image)
    balloon = (0.36, 0.0, 0.64, 0.5)  # between the two characters, at the top
    result = generator.render(_request(refs, text_regions=[balloon], **wide))
    diff = np.abs(_pixels(result.image) - without).mean(axis=2)
    inside = diff[:32, 69:123].mean()
    far = diff[:, :32].mean()
    assert inside > 1.0 and inside > 2 * far
    off = _generator(release, "dialogs=false").render(
        _request(refs, text_regions=[balloon], **wide)
    )
    assert off.info["ds_dialogs"] == [] and np.array_equal(_pixels(off.image), without)


def test_past_max_subjects_the_largest_are_drawn_or_the_render_refused(
    release: Path, tmp_path: Path
) -> None:
    refs = _refs(tmp_path / "refs", "a", "b", "c")
    boxes = {"a": (0.0, 0.0, 0.2, 0.5), "b": (0.2, 0.0, 0.8, 1.0), "c": (0.8, 0.0, 1.0, 1.0)}
    request = _request(refs, boxes)
    result = _generator(release, "max_subjects=2").render(request)
    assert result.info["ds_subjects"] == ["b", "c"] and result.info["ds_dropped"] == ["a"]
    with pytest.raises(BackendError) as refused:
        _generator(release, "max_subjects=2&overflow=error").render(request)
    _one_line(refused, "panel p01 has 3 characters", "max_subjects=2")


def test_magi_masking_as_released_is_seeded(release: Path, tmp_path: Path) -> None:
    refs = _refs(tmp_path / "refs")
    generator = _generator(release, "magi_mask=release&ip_scale=1")
    first = generator.render(_request(refs))
    assert first.info["ds_magi_mask"] == "release"
    assert np.array_equal(_pixels(first.image), _pixels(generator.render(_request(refs)).image))
    unmasked = _generator(release, "ip_scale=1").render(_request(refs))
    assert not np.array_equal(_pixels(first.image), _pixels(unmasked.image))


def test_repairs_are_conditioned_too_and_keep_the_rest(release: Path, tmp_path: Path) -> None:
    from storyviz.masks import box_mask

    generator = _generator(release)
    refs = _refs(tmp_path / "refs")
    first = generator.render(_request(refs))
    init, mask = tmp_path / "init.png", tmp_path / "mask.png"
    first.image.save(init)
    box_mask((96, 64), [(0.0, 0.0, 0.34, 1.0)]).save(mask)
    repair = generator.render(_request(refs, version=2, init_image=str(init), mask=str(mask)))
    assert repair.info["task"] == "inpaint" and repair.info["layout"] == "diffsensei boxes"
    assert np.abs(_pixels(repair.image) - _pixels(first.image))[:, 72:].max() <= 2.0
    touched = generator.render(_request(refs, version=3, init_image=str(init)))
    assert touched.info["task"] == "img2img"


@pytest.mark.slow
def test_a_whole_run_with_diffsensei(release: Path, tmp_path: Path) -> None:
    """The CLI, the graph, references, the audit, inpaint repairs and lettered pages, with the
    lettering's regions reaching the model as dialog boxes."""
    sys.path.insert(0, str(Path(__file__).parent))
    from cli_helpers import last_json, storyviz

    summary = last_json(
        storyviz(
            "run", "Mia, a girl with red hair, walks home. She meets Bolt, a robot dog. "
            '"Hello," says Mia.',
            "--panels", "2", "--generator", _spec(release, "size=64"),
            "--runs-dir", str(tmp_path / "runs"), "--max-rounds", "1", "--json", "-q",
            timeout=300,
        )
    )  # fmt: skip
    assert summary["status"] == "completed" and summary["panels"] == 2
    run_dir = Path(summary["run_dir"])
    audit = json.loads((run_dir / "audit.json").read_text())
    assert set(audit["references"]) == {"mia", "bolt"}
    first = audit["versions"]["p01"][0]["parameters"]
    assert first["renderer"] == "diffsensei" and first["ds_subjects"]
    assert any(v[0]["parameters"]["ds_dialogs"] for v in audit["versions"].values())
    repaired = [v for vs in audit["versions"].values() for v in vs if v["repair"]]
    inpainted = [v for v in repaired if v["repair"]["strategy"] == "inpaint"]
    assert inpainted and all(v["parameters"]["task"] == "inpaint" for v in inpainted)
    assert list((run_dir / "pages").glob("page_*.png"))
