"""Loading DiffSensei's ``image_generator/``: its UNet pickle, resampler and two encoders.

The release's folder is a diffusers SDXL folder except for ``unet/``, which holds the fully
fine-tuned UNet with its IP layers and dialog embedding as one torch pickle that diffusers'
own loader cannot read (``docs/seeds/diffsensei.md`` section 1). So the UNet is built from its
``config.json``, given the box-masked processors (``seed_models.masked_attention``, whose
``to_k_ip``/``to_v_ip`` sit at ``...attn2.processor.*`` as in the release) and the dialog
embedding, and the pickle is loaded into it strictly; the rest of the pipeline comes from the
folder through diffusers. A hub id is fetched with ``image_generator/`` only (the MLLM beside
it is 60 GB and not used). Each missing file or misfit is one line naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
from transformers import (
    CLIPImageProcessor,
    CLIPVisionModelWithProjection,
    ViTImageProcessor,
    ViTMAEModel,
)

from storyviz.errors import BackendError
from storyviz.generators.diffsensei.dialogs import DialogRegions
from storyviz.generators.diffsensei.options import NAME
from storyviz.generators.diffsensei.resampler import CharacterResampler, ResamplerShape
from storyviz.generators.diffusers.device import DTYPES
from storyviz.generators.diffusers.loading import LoadKey, is_local, one_line, place, quiet
from storyviz.generators.seed_models import masked_attention
from storyviz.generators.seed_models.checkpoint import load_strict, read_state

SUBFOLDER = "image_generator"
# The UNet pickle's name now, then the names it had on the hub before (docs/seeds/diffsensei.md).
UNET_FILES = (
    "pytorch_model.bin",
    "diffusion_pytorch_model.safetensors",
    "diffsensei_unet.safetensors",
    "diffusion_pytorch_model.bin",
)
PROJECTION_FILES = ("pytorch_model.bin", "model.safetensors")
FOLDERS = ("unet", "image_proj_model", "clip_image_encoder", "magi_image_encoder")


@dataclass(frozen=True)
class Extra:
    """What beside the model folder a load depends on (the ``LoadKey``'s hashable ``extra``)."""

    heads: int


@dataclass
class DSParts:
    resampler: CharacterResampler
    clip: Any  # CLIPVisionModelWithProjection
    clip_processor: Any
    magi: Any  # ViTMAEModel
    magi_processor: Any
    magi_mask_ratio: float  # the released config's, used with magi_mask=release
    conditioning: masked_attention.ImageConditioning
    dialogs: DialogRegions
    folder: Path

    @property
    def clip_tokens(self) -> int:
        """Patches + CLS of one CLIP image (257 for ViT-H/14 at 224 px)."""
        config = self.clip.config
        return (int(config.image_size) // int(config.patch_size)) ** 2 + 1


def build(key: LoadKey) -> tuple[Any, DSParts]:
    """The ``loading.load`` builder for a key whose ``extra`` is ``(Extra,)``."""
    extra: Extra = key.extra[0]
    dtype = DTYPES[key.dtype]
    folder = model_folder(key.model)
    unet, conditioning, dialogs = _unet(folder)
    torch.nn.Module.to(unet, dtype=dtype)  # ModelMixin.to warns on every cast; nothing stays fp32
    try:
        pipe = StableDiffusionXLPipeline.from_pretrained(
            str(folder), unet=unet, dtype=dtype, add_watermarker=False
        )
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        raise BackendError(
            f"backend '{NAME}': cannot load the SDXL parts of {folder}: {one_line(exc)}"
        ) from None
    resampler = _resampler(folder, extra.heads, int(unet.config.cross_attention_dim))
    clip, clip_processor = _clip(folder, dtype, resampler.shape.features)
    magi, magi_processor = _magi(folder, dtype, resampler.shape.magi)
    parts = DSParts(
        resampler=resampler,
        clip=clip,
        clip_processor=clip_processor,
        magi=magi,
        magi_processor=magi_processor,
        magi_mask_ratio=float(getattr(magi.config, "mask_ratio", 0.0)),
        conditioning=conditioning,
        dialogs=dialogs,
        folder=folder,
    )
    place(pipe, key)
    quiet(pipe)
    resampler.to(device=key.device, dtype=dtype).eval()
    clip.to(device=key.device).eval()
    magi.to(device=key.device).eval()
    return pipe, parts


def model_folder(model: str) -> Path:
    """The ``image_generator/`` folder of a local copy or of a hub download."""
    if is_local(model):
        root = Path(model).expanduser()
        if not root.is_dir():
            raise BackendError(f"backend '{NAME}': no folder at {root}")
    else:
        try:
            from huggingface_hub import snapshot_download

            root = Path(snapshot_download(model, allow_patterns=[f"{SUBFOLDER}/*"]))
        except Exception as exc:  # the hub client raises many kinds; each is one line here
            raise BackendError(f"backend '{NAME}': cannot fetch {model}: {one_line(exc)}") from None
    folder = root / SUBFOLDER if (root / SUBFOLDER).is_dir() else root
    for needed in ("model_index.json", *FOLDERS):
        if not (folder / needed).exists():
            raise BackendError(
                f"backend '{NAME}': {folder} has no {needed}; expected DiffSensei's "
                f"image_generator/ layout ({', '.join(FOLDERS)} beside an SDXL folder)"
            )
    return folder


def _first(folder: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise BackendError(f"backend '{NAME}': {folder} has none of {', '.join(names)}")


def _unet(folder: Path) -> tuple[Any, masked_attention.ImageConditioning, DialogRegions]:
    try:
        config = UNet2DConditionModel.load_config(folder / "unet")
        unet: Any = UNet2DConditionModel.from_config(config)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise BackendError(
            f"backend '{NAME}': cannot build the UNet from {folder / 'unet' / 'config.json'}: "
            f"{one_line(exc)}"
        ) from None
    conditioning = masked_attention.ImageConditioning()
    masked_attention.install(unet, conditioning)
    dialogs = DialogRegions(unet)
    file = _first(folder / "unet", UNET_FILES)
    load_strict(unet, read_state(file, NAME), f"unet/{file.name}", NAME)
    return unet, conditioning, dialogs


def _resampler(folder: Path, heads: int, cross: int) -> CharacterResampler:
    file = _first(folder / "image_proj_model", PROJECTION_FILES)
    state = read_state(file, NAME)
    shape = ResamplerShape.read(state, heads, NAME)
    if shape.output != cross:
        raise BackendError(
            f"backend '{NAME}': image_proj_model makes {shape.output}-wide tokens, the UNet "
            f"attends over {cross}-wide ones"
        )
    resampler = CharacterResampler(shape)
    load_strict(resampler, state, f"image_proj_model/{file.name}", NAME)
    return resampler


def _clip(folder: Path, dtype: torch.dtype, width: int) -> tuple[Any, Any]:
    where = folder / "clip_image_encoder"
    try:
        clip: Any = CLIPVisionModelWithProjection.from_pretrained(str(where), dtype=dtype)
    except Exception as exc:  # missing files, bad configs: one line each
        raise BackendError(f"backend '{NAME}': cannot load {where}: {one_line(exc)}") from None
    if int(clip.config.hidden_size) != width:
        raise BackendError(
            f"backend '{NAME}': clip_image_encoder gives {clip.config.hidden_size}-wide "
            f"features, image_proj_model expects {width}"
        )
    side = int(clip.config.image_size)  # the release: CLIPImageProcessor()'s 224 for ViT-H/14
    processor = CLIPImageProcessor(
        size={"shortest_edge": side}, crop_size={"height": side, "width": side}
    )
    return clip, processor


def _magi(folder: Path, dtype: torch.dtype, width: int) -> tuple[Any, Any]:
    where = folder / "magi_image_encoder"
    try:
        magi: Any = ViTMAEModel.from_pretrained(str(where), dtype=dtype)
    except Exception as exc:  # missing files, bad configs: one line each
        raise BackendError(f"backend '{NAME}': cannot load {where}: {one_line(exc)}") from None
    if int(magi.config.hidden_size) != width:
        raise BackendError(
            f"backend '{NAME}': magi_image_encoder gives {magi.config.hidden_size}-wide "
            f"vectors, image_proj_model expects {width}"
        )
    side = int(magi.config.image_size)  # the release: ViTImageProcessor()'s 224 x 224, mean 0.5
    return magi, ViTImageProcessor(size={"height": side, "width": side})
