"""The model-backed planner: a hosted or local language model writes the plan.

By default it asks twice: first for the character bible (who appears, how they look, in the
colour words the auditor measures), then for the panels staged with exactly those characters.
Fixing the looks before any panel is written is what keeps a model from redescribing a
character panel by panel. ``two_step=False`` asks for both in one call (cheaper, for models
that handle long schemas well). Every answer is checked (``validation.py``) and sent back with
its problems a bounded number of times (``llm_retry.py``); the plan itself, with ids, seeds and
pages, is derived from the answer by code (``llm_convert.py``), never taken from the model.

It reaches the model only through the ChatModel protocol, so one class serves OpenAI, Gemini
and any OpenAI-compatible local server, and tests drive it with an in-process fake.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar, get_args

from pydantic import BaseModel

from storyviz.agents.planner.edit.plans import (
    PlanEdit,
    answer_from_plan,
    clear_written_prompts,
    diff_plans,
    plan_from_edit,
)
from storyviz.agents.planner.llm import prompt_writer
from storyviz.agents.planner.llm.convert import plan_from_answer
from storyviz.agents.planner.llm.retry import RETRY_PROMPT, ask_until_valid
from storyviz.agents.planner.llm.schema import (
    CharacterBible,
    EditPlanAnswer,
    PanelsAnswer,
    PlanAnswer,
)
from storyviz.agents.planner.llm.validation import (
    AUTO_MAX_PANELS,
    validate_characters,
    validate_panels,
    validate_plan_answer,
)
from storyviz.agents.planner.rules.language import detect_language
from storyviz.anatomy import COLOUR_PARTS
from storyviz.colors import COLOR_RGB, SKIN_RGB
from storyviz.errors import InputError
from storyviz.layouts import MAX_PANELS_PER_PAGE
from storyviz.metering import CallMeter
from storyviz.prompts import load
from storyviz.protocols import PromptFormat
from storyviz.providers.base import ChatMessage, ChatModel
from storyviz.schemas import MAX_PANELS, Shot, StoryPlan, StoryRequest

SYSTEM_PROMPT = "planner_system.txt"
CHARACTERS_PROMPT = "planner_characters.j2"
PANELS_PROMPT = "planner_panels.j2"
SINGLE_PROMPT = "planner_single.j2"
EDIT_PROMPT = "planner_edit.j2"

T = TypeVar("T", bound=BaseModel)


class LLMPlanner:
    """A Planner (storyviz.protocols) that asks a ChatModel; also edits plans for the chat UI."""

    def __init__(
        self,
        chat: ChatModel,
        *,
        two_step: bool = True,
        max_retries: int = 2,
        per_page: int = 4,
        write_prompts: bool = False,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, got {max_retries}")
        if not 1 <= per_page <= MAX_PANELS_PER_PAGE:
            raise ValueError(
                f"per_page must be between 1 and {MAX_PANELS_PER_PAGE}, got {per_page}"
            )
        self.chat = chat
        self.spec = chat.spec
        self.two_step = two_step
        self.max_retries = max_retries
        self.per_page = per_page
        self.write_prompts = write_prompts
        self.prompt_format: PromptFormat | None = None  # the generator's, bound by the runner

    def bind_meter(self, meter: CallMeter, role: str) -> None:
        """Every planning call counts against the run's meter (the runner binds it)."""
        self.chat.bind_meter(meter, role)

    def bind_prompt_format(self, form: PromptFormat | None) -> None:
        """The generator's wishes for its prompts (``protocols.prompt_format``): with
        ``write_prompts`` on, each panel's prompt is written to them; None keeps the template."""
        self.prompt_format = form

    @property
    def writes_prompts(self) -> bool:
        return self.write_prompts and self.prompt_format is not None

    def prompt_names(self) -> list[str]:
        """The prompt files this planner renders, for the manifest's prompt hashes."""
        steps = [CHARACTERS_PROMPT, PANELS_PROMPT] if self.two_step else [SINGLE_PROMPT]
        names = [SYSTEM_PROMPT, *steps, EDIT_PROMPT, RETRY_PROMPT]
        if self.writes_prompts:
            names += [prompt_writer.SYSTEM_PROMPT, prompt_writer.WRITER_PROMPT]
        return names

    def plan(self, request: StoryRequest) -> StoryPlan:
        return self._with_prompts(self._plan(request), None)

    def _with_prompts(self, plan: StoryPlan, panel_ids: list[str] | None) -> StoryPlan:
        """``plan`` with the prompts of ``panel_ids`` (None: all) written, when this planner
        writes prompts; unchanged otherwise."""
        if not self.writes_prompts:
            return plan
        assert self.prompt_format is not None
        ids = [p.id for p in plan.panels] if panel_ids is None else panel_ids
        if not ids:
            return plan
        return prompt_writer.write_prompts(
            self.chat, plan, ids, self.prompt_format, max_retries=self.max_retries
        )

    def _plan(self, request: StoryRequest) -> StoryPlan:
        values = _request_values(request)
        if not self.two_step:
            answer = self._ask(
                load(SINGLE_PROMPT).render(**values),
                PlanAnswer,
                purpose="plan",
                check=lambda a: validate_plan_answer(a.characters, a.panels, asked=request.panels),
            )
            return plan_from_answer(
                request, answer.title, answer.characters, answer.panels, per_page=self.per_page
            )
        bible = self._ask(
            load(CHARACTERS_PROMPT).render(**values),
            CharacterBible,
            purpose="plan characters",
            check=lambda b: validate_characters(b.characters),
            what="character list",
        )
        names = [c.name for c in bible.characters]
        panels = self._ask(
            load(PANELS_PROMPT).render(
                **values,
                characters_json=bible.model_dump_json(include={"characters"}),
                names=names,
            ),
            PanelsAnswer,
            purpose="plan panels",
            check=lambda p: validate_panels(p.panels, names, asked=request.panels),
        )
        return plan_from_answer(
            request, bible.title, bible.characters, panels.panels, per_page=self.per_page
        )

    def edit_plan(self, plan: StoryPlan, instruction: str, *, seed: int = 0) -> PlanEdit:
        """The plan revised by a user's instruction, and which panels to redraw.

        `seed` is the run's seed: new characters get seeds from it, as in ``plan``.
        """
        if not instruction.strip():
            raise InputError("the edit instruction is empty")
        current = answer_from_plan(plan)
        prompt = load(EDIT_PROMPT).render(
            **_vocabulary(),
            plan_json=json.dumps(current.model_dump(exclude={"summary"}), ensure_ascii=False),
            instruction=instruction.strip(),
            most=MAX_PANELS,
            language=plan.language,
        )
        answer = self._ask(
            prompt,
            EditPlanAnswer,
            purpose="edit plan",
            check=lambda a: validate_plan_answer(
                a.characters, a.panels, asked=None, most=MAX_PANELS
            ),
            what="revised plan",
        )
        revised = plan_from_edit(plan, answer, per_page=self.per_page, seed=seed)
        edit = clear_written_prompts(diff_plans(plan, revised))
        if self.writes_prompts:  # the panels to redraw get prompts for what they now show
            rewritten = self._with_prompts(edit.plan, [*edit.changed_panels, *edit.added])
            edit = edit.model_copy(update={"plan": rewritten})
        said = " ".join(answer.summary.split())
        summary = f"{said} ({edit.summary})" if said else edit.summary
        return edit.model_copy(update={"summary": summary})

    def _ask(
        self,
        prompt: str,
        schema: type[T],
        *,
        purpose: str,
        check: Callable[[T], list[str]],
        what: str = "answer",
    ) -> T:
        messages = [
            ChatMessage("system", load(SYSTEM_PROMPT).render()),
            ChatMessage("user", prompt),
        ]
        return ask_until_valid(
            self.chat,
            messages,
            schema,
            purpose=purpose,
            check=check,
            max_retries=self.max_retries,
            what=what,
        )


def _request_values(request: StoryRequest) -> dict[str, Any]:
    """What every planning prompt is rendered with."""
    language = request.language if request.language != "auto" else detect_language(request.story)
    return {
        **_vocabulary(),
        "story": request.story.strip(),
        "panels": request.panels,
        "auto_max": AUTO_MAX_PANELS,
        "style": request.style,
        "language": language,
    }


def _vocabulary() -> dict[str, list[str]]:
    """The words a plan must use: colours the auditor measures, shots the schema knows."""
    return {
        "colours": list(COLOR_RGB),
        "skin_tones": list(SKIN_RGB),
        "parts": list(COLOUR_PARTS),
        "shots": list(get_args(Shot)),
    }
