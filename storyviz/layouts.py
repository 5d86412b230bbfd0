"""Page templates: where each panel sits on a page.

The planner picks a template per page, the agents size each panel's render to its slot's aspect,
and the composer places the panels; all three read the same table here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storyviz.geometry import Box
from storyviz.schemas import PageSize, PageSpec, PanelSpec, ReadingOrder

PAGE_PIXELS: dict[str, tuple[int, int]] = {
    # 150 dpi: enough for a readable screen page and a draft print.
    "A4": (1240, 1754),
    "Letter": (1275, 1650),
    "B5": (1075, 1518),
    "square": (1500, 1500),
}

MAX_PANELS_PER_PAGE = 6

# Slots in reading order for left-to-right pages, as boxes of the page's content area.
TEMPLATES: dict[str, tuple[Box, ...]] = {
    "single": ((0.0, 0.0, 1.0, 1.0),),
    "stack-2": ((0.0, 0.0, 1.0, 0.5), (0.0, 0.5, 1.0, 1.0)),
    "wide-top-3": ((0.0, 0.0, 1.0, 0.5), (0.0, 0.5, 0.5, 1.0), (0.5, 0.5, 1.0, 1.0)),
    "wide-bottom-3": ((0.0, 0.0, 0.5, 0.5), (0.5, 0.0, 1.0, 0.5), (0.0, 0.5, 1.0, 1.0)),
    "stack-3": ((0.0, 0.0, 1.0, 1 / 3), (0.0, 1 / 3, 1.0, 2 / 3), (0.0, 2 / 3, 1.0, 1.0)),
    "grid-2x2": (
        (0.0, 0.0, 0.5, 0.5),
        (0.5, 0.0, 1.0, 0.5),
        (0.0, 0.5, 0.5, 1.0),
        (0.5, 0.5, 1.0, 1.0),
    ),
    "wide-top-4": (
        (0.0, 0.0, 1.0, 1 / 3),
        (0.0, 1 / 3, 0.5, 2 / 3),
        (0.5, 1 / 3, 1.0, 2 / 3),
        (0.0, 2 / 3, 1.0, 1.0),
    ),
    "wide-middle-5": (
        (0.0, 0.0, 0.5, 1 / 3),
        (0.5, 0.0, 1.0, 1 / 3),
        (0.0, 1 / 3, 1.0, 2 / 3),
        (0.0, 2 / 3, 0.5, 1.0),
        (0.5, 2 / 3, 1.0, 1.0),
    ),
    "wide-top-5": (
        (0.0, 0.0, 1.0, 1 / 3),
        (0.0, 1 / 3, 0.5, 2 / 3),
        (0.5, 1 / 3, 1.0, 2 / 3),
        (0.0, 2 / 3, 0.5, 1.0),
        (0.5, 2 / 3, 1.0, 1.0),
    ),
    "grid-2x3": (
        (0.0, 0.0, 0.5, 1 / 3),
        (0.5, 0.0, 1.0, 1 / 3),
        (0.0, 1 / 3, 0.5, 2 / 3),
        (0.5, 1 / 3, 1.0, 2 / 3),
        (0.0, 2 / 3, 0.5, 1.0),
        (0.5, 2 / 3, 1.0, 1.0),
    ),
    # Six panels with an establishing or wide shot first or last: one full-width row.
    "wide-top-6": (
        (0.0, 0.0, 1.0, 1 / 3),
        (0.0, 1 / 3, 0.5, 2 / 3),
        (0.5, 1 / 3, 1.0, 2 / 3),
        (0.0, 2 / 3, 1 / 3, 1.0),
        (1 / 3, 2 / 3, 2 / 3, 1.0),
        (2 / 3, 2 / 3, 1.0, 1.0),
    ),
    "wide-bottom-6": (
        (0.0, 0.0, 1 / 3, 1 / 3),
        (1 / 3, 0.0, 2 / 3, 1 / 3),
        (2 / 3, 0.0, 1.0, 1 / 3),
        (0.0, 1 / 3, 0.5, 2 / 3),
        (0.5, 1 / 3, 1.0, 2 / 3),
        (0.0, 2 / 3, 1.0, 1.0),
    ),
}

WIDE_SHOTS = frozenset({"establishing", "wide"})


@dataclass(frozen=True)
class PageGeometry:
    width: int
    height: int
    margin: int
    gutter: int


def page_geometry(page_size: PageSize) -> PageGeometry:
    width, height = PAGE_PIXELS[page_size]
    return PageGeometry(width, height, margin=round(width * 0.045), gutter=round(width * 0.018))


def templates_for(count: int) -> list[str]:
    """Templates with exactly `count` slots, the plain grid first."""
    return [name for name, slots in TEMPLATES.items() if len(slots) == count]


def _is_wide(box: Box) -> bool:
    return (box[2] - box[0]) >= 0.99


def choose_template(shots: Sequence[str]) -> str:
    """The template for a page whose panels have these shots, in reading order.

    Wide shots want wide slots: the template whose wide slots line up with the most wide shots
    wins; ties keep the first (plainer) template.
    """
    candidates = templates_for(len(shots))
    if not candidates:
        raise ValueError(f"no page template holds {len(shots)} panels")

    def fit(name: str) -> int:
        slots = TEMPLATES[name]
        score = 0
        for shot, slot in zip(shots, slots, strict=True):
            wide_shot, wide_slot = shot in WIDE_SHOTS, _is_wide(slot)
            score += 2 if wide_shot and wide_slot else (-1 if wide_slot != wide_shot else 0)
        return score

    return max(candidates, key=fit)


def paginate(count: int, per_page: int = 4) -> list[int]:
    """Split `count` panels into page sizes that are as even as possible, none above the max."""
    if count <= 0:
        return []
    per_page = max(1, min(per_page, MAX_PANELS_PER_PAGE))
    pages = -(-count // per_page)
    base, extra = divmod(count, pages)
    return [base + (1 if i < extra else 0) for i in range(pages)]


def slot_boxes(template: str, reading_order: ReadingOrder = "ltr") -> tuple[Box, ...]:
    """Slot boxes in reading order; right-to-left pages mirror the layout horizontally."""
    slots = TEMPLATES[template]
    if reading_order == "rtl":
        return tuple((1.0 - x1, y0, 1.0 - x0, y1) for (x0, y0, x1, y1) in slots)
    return slots


def slot_pixels(template: str, index: int, page_size: PageSize) -> tuple[int, int, int, int]:
    """Pixel rectangle (left, top, right, bottom) of slot `index` on a page (ltr)."""
    geo = page_geometry(page_size)
    x0, y0, x1, y1 = TEMPLATES[template][index]
    inner_w = geo.width - 2 * geo.margin
    inner_h = geo.height - 2 * geo.margin
    half = geo.gutter / 2
    left = geo.margin + x0 * inner_w + (half if x0 > 0 else 0)
    right = geo.margin + x1 * inner_w - (half if x1 < 1 else 0)
    top = geo.margin + y0 * inner_h + (half if y0 > 0 else 0)
    bottom = geo.margin + y1 * inner_h - (half if y1 < 1 else 0)
    return round(left), round(top), round(right), round(bottom)


def placed_slot_pixels(
    template: str, index: int, page_size: PageSize, reading_order: ReadingOrder = "ltr"
) -> tuple[int, int, int, int]:
    """Pixel rectangle of slot `index` as it lands on the page for this reading order.

    Right-to-left pages mirror the left-to-right layout, so the first panel sits top-right; the
    margins are symmetric, so mirroring the pixel rectangle is exact.
    """
    left, top, right, bottom = slot_pixels(template, index, page_size)
    if reading_order == "rtl":
        width = PAGE_PIXELS[page_size][0]
        return width - right, top, width - left, bottom
    return left, top, right, bottom


def render_size(
    template: str, index: int, page_size: PageSize, long_side: int = 512
) -> tuple[int, int]:
    """A render size with the slot's aspect, its long side `long_side`, both multiples of 8."""
    left, top, right, bottom = slot_pixels(template, index, page_size)
    w, h = right - left, bottom - top
    scale = long_side / max(w, h)
    return max(64, round(w * scale / 8) * 8), max(64, round(h * scale / 8) * 8)


def pages_for(panels: Sequence[PanelSpec], sizes: Sequence[int]) -> list[PageSpec]:
    """Pages of the given sizes (e.g. from `paginate`), in order, each with the template that
    suits its panels' shots: what every planner hands the composer."""
    pages: list[PageSpec] = []
    start = 0
    for number, size in enumerate(sizes, start=1):
        chunk = panels[start : start + size]
        start += size
        pages.append(
            PageSpec(
                index=number,
                template=choose_template([p.shot for p in chunk]),
                panel_ids=[p.id for p in chunk],
            )
        )
    return pages
