"""Where a figure's coloured parts sit inside its cast box: the convention shared by the offline
renderer, which paints each part there, and the offline auditor, which samples it there.

Generators and evaluators may not import each other, yet a colour audit only means something if
it looks where the colour was painted. This module is that meeting point: a cast box is fitted
with a *figure frame* of the species' natural proportions (standing on the box's bottom edge),
and every colour part has a *sample box* in frame-relative coordinates that the sketch renderer
covers entirely with that part's colour. Parts are painted in cast order, so a later cast member
stands in front of an earlier one.

A diffusion model receives only the cast box and a prompt, so it follows this convention
approximately at best; for such renders the colour audit is a heuristic, not a measurement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from storyviz.colors import COLOR_RGB, RGB, SKIN_RGB
from storyviz.geometry import Box
from storyviz.schemas import CharacterSheet

BodyPlan = Literal["biped", "robot", "quadruped", "bird"]

COLOUR_PARTS: tuple[str, ...] = ("hair", "skin", "eyes", "outfit", "fur", "accessory")
"""The parts a sheet's ``attributes.colors`` may name, in the order they are audited."""


def _vocabulary(words: str) -> frozenset[str]:
    return frozenset(words.split())


_QUADRUPED_WORDS = _vocabulary(
    "dog puppy pup hound cat kitten kitty fox wolf horse pony rabbit bunny bear mouse "
    "rat lion tiger leopard cheetah pig cow sheep lamb goat deer elephant hamster "
    "squirrel raccoon dragon unicorn dinosaur lizard otter badger"
)
_BIRD_WORDS = _vocabulary(
    "bird owl parrot duck duckling chicken hen rooster penguin crow raven pigeon "
    "sparrow robin eagle hawk swan goose seagull gull"
)
_ROBOT_WORDS = _vocabulary("robot robotic android droid mech cyborg automaton bot")

NATURAL_ASPECT: dict[BodyPlan, float] = {
    "biped": 0.5,
    "robot": 0.6,
    "quadruped": 1.4,
    "bird": 0.9,
}
"""Figure width / height in pixels; the frame keeps it whatever shape the cast box has."""

# Sample boxes, frame-relative (u0, v0, u1, v1): u runs left to right, v top to bottom.
# Quadrupeds and birds face right. Each box lies inside the shape the renderer fills with that
# part's colour, away from outlines and from features (eyes, mouth, highlights) drawn on top.
_SAMPLE_BOXES: dict[BodyPlan, dict[str, Box]] = {
    "biped": {
        "hair": (0.36, 0.02, 0.64, 0.09),
        "eyes": (0.38, 0.168, 0.43, 0.192),
        "skin": (0.36, 0.20, 0.64, 0.245),
        "accessory": (0.36, 0.318, 0.64, 0.352),
        "outfit": (0.32, 0.40, 0.68, 0.62),
    },
    "robot": {
        "accessory": (0.46, 0.012, 0.54, 0.048),
        "eyes": (0.35, 0.155, 0.41, 0.185),
        "skin": (0.30, 0.215, 0.70, 0.27),
        "outfit": (0.33, 0.40, 0.67, 0.57),
        "fur": (0.22, 0.63, 0.78, 0.70),
    },
    "quadruped": {
        "eyes": (0.825, 0.24, 0.865, 0.295),
        "accessory": (0.61, 0.45, 0.69, 0.51),
        "outfit": (0.35, 0.44, 0.55, 0.68),
        "fur": (0.15, 0.50, 0.29, 0.68),
    },
    "bird": {
        "eyes": (0.735, 0.2, 0.785, 0.24),
        "fur": (0.58, 0.28, 0.76, 0.38),
        "accessory": (0.57, 0.43, 0.75, 0.46),
        "outfit": (0.60, 0.58, 0.72, 0.72),
    },
}


def _words(text: str) -> set[str]:
    found = set(re.findall(r"[a-z]+", text.lower()))
    return found | {w[:-1] for w in found if w.endswith("s")}


def body_plan(species: str) -> BodyPlan:
    """The figure a species is drawn as; an animal word wins, so "robot dog" is a quadruped."""
    words = _words(species)
    if words & _BIRD_WORDS:
        return "bird"
    if words & _QUADRUPED_WORDS:
        return "quadruped"
    if words & _ROBOT_WORDS:
        return "robot"
    return "biped"


def is_mechanical(species: str) -> bool:
    """Whether the figure is drawn boxy (robots, robot animals)."""
    return bool(_words(species) & _ROBOT_WORDS)


def figure_frame(species: str, box: Box, aspect: float = 1.0) -> Box:
    """The largest box of the species' proportions inside `box`, centred, feet on its bottom.

    `aspect` is the image's width / height: boxes are normalised, proportions are in pixels.
    """
    x0, y0, x1, y1 = box
    want = NATURAL_ASPECT[body_plan(species)]
    width_px, height_px = (x1 - x0) * aspect, y1 - y0
    if width_px / height_px > want:
        half = want * height_px / aspect / 2
        centre = (x0 + x1) / 2
        return (centre - half, y0, centre + half, y1)
    return (x0, y1 - width_px / want, x1, y1)


def sub_box(frame: Box, relative: Box) -> Box:
    """Map a frame-relative box (u0, v0, u1, v1) to image-normalised coordinates."""
    fx0, fy0, fx1, fy1 = frame
    u0, v0, u1, v1 = relative
    w, h = fx1 - fx0, fy1 - fy0
    return (fx0 + u0 * w, fy0 + v0 * h, fx0 + u1 * w, fy0 + v1 * h)


def parts(species: str) -> tuple[str, ...]:
    """The colour parts this species has a place for (a dog has no hair box, a girl no fur)."""
    return tuple(_SAMPLE_BOXES[body_plan(species)])


def part_box(species: str, part: str, box: Box, aspect: float = 1.0) -> Box | None:
    """Where `part` of a figure of `species` standing in cast `box` is painted and sampled."""
    relative = _SAMPLE_BOXES[body_plan(species)].get(part)
    if relative is None:
        return None
    return sub_box(figure_frame(species, box, aspect), relative)


@dataclass(frozen=True)
class ColourPart:
    """One coloured part a sheet asks for: the sheet's word and the RGB both sides agree on."""

    part: str
    word: str
    rgb: RGB


def resolve_colour(word: str, part: str = "") -> RGB | None:
    """RGB for a sheet's colour word, tolerant of phrases ("light blue" -> blue).

    Skin words are looked up among skin tones first, so "olive" skin is a tone, not the green.
    """
    tables = (SKIN_RGB, COLOR_RGB) if part == "skin" else (COLOR_RGB, SKIN_RGB)
    key = word.lower().strip()
    for table in tables:
        if key in table:
            return table[key]
    for token in reversed(re.findall(r"[a-z]+", key)):
        for table in tables:
            if token in table:
                return table[token]
    return None


def colour_parts(sheet: CharacterSheet) -> dict[str, ColourPart]:
    """The sheet's colours that have a place on its figure and a known RGB, in audit order."""
    species = sheet.attributes.species
    placed = parts(species)
    found: dict[str, ColourPart] = {}
    for part in COLOUR_PARTS:
        word = sheet.attributes.colors.get(part)
        if word is None or part not in placed:
            continue
        rgb = resolve_colour(word, part)
        if rgb is not None:
            found[part] = ColourPart(part, word, rgb)
    return found
