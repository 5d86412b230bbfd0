"""open_clip image embeddings (``clip:MODEL[?pretrained=NAME_OR_PATH]``).

MODEL is an open_clip architecture (``ViT-B-32``) with ``pretrained`` naming its weights (a tag
such as ``laion2b_s34b_b79k`` or a checkpoint file), or a folder in open_clip's own ``local-dir``
layout (``open_clip_config.json`` + weights), which is how models are used offline and how the
tests load a tiny random one. Loaded once per process.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from numpy.typing import NDArray

from storyviz.errors import BackendError
from storyviz.evaluators.identity.embed import unit_rows
from storyviz.evaluators.identity.torch import cached, device_for
from storyviz.redaction import redact
from storyviz.registry import BackendSpec

if TYPE_CHECKING:
    from PIL.Image import Image

OPTIONS = frozenset({"pretrained", "device"})


class ClipEmbedder:
    def __init__(self, spec: BackendSpec, *, allowed: frozenset[str] = OPTIONS) -> None:
        spec.check_options(allowed)
        self.model_name = str(spec.model)
        self.pretrained = spec.options.get("pretrained") or None
        self.device = device_for(spec)
        # recorded in eval.json: a pretrained URL may carry a token
        pretrained = f"?pretrained={self.pretrained}" if self.pretrained else ""
        self.name = redact(f"clip:{self.model_name}{pretrained}")
        key = ("open_clip", self.model_name, self.pretrained, self.device)
        self.model, self.preprocess = cached(key, self._load)

    def _load(self) -> tuple[Any, Any]:
        import open_clip

        folder = Path(self.model_name).expanduser()
        name = f"local-dir:{folder}" if folder.is_dir() else self.model_name
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(
                name, pretrained=None if folder.is_dir() else self.pretrained, device=self.device
            )
        except (RuntimeError, FileNotFoundError, ValueError, OSError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BackendError(f"cannot load open_clip model {self.name}: {first}") from None
        model.eval()
        return model, preprocess

    def embed(self, images: Sequence[Image]) -> NDArray[np.float32]:
        if not images:
            return np.zeros((0, 0), dtype=np.float32)
        batch = torch.stack([self.preprocess(image.convert("RGB")) for image in images])
        with torch.inference_mode():
            features = self.model.encode_image(batch.to(self.device))
        return unit_rows(features.float().cpu().numpy())
