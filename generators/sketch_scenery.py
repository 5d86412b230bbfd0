"""Backgrounds for the sketch renderer: a setting, a time of day and the weather, in muted colours.

The palette is chosen against the colour vocabulary of storyviz.colors: large areas (sky, walls,
ground, sea) sit about ΔE 15-25 away from every colour word and from the skin tones, so when a
character is missing the offline auditor does not mistake the scenery for that character's
colours. Pure neutrals (grey, silver, white, black) cannot be avoided entirely; see
docs/consistency.md for what that means for the audit.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from PIL import Image, ImageDraw

from storyviz.colors import RGB

Scenery = Callable[[Image.Image, "Stage"], None]

SKY_DAY: RGB = (146, 176, 217)
SKY_DAWN: RGB = (176, 186, 214)
SKY_DUSK_TOP: RGB = (118, 96, 140)
SKY_DUSK_LOW: RGB = (218, 142, 136)
SKY_NIGHT: RGB = (34, 34, 64)
SPACE: RGB = (14, 16, 30)
CLOUD: RGB = (226, 230, 238)
SUN: RGB = (246, 226, 160)
MOON: RGB = (232, 230, 200)
STAR: RGB = (214, 214, 226)
GRASS: RGB = (128, 150, 112)
FOLIAGE: RGB = (90, 128, 100)
TRUNK: RGB = (104, 84, 80)
GROUND: RGB = (150, 160, 120)
SAND: RGB = (214, 206, 172)
SEA: RGB = (88, 120, 166)
FOAM: RGB = (196, 210, 222)
PAVEMENT: RGB = (140, 146, 156)
ROAD: RGB = (100, 104, 112)
BUILDINGS: tuple[RGB, ...] = ((136, 116, 140), (112, 124, 140), (150, 140, 120), (96, 112, 120))
WINDOW_LIT: RGB = (220, 200, 130)
WALL: RGB = (186, 198, 184)
FLOOR: RGB = (150, 132, 104)
DOOR: RGB = (120, 104, 96)
MOUNTAINS: tuple[RGB, ...] = ((116, 106, 148), (100, 112, 130))
SNOWCAP: RGB = (222, 226, 236)
FOG: RGB = (206, 208, 210)
RAIN: RGB = (180, 190, 205)
SNOWFLAKE: RGB = (240, 240, 246)
LINE: RGB = (72, 70, 82)

MIN_CANVAS = 64


def _vocabulary(words: str) -> frozenset[str]:
    return frozenset(words.split())


_SETTING_WORDS: dict[str, frozenset[str]] = {
    "space": _vocabulary("space spaceship spacecraft orbit galaxy planet asteroid cosmos"),
    "indoor": _vocabulary(
        "kitchen bedroom classroom house home shop store room office library school cafe "
        "restaurant hall hallway lab laboratory hospital museum indoors inside apartment "
        "flat attic basement bakery studio garage corridor castle palace church bathroom"
    ),
    "street": _vocabulary("street city town road alley downtown village square avenue"),
    "park": _vocabulary("park forest woods wood garden meadow field jungle yard orchard"),
    "beach": _vocabulary("beach sea ocean shore coast harbor harbour seaside bay lake"),
    "mountain": _vocabulary("mountain mountains hill hills cliff peak canyon valley summit"),
}

_DUSK_WORDS = _vocabulary("evening sunset dusk twilight")
_NIGHT_WORDS = _vocabulary("night midnight nighttime")
_DAWN_WORDS = _vocabulary("dawn sunrise")


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def classify_setting(setting: str) -> str:
    """The background family a free-text setting is drawn as ("default" when none fits)."""
    words = _words(setting)
    for family, vocabulary in _SETTING_WORDS.items():
        if words & vocabulary:
            return family
    return "default"


def classify_time(time_of_day: str) -> str:
    """One of "dawn", "day", "dusk", "night"; anything unknown is day."""
    words = _words(time_of_day)
    if words & _NIGHT_WORDS:
        return "night"
    if words & _DUSK_WORDS:
        return "dusk"
    if words & _DAWN_WORDS:
        return "dawn"
    return "day"


def classify_weather(weather: str) -> str:
    """One of "rain", "snow", "fog" or "" (clear)."""
    words = _words(weather)
    if words & {"rain", "rainy", "raining", "drizzle", "storm", "stormy", "shower", "downpour"}:
        return "rain"
    if words & {"snow", "snowy", "snowing", "blizzard", "sleet"}:
        return "snow"
    if words & {"fog", "foggy", "mist", "misty", "haze", "hazy"}:
        return "fog"
    return ""


def _dim(rgb: RGB, factor: float) -> RGB:
    r, g, b = rgb
    return (round(r * factor), round(g * factor), round(b * factor))


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


class Stage:
    """The canvas facts every scenery painter needs: size, light, horizon and the seeded rng."""

    def __init__(
        self, width: int, height: int, time: str, rng: random.Random, overcast: bool = False
    ) -> None:
        self.width = width
        self.height = height
        self.time = time
        self.rng = rng
        self.overcast = overcast
        self.light = {"dawn": 0.95, "day": 1.0, "dusk": 0.85, "night": 0.55}[time]
        self.horizon = round(height * rng.uniform(0.52, 0.6))

    def lit(self, rgb: RGB) -> RGB:
        """A ground-level colour under this time's light."""
        return _dim(rgb, self.light)


