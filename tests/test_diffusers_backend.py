"""The diffusers generator, run for real on a tiny random Stable Diffusion pipeline.

The pipeline is built in code (tests/tiny_diffusers.py), saved with ``save_pretrained`` and loaded
through ``diffusers:/that/folder``: the code path of ``diffusers:stabilityai/sd-turbo``. Random
weights say nothing about image quality; they do check the plumbing: loading, caching, seeds,
sizes, repairs, broken-output reseeds and error messages. The pure helpers (presets, options,
masks) are tested without torch, so they run even where the extra is not installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from storyviz.errors import BackendError
from storyviz.generators.diffusers.options import Size, parse_settings, snap8
from storyviz.generators.diffusers.presets import SD15, preset_for
from storyviz.geometry import pixels_nearest
from storyviz.masks import box_mask, keep_outside
from storyviz.registry import parse_backend
from storyviz.schemas import RenderRequest

# -- pure helpers: no torch needed ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "steps", "guidance", "size"),
    [
        ("stabilityai/sd-turbo", 1, 0.0, 512),
        ("stabilityai/sdxl-turbo", 1, 0.0, 512),
        ("runwayml/stable-diffusion-v1-5", 25, 7.5, 512),
        ("stable-diffusion-v1-5/stable-diffusion-v1-5", 25, 7.5, 512),
        ("stabilityai/stable-diffusion-xl-base-1.0", 30, 6.0, 1024),
        ("black-forest-labs/FLUX.1-schnell", 4, 0.0, 1024),
        ("/models/my-finetune", 25, 7.5, 512),
    ],
)
def test_presets_match_model_ids(model: str, steps: int, guidance: float, size: int) -> None:
    preset = preset_for(model)
    assert (preset.steps, preset.guidance, preset.size) == (steps, guidance, size)


def test_options_override_presets_and_unknown_ones_fail() -> None:
    spec = parse_backend("diffusers:stabilityai/sd-turbo?steps=4&guidance=1.5&size=768x512")
    settings = parse_settings(spec)
    assert (settings.steps, settings.guidance) == (4, 1.5)
    assert settings.size == Size(768, 512)
    assert parse_settings(parse_backend("diffusers:stabilityai/sd-turbo")).steps == 1
    with pytest.raises(BackendError, match="does not take option"):
        parse_settings(parse_backend("diffusers:x/y?stepz=3"))
    with pytest.raises(BackendError, match="size"):
        parse_settings(parse_backend("diffusers:x/y?size=big"))
    with pytest.raises(BackendError, match="offload"):
        parse_settings(parse_backend("diffusers:x/y?offload=disk"))
    with pytest.raises(BackendError, match="needs a model"):
        parse_settings(parse_backend("diffusers"))
    assert parse_settings(parse_backend("diffusers:x/y?dtype=fp16")).dtype == "float16"
    assert (
        parse_settings(parse_backend("diffusers:black-forest-labs/FLUX.1-schnell")).negative
        is False
    )


def test_size_option_keeps_the_panel_aspect_unless_exact() -> None:
    assert Size(512).for_request(1000, 500) == (512, 256)
    assert Size(512).for_request(300, 300) == (512, 512)
    assert Size(640, 384).for_request(300, 300) == (640, 384)
    assert snap8(101) == 104 and snap8(10) == 64


def test_box_mask_is_white_inside_black_outside_and_feathered() -> None:
    mask = box_mask((100, 80), [(0.2, 0.25, 0.6, 0.75)], feather=3)
    assert mask.mode == "L" and mask.size == (100, 80)
    assert pixels_nearest((0.2, 0.25, 0.6, 0.75), 100, 80) == (20, 20, 60, 60)
    assert mask.getpixel((40, 40)) == 255  # centre
    assert mask.getpixel((2, 2)) == 0 and mask.getpixel((95, 75)) == 0  # far outside
    edge = [mask.getpixel((x, 40)) for x in range(14, 27)]
    assert any(0 < v < 255 for v in edge), edge  # a soft edge, not a step
    assert edge == sorted(edge)  # rising into the box
    hard = box_mask((100, 80), [(0.2, 0.25, 0.6, 0.75)], feather=0)
    assert set(np.unique(np.asarray(hard)).tolist()) == {0, 255}


def test_keep_outside_pastes_the_original_back() -> None:
    original = Image.new("RGB", (40, 40), (10, 20, 30))
    repaired = Image.new("RGB", (40, 40), (200, 100, 50))
    mask = box_mask((40, 40), [(0.25, 0.25, 0.75, 0.75)], feather=0)
    out = keep_outside(original, repaired, mask)
    assert out.getpixel((1, 1)) == (10, 20, 30)
    assert out.getpixel((20, 20)) == (200, 100, 50)


# -- the real pipeline ---------------------------------------------------------------------------


def request(**changes: Any) -> RenderRequest:
    base: dict[str, Any] = {
        "target_id": "p01",
        "prompt": "a girl with red hair and yellow raincoat",
        "negative_prompt": "blurry",
        "width": 64,
        "height": 64,
        "seed": 7,
    }
    return RenderRequest(**{**base, **changes})


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float32)


@pytest.fixture
def vae_hook(make_generator: Callable[..., Any]) -> Iterator[Callable[[int], list[int]]]:
    """Make the loaded pipeline's real VAE decoder return NaN for its next ``n`` calls."""
    import torch

    vae = make_generator().text2img.vae
    handles = []

    def install(times: int) -> list[int]:
        calls: list[int] = []

        def hook(_module: Any, _inputs: Any, output: Any) -> Any:
            calls.append(1)
            if len(calls) <= times:
                return torch.full_like(output, float("nan"))
            return output

        handles.append(vae.decoder.register_forward_hook(hook))
        return calls

    yield install
    for handle in handles:
        handle.remove()


