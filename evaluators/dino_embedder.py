"""DINOv2 image embeddings through transformers (``dino:facebook/dinov2-small`` or a folder).

DINOv2 was trained without text, on telling images apart, which makes it the sharper judge of
"same character?" among the embedders (ViStoryBench's identity metrics lean on such features).
The embedding is the model's pooled output (the normalised CLS token). Loaded once per process.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from numpy.typing import NDArray

from storyviz.errors import BackendError
from storyviz.evaluators.identity.embed import unit_rows
from storyviz.evaluators.identity.torch import cached, device_for
from storyviz.registry import BackendSpec

if TYPE_CHECKING:
    from PIL.Image import Image

OPTIONS = frozenset({"device"})


class DinoEmbedder:
    def __init__(self, spec: BackendSpec, *, allowed: frozenset[str] = OPTIONS) -> None:
        spec.check_options(allowed)
        self.source = str(spec.model)
        self.device = device_for(spec)
        self.name = f"dino:{self.source}"
        self.model, self.processor = cached(("dinov2", self.source, self.device), self._load)

    def _load(self) -> tuple[Any, Any]:
        from transformers import AutoImageProcessor, AutoModel

        try:
            model = AutoModel.from_pretrained(self.source)
            processor = AutoImageProcessor.from_pretrained(self.source)
        except (OSError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BackendError(f"cannot load DINOv2 model {self.source}: {first}") from None
        return model.to(self.device).eval(), processor

    def embed(self, images: Sequence[Image]) -> NDArray[np.float32]:
        if not images:
            return np.zeros((0, 0), dtype=np.float32)
        inputs = self.processor(images=[i.convert("RGB") for i in images], return_tensors="pt")
        with torch.inference_mode():
            output = self.model(pixel_values=inputs["pixel_values"].to(self.device))
        pooled = getattr(output, "pooler_output", None)
        features = pooled if pooled is not None else output.last_hidden_state[:, 0]
        return unit_rows(features.float().cpu().numpy())
