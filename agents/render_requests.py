"""Turning a plan into what a generator is asked to draw.

Prompts come from the templates in ``prompts/``, or from a prompt writer that fitted a panel's
prompt to the generator and stored it in the plan as ``image_prompt``; sizes come from each
panel's page slot, so a panel is rendered at the aspect its page gives it; seeds come from the
run seed and the panel id, so an interrupted run draws the same pictures when resumed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from storyviz import layouts
from storyviz.compose import panel_text_regions
from storyviz.prompts import load
from storyviz.schemas import CharacterSheet, PanelSpec, RegionPrompt, RenderRequest, StoryPlan
from storyviz.seeding import stable_seed

PROMPT_FILES = ("panel.j2", "panel_written.j2", "reference.j2", "region.j2", "negative.txt")


def prompt_hashes() -> dict[str, str]:
    """sha256 of every prompt template, for the manifest: a prompt change shows as a new hash."""
    return {name: load(name).sha256 for name in PROMPT_FILES}


def panel_seed(run_seed: int, panel_id: str) -> int:
    return stable_seed("panel", run_seed, panel_id)


def reseed(run_seed: int, panel_id: str, attempt: int) -> int:
    return stable_seed("reseed", run_seed, panel_id, attempt)


def panel_size(plan: StoryPlan, panel_id: str, long_side: int) -> tuple[int, int]:
    for page in plan.pages:
        if panel_id in page.panel_ids:
            index = page.panel_ids.index(panel_id)
            return layouts.render_size(page.template, index, plan.page_size, long_side)
    return long_side, long_side


def panel_request(
    plan: StoryPlan,
    panel_id: str,
    *,
    seed: int,
    version: int,
    long_side: int,
    references: Mapping[str, str],
    emphasis: Sequence[str] = (),
) -> RenderRequest:
    panel = plan.panel(panel_id)
    sheets = {c.id: c for c in plan.characters}
    pairs = [(sheets[m.character_id], m) for m in panel.cast]
    cast = [{"sheet": sheet, "member": member} for sheet, member in pairs]  # template's view
    width, height = panel_size(plan, panel_id, long_side)
    region_template = load("region.j2")
    return RenderRequest(
        kind="panel",
        target_id=panel_id,
        version=version,
        prompt=panel_prompt(plan, panel, cast, emphasis),
        negative_prompt=load("negative.txt").render(),
        width=width,
        height=height,
        seed=seed,
        style=plan.style,
        panel=panel,
        characters=[sheet for sheet, _ in pairs],
        regions=[
            RegionPrompt(
                box=member.box,
                prompt=region_template.render(sheet=sheet, member=member),
                character_id=sheet.id,
            )
            for sheet, member in pairs
        ],
        references={cid: path for cid, path in references.items() if cid in sheets},
        emphasis=list(emphasis),
        text_regions=panel_text_regions(plan, panel_id, (width, height)),
    )


def panel_prompt(
    plan: StoryPlan, panel: PanelSpec, cast: Sequence[Mapping[str, Any]], emphasis: Sequence[str]
) -> str:
    """The prompt a prompt writer fitted to the generator, else the template's."""
    if panel.image_prompt and panel.image_prompt.strip():
        return load("panel_written.j2").render(written=panel.image_prompt, emphasis=list(emphasis))
    return load("panel.j2").render(
        style=plan.style, panel=panel, cast=list(cast), emphasis=list(emphasis)
    )


def reference_request(plan: StoryPlan, sheet: CharacterSheet, long_side: int) -> RenderRequest:
    side = max(64, round(long_side * 0.75 / 8) * 8)
    return RenderRequest(
        kind="reference",
        target_id=sheet.id,
        prompt=load("reference.j2").render(style=plan.style, sheet=sheet),
        negative_prompt=load("negative.txt").render(),
        width=side,
        height=long_side,
        seed=sheet.seed,
        style=plan.style,
        characters=[sheet],
    )


def attribute_phrases(sheet: CharacterSheet, parts: Sequence[str] | None = None) -> list[str]:
    """Phrases like 'Mia's red hair' that a repair prompt insists on."""
    phrases = []
    for part, colour in sheet.attributes.colors.items():
        if parts is None or part in parts:
            noun = {"fur": "body", "outfit": sheet.attributes.outfit or "outfit"}.get(part, part)
            if colour.lower() in noun.lower():
                phrases.append(f"{sheet.name}'s {noun}")
            else:
                phrases.append(f"{sheet.name}'s {colour} {noun}")
    return phrases
