"""Prompts past CLIP's 77 tokens are encoded in full, on the tiny SD and SDXL pipelines.

The tiny pipelines read text through a real CLIP BPE tokenizer built in code (``tiny_diffusers``)
and real CLIP text encoders; the stock pipeline call, given the same text, is what cuts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from storyviz.agents.render_requests import panel_request
from storyviz.generators.diffusers import long_prompts
from storyviz.generators.diffusers.outputs import to_pil
from storyviz.registry import parse_backend
from storyviz.schemas import (
    CastMember,
    CharacterSheet,
    PageSpec,
    PanelSpec,
    RenderRequest,
    StoryPlan,
)

FILLER = "in the rain street at night with a small yellow raincoat and a bench"


def _plan(last_colour: str) -> StoryPlan:
    """Three cast members, each described at length; the third one's colour comes last."""
    looks = {
        "mia": ("Mia", f"a small girl with red hair {FILLER}"),
        "ada": ("Ada", f"a girl with silver hair {FILLER}"),
        "bolt": ("Bolt", f"a small robot dog {FILLER}, {last_colour}"),
    }
    characters = [
        CharacterSheet(id=key, name=name, description=text, reference_prompt=name, seed=3)
        for key, (name, text) in looks.items()
    ]
    boxes = [(0.0, 0.0, 0.34, 1.0), (0.33, 0.0, 0.67, 1.0), (0.66, 0.0, 1.0, 1.0)]
    panel = PanelSpec(
        id="p01",
        beat="The three of them in the rain.",
        setting="street",
        time_of_day="night",
        weather="rain",
        shot="wide",
        cast=[CastMember(character_id=c.id, box=b) for c, b in zip(characters, boxes, strict=True)],
    )
    return StoryPlan(
        title="Rain",
        style="comic",
        characters=characters,
        panels=[panel],
        pages=[PageSpec(index=1, template="single", panel_ids=["p01"])],
    )


def _panel(last_colour: str, **changes: Any) -> RenderRequest:
    request = panel_request(
        _plan(last_colour), "p01", seed=5, version=1, long_side=64, references={}
    )
    return request.model_copy(update={"regions": [], **changes})


def _pixels(generator: Any, request: RenderRequest) -> np.ndarray:
    return np.asarray(generator.render(request).image, dtype=np.float32)


def _stock(generator: Any, request: RenderRequest, guidance: float = 0.0) -> np.ndarray:
    """The pipeline called with the text itself, as storyviz did before (it cuts at 77)."""
    pipe = generator.text2img
    with torch.inference_mode():
        output = pipe(
            prompt=request.prompt,
            negative_prompt=request.negative_prompt if guidance > 1 else None,
            num_inference_steps=2,
            guidance_scale=guidance,
            width=request.width,
            height=request.height,
            output_type="np",
            generator=torch.Generator("cpu").manual_seed(request.seed),
        )
    return np.asarray(to_pil(np.asarray(output.images[0], dtype=np.float32)), dtype=np.float32)


