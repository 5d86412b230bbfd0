"""The formulas of `storyviz eval`, each a small pure function (unit-tested by hand values).

ViStoryBench-style metrics (docs/evaluation.md):
- identity, cross: cosine(embedding of a character's crop in a panel, embedding of its
  reference image), averaged over every (panel, character) pair;
- identity, self: for each character drawn in at least two panels, the mean cosine over all
  pairs of its crops; the run's value is the mean over those characters;
- style: the mean cosine over all pairs of whole-panel embeddings;
- onstage count matching: 100 * exp(-|D - E| / (eps + E)) per panel, D detected, E expected;
- copy-paste: 1 - mean absolute pixel difference (0..1 per channel) between a character's crop
  and its reference, both resized to COPY_SIDE x COPY_SIDE; 1.0 is a pixel copy. A crop at or
  above NEAR_COPY counts as a near-copy: it scores well on identity and badly as a story panel.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from storyviz.evaluators.identity.embed import cosine

if TYPE_CHECKING:
    from PIL.Image import Image

EPSILON = 1e-6
COPY_SIDE = 64
NEAR_COPY = 0.95


def mean(values: Sequence[float]) -> float | None:
    """The mean, or None for no values (shown as n/a, never as a misleading 0)."""
    return round(sum(values) / len(values), 4) if values else None


def mean_pairwise(vectors: Sequence[NDArray[np.float32]]) -> float | None:
    """Mean cosine over all unordered pairs; None with fewer than two vectors."""
    pairs = [cosine(a, b) for a, b in itertools.combinations(vectors, 2)]
    return mean(pairs)


def onstage_count_score(detected: int, expected: int, eps: float = EPSILON) -> float:
    """100 * exp(-|D - E| / (eps + E)): 100 when the counts agree, falling with the miss."""
    return round(100.0 * math.exp(-abs(detected - expected) / (eps + expected)), 4)


def copy_paste(crop: Image, reference: Image, side: int = COPY_SIDE) -> float:
    """1 - mean |crop - reference| over RGB in 0..1 at side x side: 1.0 is a pixel copy."""
    from PIL import Image as PILImage

    size = (side, side)
    a = np.asarray(crop.convert("RGB").resize(size, PILImage.Resampling.BILINEAR), dtype=float)
    b = np.asarray(reference.convert("RGB").resize(size, PILImage.Resampling.BILINEAR), dtype=float)
    return round(1.0 - float(np.abs(a - b).mean()) / 255.0, 4)
