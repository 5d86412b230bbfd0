"""The render requests and files the API image generator tests (OpenAI, Gemini) draw with.

Both backends are judged on the same panel, cast and reference sheets, so that what one is
shown to do with them (sheets in cast order, a repair keeping the original outside its mask)
is checked against the same inputs for the other. Solid colours make each picture
recognisable wherever it ends up: a sent upload, an inline part, the returned panel.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from storyviz.masks import box_mask
from storyviz.schemas import CharacterSheet, RenderRequest

RED, BLUE, GREEN = (210, 30, 30), (30, 60, 220), (40, 160, 90)  # Mia's sheet, Bolt's, the answer
PAPER = (250, 250, 250)  # the panel a repair starts from
MIA = CharacterSheet(id="mia", name="Mia", description="a girl with red hair")
BOLT = CharacterSheet(id="bolt", name="Bolt", description="a silver robot dog")
SEED = 1234
BOX = (0.1, 0.2, 0.4, 0.9)  # the region a repair redraws, as fractions of the panel


def sheets(tmp_path: Path) -> dict[str, str]:
    """Reference sheets on disk, run-relative like the graph stores them."""
    (tmp_path / "references").mkdir(exist_ok=True)
    Image.new("RGB", (96, 128), RED).save(tmp_path / "references" / "mia.png")
    Image.new("RGB", (96, 128), BLUE).save(tmp_path / "references" / "bolt.png")
    return {"mia": "references/mia.png", "bolt": "references/bolt.png"}


def repair_files(tmp_path: Path, size: tuple[int, int] = (600, 400)) -> tuple[str, str]:
    """A plain panel to repair and a hard-edged mask of BOX, as absolute paths (how the
    repairer hands them over)."""
    original = tmp_path / "p01_v1.png"
    Image.new("RGB", size, PAPER).save(original)
    mask = tmp_path / "mask.png"
    box_mask(size, [BOX], feather=0).save(mask)
    return str(original), str(mask)


def panel(width: int = 600, height: int = 400, **fields: object) -> RenderRequest:
    values: dict[str, object] = {
        "target_id": "p01",
        "prompt": "comic panel, Mia finds Bolt under a bench",
        "negative_prompt": "watermark, text",
        "width": width,
        "height": height,
        "seed": SEED,
        "characters": [MIA, BOLT],
        **fields,
    }
    return RenderRequest.model_validate(values)


def colour(image: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    r, g, b = image.convert("RGB").getpixel((x, y))  # type: ignore[misc]
    return r, g, b


def decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")
