"""Panels into pages: paper, slots, borders, the panel images, their lettering, a page number.

Pure functions from a plan and panel images to page images; the run store writes the files.
The slot geometry comes from storyviz.layouts, the same table the planner and the renderer read,
so a render made at layouts.render_size fills its slot without cropping anything that matters.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from PIL import Image, ImageDraw

from storyviz.layouts import TEMPLATES, PageGeometry, page_geometry, placed_slot_pixels
from storyviz.lettering import (
    INK,
    LetteringStyle,
    Rect,
    layout_lettering,
    load_font,
    paint_lettering,
)
from storyviz.schemas import Box, PageSpec, StoryPlan

PAPER = (255, 255, 255)
MISSING_FILL = (232, 232, 232)
MISSING_MARK = (160, 160, 160)
PAGE_NUMBER_INK = (90, 90, 90)

BoxToPage = Callable[[Box], Rect]
"""Maps a cast box (normalised to the panel image) to page pixels, through the crop."""


def compose_pages(plan: StoryPlan, images: Mapping[str, Image.Image]) -> list[Image.Image]:
    """One page image per `plan.pages`, in order. Pages are composed side by side: most of the
    work is resizing panels into slots, which Pillow does with the GIL released."""
    workers = max(1, min(4, os.cpu_count() or 1, len(plan.pages)))
    if workers == 1:
        return [compose_page(plan, page, images) for page in plan.pages]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda page: compose_page(plan, page, images), plan.pages))


def compose_page(plan: StoryPlan, page: PageSpec, images: Mapping[str, Image.Image]) -> Image.Image:
    """Every panel of `page` in its slot, lettered; a missing image is marked, not fatal."""
    slots = TEMPLATES.get(page.template)
    if slots is None or len(page.panel_ids) > len(slots):
        raise ValueError(
            f"page {page.index}: template {page.template!r} cannot hold "
            f"{len(page.panel_ids)} panels"
        )
    geometry = page_geometry(plan.page_size)
    canvas = Image.new("RGB", (geometry.width, geometry.height), PAPER)
    draw = ImageDraw.Draw(canvas)
    style = LetteringStyle.for_page(geometry.width)
    border = style.stroke + 1
    for index, panel_id in enumerate(page.panel_ids):
        slot = placed_slot_pixels(page.template, index, plan.page_size, plan.reading_order)
        panel = plan.panel(panel_id)
        image = images.get(panel_id)
        left, top, right, bottom = slot
        if image is None:
            canvas.paste(_missing_panel((right - left, bottom - top), panel_id, style), slot[:2])
            to_page = _stretch(slot)
        else:
            to_page = _paste_cover(canvas, image, slot)
        draw.rectangle((left, top, right - 1, bottom - 1), outline=INK, width=border)
        inset = border + style.stroke
        area = (left + inset, top + inset, right - inset, bottom - inset)
        cast_boxes = {member.character_id: to_page(member.box) for member in panel.cast}
        layout = layout_lettering(panel, area, cast_boxes, plan.reading_order, style)
        paint_lettering(draw, layout, style)
    _draw_page_number(draw, _page_number(plan, page), geometry, style)
    return canvas


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


def _paste_cover(
    canvas: Image.Image, image: Image.Image, slot: tuple[int, int, int, int]
) -> BoxToPage:
    """Scale to cover the slot and crop the centre, the way a printed panel is trimmed."""
    left, top, right, bottom = slot
    slot_w, slot_h = right - left, bottom - top
    image_w, image_h = image.size
    scale = max(slot_w / image_w, slot_h / image_h)
    crop_w, crop_h = slot_w / scale, slot_h / scale
    crop_x, crop_y = (image_w - crop_w) / 2, (image_h - crop_h) / 2
    fitted = _as_rgb(image).resize(
        (slot_w, slot_h),
        Image.Resampling.BICUBIC,
        box=(crop_x, crop_y, crop_x + crop_w, crop_y + crop_h),
        reducing_gap=3.0,
    )
    canvas.paste(fitted, (left, top))

    def to_page(box: Box) -> Rect:
        x0, y0, x1, y1 = box
        return (
            left + (x0 * image_w - crop_x) * scale,
            top + (y0 * image_h - crop_y) * scale,
            left + (x1 * image_w - crop_x) * scale,
            top + (y1 * image_h - crop_y) * scale,
        )

    return to_page


def _missing_panel(size: tuple[int, int], panel_id: str, style: LetteringStyle) -> Image.Image:
    """A grey panel crossed out and labelled, so a reader sees a gap, not a blank by design."""
    width, height = size
    tile = Image.new("RGB", size, MISSING_FILL)
    draw = ImageDraw.Draw(tile)
    draw.line((0, 0, width - 1, height - 1), fill=MISSING_MARK, width=style.stroke)
    draw.line((0, height - 1, width - 1, 0), fill=MISSING_MARK, width=style.stroke)
    font = load_font(style.font_size, bold=True)
    label = f"missing image: {panel_id}"
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
    font = load_font(size)
    label = str(number)
    x = (geometry.width - font.getlength(label)) / 2
    y = geometry.height - (geometry.margin + size) / 2
    draw.text((x, y), label, font=font, fill=PAGE_NUMBER_INK)
