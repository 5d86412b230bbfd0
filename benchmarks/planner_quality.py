"""How well the offline planner reads stories: its cast, their stated colours and who says what.

    python benchmarks/planner_quality.py [--split dev|heldout] [--corpus DIR] [--story NN]
                                         [--json-only]

Plans every story of benchmarks/planner_corpus/ (the dev split; `--split heldout` takes
benchmarks/planner_corpus/heldout/, stories kept out of tuning): NN-slug.txt, with hand-written
truth in NN-slug.json (the format is in that folder's README.md), with the offline planner,
seed 0, and measures against the truth:
  * characters recall      truth characters some sheet is matched to            target >= 0.95
  * characters precision   sheets matched to a truth character, of all sheets   target >= 0.90
  * stated colours         truth (character, part) colours the matched sheet's
                           attributes.colors has                                 target >= 0.90
  * contradictions         matched sheets whose colour for a part differs from
                           the colour the story states for it                    target 0
  * speakers               truth lines with a speaker found in the panels'
                           dialogue with that character's sheet id                target >= 0.90
and, without targets: stated colours of the characters found, contradictions that are the
fallback body colour the planner gives a sheet it read no colour for, colours a matched sheet
gives a part the story leaves uncoloured (fallbacks aside), dialogue lines found at all,
species agreement, language detection, lines the story leaves unattributed that the plan gave
a speaker, and plan lines the truth lacks.

A sheet matches a truth character when its name equals the character's name or one of its
aliases, compared case-insensitively after normalising quotes and spaces and stripping a leading
article or possessive and leading titles ("Dr.", "Captain", "Old", ...), or a trailing honorific
("さん", "老师", ...), from both sides alike. Each truth character takes the first sheet with its
name, else the first with one of its aliases; a further sheet that matches it is a duplicate.
Sheets matched to no truth character (duplicates, the story's not_characters, anything else) are
false positives. Two colour words are the same colour when storyviz.colors gives them the same
RGB (grey and gray, gold and golden).
Dialogue texts are compared after NFKC, dropping quote marks and the punctuation at either end.

Prints the results as JSON (overall, per language, per style, per story with its failures), then
a table, then "targets met" or "TARGETS MISSED"; exits 1 when a target is missed. `--story NN`
prints that story's truth beside the plan instead, for debugging, and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storyviz.agents.planner.rules.offline import OfflinePlanner
from storyviz.colors import rgb_of
from storyviz.schemas import CharacterSheet, StoryPlan, StoryRequest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "benchmarks" / "planner_corpus"
SPLITS = {"dev": CORPUS, "heldout": CORPUS / "heldout"}
"""The dev split is tuned against; the held-out split is only measured, so that a rule fitted to
the dev stories' wording shows up as a gap between the two."""

TARGETS: dict[str, tuple[str, float]] = {
    "characters_recall": (">=", 0.95),
    "characters_precision": (">=", 0.90),
    "stated_colours": (">=", 0.90),
    "contradictions": ("<=", 0),
    "speakers": (">=", 0.90),
}


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Fixed here rather than taken from the planner, so a planner that learns more titles is
# measured against the same names as before.
_TITLES = _wordset(
    """mr mister mrs ms miss dr doctor prof professor captain capt admiral general colonel
    sergeant commander lieutenant judge sir dame lady lord madam madame aunt auntie uncle
    grandma grandpa granny nana coach king queen prince princess officer detective inspector
    master father mother sister brother old little young big señor señora monsieur herr frau
    доктор профессор капитан господин госпожа дядя тётя тетя"""
)
_ARTICLES = _wordset("the a an my your his her its our their")
_HONORIFICS = ("さん", "ちゃん", "くん", "君", "様", "先生", "老师", "小姐")
_QUOTE_MARKS = "\"'“”‘’„‚«»‹›「」『』"
_EDGE_PUNCTUATION = " \t\n.,;:!?…—–-、，。！？：；" + _QUOTE_MARKS


