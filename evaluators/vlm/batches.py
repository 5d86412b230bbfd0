"""Grouping panels into model calls: several panels per call, references sent once per call.

A call costs a round trip and re-sends the character sheets, so panels share calls up to
``panels_per_call``. The model's image limit counts references too, so a batch closes early when
one more panel (and the references it brings) would exceed it. Two versions of the same panel
never share a call: the answer names panels by id, and the two would be indistinguishable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from storyviz.protocols import AuditItem


@dataclass
class Batch:
    """The panels of one call, their positions in the audited sequence, and the references."""

    items: list[AuditItem] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    references: dict[str, Path] = field(default_factory=dict)
    dropped_references: list[str] = field(default_factory=list)

    @property
    def images(self) -> int:
        return len(self.items) + len(self.references)


def item_references(item: AuditItem) -> dict[str, Path]:
    """The reference images of the item's cast members that have a sheet, in cast order."""
    sheets = {sheet.id for sheet in item.characters}
    wanted = [m.character_id for m in item.panel.cast if m.character_id in sheets]
    return {cid: item.references[cid] for cid in dict.fromkeys(wanted) if cid in item.references}


def plan_batches(
    entries: Sequence[tuple[int, AuditItem]],
    *,
    panels_per_call: int,
    max_images: int,
    with_references: bool,
) -> list[Batch]:
    """Consecutive (position, item) entries grouped greedily; each lands in exactly one batch."""
    batches: list[Batch] = []
    current = Batch()
    for position, item in entries:
        refs = item_references(item) if with_references else {}
        merged = {**current.references, **refs}
        fits = (
            len(current.items) < panels_per_call
            and len(current.items) + 1 + len(merged) <= max_images
            and all(other.panel.id != item.panel.id for other in current.items)
        )
        if current.items and not fits:
            batches.append(current)
            current, merged = Batch(), refs
        current.items.append(item)
        current.positions.append(position)
        current.references = merged
    if current.items:
        batches.append(current)
    for batch in batches:
        _trim_references(batch, max_images)
    return batches


def solo(item: AuditItem, position: int, *, max_images: int, with_references: bool) -> Batch:
    """A batch of one panel, for asking again about a panel a shared call left unanswered."""
    refs = item_references(item) if with_references else {}
    batch = Batch(items=[item], positions=[position], references=refs)
    _trim_references(batch, max_images)
    return batch


def _trim_references(batch: Batch, max_images: int) -> None:
    """A lone panel whose references exceed the limit keeps the panel and the first references."""
    room = max(0, max_images - len(batch.items))
    if len(batch.references) > room:
        kept = list(batch.references)[:room]
        batch.dropped_references = [cid for cid in batch.references if cid not in kept]
        batch.references = {cid: batch.references[cid] for cid in kept}
