"""Identity through IP-Adapter: every panel conditioned on its cast's reference images.

A text prompt alone redraws "a girl with red hair" as a different girl in every panel; an
IP-Adapter feeds the reference image of each character into the UNet's cross-attention, so the
face, hair and outfit carry over. With several characters in a panel, each reference is confined
to its character's cast box with an IP-Adapter attention mask (``ip_adapter_masks``), which is
also how the plan's layout reaches models that cannot take boxes otherwise.

The adapter is loaded once, into the shared UNet, right after the pipeline (it changes the
weights' attention processors, so it is part of the load key). A UNet with an adapter wants an
image on every call: requests without references (the references themselves, empty panels) get
a neutral grey image at scale 0, which leaves the picture as the text alone would draw it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from storyviz.errors import BackendError
from storyviz.generators.diffusers.options import AdapterSource
from storyviz.masks import box_mask
from storyviz.schemas import NormBox, RenderRequest

_NEUTRAL = (128, 128, 128)


def load_adapter(pipe: Any, source: AdapterSource) -> None:
    """``load_ip_adapter`` from a hub repo or local folder, image encoder beside the weights."""
    if not hasattr(pipe, "load_ip_adapter"):
        raise BackendError(
            f"backend 'diffusers': {type(pipe).__name__} does not take an IP-Adapter "
            "(SD 1.5 and SDXL pipelines do)"
        )
    try:
        pipe.load_ip_adapter(
            source.repo,
            subfolder=source.subfolder,
            weight_name=source.weight_name,
            image_encoder_folder="image_encoder",
        )
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise BackendError(
            f"backend 'diffusers': cannot load the IP-Adapter {source}: {text}"
        ) from None


@dataclass
class AdapterCall:
    """What one render passes to an adapter-conditioned pipeline, and records about it."""

    arguments: dict[str, Any]
    scale: float
    characters: list[str]


def adapter_call(
    request: RenderRequest, width: int, height: int, scale: float, base_dir: Path
) -> AdapterCall:
    """The references of the request's cast, in cast order, each masked to its box."""
    references = _cast_references(request)
    if not references:
        grey = Image.new("RGB", (224, 224), _NEUTRAL)
        return AdapterCall({"ip_adapter_image": [grey]}, 0.0, [])
    images = [_open(base_dir, path) for _, path, _ in references]
    arguments: dict[str, Any] = {"ip_adapter_image": [images]}
    boxes = [box for _, _, box in references]
    if any(box is not None for box in boxes):
        arguments["cross_attention_kwargs"] = {"ip_adapter_masks": _masks(boxes, width, height)}
    return AdapterCall(arguments, scale, [cid for cid, _, _ in references])


def _cast_references(request: RenderRequest) -> list[tuple[str, str, NormBox | None]]:
    if request.kind != "panel" or not request.references:
        return []
    if request.panel is None:
        return [(cid, path, None) for cid, path in request.references.items()]
    return [
        (m.character_id, request.references[m.character_id], m.box)
        for m in request.panel.cast
        if m.character_id in request.references
    ]


def _masks(boxes: list[NormBox | None], width: int, height: int) -> list[Any]:
    from diffusers.image_processor import IPAdapterMaskProcessor

    full: NormBox = (0.0, 0.0, 1.0, 1.0)
    masks = [box_mask((width, height), [box or full], feather=0) for box in boxes]
    tensor = IPAdapterMaskProcessor().preprocess(masks, height=height, width=width)
    # One adapter, several images: a [1, images, height, width] mask for that adapter.
    return [tensor.reshape(1, tensor.shape[0], tensor.shape[2], tensor.shape[3])]


def _open(base_dir: Path, path: str) -> Image.Image:
    file = Path(path)
    if not file.is_absolute():
        file = base_dir / file
    try:
        with Image.open(file) as image:
            return image.convert("RGB")
    except OSError as exc:
        raise BackendError(
            f"backend 'diffusers': cannot read reference image {file}: {exc}"
        ) from None