def test_same_request_gives_identical_pixels_and_the_seed_matters(make_generator) -> None:
    gen = make_generator()
    first = gen.render(request())
    again = gen.render(request())
    other = gen.render(request(seed=8))
    assert first.image.mode == "RGB" and first.image.size == (64, 64)
    assert first.image.tobytes() == again.image.tobytes()
    assert first.image.tobytes() != other.image.tobytes()
    info = first.info
    assert info["backend"].startswith("diffusers:") and info["model"].endswith("tiny-sd0")
    assert (info["device"], info["dtype"], info["steps"], info["seed"]) == ("cpu", "float32", 2, 7)
    assert info["pipeline"] == "StableDiffusionPipeline" and info["task"] == "text2img"
    assert info["guidance"] == 7.5 and info["reseeded"] == [] and first.seconds > 0
    json.dumps(info)  # provenance goes into the run folder as JSON


def test_one_load_for_many_renders_and_generators(tiny_model: Path, monkeypatch) -> None:
    from diffusers import AutoPipelineForText2Image

    from storyviz.generators.diffusers import loading as diffusers_loading
    from storyviz.generators.diffusers.backend import DiffusersGenerator

    loads: list[str] = []
    original = AutoPipelineForText2Image.from_pretrained

    def counting(source: str, **kwargs: Any) -> Any:
        loads.append(source)
        return original(source, **kwargs)

    monkeypatch.setattr(AutoPipelineForText2Image, "from_pretrained", counting)
    diffusers_loading.clear_cache()
    first = DiffusersGenerator(parse_backend(f"diffusers:{tiny_model}?steps=1"))
    second = DiffusersGenerator(parse_backend(f"diffusers:{tiny_model}?steps=2&guidance=1"))
    for seed in range(3):
        first.render(request(seed=seed))
        second.render(request(seed=seed, kind="reference", target_id="mia"))
    first.render(request(init_image=_saved(first.render(request()).image, tiny_model)))
    assert loads == [str(tiny_model)]
    assert first.text2img is second.text2img


def _saved(image: Image.Image, folder: Path, name: str = "init.png") -> str:
    path = folder.parent / f"{folder.name}-{name}"
    image.save(path)
    return str(path)


def test_output_is_exactly_the_requested_size(make_generator) -> None:
    result = make_generator().render(request(width=100, height=60))
    assert result.image.size == (100, 60)
    assert result.info["render_size"] == [104, 64]
    sized = make_generator("steps=1&size=96").render(
        request(width=120, height=80, kind="reference")
    )
    assert sized.image.size == (120, 80) and sized.info["render_size"] == [96, 64]
    assert sized.info["kind"] == "reference"


