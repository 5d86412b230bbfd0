"""Plain-language plan edits read by rules, for the offline planner (no model needed).

It understands a handful of English phrase forms, one change per sentence (several changes can
be joined with ";" or given on separate lines):

- a panel's time, weather, place or shot: "make panel 3 at night", "panel 2 in the park, rainy",
  "make the last panel a close-up";
- a character's look, for the whole comic: "Mia wears a green scarf from now on", "give Bolt a
  red collar", "make Mia's hair blue", "Mia takes off her scarf";
- "add a panel after 4 where Bolt barks" (before N, at the start, at the end);
- "remove the second panel", "delete panels 2 and 3";
- "swap panels 2 and 3", "move panel 5 before 2";
- the drawing style: "change the style to watercolor", "draw it as an ink sketch".

Anything else is answered with EditNotUnderstood, whose message lists these forms: it is better
to say so than to guess and redraw the wrong thing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from storyviz.agents.planner.edit.ops import (
    AddPanel,
    Edit,
    LookChange,
    MovePanel,
    RemovePanels,
    SceneChange,
    StyleChange,
    narration_of,
)
from storyviz.agents.planner.edit.plans import PlanEdit, clear_written_prompts, diff_plans
from storyviz.agents.planner.edit.refs import (
    REF,
    characters_named,
    find_character,
    panel_list,
    resolve_panel,
)
from storyviz.agents.planner.rules.looks import (
    PART_WORDS,
    colour_word,
    make_feature,
    parse_features,
)
from storyviz.agents.planner.rules.scene_words import SETTINGS, TIMES, WEATHER
from storyviz.agents.planner.rules.scenes import KeywordTable
from storyviz.errors import InputError
from storyviz.schemas import Shot, StoryPlan

EXAMPLES = (
    "'make panel 3 at night', 'Mia wears a green scarf from now on', "
    "'add a panel after 4 where Bolt barks', 'remove the second panel', 'swap panels 2 and 3'"
)


class EditNotUnderstood(InputError):
    """The rules found no edit they know in the instruction; the plan is left as it was."""


def _english(table: dict[str, tuple[str, ...]], drop: set[str]) -> dict[str, tuple[str, ...]]:
    """A scene-word table cut to plain-ASCII forms: an English instruction must not match the
    German "see" (lake) or a Russian stem."""
    return {
        name: tuple(f for f in forms if f.isascii() and f not in drop)
        for name, forms in table.items()
    }


_TIMES = KeywordTable({**_english(TIMES, set()), "day": ("day", "daytime", "daylight", "by day")})
_WEATHER = KeywordTable(
    {**_english(WEATHER, set()), "": ("clear", "dry", "no rain", "without rain", "fine weather")}
)
_SETTINGS = KeywordTable(_english(SETTINGS, {"see"}))
_SHOTS: dict[str, Shot] = {
    r"close[- ]?ups?": "close-up",
    r"wide(?:[- ]shot)?": "wide",
    r"establishing(?:[- ]shot)?": "establishing",
    r"medium(?:[- ]shot)?": "medium",
    r"low[- ]angle": "low-angle",
    r"over[- ]the[- ]shoulder": "over-the-shoulder",
}
_PLEASE = r"^(?:(?:please|can you|could you|now|ok|okay|and|then)[,\s]+)*"
_FROM_NOW = (
    r"(?:\s+(?:from now on|from here on|from then on|now|again|always|everywhere|"
    r"in every panel|in all panels|throughout))*"
)
_WEAR = (
    r"(?:now\s+|will\s+|should\s+|shall\s+|always\s+)?(?:wears|wear|is wearing|has|have|has got|"
    r"gets|puts on|sports|carries)"
)
_TAKE_OFF = r"(?:takes off|took off|no longer wears|no longer has|removes|loses|drops)"
_POSSESSIVE = r"(?:'s|’s)"
_PANEL_REFS = re.compile(
    rf"\b(?:panels?\s+(?P<refs>{REF}(?:\s*(?:,|and|&|-|–|to)\s*{REF})*)"
    rf"|(?P<ordinals>(?:the\s+)?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|"
    rf"tenth|last|\d+(?:st|nd|rd|th))(?:\s+and\s+(?:the\s+)?\w+)?\s+panels?)"
    rf"|(?P<all>all (?:the )?panels|every panel|each panel)"
    r"|(?P<ids>\bp\d+(?:\s*(?:,|and|&)\s*p\d+)*)\b)",
    re.IGNORECASE,
)


def edit_by_rules(plan: StoryPlan, instruction: str, *, per_page: int) -> PlanEdit:
    """The plan revised by `instruction`, with the diff a chat needs (what to redraw)."""
    clauses = [c for c in re.split(r"[;\n]+", instruction) if c.strip()]
    if not clauses:
        raise InputError("the edit instruction is empty")
    new, said = plan, []
    for clause in clauses:
        edit = read_edit(new, clause)
        new, sentence = edit.apply(new, per_page)
        said.append(sentence)
    diff = clear_written_prompts(diff_plans(plan, new))
    return diff.model_copy(update={"summary": f"{'; '.join(said)} [{diff.summary}]"})


def read_edit(plan: StoryPlan, clause: str) -> Edit:
    """The one edit a clause asks for; EditNotUnderstood when no rule reads it."""
    text = re.sub(_PLEASE, "", " ".join(clause.split()).rstrip(".!"), flags=re.IGNORECASE)
    for rule in _RULES:
        edit = rule(plan, text)
        if edit is not None:
            return edit
    raise EditNotUnderstood(
        f"I did not understand {clause.strip()!r}; nothing was changed. I understand: {EXAMPLES}"
    )


def _match(pattern: str, text: str) -> re.Match[str] | None:
    return re.fullmatch(pattern, text, re.IGNORECASE)


def _names(plan: StoryPlan) -> str:
    names = sorted({c.name for c in plan.characters} | {c.id for c in plan.characters}, key=len)
    return "|".join(re.escape(n) for n in reversed(names)) or r"(?!x)x"


def _swap_or_move(plan: StoryPlan, text: str) -> Edit | None:
    m = _match(rf"(?:swap|switch|exchange)\s+(?:panels?\s+)?({REF})\s+(?:and|with|&)\s+"
               rf"(?:panel\s+)?({REF})", text)  # fmt: skip
    if m:
        a, b = (resolve_panel(plan, g).index for g in m.groups())
        if a == b:
            raise InputError("swapping a panel with itself changes nothing")
        return MovePanel(a, b, swap=True)
    m = _match(rf"move\s+(?:panel\s+)?({REF})\s+(?:(before|after)\s+(?:panel\s+)?({REF})|"
               r"to the (end|start|beginning|front))", text)  # fmt: skip
    if m is None:
        return None
    index = resolve_panel(plan, m.group(1)).index
    if m.group(4):
        to = len(plan.panels) if m.group(4) == "end" else 0
    else:
        anchor = resolve_panel(plan, m.group(3)).index
        to = anchor + (1 if m.group(2).lower() == "after" else 0)
    return MovePanel(index, to)


def _remove(plan: StoryPlan, text: str) -> Edit | None:
    m = _match(r"(?:remove|delete|drop|cut)\s+(?:the\s+)?(?P<refs>(?:panels?\s+)?.+?)", text)
    if m is None or re.search(_POSSESSIVE, m.group("refs")):
        return None
    refs = re.sub(r"\s+panels?$", "", m.group("refs"), flags=re.IGNORECASE)
    return RemovePanels(tuple(r.index for r in panel_list(plan, refs)))


def _add(plan: StoryPlan, text: str) -> Edit | None:
    m = _match(
        r"(?:add|insert)\s+(?:(?:a|an|one|another|one more)\s+)?(?:new\s+)?panel"
        rf"(?:\s+(?P<where>after|before)\s+(?:panel\s+)?(?P<ref>{REF})"
        r"|\s+(?:at the\s+)?(?P<edge>end|start|beginning|first|last))?"
        r"\s*(?:[,:–—-]\s*)?(?:(?:where|in which|showing|that shows|which shows|with|of)\s+)?"
        r"(?P<what>.*)",
        text,
    )
    if m is None:
        return None
    what = m.group("what").strip()
    if not what:
        raise InputError(
            "say what the new panel shows, e.g. 'add a panel after 4 where Bolt barks'"
        )
    if m.group("ref"):
        anchor = resolve_panel(plan, m.group("ref")).index
        at = anchor + (1 if m.group("where").lower() == "after" else 0)
    else:
        at = (
            0
            if (m.group("edge") or "").lower() in ("start", "beginning", "first")
            else len(plan.panels)
        )
    cast = tuple(c.id for c in characters_named(plan, narration_of(what)))
    return AddPanel(at, what, cast, _scene_words(what))


def _scene_words(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, table in (("time_of_day", _TIMES), ("weather", _WEATHER), ("setting", _SETTINGS)):
        name = table.last(text)
        if name is not None:
            found[key] = name
    return found


def _looks(plan: StoryPlan, text: str) -> Edit | None:
    names = _names(plan)
    m = _match(rf"(?:remove|take off)\s+({names}){_POSSESSIVE}\s+(?P<noun>[\w-]+)", text) or _match(
        rf"({names})\s+{_TAKE_OFF}\s+(?:(?:her|his|its|their|the|a|an)\s+)?(?P<noun>[\w-]+)"
        rf"{_FROM_NOW}",
        text,
    )
    if m:
        return LookChange(find_character(plan, m.group(1)).id, take_off=(m.group("noun").lower(),))
    m = _match(
        rf"(?:make|turn|change|colou?r)\s+({names}){_POSSESSIVE}\s+(?P<noun>[\w-]+)\s+"
        rf"(?:to\s+|into\s+)?(?P<colour>[\w -]+?){_FROM_NOW}",
        text,
    ) or _match(
        rf"({names}){_POSSESSIVE}\s+(?P<noun>[\w-]+)\s+(?:is|are|becomes|turns|should be|"
        rf"will be)\s+(?:now\s+)?(?P<colour>[\w -]+?){_FROM_NOW}",
        text,
    )
    if m:
        return _recolour(plan, m.group(1), m.group("noun"), m.group("colour"))
    m = _match(rf"({names})\s+{_WEAR}\s+(?P<what>.+?){_FROM_NOW}", text) or _match(
        rf"give\s+({names})\s+(?P<what>.+?){_FROM_NOW}", text
    )
    if m is None:
        return None
    sheet = find_character(plan, m.group(1))
    what = m.group("what")
    if re.search(r"\bfrom\s+(?:panel\s+)?\S+\s+on(?:wards)?\b|\bin panels?\b", what, re.I):
        raise InputError(
            f"a look holds for the whole comic: say '{sheet.name} wears ... from now on' and "
            f"every panel with {sheet.name} is redrawn (a look cannot start at one panel)"
        )
    features = parse_features(what)
    if not features:
        raise InputError(
            f"I don't know how to draw {what!r} on {sheet.name}: name clothing, hair, eyes or an "
            "accessory, e.g. 'a green scarf'"
        )
    return LookChange(sheet.id, features=tuple(features))


def _recolour(plan: StoryPlan, name: str, noun: str, colour_text: str) -> Edit:
    sheet = find_character(plan, name)
    noun = noun.lower()
    if noun not in PART_WORDS:
        raise InputError(f"I don't know the part {noun!r} of {sheet.name}; try hair, eyes, a coat")
    part = PART_WORDS[noun]
    colour = colour_word(colour_text.split()[-1], part)
    if colour is None:
        raise InputError(f"{colour_text!r} is not a colour I can draw (e.g. red, green, blue)")
    return LookChange(sheet.id, features=(make_feature(noun, [colour]),))


def _unknown_character(plan: StoryPlan, text: str) -> Edit | None:
    """ "Zed wears a hat" names nobody in the plan: say who is there instead of "not understood"."""
    m = re.match(r"give\s+([A-Z][\w-]*)\s", text) or re.match(
        rf"([A-Z][\w-]*)(?:{_POSSESSIVE})?\s+(?:{_WEAR}|{_TAKE_OFF})\b", text
    )
    if m and m.group(1).lower() not in ("panel", "the", "it"):
        find_character(plan, m.group(1))  # raises, naming the characters there are
    return None


def _scene(plan: StoryPlan, text: str) -> Edit | None:
    refs = _PANEL_REFS.search(text)
    if refs is None:
        return None
    if refs.group("all"):
        panels = tuple(range(len(plan.panels)))
    else:
        said = refs.group("refs") or refs.group("ids")
        said = said or re.sub(r"\s+panels?$", "", refs.group("ordinals"), flags=re.I)
        panels = tuple(r.index for r in panel_list(plan, said))
    rest = (text[: refs.start()] + " " + text[refs.end() :]).lower()
    words = _scene_words(rest)
    shot = next((s for pattern, s in _SHOTS.items() if re.search(rf"\b{pattern}\b", rest)), None)
    if not words and shot is None:
        raise EditNotUnderstood(
            f"I can change a panel's time of day, weather, place or shot (e.g. 'make panel "
            f"{panels[0] + 1} at night', '... rainy', '... in the park', '... a close-up'); "
            f"I did not understand {text!r}, so nothing was changed"
        )
    return SceneChange(
        panels,
        time_of_day=words.get("time_of_day"),
        weather=words.get("weather"),
        setting=words.get("setting"),
        shot=shot,
    )


def _style(plan: StoryPlan, text: str) -> Edit | None:
    m = _match(
        r"(?:change|set|switch)\s+the\s+(?:art\s+|drawing\s+)?style\s+(?:to|into)\s+(?P<style>.+)",
        text,
    ) or _match(
        r"(?:draw|render|make|redraw)\s+(?:it|everything|the (?:whole )?comic|all (?:the )?panels)"
        r"\s+(?:in|as)\s+(?:an?\s+)?(?P<style>.+)",
        text,
    )
    return StyleChange(m.group("style").strip()) if m else None


_RULES: tuple[Callable[[StoryPlan, str], Edit | None], ...] = (
    _swap_or_move,
    _add,
    _looks,
    _remove,
    _scene,
    _style,
    _unknown_character,
)
