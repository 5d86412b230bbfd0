"""ViStoryBench stories in, storyviz plans out (``storyviz run --vistorybench story.json``).

A ViStoryBench story folder holds ``story.json`` and ``image/<Character key>/00.jpg`` (more
images may follow; the first in name order is the reference, as the benchmark's own loader
takes). The story is already a shot list, so it is mapped to a StoryPlan directly and rendered
without planning:

- each character -> a sheet (id from its key, name and description from ``name_<lang>`` and
  ``prompt_<lang>``, species from ``tag``), with its first image as the run's reference;
- each shot, in file order -> a panel ``pNN`` (NN = position, from 01): ``Static Shot
  Description`` (what the picture shows) as its scene, ``Setting Description`` as its setting,
  ``Plot Correspondence`` as its beat, ``Shot Perspective Design`` read as a shot type, and the
  ``Characters Appearing`` (matched by their English names, the keys) staged side by side by the
  planner's own staging helpers;
- pages from storyviz.layouts (paginate + pages_for), as every planner makes them.

Every problem with the file is one InputError naming it; a shot naming a character the story
does not define is staged without it and reported in `notes` (the benchmark's loader skips
such names too).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from storyviz.errors import InputError
from storyviz.layouts import pages_for, paginate
from storyviz.schemas import (
    CastMember,
    CharacterAttributes,
    CharacterSheet,
    PanelSpec,
    ReadingOrder,
    Shot,
    StoryPlan,
)

Lang = Literal["en", "ch"]
LANGS: tuple[Lang, ...] = ("en", "ch")
SHOT_FIELDS = (
    "Plot Correspondence",
    "Setting Description",
    "Shot Perspective Design",
    "Characters Appearing",
    "Static Shot Description",
)
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
_SHOT_WORDS: tuple[tuple[str, Shot], ...] = (
    ("over-the-shoulder", "over-the-shoulder"),
    ("over the shoulder", "over-the-shoulder"),
    ("过肩", "over-the-shoulder"),
    ("low angle", "low-angle"),
    ("low-angle", "low-angle"),
    ("仰", "low-angle"),
    ("close", "close-up"),
    ("特写", "close-up"),
    ("近景", "close-up"),
    ("establishing", "establishing"),
    ("aerial", "establishing"),
    ("bird", "establishing"),
    ("俯瞰", "establishing"),
    ("全景", "wide"),
    ("远景", "wide"),
    ("wide", "wide"),
    ("long shot", "wide"),
    ("full shot", "wide"),
    ("panoram", "wide"),
    ("medium", "medium"),
    ("中景", "medium"),
)


@dataclass
class VistoryStory:
    """A story read from ViStoryBench: the plan, its reference images, the text it tells."""

    plan: StoryPlan
    references: dict[str, Path]
    story: str
    notes: list[str] = field(default_factory=list)


def shot_type(text: str) -> Shot:
    """'Close-up, eye level' -> close-up; anything unrecognised -> medium."""
    lowered = text.lower()
    for word, shot in _SHOT_WORDS:
        if word in lowered:
            return shot
    return "medium"


def load_story(
    path: Path,
    lang: str = "en",
    *,
    style: str = "storyboard sketch",
    reading_order: ReadingOrder = "ltr",
    page_size: Any = "A4",
) -> VistoryStory:
    """Read ``story.json`` (or a story folder holding one) and map it to a plan."""
    if lang not in LANGS:
        raise InputError(f"--lang must be en or ch, not {lang!r}")
    path = Path(path)
    if path.is_dir():
        path = path / "story.json"
    data = _read_json(path)
    characters = _mapping(data, "Characters", path)
    shots = data.get("Shots")
    if not isinstance(shots, list) or not shots:
        raise InputError(f"{path}: 'Shots' must be a non-empty list of shots")
    notes: list[str] = []
    sheets, references, by_key = _sheets(characters, lang, path.parent, notes)
    numbers = shot_numbers(shots)
    panels = [
        _panel(n, shot, lang, by_key, sheets, reading_order, path, notes)
        for n, shot in zip(numbers, shots, strict=True)
    ]
    story_type = _text(data.get("Story_type", ""), lang, "Story_type", path, required=False)
    title = f"{path.parent.name or 'story'}: {story_type}" if story_type else path.parent.name
    plan = StoryPlan(
        title=title or "ViStoryBench story",
        style=style,
        language="zh" if lang == "ch" else "en",
        reading_order=reading_order,
        page_size=page_size,
        characters=list(sheets.values()),
        panels=panels,
        pages=pages_for(panels, paginate(len(panels))),
    )
    story = "\n".join(p.beat for p in panels if p.beat) or plan.title
    return VistoryStory(plan=plan, references=references, story=story, notes=notes)


def shot_numbers(shots: list[Any]) -> list[int]:
    """Each shot's ``index`` (the benchmark scores ``shots[index]``), which becomes its panel id
    (``p01`` for index 1) and its exported file's number; positions from 1 when the indices are
    missing, not whole numbers or repeated."""
    found = [shot.get("index") if isinstance(shot, dict) else None for shot in shots]
    if all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in found) and len(
        set(found)
    ) == len(found):
        return [int(i) for i in found if isinstance(i, int)]
    return list(range(1, len(shots) + 1))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"no ViStoryBench story at {path}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a ViStoryBench story is a JSON object")
    return data


def _mapping(data: Mapping[str, Any], key: str, path: Path) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict) or not value:
        raise InputError(f"{path}: '{key}' must be a non-empty object")
    return value


def _text(value: Any, lang: str, what: str, path: Path, *, required: bool = True) -> str:
    """A ``{en, ch}`` field in the chosen language (a plain string is taken as it is)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict) and isinstance(value.get(lang), str):
        return str(value[lang]).strip()
    if not required:
        return ""
    raise InputError(f"{path}: {what} has no '{lang}' text")