def test_inpaint_shares_the_weights_and_changes_mostly_the_masked_region(
    make_generator, tmp_path: Path
) -> None:
    gen = make_generator()
    base = gen.render(request(width=64, height=64))
    init = tmp_path / "p01_v1.png"
    base.image.save(init)
    box = (0.25, 0.25, 0.75, 0.75)
    box_mask((64, 64), [box], feather=2).save(tmp_path / "mask.png")
    repaired = gen.render(
        request(version=2, init_image="p01_v1.png", mask="mask.png", strength=1.0, seed=99)
    )  # run-relative paths: resolved against the working directory (the test's tmp_path)
    assert repaired.info["task"] == "inpaint"
    assert repaired.info["pipeline"] == "StableDiffusionInpaintPipeline"
    inpaint = gen.loaded.derived("inpaint")
    assert inpaint.unet is gen.text2img.unet and inpaint.vae is gen.text2img.vae
    diff = np.abs(pixels(repaired.image) - pixels(base.image)).mean(axis=2)
    left, top, right, bottom = pixels_nearest(box, 64, 64)
    inside = diff[top + 4 : bottom - 4, left + 4 : right - 4].mean()
    outside = np.concatenate([diff[: top - 6].ravel(), diff[bottom + 6 :].ravel()]).mean()
    assert inside > 5.0 and outside < 0.5, (inside, outside)


def test_img2img_without_a_mask(make_generator, tmp_path: Path) -> None:
    gen = make_generator("steps=1")
    base = gen.render(request())
    base.image.save(tmp_path / "v1.png")
    result = gen.render(request(init_image=str(tmp_path / "v1.png"), strength=0.5, seed=3))
    assert result.info["task"] == "img2img"
    assert result.info["pipeline"] == "StableDiffusionImg2ImgPipeline"
    assert result.info["steps"] == 2 and result.info["strength"] == 0.5  # 1 step * 0.5 < 1
    assert result.image.size == (64, 64)
    assert gen.loaded.derived("img2img").unet is gen.text2img.unet
    with pytest.raises(BackendError, match="cannot read repair input"):
        gen.render(request(init_image=str(tmp_path / "missing.png")))
    with pytest.raises(BackendError, match="strength"):
        gen.render(request(init_image=str(tmp_path / "v1.png"), strength=1.5))


def test_nan_output_is_reseeded_deterministically(make_generator, vae_hook) -> None:
    gen = make_generator()
    calls = vae_hook(1)
    result = gen.render(request(seed=11))
    assert len(calls) == 2
    (broken,) = result.info["reseeded"]
    assert broken == {"seed": 11, "reason": "nan"}
    assert result.info["seed"] != 11 and result.info["requested_seed"] == 11
    assert np.isfinite(pixels(result.image)).all() and pixels(result.image).max() > 0
    direct = gen.render(request(seed=result.info["seed"]))
    assert direct.image.tobytes() == result.image.tobytes()


def test_always_broken_output_gives_up_with_a_message(make_generator, vae_hook) -> None:
    calls = vae_hook(99)
    with pytest.raises(BackendError, match="only broken images"):
        make_generator().render(request())
    assert len(calls) == 3  # the seed and two reseeds


def test_out_of_memory_suggests_size_or_offload(make_generator) -> None:
    import torch

    gen = make_generator()

    def oom(*_args: Any) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    handle = gen.text2img.unet.register_forward_pre_hook(oom)
    try:
        with pytest.raises(BackendError, match=r"size=.*offload=model"):
            gen.render(request())
    finally:
        handle.remove()


