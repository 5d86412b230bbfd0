"""Loading MS-Diffusion: the stock SDXL pipeline, ``ms_adapter.bin`` and the CLIP-G encoder.

The release is three files a user fetches separately (the SDXL base, ``ms_adapter.bin``, the
image encoder); each may be a local path or a hub name, and each failure is one line naming the
file. The adapter's three parts are loaded strictly: ``ms_adapter`` into box-masked processors
installed on every attention layer of the UNet (``seed_models.masked_attention``, numbered in
``unet.attn_processors`` order as the release numbers them), ``image_proj`` into the grounded
resampler sized from its own tensors, ``dummy_image_tokens`` checked against the UNet's
cross-attention width. Processors are installed before the pipeline is placed, so they move (and
offload) with the UNet; the resampler and encoder are small and stay on the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from diffusers import StableDiffusionXLPipeline
from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

from storyviz.errors import BackendError
from storyviz.generators.diffusers.device import DTYPES
from storyviz.generators.diffusers.loading import LoadKey, is_local, one_line, place, quiet
from storyviz.generators.msdiffusion.options import NAME
from storyviz.generators.msdiffusion.resampler import GroundedResampler, ResamplerShape
from storyviz.generators.seed_models import masked_attention
from storyviz.generators.seed_models.checkpoint import load_strict, part, read_state
from storyviz.generators.seed_models.sources import Source


@dataclass(frozen=True)
class Extra:
    """What beside the SDXL weights a load reads (the ``LoadKey``'s hashable ``extra``)."""

    adapter: Source
    image_encoder: Source
    heads: int
    fourier_freqs: int


@dataclass
class MSParts:
    resampler: GroundedResampler
    dummy_tokens: torch.Tensor  # [1, dummies, cross-attention width]
    encoder: Any  # CLIPVisionModelWithProjection
    processor: Any  # CLIPImageProcessor
    conditioning: masked_attention.ImageConditioning
    adapter_file: Path


def build(key: LoadKey) -> tuple[Any, MSParts]:
    """The ``loading.load`` builder for a key whose ``extra`` is ``(Extra,)``."""
    extra: Extra = key.extra[0]
    dtype = DTYPES[key.dtype]
    pipe = _pipeline(key.model, dtype)
    file = _adapter_file(extra.adapter)
    state = read_state(file, NAME)
    conditioning = masked_attention.ImageConditioning()
    processors = masked_attention.install(pipe.unet, conditioning)
    load_strict(
        processors, part(state, "ms_adapter", file, NAME), f"{file.name}'s ms_adapter", NAME
    )
    phrase = int(pipe.text_encoder.config.hidden_size)
    projection = part(state, "image_proj", file, NAME)
    shape = ResamplerShape.read(projection, extra.heads, extra.fourier_freqs, phrase, NAME)
    resampler = GroundedResampler(shape)
    load_strict(resampler, projection, f"{file.name}'s image_proj", NAME)
    dummy = _dummy_tokens(part(state, "dummy_image_tokens", file, NAME), pipe.unet, file)
    if shape.output != int(pipe.unet.config.cross_attention_dim):
        raise BackendError(
            f"backend '{NAME}': {file.name} makes {shape.output}-wide image tokens, the UNet of "
            f"{key.model} attends over {pipe.unet.config.cross_attention_dim}-wide ones"
        )
    encoder, image_processor = _encoder(extra.image_encoder, dtype)
    width = int(encoder.config.hidden_size)
    if width != shape.features:
        raise BackendError(
            f"backend '{NAME}': the image encoder gives {width}-wide features, {file.name} "
            f"expects {shape.features} (CLIP ViT-bigG-14 for the release)"
        )
    processors.to(dtype=dtype)
    place(pipe, key)
    quiet(pipe)
    resampler.to(device=key.device, dtype=dtype).eval()
    encoder.to(device=key.device).eval()
    parts = MSParts(
        resampler=resampler,
        dummy_tokens=dummy.to(device=key.device, dtype=dtype),
        encoder=encoder,
        processor=image_processor,
        conditioning=conditioning,
        adapter_file=file,
    )
    return pipe, parts


def _pipeline(model: str, dtype: torch.dtype) -> Any:
    source = model
    if is_local(model):
        folder = Path(model).expanduser()
        if not (folder / "model_index.json").is_file():
            raise BackendError(
                f"backend '{NAME}': {folder} is not a diffusers model folder "
                "(no model_index.json there)"
            )
        source = str(folder)
    try:
        pipe = StableDiffusionXLPipeline.from_pretrained(source, dtype=dtype, add_watermarker=False)
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        raise BackendError(
            f"backend '{NAME}': cannot load {model!r} as SDXL: {one_line(exc)}"
        ) from None
    if not isinstance(pipe, StableDiffusionXLPipeline):  # a folder of another pipeline class
        raise BackendError(f"backend '{NAME}': {model!r} is not an SDXL model")
    return pipe


def _adapter_file(source: Source) -> Path:
    local = source.local
    if local is not None:
        return local
    repo, inner = source.hub()
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(repo, inner))
    except Exception as exc:  # the hub client raises many kinds; each is one line here
        raise BackendError(
            f"backend '{NAME}': cannot fetch the adapter {source.text}: {one_line(exc)}"
        ) from None


def _encoder(source: Source, dtype: torch.dtype) -> tuple[Any, Any]:
    local = source.local
    if local is not None:
        where, subfolder = str(local), ""
    else:
        where, subfolder = source.hub()
    try:
        encoder: Any = CLIPVisionModelWithProjection.from_pretrained(
            where, subfolder=subfolder, dtype=dtype
        )
    except Exception as exc:  # missing files, bad configs, the hub: one line each
        raise BackendError(
            f"backend '{NAME}': cannot load the image encoder {source.text}: {one_line(exc)}"
        ) from None
    # The release uses CLIPImageProcessor()'s defaults (224 px), the size its encoder takes; an
    # encoder of another size gets crops of its own size.
    side = int(encoder.config.image_size)
    processor = CLIPImageProcessor(
        size={"shortest_edge": side}, crop_size={"height": side, "width": side}
    )
    return encoder, processor


def _dummy_tokens(value: Any, unet: Any, file: Path) -> torch.Tensor:
    cross = int(unet.config.cross_attention_dim)
    if not isinstance(value, torch.Tensor) or value.ndim != 3 or value.shape[0] != 1:
        raise BackendError(
            f"backend '{NAME}': {file.name}'s dummy_image_tokens is not a [1, N, {cross}] tensor"
        )
    if int(value.shape[2]) != cross:
        raise BackendError(
            f"backend '{NAME}': {file.name}'s dummy_image_tokens are {int(value.shape[2])} wide, "
            f"the UNet's cross-attention takes {cross}"
        )
    return value.detach().clone()