@dataclass(frozen=True)
class TruthCharacter:
    name: str
    aliases: tuple[str, ...]
    species: str
    colors: dict[str, tuple[str, ...]]
    """Part -> the colours the story states for it (usually one; two when it names two items
    of that part, e.g. red boots and a green scarf, and then either is right)."""

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(name_key(n) for n in (self.name, *self.aliases))


@dataclass(frozen=True)
class TruthLine:
    text: str
    speaker: str | None


@dataclass(frozen=True)
class Story:
    number: str
    slug: str
    text: str
    language: str
    styles: tuple[str, ...]
    characters: tuple[TruthCharacter, ...]
    not_characters: tuple[str, ...]
    dialogue: tuple[TruthLine, ...]


@dataclass
class Counts:
    """Everything the metrics are made of, summable over stories."""

    stories: int = 0
    truth_characters: int = 0
    found_characters: int = 0
    sheets: int = 0
    matched_sheets: int = 0
    stated_colours: int = 0
    stated_colours_of_found: int = 0
    found_colours: int = 0
    contradictions: int = 0
    fallback_contradictions: int = 0
    unstated_colours: int = 0
    attributed_lines: int = 0
    right_speakers: int = 0
    truth_lines: int = 0
    found_lines: int = 0
    unattributed_lines: int = 0
    unattributed_given_speaker: int = 0
    extra_plan_lines: int = 0
    species_checked: int = 0
    species_agree: int = 0
    language_right: int = 0

    def add(self, other: Counts) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def metrics(self) -> dict[str, Any]:
        return {
            "stories": self.stories,
            "characters_recall": _ratio(self.found_characters, self.truth_characters),
            "characters_precision": _ratio(self.matched_sheets, self.sheets),
            "stated_colours": _ratio(self.found_colours, self.stated_colours),
            "contradictions": self.contradictions,
            "speakers": _ratio(self.right_speakers, self.attributed_lines),
            "stated_colours_of_found_characters": _ratio(
                self.found_colours, self.stated_colours_of_found
            ),
            "contradictions_by_fallback_colours": self.fallback_contradictions,
            "unstated_colours": self.unstated_colours,
            "dialogue_lines_found": _ratio(self.found_lines, self.truth_lines),
            "species_agreement": _ratio(self.species_agree, self.species_checked),
            "language_detected": _ratio(self.language_right, self.stories),
            "unattributed_lines_given_a_speaker": self.unattributed_given_speaker,
            "extra_plan_lines": self.extra_plan_lines,
            "counts": {
                "truth_characters": self.truth_characters,
                "sheets": self.sheets,
                "stated_colours": self.stated_colours,
                "attributed_lines": self.attributed_lines,
                "truth_lines": self.truth_lines,
            },
        }


@dataclass
class StoryResult:
    story: Story
    plan: StoryPlan
    counts: Counts
    matches: dict[int, CharacterSheet] = field(default_factory=dict)
    """Truth character index -> its matched sheet."""
    failures: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)

    def fail(self, kind: str, detail: str) -> None:
        self.failures.append(f"{kind}: {detail}")
        self.kinds[kind] += 1


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 3) if denominator else None


