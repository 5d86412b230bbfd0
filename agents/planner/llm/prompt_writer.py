"""The prompt writer (LLMGA's role): the planner's model writes each panel's generation prompt.

The template (``prompts/panel.j2``) lists every field of a panel and every cast member's whole
description, in the same words for every model. A language model can do better for the model
that draws: tags for SD-family CLIP encoders, sentences for FLUX's T5 or an image API, within
the window the model actually reads. The generator says what it wants (``PromptFormat``: style,
token budget, its own token counter) and the writer is held to it: every panel answered once,
every cast member's colour words present (identity first), the budget kept. Answers that fall
short go back with their problems; on the last attempt a prompt over its budget is accepted
(SD/SDXL read long prompts in windows, a text-taking pipeline warns about what it cut), while a
missing panel or a dropped colour still fails the run with one line.

The written prompt is stored in the plan (``PanelSpec.image_prompt``), so it is in plan.json,
is what each version records as its prompt, and a resumed run draws from the same words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from storyviz.agents.planner.llm.budget import Deadline
from storyviz.agents.planner.llm.retry import ask_until_valid
from storyviz.agents.planner.llm.schema import PanelPromptsAnswer
from storyviz.agents.render_requests import panel_prompt
from storyviz.geometry import place_in_panel
from storyviz.prompts import load
from storyviz.protocols import PromptFormat
from storyviz.providers.base import CallLimits, ChatMessage, ChatModel
from storyviz.schemas import PanelSpec, StoryPlan

SYSTEM_PROMPT = "prompt_writer_system.txt"
WRITER_PROMPT = "prompt_writer.j2"
PANELS_PER_CALL = 12  # a long story is asked for in parts: answers stay short and checkable


def write_prompts(
    chat: ChatModel,
    plan: StoryPlan,
    panel_ids: Sequence[str],
    form: PromptFormat,
    *,
    max_retries: int,
    limits: Callable[[int], CallLimits] | None = None,
    deadline: Deadline | None = None,
) -> StoryPlan:
    """``plan`` with ``image_prompt`` written for ``panel_ids`` (the others keep theirs);
    `limits` gives the bounds of a call for so many panels, `deadline` the planning's."""
    wanted = [p for p in plan.panels if p.id in set(panel_ids)]
    written: dict[str, str] = {}
    for start in range(0, len(wanted), PANELS_PER_CALL):
        part = wanted[start : start + PANELS_PER_CALL]
        bounds = limits(len(part)) if limits is not None else None
        written.update(_ask(chat, plan, part, form, max_retries, bounds, deadline))
    panels = [
        p.model_copy(update={"image_prompt": written[p.id]}) if p.id in written else p
        for p in plan.panels
    ]
    return plan.model_copy(update={"panels": panels})


def _ask(
    chat: ChatModel,
    plan: StoryPlan,
    part: Sequence[PanelSpec],
    form: PromptFormat,
    max_retries: int,
    limits: CallLimits | None,
    deadline: Deadline | None,
) -> dict[str, str]:
    def strict(answer: PanelPromptsAnswer) -> list[str]:
        return problems(answer, plan, part, form, budget=True)

    def lenient(answer: PanelPromptsAnswer) -> list[str]:
        return problems(answer, plan, part, form, budget=False)

    answer = ask_until_valid(
        chat,
        [
            ChatMessage("system", load(SYSTEM_PROMPT).render()),
            ChatMessage("user", load(WRITER_PROMPT).render_lines(**_values(plan, part, form))),
        ],
        PanelPromptsAnswer,
        purpose="write prompts",
        check=strict,
        last_check=lenient,
        max_retries=max_retries,
        what="panel prompts",
        limits=limits,
        deadline=deadline,
    )
    return {a.panel.strip(): _flat(a.prompt) for a in answer.prompts}


def problems(
    answer: PanelPromptsAnswer,
    plan: StoryPlan,
    panels: Sequence[PanelSpec],
    form: PromptFormat,
    *,
    budget: bool,
) -> list[str]:
    """What is wrong with a writer's answer; ``budget`` False leaves lengths out."""
    found: list[str] = []
    asked = {p.id: p for p in panels}
    seen: set[str] = set()
    sheets = {c.id: c for c in plan.characters}
    for entry in answer.prompts:
        pid, text = entry.panel.strip(), _flat(entry.prompt)
        if pid not in asked:
            found.append(f"panel {pid!r} was not asked for (ids: {', '.join(asked)})")
            continue
        if pid in seen:
            found.append(f"panel {pid} has more than one prompt")
            continue
        seen.add(pid)
        if not text:
            found.append(f"panel {pid}: the prompt is empty")
            continue
        for member in asked[pid].cast:
            sheet = sheets[member.character_id]
            missing = [
                c for c in dict.fromkeys(sheet.attributes.colors.values()) if not _has(text, c)
            ]
            if missing:
                found.append(
                    f"panel {pid}: {sheet.name} is in the panel but the prompt lacks the colour "
                    f"word(s) {', '.join(missing)}"
                )
        if budget and form.budget is not None and form.count is not None:
            tokens = form.count(text)
            if tokens > form.budget:
                found.append(
                    f"panel {pid}: the prompt is {tokens} tokens, over the budget of "
                    f"{form.budget}; shorten it, keeping the characters' looks"
                )
    found += [f"panel {pid} has no prompt" for pid in asked if pid not in seen]
    return found


def _values(plan: StoryPlan, panels: Sequence[PanelSpec], form: PromptFormat) -> dict[str, object]:
    sheets = {c.id: c for c in plan.characters}
    cast_ids = list(dict.fromkeys(m.character_id for p in panels for m in p.cast))
    return {
        "model": form.model,
        "style": form.style,
        "budget": form.budget,
        "drawing_style": plan.style,
        "characters": [
            {
                "name": sheets[cid].name,
                "description": sheets[cid].description,
                "colours": ", ".join(f"{k} {v}" for k, v in sheets[cid].attributes.colors.items()),
            }
            for cid in cast_ids
        ],
        "panels": [
            {
                "id": p.id,
                "beat": p.beat,
                "setting": p.setting,
                "time_of_day": p.time_of_day,
                "weather": p.weather,
                "shot": p.shot,
                "cast": [
                    {
                        "name": sheets[m.character_id].name,
                        "place": place_in_panel(m.box),
                        "action": m.action,
                        "expression": m.expression,
                    }
                    for m in p.cast
                ],
                "draft": panel_prompt(
                    plan,
                    p.model_copy(update={"image_prompt": None}),
                    [{"sheet": sheets[m.character_id], "member": m} for m in p.cast],
                    (),
                ),
            }
            for p in panels
        ],
    }


def _has(text: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, flags=re.IGNORECASE) is not None


def _flat(text: str) -> str:
    return " ".join(text.split())
