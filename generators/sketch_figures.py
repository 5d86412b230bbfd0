"""Figures for the sketch renderer: a character drawn in its sheet's colours inside its cast box.

Every shape is placed in the figure frame of storyviz.anatomy, and each colour part covers its
anatomy sample box entirely, so the offline auditor reads back exactly the colour painted here.
Poses and faces are hints only (a raised arm, a stride, a smile); they never touch a sample box.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from PIL import Image, ImageDraw

from storyviz import anatomy
from storyviz.colors import DEFAULT_SKIN, FALLBACK_PALETTE, RGB, rgb_of
from storyviz.geometry import Box
from storyviz.schemas import CastMember, CharacterSheet

Point = tuple[float, float]

OUTLINE: RGB = (44, 40, 52)
TROUSERS: RGB = (62, 64, 84)
SHOES: RGB = (40, 36, 40)
BEAK: RGB = (232, 150, 40)
NOSE: RGB = (36, 32, 36)
HIGHLIGHT: RGB = (250, 250, 250)

DEFAULT_HAIR: RGB = (84, 58, 40)
DEFAULT_EYES: RGB = (40, 40, 48)
DEFAULT_ROBOT_EYES: RGB = (40, 200, 230)
DEFAULT_ACCESSORY: RGB = (184, 64, 64)
DEFAULT_FUR: dict[str, RGB] = {"quadruped": (160, 116, 72), "bird": (120, 130, 150)}
DEFAULT_ROBOT_FUR: RGB = (190, 195, 205)

_RAISED_ARM = re.compile(r"\b(wav|rais|point|cheer|reach|celebrat|greet|grab|hold.? up)")
_STRIDE = re.compile(r"\b(run|ran|jump|chas|danc|hurr|rush|walk|flee|flies|fly)")
_SMILE = re.compile(r"\b(happ|smil|joy|excit|laugh|cheer|glad|delight|grin|proud|reliev)")
_FROWN = re.compile(r"\b(sad|cry|cries|upset|worr|lonel|gloom|tear|sorrow|angr|mad|furious|grump)")
_ANGRY = re.compile(r"\b(angr|mad|furious|annoy|grump)")
_LONG_HAIR = re.compile(r"\b(long|ponytail|braid|pigtail|flowing|shoulder)")
_OPEN_MOUTH = re.compile(
    r"\b(surpris|shock|scare|afraid|fright|amaz|gasp|fear|astonish|shout|yell)"
)


@dataclass(frozen=True)
class Figure:
    """One cast member as the renderer draws it: every part's colour already decided."""

    character_id: str
    name: str
    species: str
    box: Box
    colours: dict[str, RGB]
    action: str = ""
    expression: str = ""
    hair_style: str = ""

    @property
    def plan(self) -> anatomy.BodyPlan:
        return anatomy.body_plan(self.species)

    def wears(self, part: str) -> bool:
        """Optional parts (a dog's coat, a scarf) are drawn only when the character has them."""
        return part in self.colours


def _text_colour(text: str | None, part: str) -> RGB | None:
    return anatomy.resolve_colour(text, part) if text else None


def _fallback_outfit(character_id: str) -> RGB:
    return rgb_of(FALLBACK_PALETTE[zlib.crc32(character_id.encode()) % len(FALLBACK_PALETTE)])


def figure_colours(
    sheet: CharacterSheet, overrides: dict[str, str] | None = None
) -> dict[str, RGB]:
    """Each drawn part's colour: drift override, then the sheet's colours, its text, a default.

    The order matters to the audit: whatever the sheet's ``colors`` name (and anatomy resolves)
    is painted as is, so a clean render always matches its sheet.
    """
    attrs = sheet.attributes
    plan = anatomy.body_plan(attrs.species)
    given = {p.part: p.rgb for p in anatomy.colour_parts(sheet).values()}
    for part, word in (overrides or {}).items():
        rgb = anatomy.resolve_colour(word, part)
        if rgb is not None:
            given[part] = rgb
    text = {
        "hair": _text_colour(attrs.hair, "hair"),
        "eyes": _text_colour(attrs.eyes, "eyes"),
        "skin": _text_colour(attrs.skin, "skin"),
        "outfit": _text_colour(attrs.outfit, "outfit"),
        "accessory": _text_colour(" ".join(attrs.accessories), "accessory"),
    }

    def pick(part: str, default: RGB | None) -> RGB | None:
        return given.get(part) or text.get(part) or default

    colours: dict[str, RGB | None]
    has_accessory = "accessory" in given or bool(attrs.accessories)
    accessory = pick("accessory", DEFAULT_ACCESSORY) if has_accessory else None
    if plan == "biped":
        colours = {
            "hair": pick("hair", DEFAULT_HAIR),
            "skin": pick("skin", DEFAULT_SKIN),
            "eyes": pick("eyes", DEFAULT_EYES),
            "outfit": pick("outfit", _fallback_outfit(sheet.id)),
            "accessory": accessory,
        }
    elif plan == "robot":
        plating = given.get("fur") or given.get("outfit") or given.get("skin") or DEFAULT_ROBOT_FUR
        colours = {
            "fur": plating,
            "skin": given.get("skin") or plating,
            "outfit": given.get("outfit") or plating,
            "eyes": pick("eyes", DEFAULT_ROBOT_EYES),
            "accessory": pick("accessory", DEFAULT_ACCESSORY),
        }
    else:
        # An animal's "hair" (a dog with golden hair) is its fur when the sheet names no fur.
        hair = _text_colour(attrs.colors.get("hair"), "hair") or text["hair"]
        mechanical = anatomy.is_mechanical(attrs.species)
        colours = {
            "fur": given.get("fur")
            or hair
            or (DEFAULT_ROBOT_FUR if mechanical else DEFAULT_FUR[plan]),
            "eyes": pick("eyes", DEFAULT_EYES),
            "outfit": pick("outfit", None),
            "accessory": accessory,
        }
    return {part: rgb for part, rgb in colours.items() if rgb is not None}