def test_the_last_characters_colour_is_past_token_77(make_generator: Callable[..., Any]) -> None:
    pipe = make_generator("steps=2").text2img
    prompt = _panel("silver").prompt
    ids = pipe.tokenizer(prompt, add_special_tokens=False).input_ids
    silver = pipe.tokenizer("silver", add_special_tokens=False).input_ids[0]
    assert len(ids) > 100
    assert ids.index(silver, ids.index(silver) + 1) > 77  # Ada's hair is early, Bolt's is late
    counted = long_prompts.count(pipe, prompt)
    assert counted.tokens == len(ids)
    assert counted.budget == 75
    assert not counted.fits
    assert counted.windows == -(-len(ids) // 75)


@pytest.mark.parametrize("guidance", ["0", "3"])
def test_a_colour_past_token_77_changes_the_drawing(
    make_generator: Callable[..., Any], guidance: str
) -> None:
    generator = make_generator(f"steps=2&guidance={guidance}&layout=off")
    silver, red = _panel("silver"), _panel("red")
    # The stock call never sees the last words: both colours give the very same pixels ...
    g = float(guidance)
    assert np.array_equal(_stock(generator, silver, g), _stock(generator, red, g))
    # ... storyviz's render reads them.
    assert np.abs(_pixels(generator, silver) - _pixels(generator, red)).mean() > 0.01
    info = generator.render(silver).info
    assert info["prompt_tokens"]["windows"] >= 2
    assert info["prompt_tokens"]["encoding"] == "windows"


def test_without_the_cache_long_prompts_are_still_read_in_full(
    make_generator: Callable[..., Any],
) -> None:
    cached = make_generator("steps=2&guidance=3&layout=off")
    uncached = make_generator("steps=2&guidance=3&layout=off")
    uncached.cache_prompts = False
    request = _panel("red")
    assert np.array_equal(_pixels(cached, request), _pixels(uncached, request))
    assert len(uncached.loaded.prompts) == len(cached.loaded.prompts)  # one shared cache


def test_short_prompts_give_the_stock_pixels(make_generator: Callable[..., Any]) -> None:
    generator = make_generator("steps=2&guidance=3&layout=off")
    request = _panel("red").model_copy(
        update={"prompt": "a girl with red hair in the rain", "negative_prompt": "blurry"}
    )
    assert np.array_equal(_pixels(generator, request), _stock(generator, request, 3.0))
    assert generator.render(request).info["prompt_tokens"] == {
        "tokens": 8,
        "budget": 75,
        "windows": 1,
        "encoding": "windows",  # embeddings from the cache, the stock encoder's own
    }


def test_a_long_negative_prompt_is_read_in_full(make_generator: Callable[..., Any]) -> None:
    generator = make_generator("steps=2&guidance=3&layout=off")
    short = "a girl with red hair"
    negative = f"blurry, lowres, bad anatomy, {', '.join([FILLER] * 6)}, "
    a = _panel("red").model_copy(update={"prompt": short, "negative_prompt": negative + "silver"})
    b = a.model_copy(update={"negative_prompt": negative + "red"})
    assert long_prompts.count(generator.text2img, a.negative_prompt).tokens > 77
    assert np.abs(_pixels(generator, a) - _pixels(generator, b)).mean() > 0.01
    assert generator.render(a).info["negative_prompt_tokens"]["windows"] >= 2


def test_long_region_prompts_keep_their_boxes(make_generator: Callable[..., Any]) -> None:
    """A region block longer than 77 tokens is gated as one block: its last words still act
    inside its box (the left third) more than outside."""
    generator = make_generator("steps=2&guidance=3")

    def render(colour: str) -> np.ndarray:
        request = panel_request(
            _plan("red"), "p01", seed=5, version=1, long_side=192, references={}
        )
        regions = [
            r.model_copy(update={"prompt": f"{r.prompt}, {', '.join([FILLER] * 6)}, {colour}"})
            if r.character_id == "mia"
            else r
            for r in request.regions
        ]
        assert long_prompts.count(generator.text2img, regions[0].prompt).tokens > 77
        wide = {"regions": regions, "width": 192, "height": 64}
        return _pixels(generator, request.model_copy(update=wide))

    diff = np.abs(render("silver") - render("red")).mean(axis=(0, 2))
    inside, outside = float(diff[:64].mean()), float(diff[128:].mean())
    assert inside > 2 * outside
    assert inside > 0.01


def test_sdxl_reads_long_prompts_in_full(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tiny_diffusers import save_tiny_pipeline

    from storyviz.generators.diffusers.backend import DiffusersGenerator

    folder = save_tiny_pipeline(tmp_path_factory.mktemp("sdxl-long"), family="sdxl")
    generator = DiffusersGenerator(parse_backend(f"diffusers:{folder}?steps=2&guidance=5"))
    silver, red = _panel("silver"), _panel("red")
    assert np.array_equal(_stock(generator, silver, 5.0), _stock(generator, red, 5.0))
    assert np.abs(_pixels(generator, silver) - _pixels(generator, red)).mean() > 0.01
    short = silver.model_copy(
        update={"prompt": "a girl with red hair", "negative_prompt": "blurry"}
    )
    assert np.array_equal(_pixels(generator, short), _stock(generator, short, 5.0))
    assert generator.render(silver).info["prompt_tokens"]["windows"] >= 2


def test_empty_sdxl_negatives_stay_zeros(tmp_path_factory: pytest.TempPathFactory) -> None:
    """No negative prompt on SDXL is zeros of the positive's length (force_zeros_for_empty_prompt),
    as the stock encoder makes it."""
    from tiny_diffusers import tiny_sdxl_pipeline

    pipe = tiny_sdxl_pipeline()
    prompt = _panel("red").prompt
    with torch.inference_mode():
        embeds = long_prompts.encode(pipe, "sdxl", prompt, None, True, torch.device("cpu"))
    assert embeds["prompt_embeds"].shape[1] % 77 == 0
    assert embeds["prompt_embeds"].shape[1] >= 2 * 77
    assert embeds["negative_prompt_embeds"].shape == embeds["prompt_embeds"].shape
    assert not embeds["negative_prompt_embeds"].any()
    assert not embeds["negative_pooled_prompt_embeds"].any()
    stock = pipe.encode_prompt(prompt, device="cpu", do_classifier_free_guidance=False)
    assert torch.equal(embeds["pooled_prompt_embeds"], stock[2])  # the first window's summary


def test_token_counts_name_the_cut_words(tiny_model: Path) -> None:
    from tiny_diffusers import tiny_tokenizer

    reader = tiny_tokenizer()
    text = " ".join(["rain"] * 80) + " silver robot"
    assert long_prompts.cut_text(reader, text) == "rain rain rain rain rain silver robot"
    assert long_prompts.cut_text(reader, "a girl") == ""


def test_a_text_taking_pipeline_warns_about_what_it_cuts(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """FLUX reads T5's max_sequence_length (512) and cuts the rest: the render says so, naming
    the words it never saw, and records the count; a prompt that fits gives no warning."""
    from tiny_flux import save_tiny_flux

    from storyviz.generators.diffusers.backend import DiffusersGenerator

    folder = save_tiny_flux(tmp_path_factory.mktemp("flux-long"))
    generator = DiffusersGenerator(parse_backend(f"diffusers:{folder}?steps=1&size=64"))
    long = " ".join(["rain"] * 520) + " silver robot dog"
    request = RenderRequest(target_id="p03", prompt=long, width=64, height=64, seed=1)
    result = generator.render(request)
    (warning,) = result.warnings
    assert warning.startswith("panel p03: the prompt is 523 tokens and FluxPipeline reads 511")
    assert warning.endswith(
        'never saw "rain rain rain rain rain rain rain rain rain silver robot dog"'
    )
    assert result.info["prompt_tokens"] == {
        "tokens": 523,
        "budget": 511,
        "windows": 2,
        "encoding": "text",
    }
    short = generator.render(request.model_copy(update={"prompt": "a girl with red hair"}))
    assert short.warnings == ()
    assert generator.prompt_format().style == "sentences"
    assert generator.prompt_format().budget == 511
