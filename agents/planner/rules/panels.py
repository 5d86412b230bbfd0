"""Panels: one beat read (who is in it, who speaks, what the caption says) and then staged.

Reading and staging are split because a beat shown in several panels is read once (its
pronouns resolve once, its characters are counted once) and staged once per panel.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from storyviz.agents.planner.rules.beats import Beat
from storyviz.agents.planner.rules.dialogue import (
    SPEECH_VERBS,
    SpeechLine,
    narration,
    speech_lines,
)
from storyviz.agents.planner.rules.mentions import Mention, MentionTracker
from storyviz.agents.planner.rules.quotes import QuoteIndex
from storyviz.agents.planner.rules.scenes import Scene
from storyviz.agents.planner.rules.staging import (
    MAX_ON_SCREEN,
    Figure,
    ShotContext,
    action_after,
    choose_shot,
    expression_in,
    layout_boxes,
)
from storyviz.agents.planner.rules.text import shorten, squash
from storyviz.schemas import CastMember, DialogueLine, PanelSpec, ReadingOrder, Shot

MAX_CAPTION_CHARS = 140
MAX_LINES_PER_PANEL = 4
_SPEAKING = {"speech": "speaking", "shout": "shouting", "thought": "thinking"}
_SPEAKER_MOOD = {"shout": "excited", "thought": "thoughtful"}
_SPEECH_CUE_RE = re.compile(
    r"\s(?:" + "|".join(sorted(SPEECH_VERBS, key=len, reverse=True)) + r")\s*[.:,]?\s*$",
    re.IGNORECASE,
)
_VOCATIVE_RES = (
    re.compile(r"^\s*([^\W\d_][\w.' -]{0,30}?)\s*,"),  # "Whiskers, stop"
    re.compile(r",\s*([^\W\d_][\w.' -]{0,30}?)\s*[.!?,]*\s*$"),  # "Go to bed, Arun."
)


@dataclass
class BeatReading:
    """What one beat says: its mentions, dialogue with speakers, and narration."""

    mentions: list[Mention]
    lines: list[SpeechLine]
    speakers: list[int | None]
    caption: str
    narration: str
    """The beat's text with quoted speech blanked: what scenes and staging read."""
    start: int
    """Where the beat starts in the story (mention offsets are story offsets)."""


