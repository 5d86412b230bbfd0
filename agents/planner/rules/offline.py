"""The offline planner: a story request in, a StoryPlan out, by rules, without a model or network.

It is the default planner and the reference for what a plan should contain: beats cut to the
requested panel count, characters with colours every later stage can check, dialogue with
speakers, settings carried from panel to panel, varied shots and cast boxes on a ground line.
The same request always gives the same plan.
"""

from __future__ import annotations

from storyviz.agents.planner.edit.plans import PlanEdit
from storyviz.agents.planner.edit.rules import edit_by_rules
from storyviz.agents.planner.rules.beats import Beat, plan_beats, split_sentences
from storyviz.agents.planner.rules.characters import CharacterDraft, discover_characters
from storyviz.agents.planner.rules.language import detect_language
from storyviz.agents.planner.rules.mentions import MentionTracker
from storyviz.agents.planner.rules.panels import BeatReading, PanelInput, StoryReader, stage_panel
from storyviz.agents.planner.rules.quotes import QuoteIndex
from storyviz.agents.planner.rules.scenes import Scene, SceneTracker
from storyviz.agents.planner.rules.sheets import build_sheets, select_characters
from storyviz.agents.planner.rules.staging import figure_of
from storyviz.agents.planner.rules.text import normalise_story, shorten, squash
from storyviz.layouts import MAX_PANELS_PER_PAGE, pages_for, paginate
from storyviz.registry import BackendSpec
from storyviz.schemas import CharacterSheet, PanelSpec, Shot, StoryPlan, StoryRequest

DEFAULT_PER_PAGE = 4
OPTIONS = frozenset({"per_page"})
MAX_TITLE_CHARS = 60

_TITLE_JOINERS = {
    "en": " and ",
    "fr": " et ",
    "es": " y ",
    "de": " und ",
    "it": " e ",
    "pt": " e ",
    "nl": " en ",
    "ru": " и ",
    "uk": " і ",
    "zh": "和",
    "ja": "と",
    "ko": "와 ",
}


class OfflinePlanner:
    """Rule-based planner (backend string ``offline``, option ``per_page=1..6``)."""

    def __init__(self, spec: BackendSpec | None = None) -> None:
        spec = spec if spec is not None else BackendSpec("offline")
        spec.check_options(OPTIONS)
        self.per_page = spec.option(
            "per_page", int, DEFAULT_PER_PAGE, low=1, high=MAX_PANELS_PER_PAGE
        )
        self.spec = spec.redacted()

    def plan(self, request: StoryRequest) -> StoryPlan:
        text = normalise_story(request.story) or request.story.strip() or "…"
        language = request.language if request.language != "auto" else detect_language(text)
        quotes = QuoteIndex(text)
        narration = quotes.mask(text)
        sentences = split_sentences(text, quotes)
        beats = plan_beats(text, quotes, sentences, request.panels)
        drafts = discover_characters(text, narration)
        reader = StoryReader(
            text,
            narration,
            quotes,
            [s.start for s in sentences],
            [s.end for s in sentences],
            MentionTracker(drafts),
        )
        readings = _read(reader, beats)
        counts = [0] * len(drafts)
        for reading in readings.values():
            for mention in reading.mentions:
                counts[mention.character] += 1
            for speaker in reading.speakers:
                if speaker is not None:
                    counts[speaker] += 1
        kept = select_characters(drafts, counts)
        sheets = build_sheets([drafts[i] for i in kept], [counts[i] for i in kept], request.seed)
        ids = {draft_index: sheet.id for draft_index, sheet in zip(kept, sheets, strict=True)}
        panels = _stage(text, beats, readings, ids, sheets, request)
        return StoryPlan(
            title=_title(request, text, sentences, [drafts[i] for i in kept], sheets, language),
            style=request.style,
            language=language,
            reading_order=request.reading_order,
            page_size=request.page_size,
            characters=sheets,
            panels=panels,
            pages=pages_for(panels, paginate(len(panels), self.per_page)),
        )

    def edit_plan(self, plan: StoryPlan, instruction: str, *, seed: int = 0) -> PlanEdit:
        """The plan revised by a plain-language instruction, read by rules (edit_rules.py).

        Same interface as LLMPlanner.edit_plan, so a chat calls either. `seed` is unused: the
        rules add no character, and kept characters keep their seeds.
        """
        return edit_by_rules(plan, instruction, per_page=self.per_page)


def _read(reader: StoryReader, beats: list[Beat]) -> dict[tuple[int, int], BeatReading]:
    """Each distinct beat span read once, in story order."""
    readings: dict[tuple[int, int], BeatReading] = {}
    for beat in beats:
        key = (beat.start, beat.end)
        if key not in readings:
            readings[key] = reader.read(beat)
    return readings


def _stage(
    text: str,
    beats: list[Beat],
    readings: dict[tuple[int, int], BeatReading],
    ids: dict[int, str],
    sheets: list[CharacterSheet],
    request: StoryRequest,
) -> list[PanelSpec]:
    figures = {s.id: figure_of(s.attributes, s.description) for s in sheets}
    width = 3 if len(beats) > 99 else 2
    scenes = SceneTracker()
    scene: Scene | None = None
    panels: list[PanelSpec] = []
    shots: list[Shot] = []
    for index, beat in enumerate(beats):
        reading = readings[(beat.start, beat.end)]
        if beat.part == 0 or scene is None:
            scene = scenes.advance(reading.narration)
        panel = stage_panel(
            PanelInput(
                panel_id=f"p{index + 1:0{width}d}",
                index=index,
                beat=beat,
                scene=scene,
                previous_cast=[m.character_id for m in panels[-1].cast] if panels else [],
                reading_order=request.reading_order,
            ),
            reading,
            text,
            ids,
            figures,
            shots,
        )
        panels.append(panel)
        shots.append(panel.shot)
    return panels


def _title(
    request: StoryRequest,
    text: str,
    sentences: list[Beat],
    drafts: list[CharacterDraft],
    sheets: list[CharacterSheet],
    language: str,
) -> str:
    """The request's title, else the main named characters ("Mia and Bolt"), else the opening
    words of the story."""
    if request.title and request.title.strip():
        return shorten(request.title, 120)
    named = [s.name for d, s in zip(drafts, sheets, strict=True) if d.named and s.role == "main"]
    if named:
        return shorten(_TITLE_JOINERS.get(language, " & ").join(named[:2]), MAX_TITLE_CHARS)
    first = sentences[0] if sentences else Beat(0, len(text))
    opening = squash(text[first.start : first.end]).rstrip(".!?…。！？ ")
    return shorten(opening, 48) or "Untitled"
