"""Camera and blocking: the shot of each panel, where each cast member stands, what they do.

Comics open a scene wide and move in for dialogue; the same framing three times running reads
as a mistake. Boxes put every figure's feet on one ground line, side by side, sized by the shot
and by what the figure is (a dog is shorter than a girl, a girl than her grandfather), so the
renderer and the colour auditor find each character where the plan says it is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from storyviz.agents.planner.rules.text import (
    FUNCTION_WORDS,
    WORD_RE,
    looks_like_verb,
    shorten,
    wordset,
)
from storyviz.geometry import Box, clamp, rounded
from storyviz.schemas import CharacterAttributes, ReadingOrder, Shot

MAX_ON_SCREEN = 4
"""More figures than this in one panel are too small to read (and to audit)."""

_REPEAT_CYCLE: tuple[Shot, ...] = ("medium", "close-up", "wide", "over-the-shoulder", "low-angle")
_ALTERNATIVES: dict[Shot, tuple[Shot, ...]] = {
    "establishing": ("wide", "medium"),
    "wide": ("medium", "low-angle", "establishing"),
    "medium": ("close-up", "wide", "low-angle"),
    "close-up": ("medium", "wide"),
    "over-the-shoulder": ("medium", "close-up"),
    "low-angle": ("medium", "wide"),
}
_BIG_MOTION = re.compile(
    r"\b(?:run|runs|ran|running|race[sd]?|racing|chase[sd]?|chasing|fly|flies|flew|flying|fall|"
    r"falls|fell|falling|jump|jumps|jumped|jumping|leap|leaps|leapt|climb|climbs|climbed|"
    r"climbing|fight|fights|fought|escape[sd]?|explod\w*|crash\w*|dance[sd]?|dancing|swim|swims|"
    r"swam)\b"
)
_UPWARD = re.compile(
    r"\b(?:jump\w*|leap\w*|fl(?:y|ies|ew|ying)|climb\w*|tower\w*|giant|huge|soar\w*)\b"
)
_INTIMATE = re.compile(
    r"\b(?:eyes|tears?|smile[sd]?|smiling|whisper\w*|hug\w*|kiss\w*|glow\w*|asleep|sleep\w*|"
    r"blush\w*|cry|cries|cried|sob\w*|stare[sd]?|gaze[sd]?|face)\b"
)

# shot -> (ground line, height of an adult, left edge, right edge), in panel fractions
_FRAMES: dict[Shot, tuple[float, float, float, float]] = {
    "establishing": (0.92, 0.34, 0.15, 0.85),
    "wide": (0.95, 0.56, 0.06, 0.94),
    "medium": (1.0, 0.8, 0.05, 0.95),
    "low-angle": (0.97, 0.88, 0.08, 0.92),
    "close-up": (1.0, 0.94, 0.03, 0.97),
    "over-the-shoulder": (1.0, 0.8, 0.05, 0.95),
}

_EXPRESSIONS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(rf"\b(?:{words})\b", re.IGNORECASE))
    for label, words in (
        ("scared", r"scared|afraid|frightened|terrified|fear\w*|shiver\w*|trembl\w*|nervous\w*"),
        ("sad", r"sad\w*|cry|cries|cried|crying|tears?|weep\w*|wept|sob\w*|lonely|unhappy"),
        ("angry", r"angry|angrily|furious\w*|frown\w*|glar\w*|scowl\w*"),
        ("surprised", r"surprised?|gasp\w*|shock\w*|astonish\w*|amaz\w*|stunned"),
        (
            "happy",
            r"happy|happily|smil\w*|laugh\w*|grin\w*|giggl\w*|joy\w*|delight\w*|cheer\w*|wags?",
        ),
        ("sleepy", r"asleep|sleep\w*|yawn\w*|tired|drowsy"),
        ("shy", r"shy|shyly|blush\w*|bashful\w*"),
        ("curious", r"curious\w*|wonder\w*|peek\w*|sniff\w*"),
        ("calm", r"calm\w*|peaceful\w*|gently|softly"),
        ("determined", r"brave\w*|determined|bold\w*"),
        ("happy", r"笑|開心|高兴|嬉し"),
        ("sad", r"哭|伤心|泣"),
        ("scared", r"害怕|怖"),
    )
)
_ACTION_STOP_RE = re.compile(r"[,.;:!?\n\"“”«»「」]")
_ACTION_WORDS = 6
_BODY_WORDS = wordset(
    "eyes eye tail ears ear nose paws paw hands hand face head voice heart fur hair wings"
)
"""After "Bolt's", these make the rest an action of Bolt's ("Bolt's eyes glow softly")."""
_NOT_ACTIONS = wordset("named called is was are were")
_CLAUSE_WORDS = wordset("as while when because until before after but so then")


