"""Registry factories for the measuring auditors: ``clip:...`` and ``dino:...``.

Own options: ``threshold`` (0..1; defaults in DEFAULT_THRESHOLDS), ``detector`` (an OWLv2 /
OWL-ViT hub id or folder; without it the plan's cast box is cropped), ``detector_threshold``,
``device``; ``clip`` also takes ``pretrained``.
"""

from __future__ import annotations

from typing import Protocol

from storyviz.errors import BackendError
from storyviz.evaluators.identity.auditor import IdentityAuditor
from storyviz.evaluators.identity.embed import Embedder
from storyviz.evaluators.identity.locate import Detector
from storyviz.registry import BackendSpec

DEFAULT_THRESHOLDS = {"clip": 0.7, "dino": 0.5}
"""Cosine similarity below which a character no longer looks like its reference.

CLIP image embeddings of two different pictures of one character typically lie around 0.75-0.9
and of different characters in the same style around 0.6-0.75 (CLIP sees style as much as
identity), so 0.7 flags a crop that has drifted towards "someone else". DINOv2 spreads further:
the same character across poses scores about 0.5-0.8, different ones below 0.4. Tune per model
with ``?threshold=``; docs/evaluation.md."""

_AUDITOR_OPTIONS = {"threshold", "detector", "detector_threshold", "device"}


class _EmbedderType(Protocol):
    def __call__(self, spec: BackendSpec, *, allowed: frozenset[str]) -> Embedder: ...


def clip_auditor(spec: BackendSpec) -> IdentityAuditor:
    from storyviz.evaluators.clip_embedder import OPTIONS, ClipEmbedder

    return _auditor(spec, ClipEmbedder, OPTIONS, "clip:ViT-B-32?pretrained=laion2b_s34b_b79k")


def dino_auditor(spec: BackendSpec) -> IdentityAuditor:
    from storyviz.evaluators.dino_embedder import OPTIONS, DinoEmbedder

    return _auditor(spec, DinoEmbedder, OPTIONS, "dino:facebook/dinov2-small")


def _auditor(
    spec: BackendSpec, embedder: _EmbedderType, options: frozenset[str], example: str
) -> IdentityAuditor:
    """The auditor around `embedder`; the model, options and thresholds are checked before the
    embedder or a detector is built, so a mistyped backend string fails before any weights are
    loaded."""
    _needs_model(spec, example)
    allowed = frozenset(options | _AUDITOR_OPTIONS)
    spec.check_options(allowed)
    threshold = spec.option("threshold", float, DEFAULT_THRESHOLDS[spec.name], low=0.0, high=1.0)
    detector_threshold = spec.option("detector_threshold", float, None, low=0.0, high=1.0)
    return IdentityAuditor(
        embedder=embedder(spec, allowed=allowed),
        threshold=threshold,
        spec=spec.redacted(),
        detector=build_detector(spec, detector_threshold),
    )


def build_detector(spec: BackendSpec, threshold: float | None = None) -> Detector | None:
    """The detector a ``?detector=`` option names (with `threshold`, else its default), or None."""
    source = spec.options.get("detector", "").strip()
    if not source:
        return None
    from storyviz.evaluators.detector_owl import DEFAULT_THRESHOLD, OwlDetector
    from storyviz.evaluators.identity.torch import device_for

    chosen = DEFAULT_THRESHOLD if threshold is None else threshold
    return OwlDetector(source, threshold=chosen, device=device_for(spec))


def _needs_model(spec: BackendSpec, example: str) -> None:
    if not spec.model:
        raise BackendError(f"the {spec.name} auditor needs a model, e.g. {example}")
