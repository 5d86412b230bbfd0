"""The messages of one audit call: the sheets, the expected cast in words, and labelled images.

Prompt wording lives in ``prompts/audit_system.txt`` and ``prompts/audit_panels.j2``; this module
only shapes the data they show. Templates are rendered with their line breaks kept (the shared
``PromptTemplate.render`` collapses whitespace, which suits one-line image prompts but flattens
the lists a model reads here). Where a character should stand is given in words and numbers,
because models place "bottom left, large" more reliably than bare coordinates.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from storyviz.evaluators.vlm.batches import Batch
from storyviz.geometry import Box, place_in_panel
from storyviz.prompts import load
from storyviz.providers.base import ChatMessage, ImagePart
from storyviz.schemas import CharacterSheet

SYSTEM_PROMPT = "audit_system.txt"
PANELS_PROMPT = "audit_panels.j2"
_SENDABLE_MIME = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})


def panel_label(panel_id: str, version: int) -> str:
    return f"panel {panel_id} v{version}"


def reference_label(character_id: str) -> str:
    return f"reference {character_id}"


def read_image(path: Path, label: str) -> ImagePart:
    """The file as an image part; formats an API may refuse (BMP, TIFF) are re-encoded as PNG.

    Raises OSError, PIL.UnidentifiedImageError or ValueError when the file is not an image, so a
    half-written render is caught here instead of failing the provider call for its whole batch.
    """
    data = Path(path).read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        mime = Image.MIME.get(image.format or "", "")
        if mime not in _SENDABLE_MIME:
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, format="PNG")
            data, mime = buffer.getvalue(), "image/png"
    return ImagePart(data=data, mime=mime, label=label)


def describe_box(box: Box) -> str:
    """'large, bottom left of the panel (37% wide, 70% tall), box [0.08, 0.25, 0.45, 0.95]'."""
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    place = place_in_panel(box)
    area = width * height
    size = "large" if area > 0.3 else "medium" if area > 0.08 else "small"
    numbers = ", ".join(f"{v:.2f}" for v in box)
    return f"{size}, {place} of the panel ({width:.0%} wide, {height:.0%} tall), box [{numbers}]"


def sheet_facts(sheet: CharacterSheet) -> list[str]:
    """The sheet's attributes as short lines, only those it fills in."""
    a = sheet.attributes
    facts = [f"species: {a.species}"]
    facts += [
        f"{name}: {value}"
        for name, value in (
            ("age", a.age),
            ("hair", a.hair),
            ("eyes", a.eyes),
            ("skin", a.skin),
            ("outfit", a.outfit),
        )
        if value
    ]
    if a.accessories:
        facts.append("accessories: " + ", ".join(a.accessories))
    if a.colors:
        facts.append("colours: " + ", ".join(f"{part} {c}" for part, c in a.colors.items()))
    return facts


def batch_sheets(batch: Batch) -> list[CharacterSheet]:
    """Every sheet of the batch's panels, once, in order of first appearance."""
    sheets: dict[str, CharacterSheet] = {}
    for item in batch.items:
        for sheet in item.characters:
            sheets.setdefault(sheet.id, sheet)
    return list(sheets.values())


def audit_messages(
    batch: Batch, panels: Sequence[ImagePart], references: Sequence[ImagePart]
) -> list[ChatMessage]:
    """System rules, then one user message with the text and references first, panels after."""
    images = [*references, *panels]
    text = render(
        PANELS_PROMPT, **_values(batch, [image.label for image in images], bool(references))
    )
    return [
        ChatMessage(role="system", text=load(SYSTEM_PROMPT).text.strip()),
        ChatMessage(role="user", text=text, images=images),
    ]


def problems_message(batch: Batch, problems: Sequence[str]) -> ChatMessage:
    """The follow-up that feeds an unusable answer's problems back to the model."""
    values = _values(batch, [], False)
    return ChatMessage(role="user", text=render(PANELS_PROMPT, **{**values, "problems": problems}))


def _values(batch: Batch, images: list[str], references: bool) -> dict[str, Any]:
    sheets = batch_sheets(batch)
    by_id = {sheet.id: sheet for sheet in sheets}
    panels = []
    for item in batch.items:
        panel = item.panel
        scene = ", ".join(
            part for part in (panel.scene, panel.setting, panel.time_of_day, panel.weather) if part
        )
        cast = [
            {
                "id": m.character_id,
                "name": by_id[m.character_id].name,
                "action": m.action,
                "where": describe_box(m.box),
            }
            for m in panel.cast
            if m.character_id in by_id
        ]
        label = panel_label(panel.id, item.version)
        panels.append(
            {"id": panel.id, "label": label, "beat": panel.beat, "scene": scene, "cast": cast}
        )
    return {
        "sheets": [
            {"id": s.id, "name": s.name, "description": s.description, "facts": sheet_facts(s)}
            for s in sheets
        ],
        "panels": panels,
        "images": images,
        "references": references,
        "panel_ids": [item.panel.id for item in batch.items],
        "character_ids": list(by_id) or ["(none)"],
        "problems": [],
    }


def render(name: str, **values: Any) -> str:
    return load(name).render_lines(**values)