@dataclass(frozen=True)
class Figure:
    """How big a character stands: height relative to an adult human, width / height."""

    height: float
    aspect: float


_SMALL_ANIMALS = wordset(
    "mouse rat hamster frog toad squirrel hedgehog bee butterfly crab fish goldfish"
)
_BIRDS = wordset(
    "bird parrot owl crow raven pigeon sparrow robin eagle hawk swan duck goose chicken hen "
    "rooster penguin"
)
_BIG_ANIMALS = wordset(
    "horse pony donkey cow bear lion tiger deer elephant giraffe dragon dinosaur unicorn whale "
    "shark dolphin zebra"
)
_UPRIGHT = wordset(
    "human robot mermaid fairy elf dwarf giant troll goblin ghost alien vampire zombie monster "
    "snowman"
)
_HUMAN_HEIGHT = {"baby": 0.45, "child": 0.72, "young": 0.85, "teen": 0.92, "elderly": 0.95}
_SIZE_WORDS = {
    "tiny": 0.7,
    "small": 0.85,
    "little": 0.9,
    "tall": 1.1,
    "big": 1.12,
    "huge": 1.2,
    "giant": 1.25,
}


def figure_of(attributes: CharacterAttributes, description: str = "") -> Figure:
    """A character's size and proportions from its species, age and size words."""
    words = set(attributes.species.lower().split())
    if words & _BIRDS:
        figure = Figure(0.3, 0.9)
    elif words & _SMALL_ANIMALS:
        figure = Figure(0.25, 1.3)
    elif words & _BIG_ANIMALS:
        figure = Figure(0.85, 1.4)
    elif words <= _UPRIGHT:
        height = _HUMAN_HEIGHT.get(attributes.age or "", 1.0)
        if words & {"dwarf", "goblin"}:
            height = 0.7
        elif "fairy" in words:
            height = 0.4
        figure = Figure(height, 0.6 if "robot" in words else 0.5)
    else:  # dogs, cats, robot dogs and every other four-legged animal
        figure = Figure(0.45, 1.4)
    scale = math.prod(
        _SIZE_WORDS[w] for w in set(WORD_RE.findall(description.lower())) & set(_SIZE_WORDS)
    )
    return Figure(max(0.15, min(1.15, figure.height * scale)), figure.aspect)


@dataclass(frozen=True)
class ShotContext:
    """What a panel is about, as far as choosing its framing goes."""

    index: int
    part: int
    new_scene: bool
    cast_size: int
    dialogue_kinds: tuple[str, ...]
    speakers: int
    narration: str


def choose_shot(context: ShotContext, previous: Sequence[Shot]) -> Shot:
    """The framing for a panel: preferred by content, fitted to the cast, never thrice in a row."""
    shot = fit_shot(_preferred_shot(context, previous), context.cast_size)
    if len(previous) >= 2 and previous[-1] == previous[-2] == shot:
        for alternative in _ALTERNATIVES[shot]:
            if fit_shot(alternative, context.cast_size) == alternative:
                return alternative
    return shot


def _preferred_shot(context: ShotContext, previous: Sequence[Shot]) -> Shot:
    size = context.cast_size
    text = context.narration.lower()
    if context.index == 0:
        return "establishing"
    if context.part > 0:
        return _REPEAT_CYCLE[(context.part - 1) % len(_REPEAT_CYCLE)]
    if context.new_scene:
        return "wide" if previous and previous[-1] == "establishing" else "establishing"
    if size == 0 or size >= MAX_ON_SCREEN:
        return "wide"
    if context.dialogue_kinds:
        if "shout" in context.dialogue_kinds or "thought" in context.dialogue_kinds:
            return "close-up"
        if context.speakers >= 2 and size == 2:
            return "over-the-shoulder"
        return "close-up" if size == 1 else "medium"
    if _BIG_MOTION.search(text):
        return "low-angle" if _UPWARD.search(text) and size <= 3 else "wide"
    if _INTIMATE.search(text):
        return "close-up" if size <= 2 else "medium"
    return "medium"


