"""Where a character stands in a panel: the plan's cast box, or a detector's box near it.

Kept free of torch: the detector is passed in, and without one the plan's box is the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from storyviz.geometry import Box, at_least_one_pixel, grown, iou, pixel_edges
from storyviz.schemas import CastMember, CharacterSheet

if TYPE_CHECKING:
    from PIL.Image import Image

CROP_MARGIN = 0.05
"""Crops are widened by this share of the box on every side: a figure drawn a little off its
box keeps its head and feet."""

_PEOPLE = {"human", "girl", "boy", "woman", "man", "child", "person", "wizard", "witch", "elf"}


class Found(Protocol):
    @property
    def box(self) -> Box: ...
    @property
    def score(self) -> float: ...
    @property
    def query(self) -> int: ...


class Detector(Protocol):
    name: str

    def detect(self, image: Image, queries: Sequence[str]) -> Sequence[Found]: ...


@dataclass(frozen=True)
class Located:
    box: Box
    how: str  # "plan box" or "detector (score 0.31)"


def query_for(sheet: CharacterSheet) -> str:
    """The detector's text query for a character: what it is, not who (detectors know kinds)."""
    species = (sheet.attributes.species or "human").strip().lower()
    return "a person" if species in _PEOPLE else f"a {species}"


def locate(
    image: Image,
    cast: Sequence[tuple[CastMember, CharacterSheet]],
    detector: Detector | None,
) -> dict[str, Located]:
    """Each cast member's box: with a detector, the detection of its kind that overlaps its plan
    box most (the best-scoring one when none overlaps); the plan box when nothing is found."""
    located = {m.character_id: Located(m.box, "plan box") for m, _ in cast}
    if detector is None or not cast:
        return located
    queries = list(dict.fromkeys(query_for(sheet) for _, sheet in cast))
    detections = list(detector.detect(image, queries))
    taken: set[int] = set()
    for member, sheet in cast:
        kind = queries.index(query_for(sheet))
        options = [(i, d) for i, d in enumerate(detections) if d.query == kind and i not in taken]
        if not options:
            continue
        index, best = max(options, key=lambda o: (iou(o[1].box, member.box), o[1].score))
        taken.add(index)
        located[member.character_id] = Located(best.box, f"detector (score {best.score:.2f})")
    return located


def crop(image: Image, box: Box, margin: float = CROP_MARGIN) -> Image:
    """The box's pixels, widened by `margin` of its size on each side, clamped to the image.

    The start edges round down and the end edges to the nearest pixel, as the identity numbers
    recorded so far were measured."""
    width, height = image.size
    edges = pixel_edges(grown(box, margin), width, height, start="down", end="nearest")
    return image.crop(at_least_one_pixel(edges, width, height))
