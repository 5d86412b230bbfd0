"""Open-vocabulary detection (OWLv2 / OWL-ViT through transformers): where is "a girl", "a dog"?

A diffusion model only receives a cast box and a prompt, so its characters stand roughly, not
exactly, where the plan put them. A detector finds them where they were drawn; the identity
auditor then crops that box rather than the plan's, and `storyviz eval` counts the figures on
stage. Configured as ``?detector=/path/or/hub-id`` on ``clip:``/``dino:`` auditors and with
``--detector`` on `storyviz eval`. Loaded once per process.

Boxes come straight from the model's logits and box head (sigmoid score, centre/size boxes):
OWLv2 predicts in the square its processor pads the image to (bottom and right), so boxes are
rescaled to the unpadded image; OWL-ViT resizes without padding and needs no correction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from storyviz.errors import BackendError
from storyviz.evaluators.identity.torch import cached
from storyviz.geometry import Box, clamp, iou

if TYPE_CHECKING:
    from PIL.Image import Image

DEFAULT_THRESHOLD = 0.1
"""Score from which a detection counts: OWLv2's scores are low (0.1-0.4 for clear objects)."""
NMS_IOU = 0.5
"""Detections overlapping more than this (intersection over union) are one figure."""


@dataclass(frozen=True)
class Detection:
    box: Box  # normalised to the image, [x0, y0, x1, y1]
    score: float
    query: int  # index into the queries asked


class OwlDetector:
    """Detects text queries in an image; satisfies what the identity auditor and eval need."""

    def __init__(self, source: str, *, threshold: float = DEFAULT_THRESHOLD, device: str = "auto"):
        self.source = source
        self.threshold = threshold
        self.device = (
            ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        )
        self.name = f"owl:{source}"
        self.model, self.processor = cached(("owl", source, device), self._load)
        self.padded = "owlv2" in type(self.model).__name__.lower()

    def _load(self) -> tuple[Any, Any]:
        from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

        try:
            model = AutoModelForZeroShotObjectDetection.from_pretrained(self.source)
            processor = AutoProcessor.from_pretrained(self.source)
        except (OSError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BackendError(f"cannot load detector {self.source}: {first}") from None
        if not hasattr(model, "class_head") and "owl" not in type(model).__name__.lower():
            raise BackendError(
                f"detector {self.source} is a {type(model).__name__}; OWLv2 or OWL-ViT needed"
            )
        return model.to(self.device).eval(), processor

    def detect(self, image: Image, queries: Sequence[str]) -> list[Detection]:
        """Detections of any query scoring at least the threshold, overlapping ones merged."""
        if not queries:
            return []
        rgb = image.convert("RGB")
        inputs = self.processor(text=[list(queries)], images=rgb, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        with torch.inference_mode():
            output = self.model(**inputs)
        probs = torch.sigmoid(output.logits[0]).float().cpu().numpy()  # (patches, queries)
        boxes = output.pred_boxes[0].float().cpu().numpy()  # (patches, 4) cx, cy, w, h
        best = probs.argmax(axis=1)
        scores = probs[np.arange(len(probs)), best]
        width, height = rgb.size
        sx, sy = (
            (max(width, height) / width, max(width, height) / height) if self.padded else (1, 1)
        )
        found = []
        for index in np.flatnonzero(scores >= self.threshold):
            cx, cy, w, h = boxes[index]
            box = _clip((cx - w / 2) * sx, (cy - h / 2) * sy, (cx + w / 2) * sx, (cy + h / 2) * sy)
            if box is not None:
                found.append(Detection(box, float(scores[index]), int(best[index])))
        return nms(found)


def nms(detections: Sequence[Detection], iou_limit: float = NMS_IOU) -> list[Detection]:
    """Highest scores first; a detection overlapping a kept one by more than `iou_limit` goes."""
    kept: list[Detection] = []
    for detection in sorted(detections, key=lambda d: -d.score):
        if all(iou(detection.box, other.box) <= iou_limit for other in kept):
            kept.append(detection)
    return kept


def _clip(x0: float, y0: float, x1: float, y1: float) -> Box | None:
    box = clamp((x0, y0, x1, y1))
    if box[2] - box[0] < 0.01 or box[3] - box[1] < 0.01:
        return None
    return box