def fit_shot(shot: Shot, cast_size: int) -> Shot:
    """A shot that can hold `cast_size` figures: a close-up holds two, over-the-shoulder exactly
    two, a low angle three."""
    if shot == "close-up" and cast_size > 2:
        return "medium"
    if shot == "over-the-shoulder" and cast_size != 2:
        return "medium" if cast_size else "wide"
    if shot == "low-angle" and cast_size > 3:
        return "wide"
    return shot


def layout_boxes(
    figures: Sequence[Figure], shot: Shot, reading_order: ReadingOrder = "ltr"
) -> list[Box]:
    """One box per figure, in reading order (the first speaker first), feet on the ground line."""
    if not figures:
        return []
    if shot == "over-the-shoulder" and len(figures) == 2:
        boxes = _over_the_shoulder(figures)
    else:
        boxes = _side_by_side(figures, shot)
    if reading_order == "rtl":
        boxes = [(1.0 - x1, y0, 1.0 - x0, y1) for (x0, y0, x1, y1) in boxes]
    return [_valid(box) for box in boxes]


def _side_by_side(figures: Sequence[Figure], shot: Shot) -> list[Box]:
    ground, adult, left, right = _FRAMES[shot]
    slot = (right - left) / len(figures)
    boxes: list[Box] = []
    for k, figure in enumerate(figures):
        # Close-ups frame heads: small figures are enlarged more than tall ones.
        relative = math.sqrt(figure.height) if shot == "close-up" else figure.height
        height = min(adult * relative, ground - 0.03)
        width = min(height * figure.aspect, slot * 0.92)
        centre = left + slot * (k + 0.5)
        boxes.append((centre - width / 2, ground - height, centre + width / 2, ground))
    return boxes


def _over_the_shoulder(figures: Sequence[Figure]) -> list[Box]:
    """The speaker faces the camera in the middle ground on the reading side (so the first
    balloon is read first); the listener's shoulder fills the other side."""
    speaker, listener = figures
    far_height = min(0.62 * speaker.height, 0.85)
    far_width = min(far_height * speaker.aspect, 0.4)
    near_height = min(0.9 * math.sqrt(listener.height), 0.95)
    near_width = min(near_height * listener.aspect, 0.42)
    return [
        (0.3 - far_width / 2, 0.9 - far_height, 0.3 + far_width / 2, 0.9),
        (0.98 - near_width, 1.0 - near_height, 0.98, 1.0),
    ]


def _valid(box: Box) -> Box:
    """Inside the panel, rounded, and never thinner than the schema allows."""
    x0, y0, x1, y1 = clamp(box)
    if x1 - x0 < 0.02:
        x0, x1 = max(0.0, min(x0, 0.98)), max(0.0, min(x0, 0.98)) + 0.02
    if y1 - y0 < 0.02:
        y0, y1 = max(0.0, min(y0, 0.98)), max(0.0, min(y0, 0.98)) + 0.02
    return rounded((x0, y0, x1, y1))


def expression_in(text: str) -> str:
    """The feeling a passage shows ("" when it shows none)."""
    for label, pattern in _EXPRESSIONS:
        if pattern.search(text):
            return label
    return ""


def action_after(narration: str, end: int) -> str:
    """What a character does, read from the words after its mention ("wags its tail and beeps");
    "" when the mention is not the subject of a verb."""
    rest = narration[end : end + 200]
    if rest.startswith(","):  # skip a parenthetical: "Mia, with red hair, walks home"
        close = rest.find(",", 1)
        if 0 < close < 120:
            rest = rest[close + 1 :]
    stop = _ACTION_STOP_RE.search(rest)
    clause = rest[: stop.start()] if stop else rest
    possessive = clause.startswith(("'s ", "’s "))
    words = WORD_RE.findall(clause[3:] if possessive else clause)
    if not words or (possessive and words[0].lower() not in _BODY_WORDS):
        return ""
    verb_at = 1 if words[0].endswith("ly") and len(words) > 1 else 0
    if not possessive and (
        words[verb_at].lower() in _NOT_ACTIONS or not looks_like_verb(words[verb_at])
    ):
        return ""
    words = words[:_ACTION_WORDS]
    cut = next(
        (i for i, w in enumerate(words) if i > verb_at and w.lower() in _CLAUSE_WORDS), len(words)
    )
    words = words[:cut]
    while len(words) > 1 and words[-1].lower() in FUNCTION_WORDS:
        words.pop()
    return shorten(" ".join(words), 60)