def _words(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")
    return " ".join(text.split())


def name_key(name: str) -> str:
    """A name as compared: lower case, no leading article or titles, no trailing honorific."""
    words = [w.strip(_EDGE_PUNCTUATION) for w in _words(name).lower().split()]
    words = [w for w in words if w]
    if len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    while len(words) > 1 and words[0].rstrip(".") in _TITLES:
        words = words[1:]
    key = " ".join(words)
    for suffix in _HONORIFICS:
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
            break
    return key


def line_key(text: str) -> str:
    """A dialogue line as compared: NFKC, no quote marks, no punctuation at either end."""
    text = _words(text).lower()
    text = "".join(ch for ch in text if ch not in _QUOTE_MARKS)
    return " ".join(text.strip(_EDGE_PUNCTUATION).split())


def same_colour(a: str, b: str) -> bool:
    if a.lower() == b.lower():
        return True
    try:
        return rgb_of(a) == rgb_of(b)
    except KeyError:
        return False


def load_corpus(folder: Path) -> list[Story]:
    stories: list[Story] = []
    for path in sorted(folder.glob("*.txt")):
        number, _, slug = path.stem.partition("-")
        truth = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        characters = tuple(
            TruthCharacter(
                c["name"],
                tuple(c.get("aliases", [])),
                c.get("species", "human"),
                {
                    part: tuple([colour] if isinstance(colour, str) else colour)
                    for part, colour in c.get("colors", {}).items()
                },
            )
            for c in truth["characters"]
        )
        names = {c.name for c in characters}
        dialogue = tuple(TruthLine(d["text"], d.get("speaker")) for d in truth["dialogue"])
        unknown = [d.speaker for d in dialogue if d.speaker is not None and d.speaker not in names]
        if unknown:
            sys.exit(f"{path.with_suffix('.json').name}: speakers {unknown} are not characters")
        stories.append(
            Story(
                number,
                slug,
                path.read_text(encoding="utf-8"),
                truth["language"],
                tuple(truth.get("styles", [])),
                characters,
                tuple(truth.get("not_characters", [])),
                dialogue,
            )
        )
    return stories


def plan_story(planner: OfflinePlanner, story: Story) -> StoryPlan:
    return planner.plan(StoryRequest(story=story.text, seed=0))


def evaluate(story: Story, plan: StoryPlan) -> StoryResult:
    result = StoryResult(story, plan, Counts(stories=1))
    counts = result.counts
    counts.language_right = int(plan.language == story.language)
    if not counts.language_right:
        result.fail("language", f"detected {plan.language!r}, truth {story.language!r}")
    _match_sheets(result)
    _score_colours(result)
    _score_unstated(result)
    _score_dialogue(result)
    return result


def _match_sheets(result: StoryResult) -> None:
    """Each truth character takes the first sheet named by its name, else the first named by
    one of its aliases; every other sheet is a false positive."""
    story, counts = result.story, result.counts
    counts.truth_characters = len(story.characters)
    counts.sheets = len(result.plan.characters)
    keys = [name_key(sheet.name) for sheet in result.plan.characters]
    taken: set[int] = set()
    for by_alias in (False, True):
        for i, character in enumerate(story.characters):
            if i in result.matches:
                continue
            wanted = character.keys if by_alias else {name_key(character.name)}
            at = next((k for k, key in enumerate(keys) if k not in taken and key in wanted), None)
            if at is not None:
                taken.add(at)
                result.matches[i] = result.plan.characters[at]
    objects = {name_key(n) for n in story.not_characters}
    for k, sheet in enumerate(result.plan.characters):
        if k in taken:
            continue
        fitting = [c.name for c in story.characters if keys[k] in c.keys]
        if fitting:
            result.fail("duplicate sheet", f"{sheet.name!r} is also {fitting[0]!r}")
        elif keys[k] in objects:
            result.fail("not-a-character sheet", repr(sheet.name))
        else:
            result.fail("unknown sheet", repr(sheet.name))
    counts.found_characters = counts.matched_sheets = len(result.matches)
    for i, character in enumerate(story.characters):
        matched = result.matches.get(i)
        if matched is None:
            result.fail("missed character", repr(character.name))
            continue
        counts.species_checked += 1
        if matched.attributes.species == character.species:
            counts.species_agree += 1
        else:
            result.fail(
                "species",
                f"{character.name!r} is {character.species!r}, "
                f"sheet says {matched.attributes.species!r}",
            )


def _score_colours(result: StoryResult) -> None:
    counts = result.counts
    for i, character in enumerate(result.story.characters):
        sheet = result.matches.get(i)
        for part, stated in character.colors.items():
            counts.stated_colours += 1
            if sheet is None:
                continue
            counts.stated_colours_of_found += 1
            got = sheet.attributes.colors.get(part)
            said = "/".join(stated)
            if got is not None and any(same_colour(got, s) for s in stated):
                counts.found_colours += 1
            elif got is None:
                result.fail("missed colour", f"{character.name!r} {part} {said}")
            else:
                counts.contradictions += 1
                fallback = _is_fallback(sheet, part, got)
                counts.fallback_contradictions += int(fallback)
                result.fail(
                    "contradiction",
                    f"{character.name!r} {part} is {said}, sheet says {got}"
                    + (" (a fallback colour)" if fallback else ""),
                )


def _score_unstated(result: StoryResult) -> None:
    """Colours a matched sheet gives parts the story leaves uncoloured, other than the fallback
    body colour: read from someone else's description, or from the wrong word."""
    for i, character in enumerate(result.story.characters):
        sheet = result.matches.get(i)
        if sheet is None:
            continue
        for part, colour in sheet.attributes.colors.items():
            if part not in character.colors and not _is_fallback(sheet, part, colour):
                result.counts.unstated_colours += 1
                result.fail("unstated colour", f"{character.name!r} {part} {colour}")


def _is_fallback(sheet: CharacterSheet, part: str, colour: str) -> bool:
    """Whether the sheet's colour for the part is the body colour the planner gives a character
    whose story it read no colour from: outfit (people) or fur (animals, robots) in a colour its
    description of that part does not name ("blue clothes" written for it, or "tweed jacket")."""
    attributes = sheet.attributes
    text = attributes.outfit if part == "outfit" else attributes.skin if part == "fur" else None
    if part not in ("outfit", "fur"):
        return False
    return (
        text is None
        or text in (f"{colour} clothes", f"{colour} fur", f"{colour} body")
        or (colour not in text.lower().split())
    )


def _score_dialogue(result: StoryResult) -> None:
    story, counts = result.story, result.counts
    ids = {
        character.name: result.matches[i].id
        for i, character in enumerate(story.characters)
        if i in result.matches
    }
    names = {sheet.id: sheet.name for sheet in result.plan.characters}
    plan_lines = [
        (line_key(line.text), line.speaker_id, line.text)
        for panel in result.plan.panels
        for line in panel.dialogue
    ]
    used: set[int] = set()
    for truth in story.dialogue:
        counts.truth_lines += 1
        attributed = truth.speaker is not None
        counts.attributed_lines += int(attributed)
        counts.unattributed_lines += int(not attributed)
        wanted = line_key(truth.text)
        at = next(
            (k for k, (key, _, _) in enumerate(plan_lines) if k not in used and key == wanted),
            None,
        )
        if at is None:
            result.fail("missed line", f"{truth.text!r} ({truth.speaker})")
            continue
        used.add(at)
        counts.found_lines += 1
        speaker_id = plan_lines[at][1]
        got = names.get(speaker_id, speaker_id) if speaker_id is not None else None
        if truth.speaker is None:
            if speaker_id is not None:
                counts.unattributed_given_speaker += 1
                result.fail("speaker for unattributed line", f"{truth.text!r}: plan says {got!r}")
        elif speaker_id is not None and ids.get(truth.speaker) == speaker_id:
            counts.right_speakers += 1
        else:
            result.fail(
                "no speaker" if got is None else "wrong speaker",
                f"{truth.text!r} is {truth.speaker!r}, plan says {got!r}",
            )
    extra = [text for k, (_, _, text) in enumerate(plan_lines) if k not in used]
    counts.extra_plan_lines = len(extra)
    for text in extra:
        result.fail("extra plan line", repr(text))


def summarise(results: Sequence[StoryResult], corpus: Path) -> dict[str, Any]:
    overall = Counts()
    languages: dict[str, Counts] = {}
    styles: dict[str, Counts] = {}
    for result in results:
        overall.add(result.counts)
        languages.setdefault(result.story.language, Counts()).add(result.counts)
        for style in result.story.styles:
            styles.setdefault(style, Counts()).add(result.counts)
    metrics = overall.metrics()
    kinds: Counter[str] = Counter()
    for result in results:
        kinds.update(result.kinds)
    return {
        "corpus": str(
            corpus.resolve().relative_to(ROOT) if corpus.resolve().is_relative_to(ROOT) else corpus
        ),
        "planner": "offline",
        "targets": {name: f"{op} {value}" for name, (op, value) in TARGETS.items()},
        "overall": metrics,
        "missed_targets": missed_targets(metrics),
        "failure_kinds": dict(kinds.most_common()),
        "languages": {lang: c.metrics() for lang, c in sorted(languages.items())},
        "styles": {style: c.metrics() for style, c in sorted(styles.items())},
        "stories": {
            f"{r.story.number}-{r.story.slug}": {
                "characters_found": f"{r.counts.found_characters}/{r.counts.truth_characters}",
                "sheets": [s.name for s in r.plan.characters],
                "failures": r.failures,
            }
            for r in results
        },
    }


def missed_targets(metrics: dict[str, Any]) -> list[str]:
    missed: list[str] = []
    for name, (op, target) in TARGETS.items():
        value = metrics[name]
        if value is None:
            continue
        ok = value >= target if op == ">=" else value <= target
        if not ok:
            missed.append(f"{name} {value} (target {op} {target})")
    return missed


def table(report: dict[str, Any]) -> str:
    header = ("", "stories", "char R", "char P", "colours", "contra", "speakers", "lines")
    rows: list[tuple[str, ...]] = [header]

    def row(label: str, m: dict[str, Any]) -> tuple[str, ...]:
        def f(v: float | None) -> str:
            return "-" if v is None else f"{v:.2f}"

        return (
            label,
            str(m["stories"]),
            f(m["characters_recall"]),
            f(m["characters_precision"]),
            f(m["stated_colours"]),
            str(m["contradictions"]),
            f(m["speakers"]),
            f(m["dialogue_lines_found"]),
        )

    rows.append(row("overall", report["overall"]))
    rows.extend(row(f"lang {k}", m) for k, m in report["languages"].items())
    rows.extend(row(f"style {k}", m) for k, m in report["styles"].items())
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    )