def paint_sky(draw: ImageDraw.ImageDraw, stage: Stage, bottom: int | None = None) -> None:
    """Sky from the top edge to `bottom`, with the sun, moon and stars the time calls for."""
    bottom = stage.horizon if bottom is None else bottom
    w, rng = stage.width, stage.rng
    if stage.time == "dusk":
        for y in range(bottom + 1):
            draw.line([(0, y), (w, y)], fill=_mix(SKY_DUSK_TOP, SKY_DUSK_LOW, y / max(bottom, 1)))
    else:
        sky = {"dawn": SKY_DAWN, "day": SKY_DAY, "night": SKY_NIGHT}[stage.time]
        draw.rectangle([0, 0, w, bottom], fill=sky)
    radius = max(4, round(min(w, stage.height) * 0.05))
    cx, cy = round(w * rng.uniform(0.12, 0.88)), round(bottom * rng.uniform(0.15, 0.4))
    if stage.time == "night":
        for _ in range(max(20, w * bottom // 2500)):
            x, y = rng.randrange(w), rng.randrange(max(bottom, 1))
            size = rng.choice((0, 0, 1))
            draw.rectangle([x, y, x + size, y + size], fill=STAR)
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=MOON)
        draw.ellipse(
            [cx - radius // 3, cy - radius, cx + radius * 4 // 3, cy + radius * 2 // 3],
            fill=SKY_NIGHT,
        )
        return
    if stage.time == "day" and not stage.overcast:
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=SUN)
    for _ in range(rng.randint(5, 8) if stage.overcast else rng.randint(1, 3)):
        x, y = rng.randrange(w), round(bottom * rng.uniform(0.1, 0.6))
        size = round(w * rng.uniform(0.05, 0.09))
        for dx, dy, s in ((0, 0, 1.0), (size * 0.8, 4, 0.8), (-size * 0.8, 6, 0.7)):
            r = size * s / 2
            draw.ellipse([x + dx - r * 1.6, y + dy - r, x + dx + r * 1.6, y + dy + r], fill=CLOUD)


def paint_tree(draw: ImageDraw.ImageDraw, stage: Stage, x: int, base: int, size: int) -> None:
    trunk_w = max(2, size // 6)
    draw.rectangle([x - trunk_w // 2, base - size, x + trunk_w // 2, base], fill=stage.lit(TRUNK))
    foliage = stage.lit(FOLIAGE)
    r = size // 2
    draw.ellipse([x - r, base - size - r, x + r, base - size + r // 2], fill=foliage, outline=LINE)


def paint_default(image: Image.Image, stage: Stage) -> None:
    draw = ImageDraw.Draw(image)
    paint_sky(draw, stage)
    w, h, hz = stage.width, stage.height, stage.horizon
    for _ in range(2):
        cx, r = round(w * stage.rng.uniform(0, 1)), round(w * stage.rng.uniform(0.25, 0.45))
        draw.ellipse([cx - r, hz - r // 4, cx + r, hz + r // 4], fill=stage.lit(GRASS))
    draw.rectangle([0, hz, w, h], fill=stage.lit(GROUND))
    draw.line([(0, hz), (w, hz)], fill=LINE, width=1)


def paint_park(image: Image.Image, stage: Stage, trees: int) -> None:
    draw = ImageDraw.Draw(image)
    paint_sky(draw, stage)
    w, h, hz = stage.width, stage.height, stage.horizon
    draw.rectangle([0, hz, w, h], fill=stage.lit(GRASS))
    for _ in range(trees):
        size = round(h * stage.rng.uniform(0.14, 0.26))
        paint_tree(draw, stage, stage.rng.randrange(w), hz + stage.rng.randint(0, h // 20), size)
    for _ in range(w // 12):
        x, y = stage.rng.randrange(w), stage.rng.randint(hz + 4, h)
        draw.line([(x, y), (x + 2, y - 5)], fill=stage.lit(FOLIAGE), width=1)


def paint_street(image: Image.Image, stage: Stage) -> None:
    draw = ImageDraw.Draw(image)
    paint_sky(draw, stage)
    w, h, hz, rng = stage.width, stage.height, stage.horizon, stage.rng
    x = -rng.randint(0, w // 10)
    while x < w:
        bw = round(w * rng.uniform(0.14, 0.26))
        top = round(hz * rng.uniform(0.15, 0.6))
        colour = stage.lit(rng.choice(BUILDINGS))
        draw.rectangle([x, top, x + bw, hz], fill=colour, outline=LINE)
        window = WINDOW_LIT if stage.time in ("dusk", "night") else _mix(colour, SKY_DAY, 0.5)
        step = max(8, bw // 4)
        for wy in range(top + step // 2, hz - step, step):
            for wx in range(x + step // 2, x + bw - step // 2, step):
                if rng.random() < 0.75:
                    draw.rectangle([wx, wy, wx + step // 3, wy + step // 2], fill=window)
        x += bw + rng.randint(0, w // 30)
    kerb = hz + (h - hz) // 3
    draw.rectangle([0, hz, w, kerb], fill=stage.lit(PAVEMENT))
    draw.rectangle([0, kerb, w, h], fill=stage.lit(ROAD))
    draw.line([(0, kerb), (w, kerb)], fill=LINE, width=2)
    dash = max(10, w // 16)
    lane = kerb + (h - kerb) // 2
    for dx in range(rng.randint(0, dash), w, dash * 2):
        draw.line([(dx, lane), (dx + dash, lane)], fill=_dim(PAVEMENT, 1.2), width=2)


def paint_beach(image: Image.Image, stage: Stage) -> None:
    draw = ImageDraw.Draw(image)
    paint_sky(draw, stage)
    w, h, hz, rng = stage.width, stage.height, stage.horizon, stage.rng
    shore = hz + (h - hz) // 3
    draw.rectangle([0, hz, w, shore], fill=stage.lit(SEA))
    for _ in range(8):
        y, x = rng.randint(hz + 3, shore - 2), rng.randrange(w)
        draw.arc([x, y - 4, x + w // 10, y + 4], 200, 340, fill=stage.lit(FOAM), width=2)
    draw.rectangle([0, shore, w, h], fill=stage.lit(SAND))
    draw.line([(0, shore), (w, shore)], fill=stage.lit(FOAM), width=3)


def paint_indoor(image: Image.Image, stage: Stage) -> None:
    draw = ImageDraw.Draw(image)
    w, h, rng = stage.width, stage.height, stage.rng
    floor_y = round(h * 0.62)
    draw.rectangle([0, 0, w, floor_y], fill=stage.lit(WALL))
    draw.rectangle([0, floor_y, w, h], fill=stage.lit(FLOOR))
    for y in range(floor_y + 12, h, 18):
        draw.line([(0, y), (w, y)], fill=_dim(stage.lit(FLOOR), 0.85), width=1)
    draw.line([(0, floor_y), (w, floor_y)], fill=LINE, width=2)
    left_window = rng.random() < 0.5
    wx0 = round(w * (rng.uniform(0.08, 0.2) if left_window else rng.uniform(0.55, 0.7)))
    wx1, wy0, wy1 = wx0 + round(w * 0.24), round(h * 0.12), round(h * 0.38)
    sky_stage = Stage(w, h, stage.time, random.Random(rng.random()), stage.overcast)
    window = Image.new("RGB", (w, wy1))
    paint_sky(ImageDraw.Draw(window), sky_stage, bottom=wy1)
    image.paste(window.crop((wx0, wy0, wx1, wy1)), (wx0, wy0))
    draw.rectangle([wx0, wy0, wx1, wy1], outline=LINE, width=3)
    draw.line([((wx0 + wx1) // 2, wy0), ((wx0 + wx1) // 2, wy1)], fill=LINE, width=2)
    dx0 = round(w * (rng.uniform(0.62, 0.8) if left_window else rng.uniform(0.06, 0.2)))
    draw.rectangle(
        [dx0, round(h * 0.2), dx0 + round(w * 0.14), floor_y], fill=stage.lit(DOOR), outline=LINE
    )
    knob = (dx0 + round(w * 0.115), round(h * 0.42))
    draw.ellipse([knob[0] - 3, knob[1] - 3, knob[0] + 3, knob[1] + 3], fill=LINE)


def paint_space(image: Image.Image, stage: Stage) -> None:
    draw = ImageDraw.Draw(image)
    w, h, rng = stage.width, stage.height, stage.rng
    draw.rectangle([0, 0, w, h], fill=SPACE)
    for _ in range(max(40, w * h // 2500)):
        x, y = rng.randrange(w), rng.randrange(h)
        size = rng.choice((0, 0, 0, 1))
        draw.rectangle([x, y, x + size, y + size], fill=STAR)
    r = round(min(w, h) * rng.uniform(0.1, 0.18))
    cx, cy = round(w * rng.uniform(0.15, 0.85)), round(h * rng.uniform(0.12, 0.35))
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=MOUNTAINS[0], outline=LINE)
    draw.arc([cx - 2 * r, cy - r // 3, cx + 2 * r, cy + r // 3], 160, 380, fill=STAR, width=2)


def paint_mountain(image: Image.Image, stage: Stage) -> None:
    draw = ImageDraw.Draw(image)
    paint_sky(draw, stage)
    w, h, hz, rng = stage.width, stage.height, stage.horizon, stage.rng
    for i in range(rng.randint(2, 4)):
        peak_x = round(w * rng.uniform(0.0, 1.0))
        peak_y = round(hz * rng.uniform(0.2, 0.55))
        half = round(w * rng.uniform(0.3, 0.5))
        draw.polygon(
            [(peak_x - half, hz), (peak_x, peak_y), (peak_x + half, hz)],
            fill=stage.lit(MOUNTAINS[i % 2]),
            outline=LINE,
        )
        cap = (hz - peak_y) // 4
        ratio = cap / max(hz - peak_y, 1)
        draw.polygon(
            [
                (peak_x - half * ratio, peak_y + cap),
                (peak_x, peak_y),
                (peak_x + half * ratio, peak_y + cap),
            ],
            fill=stage.lit(SNOWCAP),
        )
    draw.rectangle([0, hz, w, h], fill=stage.lit(GROUND))
    draw.line([(0, hz), (w, hz)], fill=LINE, width=1)


SCENERY: dict[str, Scenery] = {
    "default": paint_default,
    "park": lambda image, stage: paint_park(image, stage, trees=stage.rng.randint(3, 6)),
    "forest": lambda image, stage: paint_park(image, stage, trees=stage.rng.randint(9, 14)),
    "street": paint_street,
    "beach": paint_beach,
    "indoor": paint_indoor,
    "space": paint_space,
    "mountain": paint_mountain,
}


def paint_weather(image: Image.Image, weather: str, rng: random.Random) -> Image.Image:
    """Weather over the scenery (behind the figures, which stay true to their sheets)."""
    if weather == "fog":
        return Image.blend(image, Image.new("RGB", image.size, FOG), 0.45)
    draw = ImageDraw.Draw(image)
    w, h = image.size
    if weather == "rain":
        length = max(6, h // 30)
        for _ in range(w * h // 900):
            x, y = rng.randrange(-length, w), rng.randrange(-length, h)
            draw.line([(x, y), (x + length // 3, y + length)], fill=RAIN, width=1)
    elif weather == "snow":
        for _ in range(w * h // 700):
            x, y, r = rng.randrange(w), rng.randrange(h), rng.choice((1, 1, 2))
            draw.ellipse([x - r, y - r, x + r, y + r], fill=SNOWFLAKE)
    return image


def paint_background(
    width: int, height: int, setting: str, time_of_day: str, weather: str, rng: random.Random
) -> tuple[Image.Image, dict[str, str]]:
    """The panel's background and how its free-text fields were read (for provenance)."""
    family = classify_setting(setting)
    if family == "park" and _words(setting) & {"forest", "woods", "wood", "jungle"}:
        family = "forest"
    time, sky_weather = classify_time(time_of_day), classify_weather(weather)
    # Thumbnails are painted at a workable size and shrunk: the painters assume some room.
    canvas = (max(width, MIN_CANVAS), max(height, MIN_CANVAS))
    image = Image.new("RGB", canvas, WALL)
    SCENERY[family](image, Stage(*canvas, time, rng, overcast=bool(sky_weather)))
    image = paint_weather(image, sky_weather, rng)
    if canvas != (width, height):
        image = image.resize((width, height), Image.Resampling.NEAREST)
    return image, {"scenery": family, "time": time, "weather": sky_weather or "clear"}