def test_progress_is_reported_per_step(make_generator) -> None:
    gen = make_generator("steps=3")
    seen: list[tuple[int, int]] = []
    gen.progress = lambda step, total: seen.append((step, total))
    gen.render(request())
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_prompt_embeddings_are_encoded_once_and_change_no_pixel(
    make_generator, tiny_model: Path, monkeypatch, tmp_path: Path
) -> None:
    """Repeats (the same request, a prompt shared by two panels, a repair) reuse the embeddings;
    the pixels match a generator that sends its prompts as text."""
    gen = make_generator("steps=1")
    plain = make_generator("steps=1")
    plain.cache_prompts = False
    cache = gen.loaded.prompts
    cache.clear()  # the session's other tests rendered these prompts already
    before = cache.encodes
    pipe = gen.text2img
    original = pipe.encode_prompt
    encoded: list[str] = []

    def counting(prompt: str | None, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("prompt_embeds") is None:  # given embeddings, the call encodes nothing
            encoded.append(str(prompt))
        return original(prompt, *args, **kwargs)

    monkeypatch.setattr(pipe, "encode_prompt", counting)
    first = request(prompt="robot dog in the rain")
    second = request(prompt="robot dog in the rain", target_id="p02", seed=8)
    cached = [gen.render(first), gen.render(first), gen.render(second)]
    assert cached[0].image.tobytes() == cached[1].image.tobytes()
    assert encoded == ["robot dog in the rain"] and cache.encodes - before == 1 and len(cache) == 1

    as_text = [plain.render(first), plain.render(second)]  # the pipeline encodes these itself
    assert len(encoded) == 3 and cache.encodes - before == 1
    assert cached[0].image.tobytes() == as_text[0].image.tobytes()
    assert cached[2].image.tobytes() == as_text[1].image.tobytes()

    unguided = gen.render(request(prompt="robot dog in the rain", guidance=1.0))
    assert cache.encodes - before == 2  # no guidance: no negative, another entry
    assert (
        unguided.image.tobytes()
        == plain.render(request(prompt="robot dog in the rain", guidance=1.0)).image.tobytes()
    )

    cached[0].image.save(tmp_path / "v1.png")  # a repair through img2img shares the entries
    repair = request(prompt="robot dog in the rain", init_image="v1.png", strength=0.5)
    repaired = gen.render(repair)
    assert repaired.info["task"] == "img2img" and cache.encodes - before == 2
    assert repaired.image.tobytes() == plain.render(repair).image.tobytes()


def test_prompt_cache_leaves_other_pipelines_to_their_text() -> None:
    from storyviz.generators.diffusers.prompts import PromptCache

    class Pipe:  # not an SD pipeline: prompts go as text, nothing is cached
        pass

    assert PromptCache(2).embeds(Pipe(), "a", None, 7.5) is None


def test_prompt_cache_evicts_the_least_recently_used(make_generator) -> None:
    from storyviz.generators.diffusers.prompts import PromptCache

    pipe = make_generator().text2img
    cache = PromptCache(2)
    for prompt in ("rain", "night", "rain", "kitchen", "rain", "night"):
        cache.embeds(pipe, prompt, "blurry", 7.5)
    # rain, night (2), rain hit, kitchen evicts night (3), rain hit, night evicts kitchen (4)
    assert cache.encodes == 4 and len(cache) == 2


def test_load_errors_are_one_line_backend_errors(tiny_model: Path, tmp_path: Path) -> None:
    from storyviz.generators.diffusers.backend import DiffusersGenerator

    with pytest.raises(BackendError, match="not a diffusers model folder"):
        DiffusersGenerator(parse_backend(f"diffusers:{tmp_path / 'nowhere'}"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text("{not json")
    with pytest.raises(BackendError, match="cannot load") as caught:
        DiffusersGenerator(parse_backend(f"diffusers:{broken}"))
    assert "\n" not in str(caught.value)


def test_device_and_dtype_choice() -> None:
    pytest.importorskip("torch")
    import torch

    from storyviz.generators.diffusers.device import choose_device, choose_dtype

    assert choose_dtype("cuda", None, "sd15") == "float16"
    assert choose_dtype("cuda", None, "flux") == "bfloat16"
    assert choose_dtype("mps", None, "sdxl") == "float16"
    assert choose_dtype("cpu", None, "sd15") == "float32"
    assert choose_dtype("cuda", "float32", "sd15") == "float32"
    assert choose_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(BackendError, match="CUDA is not available"):
            choose_device("cuda")


@pytest.mark.slow
def test_missing_torch_names_the_extra() -> None:
    """Without torch the module import fails with ModuleNotFoundError('torch'), which the
    registry turns into the pip extra to install."""
    script = textwrap.dedent(
        """
        import sys
        sys.modules["torch"] = None
        from storyviz import registry
        from storyviz.errors import BackendError
        try:
            import storyviz.generators.diffusers.backend
        except ModuleNotFoundError as exc:
            print("missing", exc.name)
        try:
            registry.build("generator", "diffusers:stabilityai/sd-turbo")
        except BackendError as exc:
            print(exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "missing torch" in out
    assert 'pip install "storyviz[diffusers]"' in out
    assert SD15.family == "sd15"


@pytest.mark.slow
def test_a_whole_run_with_the_diffusers_generator(
    tiny_model: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The CLI, the graph, the repair loop and the report, drawing with a real (tiny) pipeline
    and a (tiny) IP-Adapter: references first, panels conditioned on them, region repairs."""
    sys.path.insert(0, str(Path(__file__).parent))
    from cli_helpers import last_json, storyviz
    from diffusers import UNet2DConditionModel
    from tiny_diffusers import save_tiny_ip_adapter

    unet = UNet2DConditionModel.from_pretrained(tiny_model / "unet")
    adapter = save_tiny_ip_adapter(tmp_path_factory.mktemp("run-ip"), unet)
    backend = f"diffusers:{tiny_model}?steps=2&size=64&ip_adapter={adapter}"
    summary = last_json(
        storyviz(
            "run", "Mia, a girl with red hair, walks home. She meets Bolt, a robot dog.",
            "--panels", "2", "--generator", backend, "--runs-dir", str(tmp_path / "runs"),
            "--max-rounds", "1", "--json", "-q", timeout=300,
        )
    )  # fmt: skip
    assert summary["status"] == "completed" and summary["panels"] == 2
    run_dir = Path(summary["run_dir"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["backends"]["generator"].startswith("diffusers:")
    audit = json.loads((run_dir / "audit.json").read_text())
    assert set(audit["references"]) == {"mia", "bolt"}
    assert all((run_dir / path).is_file() for path in audit["references"].values())
    first = audit["versions"]["p01"][0]
    assert first["backend"].startswith("diffusers:") and first["parameters"]["steps"] == 2
    assert first["parameters"]["ip_references"]  # conditioned on the cast's references
    assert max(first["parameters"]["render_size"]) == 64  # drawn small, as asked
    with Image.open(run_dir / first["path"]) as image:  # delivered at the page slot's size
        assert image.size == (first["parameters"]["width"], first["parameters"]["height"])
    # Random weights draw noise, so the colour auditor flags the characters: region repairs.
    repaired = [v for vs in audit["versions"].values() for v in vs if v["repair"]]
    assert repaired, "the tiny pipeline's noise should have been flagged and repaired"
    inpainted = [v for v in repaired if v["repair"]["strategy"] == "inpaint"]
    assert inpainted and all(v["parameters"]["task"] == "inpaint" for v in inpainted)
    assert all(
        (run_dir / "masks" / f"{v['panel_id']}_v{v['version']}.png").is_file() for v in inpainted
    )
    assert list((run_dir / "pages").glob("page_*.png"))
    report = (run_dir / "report.html").read_text()
    assert "made by inpaint of v1, region" in report


def test_concurrent_renders_never_share_the_tokenizers_settings(
    make_generator: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fast tokenizer keeps truncation and padding as state on the one backend every pipeline
    on these weights shares, and ``encode_prompt`` tokenizes twice (truncated, then not, to
    warn). Two renders encoding at once must take turns, or one gets the other's untruncated
    ids and the text encoder rejects a sequence longer than 77. The real tokenizer is slowed
    between setting its state and encoding, so an overlap would surely show."""
    import threading
    import time as clock

    generator = make_generator()
    tokenizer_class = type(generator.text2img.tokenizer)
    original = tokenizer_class.set_truncation_and_padding

    def slow_settings(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        clock.sleep(0.05)
        return result

    monkeypatch.setattr(tokenizer_class, "set_truncation_and_padding", slow_settings)
    long_prompt = "a girl with red hair and yellow raincoat in the rain street " * 12
    errors: list[BaseException] = []

    def render(seed: int) -> None:
        try:
            generator.render(request(prompt=long_prompt + str(seed), seed=seed))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=render, args=(seed,)) for seed in (1, 2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
