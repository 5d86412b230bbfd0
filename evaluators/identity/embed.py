"""Embedders: an image in, a unit vector out, so that "does this crop still look like its
reference?" becomes one cosine similarity.

Three kinds share this protocol: open_clip (``clip:...``), DINOv2 through transformers
(``dino:...``) and a dependency-free pixel embedding (``pixel``, the fallback of `storyviz eval`).
Heavy libraries are imported only by the module of the kind that is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray

from storyviz.errors import BackendError
from storyviz.registry import BackendSpec, parse_backend, unknown_name

if TYPE_CHECKING:
    from PIL.Image import Image

EMBEDDER_NAMES = ("clip", "dino", "pixel")


class Embedder(Protocol):
    name: str
    """What produced the numbers, e.g. ``clip:ViT-B-32`` or ``pixel``; shown beside them."""

    def embed(self, images: Sequence[Image]) -> NDArray[np.float32]:
        """One L2-normalised row per image."""
        ...


def cosine(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    """Cosine similarity of two vectors (0.0 when either is all zeros)."""
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / norm) if norm > 0 else 0.0


def unit_rows(matrix: NDArray[np.floating]) -> NDArray[np.float32]:
    rows = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def build_embedder(text: str | BackendSpec | None) -> Embedder:
    """``clip:MODEL[?pretrained=..]``, ``dino:MODEL_OR_PATH`` or ``pixel`` (also for None)."""
    if text is None or (isinstance(text, str) and not text.strip()):
        text = "pixel"
    spec = text if isinstance(text, BackendSpec) else parse_backend(text)
    if spec.name == "pixel":
        from storyviz.evaluators.identity.pixels import PixelEmbedder

        spec.check_options(set())
        if spec.model is not None:
            raise BackendError(f"embedder 'pixel' takes no model; got {spec.model!r}")
        return PixelEmbedder()
    if spec.name not in ("clip", "dino"):
        raise unknown_name("embedder", spec.name, EMBEDDER_NAMES)
    if not spec.model:
        example = "clip:ViT-B-32" if spec.name == "clip" else "dino:facebook/dinov2-small"
        raise BackendError(f"the {spec.name} embedder needs a model, e.g. {example}")
    try:
        if spec.name == "clip":
            from storyviz.evaluators.clip_embedder import ClipEmbedder

            return ClipEmbedder(spec)
        from storyviz.evaluators.dino_embedder import DinoEmbedder

        return DinoEmbedder(spec)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing == "storyviz":
            raise
        raise BackendError(
            f'the {spec.name} embedder needs {missing}: pip install "storyviz[clip]"'
        ) from None