def figure_for(
    sheet: CharacterSheet, member: CastMember, overrides: dict[str, str] | None = None
) -> Figure:
    return Figure(
        character_id=sheet.id,
        name=sheet.name,
        species=sheet.attributes.species,
        box=member.box,
        colours=figure_colours(sheet, overrides),
        action=member.action,
        expression=member.expression,
        hair_style=sheet.attributes.hair or "",
    )


def shade(rgb: RGB, factor: float) -> RGB:
    return (
        min(255, round(rgb[0] * factor)),
        min(255, round(rgb[1] * factor)),
        min(255, round(rgb[2] * factor)),
    )


class FramePainter:
    """Draws shapes given in frame-relative coordinates (u, v in 0..1 of the figure frame)."""

    def __init__(self, image: Image.Image, frame: Box) -> None:
        self.draw = ImageDraw.Draw(image)
        self.width, self.height = image.size
        x0, y0, x1, y1 = frame
        self.left, self.top = x0 * self.width, y0 * self.height
        self.frame_w, self.frame_h = (x1 - x0) * self.width, (y1 - y0) * self.height
        self.stroke = max(1, round(self.frame_h / 110))

    def xy(self, u: float, v: float) -> Point:
        return (self.left + u * self.frame_w, self.top + v * self.frame_h)

    def rect_px(self, u0: float, v0: float, u1: float, v1: float) -> list[float]:
        (x0, y0), (x1, y1) = self.xy(u0, v0), self.xy(u1, v1)
        return [x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)]

    def ellipse(self, rel: Box, fill: RGB, outline: bool = True, thin: bool = False) -> None:
        """`thin` keeps a small feature's outline at one pixel so its colour survives."""
        ink = OUTLINE if outline else None
        self.draw.ellipse(
            self.rect_px(*rel), fill=fill, outline=ink, width=1 if thin else self.stroke
        )

    def rect(self, rel: Box, fill: RGB, rounded: float = 0.0, outline: bool = True) -> None:
        # Whole pixels: Pillow's rounded_rectangle can fail on tiny boxes with float corners.
        x0, y0, x1, y1 = (round(v) for v in self.rect_px(*rel))
        x1, y1 = max(x0, x1), max(y0, y1)
        radius = round(min(x1 - x0, y1 - y0) * rounded)
        ink = OUTLINE if outline else None
        if radius < 1:
            self.draw.rectangle([x0, y0, x1, y1], fill=fill, outline=ink, width=self.stroke)
        else:
            self.draw.rounded_rectangle(
                [x0, y0, x1, y1], radius=radius, fill=fill, outline=ink, width=self.stroke
            )

    def polygon(self, points: list[Point], fill: RGB) -> None:
        self.draw.polygon(
            [self.xy(u, v) for u, v in points], fill=fill, outline=OUTLINE, width=self.stroke
        )

    def limb(self, start: Point, end: Point, fill: RGB, w: float) -> None:
        """A thick line with an outline, `w` in frame widths."""
        width = max(2, round(w * self.frame_w))
        points = [self.xy(*start), self.xy(*end)]
        self.draw.line(points, fill=OUTLINE, width=width + 2 * self.stroke)
        self.draw.line(points, fill=fill, width=width)

    def dot(self, centre: Point, radius_u: float, fill: RGB) -> None:
        x, y = self.xy(*centre)
        r = max(1.0, radius_u * self.frame_w)
        self.draw.ellipse([x - r, y - r, x + r, y + r], fill=fill, outline=OUTLINE, width=1)

    def arc(self, rel: Box, start: float, end: float) -> None:
        self.draw.arc(self.rect_px(*rel), start, end, fill=OUTLINE, width=max(1, self.stroke))