def debug_story(result: StoryResult) -> str:
    story, plan = result.story, result.plan
    out = [f"{story.number}-{story.slug} ({story.language}; {', '.join(story.styles)})", ""]
    out.append(story.text.strip())
    out.append("")
    out.append(f"plan language: {plan.language}")
    out.append("truth characters -> matched sheet:")
    for i, character in enumerate(story.characters):
        colours = {p: "/".join(c) for p, c in character.colors.items()}
        sheet = result.matches.get(i)
        got = (
            f"{sheet.id} {sheet.name!r} {sheet.attributes.species} {sheet.attributes.colors}"
            if sheet
            else "(none)"
        )
        out.append(f"  {character.name!r} {character.species} {colours}")
        out.append(f"      -> {got}")
    out.append("sheets:")
    for sheet in plan.characters:
        out.append(
            f"  {sheet.id}: {sheet.name!r} {sheet.attributes.species} {sheet.attributes.colors}"
            f" - {sheet.description}"
        )
    out.append("truth dialogue:")
    out.extend(f"  {line.speaker}: {line.text}" for line in story.dialogue)
    out.append("plan dialogue:")
    for panel in plan.panels:
        out.extend(f"  {panel.id} {line.speaker_id}: {line.text}" for line in panel.dialogue)
    out.append("failures:")
    out.extend(f"  {failure}" for failure in result.failures or ["(none)"])
    return "\n".join(out)


def run(stories: Iterable[Story]) -> list[StoryResult]:
    planner = OfflinePlanner()
    return [evaluate(story, plan_story(planner, story)) for story in stories]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", choices=sorted(SPLITS), default="dev")
    parser.add_argument("--corpus", type=Path, help="a story folder (overrides --split)")
    parser.add_argument("--story", help="print one story's truth beside its plan (NN)")
    parser.add_argument("--json-only", action="store_true", help="print the JSON only")
    args = parser.parse_args()
    if args.corpus is None:
        args.corpus = SPLITS[args.split]
    stories = load_corpus(args.corpus)
    if not stories:
        sys.exit(f"no stories in {args.corpus}")
    if args.story is not None:
        chosen = [s for s in stories if s.number == args.story.zfill(2)]
        if not chosen:
            sys.exit(f"no story {args.story} in {args.corpus}")
        print(debug_story(run(chosen)[0]))
        return
    report = summarise(run(stories), args.corpus)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if not args.json_only:
        print()
        print(table(report))
        print()
    missed = report["missed_targets"]
    print("targets met" if not missed else "TARGETS MISSED: " + "; ".join(missed))
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
