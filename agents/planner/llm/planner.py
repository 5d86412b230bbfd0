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

Small local models are slow and often half right, so each call is capped in output tokens for
its schema and the request (``budget.py``), planning can be given a deadline, and an answer that
stays wrong (or is still wrong at the deadline) is salvaged by default: the usable characters
and panels are kept and the rule-based planner writes the rest (``salvage.py``), said in one
warning. ``fallback="none"`` keeps the strict behaviour: the run fails naming what was wrong.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar, get_args

from pydantic import BaseModel

from storyviz.agents.planner.edit.plans import (
    PlanEdit,
    answer_from_plan,
    clear_written_prompts,
    diff_plans,
    plan_from_edit,
)
from storyviz.agents.planner.llm import prompt_writer
from storyviz.agents.planner.llm.budget import Deadline, answer_tokens
from storyviz.agents.planner.llm.convert import plan_from_answer
from storyviz.agents.planner.llm.retry import RETRY_PROMPT, ask_until_valid, summarise
from storyviz.agents.planner.llm.salvage import (
    Kept,
    complete_plan,
    ranges,
    usable_characters,
    usable_panels,
)
from storyviz.agents.planner.llm.schema import (
    CharacterBible,
    EditPlanAnswer,
    PanelAnswer,
    PanelPromptsAnswer,
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
from storyviz.agents.planner.rules.offline import OfflinePlanner
from storyviz.anatomy import COLOUR_PARTS
from storyviz.colors import COLOR_RGB, SKIN_RGB
from storyviz.errors import DeadlineReached, InputError, ModelOutputError
from storyviz.layouts import MAX_PANELS_PER_PAGE
from storyviz.metering import CallMeter
from storyviz.prompts import load
from storyviz.protocols import PromptFormat
from storyviz.providers.base import CallLimits, ChatMessage, ChatModel
from storyviz.schemas import MAX_PANELS, Shot, StoryPlan, StoryRequest

SYSTEM_PROMPT = "planner_system.txt"
CHARACTERS_PROMPT = "planner_characters.j2"
PANELS_PROMPT = "planner_panels.j2"
SINGLE_PROMPT = "planner_single.j2"
EDIT_PROMPT = "planner_edit.j2"
CORRECT_PROMPT = "planner_correct.j2"

T = TypeVar("T", bound=BaseModel)
Fallback = Literal["rules", "none"]
log = logging.getLogger(__name__)

Progress = Callable[[str, int, float, int | None], None]
"""fn(purpose, tokens so far, seconds, the call's token cap or None), while a streamed planning
answer arrives."""


def _log_warning(message: str) -> None:
    log.warning("storyviz: warning: %s", message)


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
        fallback: Fallback = "rules",
        deadline: float | None = None,
        max_tokens: int | None = None,
    ) -> None:
        """`deadline`: seconds for a whole plan (None: no limit); `max_tokens`: the output cap
        of every call (None: derived per call from its schema and the panel count; 0: none)."""
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
        self.fallback = fallback
        self.deadline_seconds = deadline
        self.max_tokens = max_tokens
        # Bound by the runner: where a salvage's warning goes, and streamed progress.
        self.warn: Callable[[str], None] = _log_warning
        self.progress: Progress | None = None
        self._deadline: Deadline | None = None
        self._planning_deadline: Deadline | None = None  # the last plan()'s, for its correction

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
        names = [SYSTEM_PROMPT, *steps, EDIT_PROMPT, CORRECT_PROMPT, RETRY_PROMPT]
        if self.writes_prompts:
            names += [prompt_writer.SYSTEM_PROMPT, prompt_writer.WRITER_PROMPT]
        return names

    def plan(self, request: StoryRequest) -> StoryPlan:
        self._deadline = self._planning_deadline = self._start_deadline()
        try:
            return self._with_prompts(self._plan(request), None)
        finally:
            self._deadline = None

    def _start_deadline(self) -> Deadline | None:
        seconds = self.deadline_seconds
        return Deadline.after(seconds) if seconds is not None else None

    def _with_prompts(self, plan: StoryPlan, panel_ids: list[str] | None) -> StoryPlan:
        """``plan`` with the prompts of ``panel_ids`` (None: all) written, when this planner
        writes prompts; unchanged otherwise."""
        if not self.writes_prompts:
            return plan
        assert self.prompt_format is not None
        ids = [p.id for p in plan.panels] if panel_ids is None else panel_ids
        if not ids:
            return plan
        try:
            return prompt_writer.write_prompts(
                self.chat,
                plan,
                ids,
                self.prompt_format,
                max_retries=self.max_retries,
                limits=lambda count: self._limits("write prompts", PanelPromptsAnswer, count),
                deadline=self._deadline,
            )
        except DeadlineReached as exc:
            self._strict(exc)
            self.warn(f"{exc}; the panels' prompts come from the template")
            return plan

    def _plan(self, request: StoryRequest) -> StoryPlan:
        if not self.two_step:
            return self._plan_in_one(request)
        values = _request_values(request)
        bibles: list[CharacterBible] = []
        try:
            bible = self._ask(
                load(CHARACTERS_PROMPT).render(**values),
                CharacterBible,
                purpose="plan characters",
                check=lambda b: validate_characters(b.characters),
                what="character list",
                limits=self._limits("plan characters", CharacterBible, request.panels),
                seen=bibles,
            )
        except ModelOutputError as exc:
            kept = self._kept_characters(exc, bibles)
            if not kept.characters or self._deadline_passed():
                return self._salvaged(request, _title(bibles), kept, exc)
            bible = CharacterBible(title=_title(bibles), characters=kept.characters)
            self.warn(
                f"the planner {self.spec} did not give a valid character list ({exc}); kept "
                f"{', '.join(c.name.strip() for c in kept.characters)}; repaired: "
                f"{summarise(kept.repairs) or 'nothing'}"
            )
        names = [c.name for c in bible.characters]
        answers: list[PanelsAnswer] = []
        try:
            panels = self._ask(
                load(PANELS_PROMPT).render(
                    **values,
                    characters_json=bible.model_dump_json(include={"characters"}),
                    names=names,
                ),
                PanelsAnswer,
                purpose="plan panels",
                check=lambda p: validate_panels(p.panels, names, asked=request.panels),
                limits=self._limits("plan panels", PanelsAnswer, request.panels),
                seen=answers,
            )
        except ModelOutputError as exc:
            self._strict(exc)
            kept = _best_panels([a.panels for a in answers], names, request.panels)
            kept.characters = list(bible.characters)
            return self._salvaged(request, bible.title, kept, exc)
        return plan_from_answer(
            request, bible.title, bible.characters, panels.panels, per_page=self.per_page
        )

    def _plan_in_one(self, request: StoryRequest) -> StoryPlan:
        answers: list[PlanAnswer] = []
        try:
            answer = self._ask(
                load(SINGLE_PROMPT).render(**_request_values(request)),
                PlanAnswer,
                purpose="plan",
                check=lambda a: validate_plan_answer(a.characters, a.panels, asked=request.panels),
                limits=self._limits("plan", PlanAnswer, request.panels),
                seen=answers,
            )
        except ModelOutputError as exc:
            self._strict(exc)
            best = Kept()
            for seen in answers:  # the answer with the most usable panels, then characters
                kept = usable_characters(seen.characters)
                names = [c.name for c in kept.characters]
                panels = usable_panels(seen.panels, names, request.panels)
                if (len(panels.panels), len(kept.characters)) >= (
                    len(best.panels),
                    len(best.characters),
                ):
                    best = Kept(kept.characters, panels.panels, kept.repairs + panels.repairs)
            return self._salvaged(request, _title(answers), best, exc)
        return plan_from_answer(
            request, answer.title, answer.characters, answer.panels, per_page=self.per_page
        )

    # -- bounding and salvaging ----------------------------------------------------------------

    def _limits(
        self, purpose: str, schema: type[BaseModel], panels: int | None, *, characters: int = 0
    ) -> CallLimits:
        """This call's bounds: its token cap, the planning deadline, progress if anyone
        watches (which makes the client stream). An edit may add panels: it is budgeted for
        a page more than the plan has."""
        cap = (
            self.max_tokens
            if self.max_tokens is not None
            else answer_tokens(schema, panels, characters)
        )
        progress = self.progress
        return CallLimits(
            max_tokens=cap or None,
            deadline=self._deadline.at if self._deadline is not None else None,
            on_tokens=(
                (lambda tokens, seconds: progress(purpose, tokens, seconds, cap or None))
                if progress is not None
                else None
            ),
        )

    def _deadline_passed(self) -> bool:
        return self._deadline is not None and self._deadline.passed()

    def _strict(self, exc: ModelOutputError) -> None:
        """Re-raise when salvage is off (``fallback=none``): the run fails naming the problem."""
        if self.fallback == "none":
            raise exc

    def _kept_characters(self, exc: ModelOutputError, bibles: Sequence[CharacterBible]) -> Kept:
        self._strict(exc)
        best = Kept()
        for bible in bibles:
            kept = usable_characters(bible.characters)
            if len(kept.characters) >= len(best.characters):
                best = kept
        return best

    def _salvaged(
        self, request: StoryRequest, title: str, kept: Kept, exc: ModelOutputError
    ) -> StoryPlan:
        """The kept part completed by the rules, with one warning saying which parts are whose
        and why the model's answer was not used whole."""
        rules = OfflinePlanner().plan(request)
        done = complete_plan(request, title, kept, rules, per_page=self.per_page)
        total = len(done.plan.panels)
        parts = []
        if len(done.rule_panels) == total:
            parts.append("all panels")
        elif done.rule_panels:
            word = "panels" if len(done.rule_panels) > 1 else "panel"
            parts.append(f"{word} {ranges(done.rule_panels)}")
        if not kept.characters:
            parts.append("all characters")
        elif done.rule_characters:
            parts.append(f"characters {', '.join(done.rule_characters)}")
        whose = " and ".join(parts) if parts else "nothing"
        repaired = f"; repaired: {summarise(kept.repairs)}" if kept.repairs else ""
        self.warn(
            f"the planner {self.spec} did not give a valid plan ({exc}); kept what it got "
            f"right, {whose} from the rule-based planner{repaired}"
        )
        return done.plan

    def edit_plan(self, plan: StoryPlan, instruction: str, *, seed: int = 0) -> PlanEdit:
        """The plan revised by a user's instruction, and which panels to redraw.

        `seed` is the run's seed: new characters get seeds from it, as in ``plan``.
        """
        return self._edit(plan, instruction, seed, self.max_retries, self._start_deadline())

    def correct_plan(
        self, request: StoryRequest, plan: StoryPlan, problems: list[str]
    ) -> StoryPlan:
        """`plan` with the plan check's findings fixed (the `PlanCorrector` protocol): one edit,
        whose instruction is the story and the findings, so the model sees what it got wrong
        and what the story says instead. One call, inside what is left of the planning
        deadline: a model that needed salvaging is not given a second planning budget."""
        instruction = load(CORRECT_PROMPT).render(story=request.story.strip(), problems=problems)
        deadline = self._planning_deadline or self._start_deadline()
        return self._edit(plan, instruction, request.seed, 0, deadline).plan

    def _edit(
        self,
        plan: StoryPlan,
        instruction: str,
        seed: int,
        retries: int,
        deadline: Deadline | None,
    ) -> PlanEdit:
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
        self._deadline = deadline
        try:
            answer = self._ask(
                prompt,
                EditPlanAnswer,
                retries=retries,
                purpose="edit plan",
                check=lambda a: validate_plan_answer(
                    a.characters, a.panels, asked=None, most=MAX_PANELS
                ),
                what="revised plan",
                limits=self._limits(
                    "edit plan",
                    EditPlanAnswer,
                    min(MAX_PANELS, len(plan.panels) + MAX_PANELS_PER_PAGE),
                    characters=len(plan.characters) + 2,
                ),
            )
        finally:
            self._deadline = None
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
        limits: CallLimits | None = None,
        seen: list[T] | None = None,
        retries: int | None = None,
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
            max_retries=self.max_retries if retries is None else retries,
            what=what,
            limits=limits,
            deadline=self._deadline,
            seen=seen,
        )


def _title(answers: Sequence[CharacterBible]) -> str:
    """The last title a model wrote, among answers that parsed."""
    titles = [a.title for a in answers if a.title.strip()]
    return titles[-1] if titles else ""


def _best_panels(
    answers: Sequence[Sequence[PanelAnswer]], names: Sequence[str], asked: int | None
) -> Kept:
    """The answer with the most usable panels (the later one on a tie: it had the feedback)."""
    best = Kept()
    for panels in answers:
        kept = usable_panels(panels, names, asked)
        if len(kept.panels) >= len(best.panels):
            best = kept
    return best


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