def _paint_biped(p: FramePainter, f: Figure) -> None:
    c = f.colours
    pose = f.action.lower()
    raised, stride = bool(_RAISED_ARM.search(pose)), bool(_STRIDE.search(pose))
    if _LONG_HAIR.search(f.hair_style.lower()):
        p.rect((0.17, 0.12, 0.83, 0.47), c["hair"], rounded=0.3)
    p.ellipse((0.16, 0.0, 0.84, 0.32), c["hair"])
    if stride:
        p.limb((0.42, 0.70), (0.24, 0.95), TROUSERS, 0.15)
        p.limb((0.58, 0.70), (0.76, 0.95), TROUSERS, 0.15)
        p.ellipse((0.14, 0.92, 0.32, 0.99), SHOES)
        p.ellipse((0.68, 0.92, 0.86, 0.99), SHOES)
    else:
        p.rect((0.31, 0.68, 0.47, 0.95), TROUSERS)
        p.rect((0.53, 0.68, 0.69, 0.95), TROUSERS)
        p.ellipse((0.27, 0.93, 0.48, 0.995), SHOES)
        p.ellipse((0.52, 0.93, 0.73, 0.995), SHOES)
    p.limb((0.29, 0.37), (0.16, 0.62), c["outfit"], 0.11)
    p.dot((0.16, 0.63), 0.06, c["skin"])
    if raised:
        p.limb((0.71, 0.37), (0.90, 0.10), c["outfit"], 0.11)
        p.dot((0.90, 0.09), 0.06, c["skin"])
    else:
        p.limb((0.71, 0.37), (0.84, 0.62), c["outfit"], 0.11)
        p.dot((0.84, 0.63), 0.06, c["skin"])
    p.polygon([(0.30, 0.33), (0.70, 0.33), (0.78, 0.71), (0.22, 0.71)], c["outfit"])
    p.rect((0.45, 0.29, 0.55, 0.345), c["skin"], outline=False)
    p.ellipse((0.27, 0.09, 0.73, 0.32), c["skin"])
    p.draw.chord(p.rect_px(0.27, 0.035, 0.73, 0.245), 180, 360, fill=c["hair"])  # a fringe
    for u in (0.36, 0.54):
        p.ellipse((u, 0.15, u + 0.10, 0.20), c["eyes"], thin=True)
        p.ellipse((u + 0.065, 0.153, u + 0.09, 0.166), HIGHLIGHT, outline=False)
    _paint_mouth(p, f.expression.lower())
    if f.wears("accessory"):
        p.rect((0.33, 0.305, 0.67, 0.365), c["accessory"], rounded=0.4)


def _paint_mouth(p: FramePainter, expression: str) -> None:
    if _OPEN_MOUTH.search(expression):
        p.ellipse((0.46, 0.255, 0.54, 0.295), OUTLINE)
    elif _FROWN.search(expression):
        p.arc((0.43, 0.262, 0.57, 0.31), 200, 340)
        if _ANGRY.search(expression):
            p.draw.line([p.xy(0.36, 0.13), p.xy(0.46, 0.147)], fill=OUTLINE, width=p.stroke)
            p.draw.line([p.xy(0.64, 0.13), p.xy(0.54, 0.147)], fill=OUTLINE, width=p.stroke)
    elif _SMILE.search(expression):
        p.arc((0.42, 0.232, 0.58, 0.288), 20, 160)
    else:
        p.draw.line([p.xy(0.45, 0.272), p.xy(0.55, 0.272)], fill=OUTLINE, width=p.stroke)


def _paint_robot(p: FramePainter, f: Figure) -> None:
    c = f.colours
    raised = bool(_RAISED_ARM.search(f.action.lower()))
    limbs = shade(c["fur"], 0.85)
    p.rect((0.28, 0.71, 0.44, 0.98), limbs)
    p.rect((0.56, 0.71, 0.72, 0.98), limbs)
    p.rect((0.06, 0.34, 0.17, 0.64), limbs, rounded=0.3)
    if raised:
        p.rect((0.83, 0.06, 0.94, 0.34), limbs, rounded=0.3)
    else:
        p.rect((0.83, 0.34, 0.94, 0.64), limbs, rounded=0.3)
    p.rect((0.18, 0.32, 0.82, 0.72), c["fur"], rounded=0.12)
    p.rect((0.30, 0.37, 0.70, 0.60), c["outfit"], rounded=0.1)
    p.rect((0.42, 0.28, 0.58, 0.33), OUTLINE, outline=False)
    p.limb((0.5, 0.08), (0.5, 0.04), OUTLINE, 0.02)
    p.ellipse((0.44, 0.0, 0.56, 0.06), c["accessory"])
    p.rect((0.24, 0.07, 0.76, 0.29), c["skin"], rounded=0.2)
    for u in (0.32, 0.56):
        p.rect((u, 0.14, u + 0.12, 0.20), c["eyes"])


