"""Panels into pages: paper, slots, borders, the panel images, their lettering, a page number.

Pure functions from a plan and panel images to page images; the run store writes the files.
The slot geometry comes from storyviz.layouts, the same table the planner and the renderer read,
so a render made at layouts.render_size fills its slot without cropping anything that matters.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from PIL import Image, ImageDraw

from storyviz.fonts import FontBook, active_book
from storyviz.geometry import Box, clamp, scaled
from storyviz.layouts import TEMPLATES, PageGeometry, page_geometry, placed_slot_pixels
from storyviz.lettering import (
    INK,
    LetteringLayout,
    LetteringStyle,
    Rect,
    layout_lettering,
    load_font,
    paint_lettering,
)
from storyviz.schemas import PageSpec, PanelSpec, ReadingOrder, StoryPlan

PAPER = (255, 255, 255)
MISSING_FILL = (232, 232, 232)
MISSING_MARK = (160, 160, 160)
PAGE_NUMBER_INK = (90, 90, 90)

BoxToPage = Callable[[Box], Rect]
"""Maps a cast box (normalised to the panel image) to page pixels, through the crop."""


def compose_pages(
    plan: StoryPlan, images: Mapping[str, Image.Image], fonts: FontBook | None = None
) -> list[Image.Image]:
    """One page image per `plan.pages`, in order. Pages are composed side by side: most of the
    work is resizing panels into slots, which Pillow does with the GIL released."""
    book = fonts or active_book()
    workers = max(1, min(4, os.cpu_count() or 1, len(plan.pages)))
    if workers == 1:
        return [compose_page(plan, page, images, book) for page in plan.pages]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda page: compose_page(plan, page, images, book), plan.pages))


@dataclass(frozen=True)
class PanelPlacement:
    """One panel on a page: its slot, its cast boxes in page pixels and its lettering."""

    panel_id: str
    slot: tuple[int, int, int, int]
    cast_boxes: dict[str, Rect]
    lettering: LetteringLayout


def _check_template(page: PageSpec) -> None:
    slots = TEMPLATES.get(page.template)
    if slots is None or len(page.panel_ids) > len(slots):
        raise ValueError(
            f"page {page.index}: template {page.template!r} cannot hold "
            f"{len(page.panel_ids)} panels"
        )


def page_placements(
    plan: StoryPlan,
    page: PageSpec,
    sizes: Mapping[str, tuple[int, int]],
    style: LetteringStyle,
) -> list[PanelPlacement]:
    """Where every panel and its lettering go on `page`, without drawing: `sizes` gives each
    panel image's size (a missing one fills its slot as a placeholder does)."""
    _check_template(page)
    return [
        _placement(plan, page, index, sizes.get(panel_id), style)
        for index, panel_id in enumerate(page.panel_ids)
    ]


def _placement(
    plan: StoryPlan,
    page: PageSpec,
    index: int,
    size: tuple[int, int] | None,
    style: LetteringStyle,
) -> PanelPlacement:
    panel_id = page.panel_ids[index]
    inset = 2 * style.stroke + 1  # inside the panel border
    slot = placed_slot_pixels(page.template, index, plan.page_size, plan.reading_order)
    left, top, right, bottom = slot
    to_page = _stretch(slot) if size is None else _cover(size, slot)[1]
    panel = plan.panel(panel_id)
    area = (left + inset, top + inset, right - inset, bottom - inset)
    cast_boxes = {member.character_id: to_page(member.box) for member in panel.cast}
    layout = layout_lettering(panel, area, cast_boxes, plan.reading_order, style)
    return PanelPlacement(panel_id, slot, cast_boxes, layout)


def panel_text_regions(
    plan: StoryPlan, panel_id: str, size: tuple[int, int], fonts: FontBook | None = None
) -> list[Box]:
    """Where the caption and balloons of `panel_id` will be lettered, as boxes normalised to
    its image of `size`, clipped to it: known before the panel is drawn, so a model that can
    keep regions free for text (DiffSensei's dialog boxes) draws the page its lettering fits."""
    for page in plan.pages:
        if panel_id not in page.panel_ids:
            continue
        _check_template(page)
        geometry = page_geometry(plan.page_size)
        style = LetteringStyle.for_page(geometry.width, fonts or active_book())
        placement = _placement(plan, page, page.panel_ids.index(panel_id), size, style)
        to_image = _from_page(size, placement.slot)
        regions = [to_image(rect) for rect in placement.lettering.rects]
        return [box for box in regions if box[2] > box[0] and box[3] > box[1]]
    return []


def compose_page(
    plan: StoryPlan,
    page: PageSpec,
    images: Mapping[str, Image.Image],
    fonts: FontBook | None = None,
) -> Image.Image:
    """Every panel of `page` in its slot, lettered; a missing image is marked, not fatal.

    `fonts` defaults to the configured font book (storyviz.fonts); characters no font covers
    are reported by `storyviz.fonts.font_warnings`, not drawn silently as boxes."""
    geometry = page_geometry(plan.page_size)
    canvas = Image.new("RGB", (geometry.width, geometry.height), PAPER)
    draw = ImageDraw.Draw(canvas)
    style = LetteringStyle.for_page(geometry.width, fonts or active_book())
    sizes = {pid: images[pid].size for pid in page.panel_ids if pid in images}
    for placement in page_placements(plan, page, sizes, style):
        left, top, right, bottom = slot = placement.slot
        image = images.get(placement.panel_id)
        if image is None:
            missing = _missing_panel((right - left, bottom - top), placement.panel_id, style)
            canvas.paste(missing, slot[:2])
        else:
            _paste_cover(canvas, image, slot)
        draw.rectangle((left, top, right - 1, bottom - 1), outline=INK, width=style.stroke + 1)
        paint_lettering(draw, placement.lettering, style)
    _draw_page_number(draw, _page_number(plan, page), geometry, style)
    return canvas


