"""Lettering: the caption box and the speech balloons on one panel.

Layout and painting are two steps. `layout_lettering` decides where every caption and balloon
goes and where each tail points (pure geometry, so it can be tested and reasoned about without
pixels); `paint_lettering` draws that layout. Balloons are placed by scoring a grid of candidate
positions: covering a face or another balloon costs most, a long or face-crossing tail and
breaking the reading order cost less, so a balloon lands near its speaker, off the faces, in the
order the lines are read.

All geometry is in page pixels: `Rect` is (left, top, right, bottom), `Point` is (x, y).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import numpy as np
from PIL import ImageDraw, ImageFont

from storyviz.fonts import FontBook, font_for
from storyviz.geometry import intersection_area
from storyviz.schemas import DialogueLine, PanelSpec, ReadingOrder

Rect = tuple[float, float, float, float]
Point = tuple[float, float]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
BalloonKind = Literal["speech", "thought", "shout"]

INK = (20, 20, 20)
BALLOON_FILL = (255, 255, 255)
CAPTION_FILL = (255, 248, 214)
ELLIPSIS = "\u2026"

GRID_STEPS = 11
"""Candidate balloon centres per axis; 121 positions are plenty at comic-panel sizes."""

BALLOON_ASPECTS = (3.0, 1.5, 6.0)
"""Text block shapes tried per balloon (width:height), the preferred one first."""

BLOCKED = 10_000.0
"""The cost of a balloon that covers a face or other lettering: more than all else together, so
such a place is taken only when no other exists, and then a denser search is tried first."""

CROSSING = BLOCKED / 10
"""The cost of a tail drawn across a face: worse than any ordinary place, better than a balloon
on a face or on other lettering."""

FACE_FRACTION = 0.35
"""The top part of a cast box that holds the face: lettering keeps off it where it can."""

# -- fonts ------------------------------------------------------------------------------------


def load_font(size: int, bold: bool = False, text: str = "", fonts: FontBook | None = None) -> Font:
    """The single place lettering asks for a font: storyviz.fonts picks a face that has a glyph
    for every character of `text` (Comic Neue for Latin, a CJK or Cyrillic face where needed),
    from `fonts` or else the configured font book."""
    return font_for(text, size, bold, fonts)


def _line_height(font: Font) -> int:
    if isinstance(font, ImageFont.FreeTypeFont):
        ascent, descent = font.getmetrics()
        return ascent + descent
    left, top, right, bottom = font.getbbox("Ag")
    return int(bottom - top) + 2


# -- text blocks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextBlock:
    """Wrapped lines in one font; `truncated` when the text needed an ellipsis to fit."""

    lines: tuple[str, ...]
    font: Font
    line_height: int
    width: float
    truncated: bool = False

    @property
    def height(self) -> float:
        return len(self.lines) * self.line_height


@lru_cache(maxsize=16384)
def text_width(font: Font, text: str) -> float:
    """Measured once per font and string: shaping is the slowest part of lettering."""
    return float(font.getlength(text))


def _split_long_word(word: str, font: Font, max_width: float) -> list[str]:
    """Break a word wider than the box by characters (also how unspaced scripts wrap)."""
    pieces, piece = [], ""
    for char in word:
        if piece and text_width(font, piece + char) > max_width:
            pieces.append(piece)
            piece = char
        else:
            piece += char
    return [*pieces, piece] if piece else pieces


_UNSPACED = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
"""Chinese, Japanese (and full-width forms): written without spaces, breakable between
characters. Korean is written with spaces, but Hangul may break anywhere too."""
_NO_LINE_START = frozenset(
    "，。、！？：；）」』】〉》〕］｝”’…‥・ー々ぁぃぅぇぉっゃゅょァィゥェォッャュョ!?,.:;)]}%"
)
_NO_LINE_END = frozenset("（「『【〈《〔［｛“‘([{")


def _break_units(word: str) -> list[str]:
    """A space-free word as the pieces a line may break between: the word itself in spaced
    scripts, each character in unspaced ones, with the usual CJK line-breaking rules (kinsoku):
    closing punctuation never starts a line, opening punctuation never ends one."""
    if not _UNSPACED.search(word):
        return [word]
    units: list[str] = []
    latin = ""
    for char in word:
        if _UNSPACED.match(char):
            if latin:
                units.append(latin)
                latin = ""
            units.append(char)
        else:
            latin += char
    if latin:
        units.append(latin)
    joined: list[str] = []
    for unit in units:
        if joined and (unit[0] in _NO_LINE_START or joined[-1][-1] in _NO_LINE_END):
            joined[-1] += unit
        else:
            joined.append(unit)
    return joined


def _tokens(paragraph: str) -> list[tuple[str, bool]]:
    """Line-break units of a paragraph, each with whether a space separates it from the last."""
    tokens: list[tuple[str, bool]] = []
    for word in paragraph.split():
        for index, unit in enumerate(_break_units(word)):
            tokens.append((unit, index == 0 and bool(tokens)))
    return tokens


def wrap_text(text: str, font: Font, max_width: float) -> list[str]:
    """Greedy wrap at spaces, and between characters of unspaced scripts (CJK); explicit
    newlines start new lines, blank lines are dropped.

    A line's width is the sum of its units and spaces, so each unit is shaped once however
    many widths and sizes are tried.
    """
    space = text_width(font, " ")
    lines: list[str] = []
    for paragraph in text.splitlines():
        line, width = "", 0.0
        for token, spaced in _tokens(paragraph):
            token_width = text_width(font, token)
            if token_width <= max_width:
                pieces = [(token, token_width)]
            else:
                split = _split_long_word(token, font, max_width)
                pieces = [(piece, text_width(font, piece)) for piece in split]
            for index, (piece, piece_width) in enumerate(pieces):
                gap = space if spaced and index == 0 and line else 0.0
                if line and width + gap + piece_width > max_width:
                    lines.append(line)
                    line, width = piece, piece_width
                else:
                    line += (" " if gap else "") + piece
                    width += gap + piece_width
        if line:
            lines.append(line)
    return lines


def _ellipsize(line: str, font: Font, max_width: float) -> str:
    kept = line.rstrip()
    while kept and text_width(font, kept + ELLIPSIS) > max_width:
        kept = kept[:-1].rstrip()
    return kept + ELLIPSIS


def _block(lines: list[str], font: Font, truncated: bool = False) -> TextBlock:
    width = max((text_width(font, line) for line in lines), default=0.0)
    return TextBlock(tuple(lines), font, _line_height(font), width, truncated)


def _shaped_width(text: str, font: Font, max_width: float, aspect: float | None) -> float:
    """A wrap width giving a block about `aspect` times wider than tall; None fills the width."""
    if aspect is None:
        return max_width
    tokens = _tokens(" ".join(text.splitlines()))
    total = sum(text_width(font, token) for token, _ in tokens)
    total += text_width(font, " ") * sum(spaced for _, spaced in tokens)
    ideal = math.sqrt(total * _line_height(font) * aspect)
    widest_word = max((text_width(font, token) for token, _ in tokens), default=0.0)
    floor = max(min(total, 4 * _line_height(font)), widest_word)  # never split a word by choice
    return min(max_width, max(ideal, floor))


def _wrap_to_fit(
    text: str, font: Font, max_width: float, max_height: float, aspect: float | None
) -> list[str] | None:
    """The lines of `text` in this font inside the box, or None if they do not fit."""
    limit = max_height / _line_height(font)
    lines = wrap_text(text, font, _shaped_width(text, font, max_width, aspect))
    if len(lines) > limit:
        lines = wrap_text(text, font, max_width)
    return lines if len(lines) <= limit else None


def fit_text(
    text: str,
    max_width: float,
    max_height: float,
    size: int,
    min_size: int,
    *,
    bold: bool = False,
    aspect: float | None = None,
    fonts: FontBook | None = None,
) -> TextBlock:
    """Wrap `text` into the box at the largest size down to `min_size`, else cut it with '…'.

    With `aspect`, lines wrap short of `max_width` so the block has about that width:height
    ratio (a balloon's shape); the full width is used only when the text would not fit otherwise.
    Sizes are bisected: text that fits at one size fits at every smaller one.
    """
    max_width = max(1.0, max_width)
    font = load_font(size, bold, text, fonts)
    lines = _wrap_to_fit(text, font, max_width, max_height, aspect)
    if lines is not None:
        return _block(lines, font)  # most lines fit at full size
    best: tuple[Font, list[str]] | None = None
    low, high = min_size, size - 1
    while low <= high:
        middle = (low + high) // 2
        font = load_font(middle, bold, text, fonts)
        lines = _wrap_to_fit(text, font, max_width, max_height, aspect)
        if lines is None:
            high = middle - 1
        else:
            best = (font, lines)
            low = middle + 1
    if best is not None:
        return _block(best[1], best[0])
    font = load_font(min_size, bold, text, fonts)
    lines = wrap_text(text, font, max_width) or [""]
    kept = lines[: max(1, int(max_height // _line_height(font)))]
    kept[-1] = _ellipsize(kept[-1], font, max_width)
    return _block(kept, font, truncated=True)


# -- geometry helpers ---------------------------------------------------------------------------


def face_region(box: Rect) -> Rect:
    left, top, right, bottom = box
    return left, top, right, top + FACE_FRACTION * (bottom - top)


def head_point(box: Rect) -> Point:
    """Where a tail aims: the top-centre of the speaker's cast box."""
    return (box[0] + box[2]) / 2, box[1]


def _clamp_point(point: Point, rect: Rect) -> Point:
    return min(max(point[0], rect[0]), rect[2]), min(max(point[1], rect[1]), rect[3])


def _steps(low: float, high: float, count: int) -> list[float]:
    if high <= low:
        return [(low + high) / 2]
    return [low + (high - low) * i / (count - 1) for i in range(count)]


# -- the layout ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LetteringStyle:
    """Sizes in pixels, scaled to the page so lettering reads the same at every page size."""

    font_size: int
    min_font_size: int
    stroke: int
    padding: int
    fonts: FontBook | None = None
    """The font chains to letter with; None asks storyviz.fonts for the configured ones."""

    @classmethod
    def for_page(cls, page_width: int, fonts: FontBook | None = None) -> LetteringStyle:
        return cls(
            font_size=max(12, round(page_width * 0.018)),
            min_font_size=max(9, round(page_width * 0.011)),
            stroke=max(2, round(page_width / 600)),
            padding=max(6, round(page_width * 0.008)),
            fonts=fonts,
        )


def _tail_gap(style: LetteringStyle) -> float:
    """How far above the speaker's head a tail stops, so the tip never touches the face."""
    return style.font_size * 0.5


@dataclass(frozen=True)
class Caption:
    text: TextBlock
    box: Rect


@dataclass(frozen=True)
class Balloon:
    """A dialogue line's balloon: an ellipse holding the text, decoration, optional tail."""

    line: DialogueLine
    text: TextBlock
    center: Point
    radii: tuple[float, float]
    decoration: float
    tail_tip: Point | None

    @property
    def kind(self) -> BalloonKind:
        return self.line.kind

    @property
    def bounds(self) -> Rect:
        (cx, cy), (rx, ry), extra = self.center, self.radii, self.decoration
        return cx - rx - extra, cy - ry - extra, cx + rx + extra, cy + ry + extra


@dataclass(frozen=True)
class LetteringLayout:
    caption: Caption | None
    balloons: tuple[Balloon, ...]

    @property
    def rects(self) -> list[Rect]:
        """Every box the lettering occupies (tails excluded)."""
        rects = [self.caption.box] if self.caption else []
        return rects + [balloon.bounds for balloon in self.balloons]


def _ellipse_radii(width: float, height: float, padding: float) -> tuple[float, float]:
    """The smallest evenly scaled ellipse (plus padding) whose outline clears the text's corners."""
    half_w, half_h = width / 2, height / 2
    scale = 1.0
    while scale < 1.45:
        rx, ry = half_w * scale + padding, half_h * scale + padding
        if (half_w / rx) ** 2 + (half_h / ry) ** 2 <= 1.0:
            return rx, ry
        scale += 0.05
    return half_w * 1.45 + padding, half_h * 1.45 + padding


def _decoration(kind: BalloonKind, style: LetteringStyle) -> float:
    """How far spikes (shout) or cloud bumps (thought) reach beyond the text ellipse."""
    if kind == "speech":
        return float(style.stroke)
    return style.padding * 1.6 + style.stroke


def _layout_caption(
    text: str, area: Rect, faces: list[Rect], reading_order: ReadingOrder, style: LetteringStyle
) -> Caption:
    width, height = area[2] - area[0], area[3] - area[1]
    pad = style.padding
    block = fit_text(
        text,
        min(0.62 * width, 24 * style.font_size) - 2 * pad,
        0.28 * height - 2 * pad,
        style.font_size - 1,
        style.min_font_size,
        fonts=style.fonts,
    )
    box_w, box_h = block.width + 2 * pad, block.height + 2 * pad
    left_x, right_x = area[0], area[2] - box_w
    top_y, bottom_y = area[1], area[3] - box_h
    start, end = (left_x, right_x) if reading_order == "ltr" else (right_x, left_x)
    corners = [(start, top_y), (end, top_y), (start, bottom_y), (end, bottom_y)]
    boxes = [(x, y, x + box_w, y + box_h) for x, y in corners]
    best = min(boxes, key=lambda box: sum(intersection_area(box, face) for face in faces))
    return Caption(block, best)


@dataclass(frozen=True)
class _Scene:
    """What a balloon must keep clear of while it is being placed."""

    area: Rect
    faces: list[Rect]
    bodies: list[Rect]
    placed: list[Rect]
    reading_order: ReadingOrder


def _overlaps(bounds: np.ndarray, rects: list[Rect]) -> np.ndarray:
    """Total overlap area of each candidate box (rows of `bounds`) with every rect."""
    total = np.zeros(len(bounds))
    for left, top, right, bottom in rects:
        width = np.minimum(bounds[:, 2], right) - np.maximum(bounds[:, 0], left)
        height = np.minimum(bounds[:, 3], bottom) - np.maximum(bounds[:, 1], top)
        total += np.clip(width, 0, None) * np.clip(height, 0, None)
    return total


def _hits(points: np.ndarray, rects: list[Rect]) -> np.ndarray:
    """How many of `rects` each point (last axis x, y) falls in."""
    count = np.zeros(points.shape[:-1])
    for left, top, right, bottom in rects:
        x, y = points[..., 0], points[..., 1]
        count += (x >= left) & (x <= right) & (y >= top) & (y <= bottom)
    return count


def _aim_points(centers: np.ndarray, face: Rect, gap: float, area: Rect) -> np.ndarray:
    """Where each candidate's tail points: just above the speaker's head for a balloon above
    it, just under the face for a balloon right below it, just beside the head (upper half)
    otherwise, so no tail has to cross the face it points at. A side tail runs along the face,
    so it stops twice as far off as a top one, clear of its own width (or a thought trail's
    bubbles)."""
    left, top, right, bottom = face
    width = right - left
    middle = (left + right) / 2
    x, y = centers[:, 0], centers[:, 1]
    above = y < top - gap
    below = (y > bottom + gap) & (x >= left) & (x <= right)
    near_x = np.clip(x, middle - 0.1 * width, middle + 0.1 * width)
    side_x = np.where(x < middle, left - 2 * gap, right + 2 * gap)  # tails have width
    side_y = np.clip(y, top, top + 0.5 * (bottom - top))
    tips = np.column_stack(
        (
            np.where(above | below, near_x, side_x),
            np.where(above, top - gap, np.where(below, bottom + gap, side_y)),
        )
    )
    tips[:, 0] = np.clip(tips[:, 0], area[0], area[2])
    tips[:, 1] = np.clip(tips[:, 1], area[1], area[3])
    return tips


def _tail_tips(
    centers: np.ndarray, radii: tuple[float, float], min_tail: float, goals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's tail tip (its goal) and whether that candidate can show a tail.

    No tail when the goal is under the body or closer to its edge than `min_tail`, where the
    tail would hide among spikes or cloud bumps.
    """
    delta = goals - centers
    reach = np.hypot(delta[:, 0] / radii[0], delta[:, 1] / radii[1])
    edge = centers + delta / np.where(reach > 1.0, reach, 2.0)[:, None]
    remaining = np.linalg.norm(goals - edge, axis=1)
    return goals.copy(), (reach > 1.0) & (remaining > min_tail)


def _placement_costs(
    centers: np.ndarray,
    half: tuple[float, float],
    radii: tuple[float, float],
    tips: np.ndarray | None,
    tail_ok: np.ndarray | None,
    previous: Rect | None,
    scene: _Scene,
) -> np.ndarray:
    """Lower is better: faces and other lettering weigh most, then tail, height, reading order."""
    area = scene.area
    bounds = np.column_stack(
        (centers[:, 0] - half[0], centers[:, 1] - half[1])
        + (centers[:, 0] + half[0], centers[:, 1] + half[1])
    )
    own = max(1.0, 4 * half[0] * half[1])
    on_faces, on_lettering = _overlaps(bounds, scene.faces), _overlaps(bounds, scene.placed)
    cost = BLOCKED * ((on_faces > 0) | (on_lettering > 0))  # any other place is better
    cost += 1000 * (on_faces + on_lettering) / own
    cost += 8 * _overlaps(bounds, scene.bodies) / own
    cost += 2 * (centers[:, 1] - area[1]) / (area[3] - area[1])  # balloons sit high
    across = (centers[:, 0] - area[0]) / (area[2] - area[0])
    cost += across if scene.reading_order == "ltr" else 1.0 - across  # near where reading starts
    if tips is not None and tail_ok is not None:
        diagonal = math.hypot(area[2] - area[0], area[3] - area[1])
        delta = tips - centers
        cost += 6 * np.linalg.norm(delta, axis=1) / diagonal
        reach = np.maximum(np.hypot(delta[:, 0] / radii[0], delta[:, 1] / radii[1]), 1.0)
        edges = centers + delta / reach[:, None]  # where the visible tail starts
        fractions = np.linspace(0.0, 1.0, 12)[None, :, None]
        samples = edges[:, None, :] + (tips - edges)[:, None, :] * fractions
        across_faces = _hits(samples, scene.faces).sum(axis=1)
        cost += np.where(tail_ok & (across_faces > 0), CROSSING, 0.0) + 60 * across_faces
        cost += 15 * _hits(samples, scene.placed).sum(axis=1)
        cost += np.where(tail_ok, 0.0, 60.0)  # a tail-less balloon must touch its speaker
    if previous is not None:
        prev_x, prev_y = (previous[0] + previous[2]) / 2, (previous[1] + previous[3]) / 2
        same_row = np.abs(centers[:, 1] - prev_y) < min(2 * half[1], previous[3] - previous[1]) / 2
        direction = 1.0 if scene.reading_order == "ltr" else -1.0
        before = direction * (centers[:, 0] - prev_x) < 0
        out_of_order = (same_row & before) | (~same_row & (centers[:, 1] < prev_y))
        cost += np.where(out_of_order, 40.0, 0.0)
    return cost


def _best_place(
    line: DialogueLine,
    block: TextBlock,
    target: Rect | None,
    previous: Rect | None,
    scene: _Scene,
    style: LetteringStyle,
    steps: int,
) -> tuple[float, Balloon]:
    """The cheapest centre on a `steps` x `steps` grid for a balloon around `block`."""
    pad = style.padding
    area = scene.area
    room = (area[0] + pad, area[1] + pad, area[2] - pad, area[3] - pad)  # air at the border
    decoration = _decoration(line.kind, style)
    radii = _ellipse_radii(block.width, block.height, pad)
    half = (radii[0] + decoration, radii[1] + decoration)
    xs = _steps(room[0] + half[0], room[2] - half[0], steps)
    ys = _steps(room[1] + half[1], room[3] - half[1], steps)
    centers = np.array([(x, y) for y in ys for x in xs], dtype=float)  # row-major
    tips = tail_ok = None
    if target is not None:
        bubbles = 3 if line.kind == "thought" else 1  # a thought trail needs more room
        min_tail = decoration + _tail_gap(style) * bubbles
        goals = _aim_points(centers, target, _tail_gap(style), scene.area)
        tips, tail_ok = _tail_tips(centers, radii, min_tail, goals)
    costs = _placement_costs(centers, half, radii, tips, tail_ok, previous, scene)
    index = int(np.argmin(costs))
    tip = None
    if tips is not None and tail_ok is not None and tail_ok[index]:
        tip = (float(tips[index, 0]), float(tips[index, 1]))
    center = (float(centers[index, 0]), float(centers[index, 1]))
    return float(costs[index]), Balloon(line, block, center, radii, decoration, tip)


def _layout_balloon(
    line: DialogueLine,
    target: Rect | None,
    previous: Rect | None,
    scene: _Scene,
    style: LetteringStyle,
) -> tuple[float, Balloon]:
    """The cheapest balloon, and its cost, over a few text shapes (wide, balanced, tall) and a
    grid of centres.

    Trying shapes lets a balloon squeeze beside a head when a wide one would cover the face.
    """
    pad = style.padding
    area = scene.area
    room = (area[0] + pad, area[1] + pad, area[2] - pad, area[3] - pad)  # air at the border
    width, height = room[2] - room[0], room[3] - room[1]
    decoration = _decoration(line.kind, style)
    # Bound the text so even the roundest ellipse around it still fits the panel.
    max_w = min(0.5 * width, 20 * style.font_size, (width - 2 * (pad + decoration)) / 1.45)
    max_h = min(0.36 * height, (height - 2 * (pad + decoration)) / 1.45)
    best: tuple[float, Balloon] | None = None
    # A denser grid, then smaller lettering, only while every place found covers a face or
    # needs a tail across one.
    dense = 2 * GRID_STEPS + 1
    passes = ((GRID_STEPS, style.font_size), (dense, style.font_size), (dense, style.min_font_size))
    for steps, size in passes:
        seen: set[tuple[str, ...]] = set()
        for aspect in BALLOON_ASPECTS:
            block = fit_text(
                line.text,
                max_w,
                max_h,
                size,
                style.min_font_size,
                bold=line.kind == "shout",
                aspect=aspect,
                fonts=style.fonts,
            )
            if block.lines in seen:
                continue
            seen.add(block.lines)
            found = _best_place(line, block, target, previous, scene, style, steps)
            if best is None or found[0] < best[0]:
                best = found
        if best is not None and best[0] < CROSSING:
            break
    assert best is not None
    return best


def layout_lettering(
    panel: PanelSpec,
    area: Rect,
    cast_boxes: Mapping[str, Rect],
    reading_order: ReadingOrder,
    style: LetteringStyle,
) -> LetteringLayout:
    """Where the caption and each balloon of `panel` go inside `area` (the panel, in page px).

    `cast_boxes` maps character id to that character's box in page pixels. Lines whose speaker
    has no box here get a balloon without a tail. Balloons are placed one by one in reading
    order; when a later one finds no place off the faces, the whole panel is lettered again at
    the smallest size, so the early balloons leave it room.
    """
    layout, blocked = _layout_panel(panel, area, cast_boxes, reading_order, style)
    if blocked and style.font_size > style.min_font_size:
        small = replace(style, font_size=style.min_font_size)
        retry, still_blocked = _layout_panel(panel, area, cast_boxes, reading_order, small)
        if still_blocked < blocked:
            return retry
    return layout


def _layout_panel(
    panel: PanelSpec,
    area: Rect,
    cast_boxes: Mapping[str, Rect],
    reading_order: ReadingOrder,
    style: LetteringStyle,
) -> tuple[LetteringLayout, int]:
    """The layout, and how many balloons in it had to cover a face or other lettering."""
    faces = [face_region(box) for box in cast_boxes.values()]
    caption = None
    if panel.caption and panel.caption.strip():
        caption = _layout_caption(panel.caption, area, faces, reading_order, style)
    scene = _Scene(
        area=area,
        faces=faces,
        bodies=list(cast_boxes.values()),
        placed=[caption.box] if caption else [],
        reading_order=reading_order,
    )
    balloons: list[Balloon] = []
    blocked = 0
    for line in panel.dialogue:
        if not line.text.strip():
            continue
        speaker_box = cast_boxes.get(line.speaker_id) if line.speaker_id else None
        target = face_region(speaker_box) if speaker_box is not None else None
        previous = balloons[-1].bounds if balloons else None
        cost, balloon = _layout_balloon(line, target, previous, scene, style)
        blocked += cost >= BLOCKED
        balloons.append(balloon)
        scene.placed.append(balloon.bounds)
    return LetteringLayout(caption, tuple(balloons)), blocked


# -- painting -----------------------------------------------------------------------------------


def _ellipse(draw: ImageDraw.ImageDraw, center: Point, rx: float, ry: float, fill: tuple) -> None:
    draw.ellipse((center[0] - rx, center[1] - ry, center[0] + rx, center[1] + ry), fill=fill)


def _wedge(balloon: Balloon, tip: Point, jagged: bool) -> list[Point]:
    """The tail polygon: its base sits inside the ellipse so the body's fill hides the seam."""
    (cx, cy), (rx, ry) = balloon.center, balloon.radii
    dx, dy = tip[0] - cx, tip[1] - cy
    reach = max(1e-6, math.hypot(dx / rx, dy / ry))
    distance = max(1e-6, math.hypot(dx, dy))
    ux, uy = dx / distance, dy / distance
    base_width = min(26.0, max(10.0, 0.5 * min(rx, ry)))
    edge = (cx + dx / reach, cy + dy / reach)
    base = (edge[0] - ux * base_width * 0.8, edge[1] - uy * base_width * 0.8)
    px, py = -uy * base_width / 2, ux * base_width / 2
    left, right = (base[0] + px, base[1] + py), (base[0] - px, base[1] - py)
    if not jagged:
        return [left, tip, right]
    mid = ((edge[0] + tip[0]) / 2 + px * 0.9, (edge[1] + tip[1]) / 2 + py * 0.9)
    return [left, mid, tip, right]


def _spikes(balloon: Balloon) -> list[Point]:
    (cx, cy), (rx, ry), reach = balloon.center, balloon.radii, balloon.decoration
    perimeter = math.pi * (rx + ry)
    count = min(28, max(10, int(perimeter / 28)))
    points = []
    for i in range(2 * count):
        angle = math.pi * i / count
        extra = reach if i % 2 == 0 else 2.0
        points.append((cx + (rx + extra) * math.cos(angle), cy + (ry + extra) * math.sin(angle)))
    return points


def _bumps(balloon: Balloon) -> list[tuple[Point, float]]:
    (cx, cy), (rx, ry) = balloon.center, balloon.radii
    radius = balloon.decoration * 0.9
    perimeter = math.pi * (rx + ry)
    count = max(8, int(perimeter / (radius * 1.5)))
    return [
        (
            (
                cx + rx * math.cos(2 * math.pi * i / count),
                cy + ry * math.sin(2 * math.pi * i / count),
            ),
            radius,
        )
        for i in range(count)
    ]


def _thought_trail(balloon: Balloon, tip: Point) -> list[tuple[Point, float]]:
    """Shrinking bubbles from just outside the cloud to the tip."""
    (cx, cy), (rx, ry) = balloon.center, balloon.radii
    dx, dy = tip[0] - cx, tip[1] - cy
    distance = max(1e-6, math.hypot(dx, dy))
    reach = max(1e-6, math.hypot(dx / rx, dy / ry))
    edge = distance / reach + balloon.decoration  # centre-to-cloud-edge along the tail
    radius = balloon.decoration * 0.9
    circles = []
    for t, scale in ((0.2, 0.55), (0.6, 0.4), (1.0, 0.28)):
        bubble = max(3.0, radius * scale)
        along = edge + (distance - edge - bubble) * t  # the last bubble ends at the tip
        point = (cx + dx / distance * along, cy + dy / distance * along)
        circles.append((point, bubble))
    return circles


@dataclass(frozen=True)
class _Outline:
    """A balloon as outlined parts: circles/ellipses (center, rx, ry) and polygons."""

    ellipses: list[tuple[Point, float, float]]
    polygons: list[list[Point]]
    stroke: int


def _outline(balloon: Balloon, stroke: int) -> _Outline:
    body = (balloon.center, *balloon.radii)
    tip = balloon.tail_tip
    if balloon.kind == "shout":
        polygons = [_spikes(balloon)] + ([_wedge(balloon, tip, jagged=True)] if tip else [])
        return _Outline([], polygons, stroke * 2)  # bold: the spikes alone hold the body
    if balloon.kind == "thought":
        extras = _bumps(balloon) + (_thought_trail(balloon, tip) if tip else [])
        return _Outline([body] + [(point, r, r) for point, r in extras], [], stroke)
    return _Outline([body], [_wedge(balloon, tip, jagged=False)] if tip else [], stroke)


def _paint_balloon_shape(draw: ImageDraw.ImageDraw, balloon: Balloon, stroke: int) -> None:
    """Ink every part a little larger, then paper every part: the union gets one clean outline."""
    outline = _outline(balloon, stroke)
    width = outline.stroke
    for center, rx, ry in outline.ellipses:
        _ellipse(draw, center, rx + width, ry + width, INK)
    for polygon in outline.polygons:
        draw.polygon(polygon, fill=INK)
        draw.line([*polygon, polygon[0]], fill=INK, width=2 * width, joint="curve")
    for polygon in outline.polygons:
        draw.polygon(polygon, fill=BALLOON_FILL)
    for center, rx, ry in outline.ellipses:
        _ellipse(draw, center, rx, ry, BALLOON_FILL)
    _ellipse(draw, balloon.center, *balloon.radii, BALLOON_FILL)  # the text's ground, seamless


def _paint_text(
    draw: ImageDraw.ImageDraw,
    block: TextBlock,
    left: float,
    top: float,
    width: float,
    centred: bool,
) -> None:
    for i, line in enumerate(block.lines):
        offset = (width - text_width(block.font, line)) / 2 if centred else 0.0
        draw.text((left + offset, top + i * block.line_height), line, font=block.font, fill=INK)


def paint_lettering(
    draw: ImageDraw.ImageDraw, layout: LetteringLayout, style: LetteringStyle
) -> None:
    if layout.caption is not None:
        box = layout.caption.box
        draw.rectangle(box, fill=CAPTION_FILL, outline=INK, width=style.stroke)
        pad = style.padding
        _paint_text(draw, layout.caption.text, box[0] + pad, box[1] + pad, 0.0, centred=False)
    for balloon in layout.balloons:
        _paint_balloon_shape(draw, balloon, style.stroke)
        block = balloon.text
        left = balloon.center[0] - block.width / 2
        top = balloon.center[1] - block.height / 2
        _paint_text(draw, block, left, top, block.width, centred=True)
