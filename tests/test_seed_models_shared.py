"""The pieces both seed models stand on: strict checkpoint loading, the perceiver's sizes read
from weights, box-masked image attention, and background-free reference figures."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers.models.attention_processor import Attention, AttnProcessor2_0
from PIL import Image, ImageDraw

from storyviz.errors import BackendError
from storyviz.generators.seed_models.checkpoint import load_strict, part, read_state
from storyviz.generators.seed_models.masked_attention import (
    MASKED,
    ImageCall,
    ImageConditioning,
    MaskedImageAttention,
)
from storyviz.generators.seed_models.perceiver import PerceiverShape, PerceiverStack
from storyviz.generators.seed_models.references import figure_cutout


def _one_line(exc: pytest.ExceptionInfo[BackendError], *fragments: str) -> None:
    text = str(exc.value)
    assert "\n" not in text
    for fragment in fragments:
        assert fragment in text


def test_strict_loading_names_the_first_missing_unexpected_or_misshapen_key() -> None:
    module = torch.nn.Linear(3, 2)
    good = {k: v.clone() for k, v in module.state_dict().items()}
    load_strict(module, good, "the thing", "seed")
    with pytest.raises(BackendError) as missing:
        load_strict(module, {"weight": good["weight"]}, "the thing", "seed")
    _one_line(missing, "backend 'seed'", "the thing", "missing key 'bias'")
    with pytest.raises(BackendError) as extra:
        load_strict(module, {**good, "extra.weight": torch.zeros(1)}, "the thing", "seed")
    _one_line(extra, "unexpected key 'extra.weight'")
    with pytest.raises(BackendError) as shape:
        load_strict(module, {**good, "weight": torch.zeros(2, 4)}, "the thing", "seed")
    _one_line(shape, "'weight' has shape (2, 4)", "expects (2, 3)")


def test_reading_checkpoints_refuses_what_is_not_a_state_dict(tmp_path: Path) -> None:
    tensors = tmp_path / "ok.bin"
    torch.save({"a": torch.ones(2)}, tensors)
    assert torch.equal(read_state(tensors, "seed")["a"], torch.ones(2))
    with pytest.raises(BackendError) as absent:
        read_state(tmp_path / "nope.bin", "seed")
    _one_line(absent, "missing checkpoint file", "nope.bin")
    listed = tmp_path / "list.bin"
    torch.save([torch.ones(1)], listed)
    with pytest.raises(BackendError) as not_dict:
        read_state(listed, "seed")
    _one_line(not_dict, "holds a list, not a state dict")
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"not a pickle at all")
    with pytest.raises(BackendError) as unreadable:
        read_state(garbage, "seed")
    _one_line(unreadable, "cannot read", "garbage.bin")
    hostile = tmp_path / "hostile.bin"
    hostile.write_bytes(pickle.dumps({"a": Path("/etc/passwd")}, protocol=2))  # an arbitrary object
    with pytest.raises(BackendError) as refused:
        read_state(hostile, "seed")
    _one_line(refused, "cannot read")
    with pytest.raises(BackendError) as no_part:
        part({"x": 1}, "image_proj", tensors, "seed")
    _one_line(no_part, "has no 'image_proj'", "found x")


def test_the_perceiver_is_sized_from_its_weights_and_loads_back_strictly() -> None:
    shape = PerceiverShape(dim=8, inner=12, heads=3, depth=2, ff_inner=32)
    stack = PerceiverStack(shape)
    state = stack.state_dict()
    assert "layers.1.0.to_kv.weight" in state and "layers.1.1.3.weight" in state
    read = PerceiverShape.read(state, heads=3, what="resampler", backend="seed")
    assert read == shape
    load_strict(PerceiverStack(read), state, "resampler", "seed")
    out = stack(torch.randn(2, 5, 8), torch.randn(2, 4, 8))
    assert out.shape == (2, 4, 8)
    with pytest.raises(BackendError) as heads:
        PerceiverShape.read(state, heads=5, what="resampler", backend="seed")
    _one_line(heads, "heads=5 does not divide the attention width 12")
    with pytest.raises(BackendError) as empty:
        PerceiverShape.read({}, heads=1, what="resampler", backend="seed")
    _one_line(empty, "no perceiver layers")


def _attention() -> Attention:
    torch.manual_seed(0)
    return Attention(query_dim=16, cross_attention_dim=8, heads=2, dim_head=8)


def test_masked_image_attention_is_the_text_attention_where_no_image_token_is_seen() -> None:
    attn = _attention()
    conditioning = ImageConditioning()
    processor = MaskedImageAttention(8, 16, conditioning)
    torch.nn.init.normal_(processor.to_k_ip.weight)
    torch.nn.init.normal_(processor.to_v_ip.weight)
    height, width = 4, 6
    hidden = torch.randn(2, height * width, 16)
    text = torch.randn(2, 5, 8)
    image = torch.randn(2, 3, 8)
    plain = AttnProcessor2_0()(attn, hidden, text)
    # Between calls (references, plain panels) the processor is the plain one, image tokens or not.
    assert torch.allclose(processor(attn, hidden, text), plain, atol=1e-6)

    def masks(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        bias = torch.full((2, h, w, 3), MASKED)
        bias[1, :, w // 2 :] = 0.0  # conditional half: the right half sees the image tokens
        keep = torch.zeros(2, h, w, 1)
        keep[1, :, w // 2 :] = 1.0
        return bias.reshape(2, h * w, 3), keep.reshape(2, h * w, 1)

    both = torch.cat([text, image], dim=1)
    with conditioning.active(ImageCall(3, 0.8, (height, width), masks)):
        out = processor(attn, hidden, both)
    assert conditioning.call is None  # only for the length of the call
    grid = (out - plain).abs().sum(-1).reshape(2, height, width)
    assert torch.all(grid[0] < 1e-5)  # unconditional half: all background
    assert torch.all(grid[1, :, : width // 2] < 1e-5)  # outside the box
    assert torch.all(grid[1, :, width // 2 :] > 1e-3)  # inside it
    with conditioning.active(ImageCall(3, 0.0, (height, width), masks)):
        assert torch.allclose(processor(attn, hidden, both), plain, atol=1e-6)  # scale 0


def test_a_reference_figure_is_cut_out_onto_black_and_squared() -> None:
    sheet = Image.new("RGB", (120, 200), (236, 232, 224))
    ImageDraw.Draw(sheet).rectangle((40, 30, 79, 169), fill=(200, 40, 40))
    cut = figure_cutout(sheet)
    assert cut.size[0] == cut.size[1] == 140  # the figure's height, squared
    pixels = np.asarray(cut)
    assert tuple(pixels[0, 0]) == (0, 0, 0)  # the ground is gone
    assert tuple(pixels[70, 70]) == (200, 40, 40)  # the figure stays, centred
    assert np.mean(np.all(pixels == (200, 40, 40), axis=-1)) == pytest.approx(40 * 140 / 140**2)
    blank = figure_cutout(Image.new("RGB", (64, 96), (250, 250, 250)))
    assert blank.size == (96, 96)  # nothing stands out: the whole sheet, squared