@dataclass
class StoryReader:
    """Reads beats in story order, remembering who spoke last for unattributed lines."""

    text: str
    narration: str
    quotes: QuoteIndex
    sentence_starts: list[int]
    sentence_ends: list[int]
    tracker: MentionTracker
    recent_speakers: list[int] = field(default_factory=list)
    _history: list[Mention] = field(default_factory=list)
    """Every mention read so far, for a speech verb in the beat before a quote."""
    _last_line: tuple[int, int | None] | None = None
    """Where the last dialogue line (with its attribution) ended, and its speaker."""

    def read(self, beat: Beat) -> BeatReading:
        mentions = self.tracker.scan(self.narration, beat.start, beat.end)
        self._history.extend(mentions)
        quotes = self.quotes.within(beat.start, beat.end)
        lines = speech_lines(self.text, quotes, beat.start, beat.end)
        speakers = [self._speaker(line, mentions) for line in lines]
        return BeatReading(
            mentions,
            lines,
            speakers,
            narration(self.text, beat.start, beat.end, lines),
            self.narration[beat.start : beat.end],
            beat.start,
        )

    def _speaker(self, line: SpeechLine, mentions: list[Mention]) -> int | None:
        speaker: int | None = None
        if line.attribution is not None:
            start, end = line.attribution
            named = [m for m in mentions if start <= m.start < end]
            speaker = named[0].character if named else None
            if speaker is not None and named[0].pronoun and speaker in self._addressed(line):
                # '"Evening, Detective," she said' is not the detective's line
                speaker = self._unattributed_speaker(line, mentions)
        else:  # an attribution naming no character ("called a voice") keeps no speaker
            speaker = self._unattributed_speaker(line, mentions)
        self._last_line = (line.attribution[1] if line.attribution else line.quote.end, speaker)
        if speaker is not None:
            if speaker in self.recent_speakers:
                self.recent_speakers.remove(speaker)
            self.recent_speakers.insert(0, speaker)
        return speaker

    def _unattributed_speaker(self, line: SpeechLine, mentions: list[Mention]) -> int | None:
        """Who says a line no verb attributes: the speaker of the quote it continues ("'No,'
        said Unit Seven. 'I am the cleaner.'"), the character a speech verb just before it
        names ("she gasped. 'Dad, ...'"), someone the sentence mentions, else the other side
        of the conversation; never the character the line addresses ("..., Hugo.")."""
        addressed = self._addressed(line)
        if self._last_line is not None:
            last_end, last_speaker = self._last_line
            between = self.text[last_end : line.quote.start]
            if (
                last_speaker is not None
                and re.fullmatch(r"[ \t.,;:!?…—–-]*", between)
                and last_speaker not in addressed
            ):
                return last_speaker
        cue = _SPEECH_CUE_RE.search(self.narration, max(0, line.quote.start - 60), line.quote.start)
        if cue is not None:
            before = [m for m in self._history if cue.start() - 1 <= m.end <= cue.start() + 1]
            if before and before[-1].character not in addressed:
                return before[-1].character
        k = bisect.bisect_right(self.sentence_starts, line.quote.start) - 1
        lo = self.sentence_starts[k] if k >= 0 else 0
        hi = self.sentence_ends[k] if k >= 0 else len(self.text)
        in_sentence = [m.character for m in mentions if lo <= m.start < hi]
        in_sentence = [c for c in in_sentence if c not in addressed]
        if in_sentence:
            return in_sentence[0]
        recent = [c for c in self.recent_speakers if c not in addressed]
        if len(self.recent_speakers) >= 2 and self.recent_speakers[1] not in addressed:
            return self.recent_speakers[1]  # the other side of a two-way conversation
        others = [c for c in self.tracker.recent if c not in addressed]
        if self.recent_speakers:
            other = [c for c in others if c != self.recent_speakers[0]]
            if other:
                return other[0]  # the one who has not spoken yet answers
            return recent[0] if recent else None
        if len(others) >= 2:
            return others[1]  # "Hugo and Lena sat ... 'Did you hear that?'": the first named
        return others[0] if others else None

    def _addressed(self, line: SpeechLine) -> set[int]:
        """Characters the line calls by name at its start or end ("Be nice, Whiskers")."""
        content = self.text[line.quote.start + 1 : line.quote.end - 1]
        found: set[int] = set()
        for pattern in _VOCATIVE_RES:
            m = pattern.search(content)
            if m is not None:
                found |= self.tracker.owners_of(m.group(1))
        return found


@dataclass(frozen=True)
class PanelInput:
    """Everything staging one panel needs besides the reading."""

    panel_id: str
    index: int
    beat: Beat
    scene: Scene
    previous_cast: Sequence[str]
    reading_order: ReadingOrder