def letter_panel(
    panel: PanelSpec,
    image: Image.Image,
    style: LetteringStyle,
    reading_order: ReadingOrder = "ltr",
) -> Image.Image:
    """One panel on its own, full bleed and lettered (a webtoon strip's unit): the same layout
    rules as on a page, with the whole image as the panel."""
    lettered = _as_rgb(image).copy()
    width, height = lettered.size
    inset = style.padding
    area = (inset, inset, width - inset, height - inset)
    cast_boxes = {member.character_id: scaled(member.box, width, height) for member in panel.cast}
    layout = layout_lettering(panel, area, cast_boxes, reading_order, style)
    paint_lettering(ImageDraw.Draw(lettered), layout, style)
    return lettered


def _as_rgb(image: Image.Image) -> Image.Image:
    """Transparent renders sit on paper, not on black."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", image.size, PAPER)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _cover(
    size: tuple[int, int], slot: tuple[int, int, int, int]
) -> tuple[tuple[float, float, float, float], BoxToPage]:
    """The crop of an image of `size` that covers the slot (centred, the way a printed panel is
    trimmed), and the map from boxes normalised to the image to page pixels through it."""
    left, top, right, bottom = slot
    slot_w, slot_h = right - left, bottom - top
    image_w, image_h = size
    scale = max(slot_w / image_w, slot_h / image_h)
    crop_w, crop_h = slot_w / scale, slot_h / scale
    crop_x, crop_y = (image_w - crop_w) / 2, (image_h - crop_h) / 2

    def to_page(box: Box) -> Rect:
        x0, y0, x1, y1 = box
        return (
            left + (x0 * image_w - crop_x) * scale,
            top + (y0 * image_h - crop_y) * scale,
            left + (x1 * image_w - crop_x) * scale,
            top + (y1 * image_h - crop_y) * scale,
        )

    return (crop_x, crop_y, crop_x + crop_w, crop_y + crop_h), to_page


def _from_page(size: tuple[int, int], slot: tuple[int, int, int, int]) -> Callable[[Rect], Box]:
    """The inverse of `_cover`'s map: page pixels to a box normalised to the image, clipped."""
    (crop_x, crop_y, crop_x1, _), _ = _cover(size, slot)
    left, top, right, _ = slot
    image_w, image_h = size
    scale = (right - left) / (crop_x1 - crop_x)

    def to_image(rect: Rect) -> Box:
        x0, y0, x1, y1 = rect
        return clamp(
            (
                (crop_x + (x0 - left) / scale) / image_w,
                (crop_y + (y0 - top) / scale) / image_h,
                (crop_x + (x1 - left) / scale) / image_w,
                (crop_y + (y1 - top) / scale) / image_h,
            )
        )

    return to_image


def _paste_cover(canvas: Image.Image, image: Image.Image, slot: tuple[int, int, int, int]) -> None:
    crop, _ = _cover(image.size, slot)
    left, top, right, bottom = slot
    fitted = _as_rgb(image).resize(
        (right - left, bottom - top), Image.Resampling.BICUBIC, box=crop, reducing_gap=3.0
    )
    canvas.paste(fitted, (left, top))


def _missing_panel(size: tuple[int, int], panel_id: str, style: LetteringStyle) -> Image.Image:
    """A grey panel crossed out and labelled, so a reader sees a gap, not a blank by design."""
    width, height = size
    tile = Image.new("RGB", size, MISSING_FILL)
    draw = ImageDraw.Draw(tile)
    draw.line((0, 0, width - 1, height - 1), fill=MISSING_MARK, width=style.stroke)
    draw.line((0, height - 1, width - 1, 0), fill=MISSING_MARK, width=style.stroke)
    label = f"missing image: {panel_id}"
    font = load_font(style.font_size, bold=True, text=label, fonts=style.fonts)
    label_w = font.getlength(label)
    x, y = (width - label_w) / 2, height * 0.72  # low, where balloons rarely go
    pad = style.padding
    draw.rectangle((x - pad, y - pad, x + label_w + pad, y + style.font_size * 1.3 + pad), PAPER)
    draw.text((x, y), label, font=font, fill=INK)
    return tile


def _stretch(slot: tuple[int, int, int, int]) -> BoxToPage:
    left, top, right, bottom = slot

    def to_page(box: Box) -> Rect:
        x0, y0, x1, y1 = box
        w, h = right - left, bottom - top
        return left + x0 * w, top + y0 * h, left + x1 * w, top + y1 * h

    return to_page


def _page_number(plan: StoryPlan, page: PageSpec) -> int:
    """The number a reader counts: the page's position in the plan, 1-based."""
    for position, candidate in enumerate(plan.pages, start=1):
        if candidate == page:
            return position
    return page.index


def _draw_page_number(
    draw: ImageDraw.ImageDraw, number: int, geometry: PageGeometry, style: LetteringStyle
) -> None:
    """Small and centred in the bottom margin, clear of every panel."""
    size = max(10, round(style.font_size * 0.7))
    label = str(number)
    font = load_font(size, text=label, fonts=style.fonts)
    x = (geometry.width - font.getlength(label)) / 2
    y = geometry.height - (geometry.margin + size) / 2
    draw.text((x, y), label, font=font, fill=PAGE_NUMBER_INK)
