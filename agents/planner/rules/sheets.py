"""Character sheets: ids, colours, descriptions, reference prompts, seeds and roles.

A sheet is the contract every later stage keeps a character to. Every sheet gets at least one
body colour (outfit for people, fur for animals and robots): the story's own where it gives one,
otherwise a fallback colour no other character uses, so characters stay tell-apart in a sketch
and measurable for the colour auditor. A fallback is listed in `assigned_colors`, so neither the
report nor a reader takes it for the story's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from storyviz.agents.planner.rules.characters import CharacterDraft
from storyviz.agents.planner.rules.looks import describe
from storyviz.agents.planner.rules.text import shorten, slugify, stable_seed
from storyviz.colors import COLOR_RGB, FALLBACK_PALETTE
from storyviz.schemas import CharacterAttributes, CharacterSheet

MAX_CHARACTERS = 16
"""As many as the fallback palette has distinct colours; a larger cast keeps its most present."""

MAX_MAIN = 3
Role = Literal["main", "supporting"]
_NATURAL_FUR = ("brown", "golden", "silver")
_NATURAL_PLATING = ("silver", "teal", "blue")


def select_characters(drafts: Sequence[CharacterDraft], counts: Sequence[int]) -> list[int]:
    """Indices of the characters to keep: the most mentioned, in order of first appearance."""
    ranked = sorted(range(len(drafts)), key=lambda i: (-counts[i], drafts[i].first, i))
    return sorted(ranked[:MAX_CHARACTERS], key=lambda i: (drafts[i].first, i))


def build_sheets(
    drafts: Sequence[CharacterDraft], counts: Sequence[int], seed: int
) -> list[CharacterSheet]:
    """One sheet per draft (already selected), in the drafts' order."""
    ids = _unique_ids(drafts)
    attributes = [d.looks.attributes() for d in drafts]
    _give_body_colours(drafts, attributes)
    roles = _roles(drafts, counts)
    sheets: list[CharacterSheet] = []
    for draft, sheet_id, attrs, role in zip(drafts, ids, attributes, roles, strict=True):
        description = describe(draft.looks, attrs)
        subject = f"{draft.name}, {description}" if draft.named else description
        sheets.append(
            CharacterSheet(
                id=sheet_id,
                name=draft.name if draft.named else draft.name[:1].upper() + draft.name[1:],
                description=description,
                attributes=attrs,
                reference_prompt=shorten(
                    f"character reference of {subject}, full body, front view, neutral pose, "
                    "plain light background",
                    240,
                ),
                seed=stable_seed(seed, sheet_id),
                role=role,
            )
        )
    return sheets


def _unique_ids(drafts: Sequence[CharacterDraft]) -> list[str]:
    ids: list[str] = []
    for number, draft in enumerate(drafts, start=1):
        base = slugify(draft.name)
        if not draft.named and base.startswith("the-"):
            base = base[4:]
        base = base or slugify(draft.looks.noun or "") or f"character-{number}"
        candidate, suffix = base, 2
        while candidate in ids:
            candidate, suffix = f"{base}-{suffix}", suffix + 1
        ids.append(candidate)
    return ids


def _give_body_colours(
    drafts: Sequence[CharacterDraft], attributes: list[CharacterAttributes]
) -> None:
    """Outfit (people) or fur (animals, robots) colour for each sheet whose story gave none."""
    used = {colour for attrs in attributes for colour in attrs.colors.values()}
    for index, (draft, attrs) in enumerate(zip(drafts, attributes, strict=True)):
        part = "outfit" if draft.looks.clothed else "fur"
        if part in attrs.colors:
            continue
        robot = "robot" in attrs.species
        natural = () if draft.looks.clothed else (_NATURAL_PLATING if robot else _NATURAL_FUR)
        choices = dict.fromkeys([*natural, *FALLBACK_PALETTE, *COLOR_RGB])
        colour = next(
            (c for c in choices if c not in used), FALLBACK_PALETTE[index % len(FALLBACK_PALETTE)]
        )
        used.add(colour)
        colors = {**attrs.colors, part: colour}
        assigned = [*attrs.assigned_colors, part]
        if part == "outfit":
            attributes[index] = attrs.model_copy(
                update={
                    "colors": colors,
                    "assigned_colors": assigned,
                    "outfit": attrs.outfit or f"{colour} clothes",
                }
            )
        else:
            body = "body" if robot else "fur"
            attributes[index] = attrs.model_copy(
                update={
                    "colors": colors,
                    "assigned_colors": assigned,
                    "skin": attrs.skin or f"{colour} {body}",
                }
            )
        draft.looks.body_color = draft.looks.body_color or (None if part == "outfit" else colour)


def _roles(drafts: Sequence[CharacterDraft], counts: Sequence[int]) -> list[Role]:
    """ "main" for the most mentioned (at least one, at most three), "supporting" for the rest."""
    if not drafts:
        return []
    ranked = sorted(range(len(drafts)), key=lambda i: (-counts[i], drafts[i].first, i))
    top = counts[ranked[0]]
    main = {ranked[0]} | {i for i in ranked[1:MAX_MAIN] if counts[i] >= max(2, top / 2)}
    return ["main" if i in main else "supporting" for i in range(len(drafts))]