def stage_panel(
    item: PanelInput,
    reading: BeatReading,
    story_text: str,
    ids: Mapping[int, str],
    figures: Mapping[str, Figure],
    shots: Sequence[Shot],
) -> PanelSpec:
    """A PanelSpec for one beat (or one part of a beat shown in several panels)."""
    beat = item.beat
    share = _lines_for_part(reading, beat.part, beat.parts)
    lines = [(line, ids.get(s) if s is not None else None) for line, s in share][
        :MAX_LINES_PER_PANEL
    ]
    cast_ids = _cast(reading, lines, ids, item.previous_cast if beat.continuation else ())
    kinds = tuple(line.kind for line, _ in lines)
    shot = choose_shot(
        ShotContext(
            index=item.index,
            part=beat.part,
            new_scene=item.scene.changed and beat.part == 0,
            cast_size=len(cast_ids),
            dialogue_kinds=kinds,
            speakers=len({s for _, s in lines if s is not None}),
            narration=reading.narration,
        ),
        shots,
    )
    boxes = layout_boxes([figures[c] for c in cast_ids], shot, item.reading_order)
    cast = [
        CastMember(
            character_id=c,
            box=box,
            action=_action(c, reading, ids, lines),
            expression=_expression(c, reading, ids, lines),
        )
        for c, box in zip(cast_ids, boxes, strict=True)
    ]
    return PanelSpec(
        id=item.panel_id,
        beat=squash(story_text[beat.start : beat.end]),
        scene=item.scene.description,
        setting=item.scene.setting,
        time_of_day=item.scene.time_of_day,
        weather=item.scene.weather,
        shot=shot,
        cast=cast,
        caption=shorten(reading.caption, MAX_CAPTION_CHARS)
        if reading.caption and beat.part == 0
        else None,
        dialogue=[DialogueLine(speaker_id=s, text=line.text, kind=line.kind) for line, s in lines],
    )


def _lines_for_part(
    reading: BeatReading, part: int, parts: int
) -> list[tuple[SpeechLine, int | None]]:
    pairs = list(zip(reading.lines, reading.speakers, strict=True))
    if parts <= 1:
        return pairs
    return pairs[part * len(pairs) // parts : (part + 1) * len(pairs) // parts]


def _cast(
    reading: BeatReading,
    lines: Sequence[tuple[SpeechLine, str | None]],
    ids: Mapping[int, str],
    inherited: Sequence[str],
) -> list[str]:
    """Speakers first (in speaking order, so balloons read in order), then whoever the beat
    mentions most; a clause that names nobody keeps the cast of the clause before it."""
    speakers = list(dict.fromkeys(s for _, s in lines if s is not None))
    counts: dict[str, int] = {}
    for mention in reading.mentions:
        sheet_id = ids.get(mention.character)
        if sheet_id is not None:
            counts[sheet_id] = counts.get(sheet_id, 0) + 1
    others = sorted((c for c in counts if c not in speakers), key=lambda c: -counts[c])
    cast = [*speakers, *others]
    if not cast:
        cast = list(inherited)
    return cast[:MAX_ON_SCREEN]


def _first_mention(reading: BeatReading, ids: Mapping[int, str], sheet_id: str) -> Mention | None:
    return next((m for m in reading.mentions if ids.get(m.character) == sheet_id), None)


def _action(
    sheet_id: str,
    reading: BeatReading,
    ids: Mapping[int, str],
    lines: Sequence[tuple[SpeechLine, str | None]],
) -> str:
    for mention in reading.mentions:
        if ids.get(mention.character) == sheet_id:
            offset = mention.end - reading.start
            action = action_after(reading.narration, offset)
            if action:
                return action
    kind = next((line.kind for line, s in lines if s == sheet_id), None)
    return _SPEAKING[kind] if kind else ""


def _expression(
    sheet_id: str,
    reading: BeatReading,
    ids: Mapping[int, str],
    lines: Sequence[tuple[SpeechLine, str | None]],
) -> str:
    """The feeling in the words between this character's mention and the next character's."""
    first = _first_mention(reading, ids, sheet_id)
    if first is not None:
        start = first.start - reading.start
        later = [
            m.start
            for m in reading.mentions
            if m.start > first.start and m.character != first.character
        ]
        end = (later[0] - reading.start) if later else len(reading.narration)
        window = reading.narration[start:end]
        stop = next((i for i, ch in enumerate(window) if ch in ".!?;。！？"), len(window))
        feeling = expression_in(window[:stop])
        if feeling:
            return feeling
    kind = next((line.kind for line, s in lines if s == sheet_id), None)
    return _SPEAKER_MOOD.get(kind or "", "")