def _sheets(
    characters: Mapping[str, Any], lang: str, folder: Path, notes: list[str]
) -> tuple[dict[str, CharacterSheet], dict[str, Path], dict[str, str]]:
    sheets: dict[str, CharacterSheet] = {}
    references: dict[str, Path] = {}
    by_key: dict[str, str] = {}
    for key, info in characters.items():
        if not isinstance(info, dict):
            raise InputError(f"{folder / 'story.json'}: character {key!r} must be an object")
        cid = _unique_id(key, sheets)
        name = str(info.get(f"name_{lang}") or info.get("name_en") or key).strip()
        prompt = str(info.get(f"prompt_{lang}") or info.get("prompt_en") or "").strip()
        tag = str(info.get("tag", "")).lower()
        species = "creature" if ("non" in tag or "animal" in tag) else "human"
        sheets[cid] = CharacterSheet(
            id=cid,
            name=name,
            description=prompt or name,
            attributes=CharacterAttributes(species=species),
            reference_prompt=prompt,
        )
        by_key[str(key).strip()] = cid
        image = _reference_image(folder / "image" / str(key))
        if image is None:
            notes.append(f"no reference image for {key} in {folder / 'image' / str(key)}")
        else:
            references[cid] = image
    return sheets, references, by_key


def _reference_image(folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    return images[0] if images else None


def _unique_id(key: str, taken: Mapping[str, Any]) -> str:
    ascii_key = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()
    base = "-".join(re.findall(r"[a-z0-9]+", ascii_key.lower()))[:24] or f"c{len(taken) + 1}"
    cid, n = base, 2
    while cid in taken:
        cid, n = f"{base}-{n}", n + 1
    return cid


def _panel(
    n: int,
    shot: Any,
    lang: str,
    by_key: Mapping[str, str],
    sheets: Mapping[str, CharacterSheet],
    reading_order: ReadingOrder,
    path: Path,
    notes: list[str],
) -> PanelSpec:
    from storyviz.agents.planner.rules.staging import figure_of, fit_shot, layout_boxes

    if not isinstance(shot, dict):
        raise InputError(f"{path}: shot {n} must be an object")
    label = f"shot {shot.get('index', n)}"
    missing = [f for f in SHOT_FIELDS if f not in shot]
    if missing:
        raise InputError(f"{path}: {label} lacks {', '.join(repr(f) for f in missing)}")
    appearing = shot["Characters Appearing"]
    keys = appearing.get("en") if isinstance(appearing, dict) else appearing
    if isinstance(keys, str):
        keys = [k for k in re.split(r"[,;，、]", keys) if k.strip()]
    if not isinstance(keys, list):
        raise InputError(f"{path}: {label}: 'Characters Appearing' needs an 'en' list of names")
    cast_ids: list[str] = []
    for key in keys:
        cid = by_key.get(str(key).strip())
        if cid is None:
            notes.append(f"{label} names {key!r}, which the story's Characters do not define")
        elif cid not in cast_ids:
            cast_ids.append(cid)
    framing = fit_shot(
        shot_type(_text(shot["Shot Perspective Design"], lang, label, path)), len(cast_ids)
    )
    figures = [figure_of(sheets[c].attributes, sheets[c].description) for c in cast_ids]
    boxes = layout_boxes(figures, framing, reading_order)
    return PanelSpec(
        id=f"p{n:02d}",
        beat=_text(shot["Plot Correspondence"], lang, f"{label} plot", path),
        scene=_text(shot["Static Shot Description"], lang, f"{label} shot description", path),
        setting=_text(shot["Setting Description"], lang, f"{label} setting", path),
        shot=framing,
        cast=[CastMember(character_id=c, box=b) for c, b in zip(cast_ids, boxes, strict=True)],
    )


def seeded_run(path: Path, lang: str, settings: Any) -> tuple[str, Any, list[str]]:
    """What `storyviz run --vistorybench` starts from: the story text for the request, the
    RunSeed (plan + reference images) and notes to show the user."""
    from storyviz.agents.runner import RunSeed

    story = load_story(
        path,
        lang,
        style=settings.style,
        reading_order=settings.reading_order,
        page_size=settings.page_size,
    )
    return story.story, RunSeed(plan=story.plan, references=story.references), story.notes