def _paint_quadruped(p: FramePainter, f: Figure) -> None:
    c = f.colours
    fur, far = c["fur"], shade(c["fur"], 0.8)
    boxy = anatomy.is_mechanical(f.species)
    cat = bool(re.search(r"\b(cat|kitten|kitty|fox|lion|tiger|leopard|cheetah)", f.species.lower()))
    happy = bool(_SMILE.search(f.expression.lower()))
    p.limb((0.13, 0.52), (0.03, 0.22 if happy else 0.34), fur, 0.035)
    stride = bool(_STRIDE.search(f.action.lower()))
    for u in (0.30, 0.66):
        p.rect((u, 0.66, u + 0.08, 0.97), far)
    for u in (0.18, 0.55):
        lean = 0.04 if stride else 0.0
        p.polygon([(u, 0.66), (u + 0.09, 0.66), (u + 0.09 + lean, 0.98), (u + lean, 0.98)], fur)
    if boxy:
        p.rect((0.08, 0.38, 0.76, 0.80), fur, rounded=0.25)
    else:
        p.ellipse((0.08, 0.38, 0.76, 0.80), fur)
    if f.wears("outfit"):
        p.rect((0.32, 0.40, 0.58, 0.72), c["outfit"], rounded=0.25)
    if boxy:
        p.limb((0.70, 0.14), (0.66, 0.03), OUTLINE, 0.012)
        p.dot((0.66, 0.03), 0.018, c.get("accessory", DEFAULT_ROBOT_EYES))
        p.rect((0.58, 0.12, 0.96, 0.52), fur, rounded=0.25)
    else:
        p.ellipse((0.58, 0.12, 0.96, 0.52), fur)
    if cat:
        p.polygon([(0.60, 0.22), (0.63, 0.02), (0.72, 0.15)], fur)
        p.polygon([(0.80, 0.14), (0.88, 0.01), (0.92, 0.22)], fur)
    elif not boxy:
        p.ellipse((0.57, 0.14, 0.66, 0.40), far)
    for u in (0.67, 0.805):
        p.ellipse((u, 0.215, u + 0.08, 0.32), c["eyes"], thin=True)
    p.ellipse((0.915, 0.33, 0.965, 0.39), NOSE, outline=False)
    p.arc((0.84, 0.36, 0.94, 0.44), 20, 160)
    if f.wears("accessory"):
        p.rect((0.59, 0.43, 0.71, 0.53), c["accessory"], rounded=0.3)


def _paint_bird(p: FramePainter, f: Figure) -> None:
    c = f.colours
    fur, dark = c["fur"], shade(c["fur"], 0.75)
    p.polygon([(0.15, 0.55), (0.0, 0.46), (0.02, 0.72)], dark)
    for u in (0.38, 0.52):
        p.limb((u, 0.82), (u, 0.99), BEAK, 0.03)
    p.ellipse((0.12, 0.32, 0.80, 0.86), fur)
    p.ellipse((0.20, 0.48, 0.56, 0.74), dark)
    if f.wears("outfit"):
        p.ellipse((0.56, 0.50, 0.78, 0.80), c["outfit"])
    p.ellipse((0.50, 0.06, 0.90, 0.46), fur)
    p.polygon([(0.88, 0.22), (1.0, 0.28), (0.88, 0.33)], BEAK)
    p.ellipse((0.71, 0.175, 0.81, 0.265), c["eyes"], thin=True)
    if f.wears("accessory"):
        p.rect((0.54, 0.42, 0.78, 0.47), c["accessory"], rounded=0.4)


_PAINTERS = {
    "biped": _paint_biped,
    "robot": _paint_robot,
    "quadruped": _paint_quadruped,
    "bird": _paint_bird,
}


def paint_figure(image: Image.Image, figure: Figure) -> None:
    """Draw the figure inside its cast box (in the anatomy frame for the image's aspect)."""
    frame = anatomy.figure_frame(figure.species, figure.box, image.width / image.height)
    _PAINTERS[figure.plan](FramePainter(image, frame), figure)
