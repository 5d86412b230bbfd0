"""Webtoon export: every panel, lettered, stacked into one tall strip for reading on a phone.

Panels come in reading order at one width with white gutters between them, each lettered on its
own (the page layout is not needed on a scrolling screen; an rtl run keeps its plan order and
letters each panel right to left). Phone apps and image viewers struggle with very tall images,
so the strip is cut into parts no taller than `max_height`, always between panels; a panel
taller than that on its own gets a part to itself.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image

from storyviz.compose import PAPER, letter_panel
from storyviz.errors import InputError
from storyviz.exports.source import RunSource, load_run, output_dir, write_atomic
from storyviz.fonts import active_book
from storyviz.lettering import LetteringStyle

DEFAULT_WIDTH = 800
DEFAULT_GUTTER = 48
DEFAULT_MAX_HEIGHT = 12_000
LETTERING_SCALE = 1.5
"""A strip is read at phone width, so lettering is set as on a page 1.5x the strip's width."""


def export_webtoon(
    run_dir: Path,
    out: Path | None = None,
    *,
    width: int | None = None,
    gutter: int | None = None,
    max_height: int | None = None,
    **options: Any,
) -> list[Path]:
    """Write `<run id>_webtoon_01.png`, ... into `out` (a folder; default exports/webtoon/)."""
    width = _checked("width", DEFAULT_WIDTH if width is None else width, 160, 4000)
    gutter = _checked("gutter", DEFAULT_GUTTER if gutter is None else gutter, 0, 2000)
    max_height = DEFAULT_MAX_HEIGHT if max_height is None else max_height
    max_height = _checked("max height", max_height, 1000, 65_000)
    source = load_run(run_dir)
    panels = lettered_panels(source, width)
    folder = output_dir(source, out, "webtoon")
    written = []
    for number, part in enumerate(split_parts(panels, gutter, max_height), start=1):
        strip = stack(part, width, gutter)
        target = folder / f"{source.stem}_webtoon_{number:02d}.png"
        written.append(write_atomic(target, partial(_save_png, strip)))
    for stale in folder.glob(f"{source.stem}_webtoon_*.png"):
        if stale not in written:  # parts left from an earlier, longer export
            stale.unlink(missing_ok=True)
    return written


def _save_png(image: Image.Image, path: Path) -> None:
    image.save(path, "PNG")


def _checked(name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise InputError(f"webtoon {name} must be between {low} and {high} pixels, not {value}")
    return value


def lettered_panels(source: RunSource, width: int) -> list[Image.Image]:
    """Each panel in reading order, scaled to `width` and lettered."""
    style = LetteringStyle.for_page(round(width * LETTERING_SCALE), active_book())
    panels = []
    for panel_id in source.panel_order():
        path = source.panels.get(panel_id)
        if path is None:
            raise InputError(f"run {source.run_id}: panel {panel_id} has no image to export")
        with Image.open(path) as image:
            height = max(1, round(image.height * width / image.width))
            scaled = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        panel = source.plan.panel(panel_id)
        panels.append(letter_panel(panel, scaled, style, source.plan.reading_order))
    return panels


def split_parts(panels: list[Image.Image], gutter: int, max_height: int) -> list[list[Image.Image]]:
    """Consecutive runs of panels whose stacked height (gutters included) fits `max_height`."""
    parts: list[list[Image.Image]] = []
    current: list[Image.Image] = []
    height = gutter
    for panel in panels:
        needed = panel.height + gutter
        if current and height + needed > max_height:
            parts.append(current)
            current, height = [], gutter
        current.append(panel)
        height += needed
    if current:
        parts.append(current)
    return parts


def stack(panels: list[Image.Image], width: int, gutter: int) -> Image.Image:
    """The panels one under another with a gutter above, between and below them."""
    height = gutter + sum(panel.height + gutter for panel in panels)
    strip = Image.new("RGB", (width, height), PAPER)
    top = gutter
    for panel in panels:
        strip.paste(panel, (0, top))
        top += panel.height + gutter
    return strip
