"""The LLM repairer: a language model reads the findings, the sheets and the panel's history and
chooses how to redraw it (reprompt, reseed, inpaint or img2img) and what to insist on.

The model decides what a rule cannot weigh (a local drift worth inpainting, a strategy that
already failed twice); everything that must be reproducible or safe stays in code:

- seeds: the current version's seed for reprompt/inpaint/img2img, and for reseed a stable seed
  derived exactly as the rule-based repairer derives it, so a resumed run repairs identically;
- ``region`` for inpaint/img2img: the union of the addressed findings' regions, a finding without
  one standing for its character's cast box (img2img with nothing to place covers the panel);
- an unusable answer (not the schema, empty emphasis, strength out of range, unknown finding
  ids, an inpaint with nothing to place) is sent back once with its problems; if the second
  answer is unusable too, or the model refuses, the rule-based repairer decides, and the
  rationale says so. ProviderError propagates.

Parameters the graph and the generators read: ``seed``, ``emphasis``, ``attempt``; for inpaint
and img2img also ``region`` ([x0, y0, x1, y1], normalised), ``strength`` (0..1],
``init_version`` and ``init_image`` (the run-relative path of the version to start from).
"""

from __future__ import annotations

from collections.abc import Sequence

from storyviz.agents.repair_regions import finding_region
from storyviz.agents.repairer import RuleRepairer
from storyviz.errors import ModelOutputError, RefusalError
from storyviz.geometry import Box
from storyviz.metering import CallMeter
from storyviz.providers.base import ChatMessage, ChatModel, ChatResult
from storyviz.providers.factories import chat_model
from storyviz.registry import BackendSpec
from storyviz.schemas import PanelAudit, PanelVersion, RepairAction, RepairParameters, StoryPlan
from storyviz.seeding import stable_seed

from .repairer_llm_prompt import ACTION_PROMPT, SYSTEM_PROMPT, problems_message, repair_messages
from .repairer_llm_schema import Decision, RepairAnswer, answer_problems, decide

WHOLE_PANEL: Box = (0.0, 0.0, 1.0, 1.0)


class LLMRepairer:
    """Satisfies the Repairer protocol; one model call per proposal, two at most."""

    def __init__(self, chat: ChatModel) -> None:
        self.chat = chat
        # The backend string the user gave (``openai:gpt-4.1-mini``), as the LLM planner does,
        # so the manifest's record of it builds this repairer again.
        self.spec = chat.spec
        self.calls = 0
        self._rules = RuleRepairer(BackendSpec("offline"))

    def bind_meter(self, meter: CallMeter, role: str) -> None:
        self.chat.bind_meter(meter, role)

    def prompt_names(self) -> list[str]:
        return [SYSTEM_PROMPT, ACTION_PROMPT]

    def propose(
        self,
        plan: StoryPlan,
        audit: PanelAudit,
        history: Sequence[PanelVersion],
    ) -> RepairAction:
        if not history:
            raise ValueError(f"panel {audit.panel_id} has no versions to repair")
        messages = repair_messages(plan, audit, history)
        purpose = f"repair {audit.panel_id}"
        problems: list[str] = []
        for attempt in (1, 2):
            try:
                result = self._call(messages, purpose if attempt == 1 else purpose + " (retry)")
            except RefusalError as exc:
                problems = [f"the model refused ({exc})"]
                break
            except ModelOutputError as exc:
                problems, raw = list(exc.problems), exc.raw
            else:
                decision, problems = self._check(plan, audit, result.value)
                if decision is not None:
                    return self._action(plan, audit, history, decision)
                raw = result.raw
            messages = [
                *messages,
                *([ChatMessage(role="assistant", text=raw)] if raw else []),
                problems_message(audit, problems),
            ]
        return self._fallback(plan, audit, history, problems)

    def _call(self, messages: list[ChatMessage], purpose: str) -> ChatResult[RepairAnswer]:
        self.calls += 1
        return self.chat.structured(messages, RepairAnswer, purpose=purpose)

    def _check(
        self, plan: StoryPlan, audit: PanelAudit, answer: RepairAnswer
    ) -> tuple[Decision | None, list[str]]:
        known = [f.id for f in audit.findings]
        problems = answer_problems(answer, known)
        if problems:
            return None, problems
        decision = decide(answer, known)
        if (
            decision.strategy == "inpaint"
            and finding_region(plan, audit, decision.finding_ids) is None
        ):
            return None, [
                "inpaint needs a region, and the addressed findings neither give one nor name a "
                "cast member: choose reprompt, reseed or img2img, or address other findings"
            ]
        return decision, []

    def _action(
        self,
        plan: StoryPlan,
        audit: PanelAudit,
        history: Sequence[PanelVersion],
        decision: Decision,
    ) -> RepairAction:
        current = _current(audit, history)
        latest = max(v.version for v in history)
        tried = {v.repair.strategy for v in history if v.repair is not None}
        seed = current.seed
        if decision.strategy == "reseed":
            seed = stable_seed("reseed", current.seed, audit.panel_id, latest)
        parameters = RepairParameters(seed=seed, emphasis=decision.emphasis, attempt=len(tried) + 1)
        if decision.strategy in ("inpaint", "img2img"):
            parameters = RepairParameters(
                seed=seed,
                emphasis=decision.emphasis,
                attempt=len(tried) + 1,
                region=finding_region(plan, audit, decision.finding_ids) or WHOLE_PANEL,
                strength=decision.strength,
                init_version=current.version,
                init_image=current.path,
            )
        return RepairAction(
            panel_id=audit.panel_id,
            strategy=decision.strategy,
            parameters=parameters,
            finding_ids=decision.finding_ids,
            rationale=decision.rationale or f"{decision.strategy} chosen by {self.spec}",
            from_version=audit.version,
            to_version=latest + 1,
        )

    def _fallback(
        self,
        plan: StoryPlan,
        audit: PanelAudit,
        history: Sequence[PanelVersion],
        problems: list[str],
    ) -> RepairAction:
        action = self._rules.propose(plan, audit, history)
        why = "; ".join(problems) or "no answer"
        rationale = (
            f"the LLM repairer's answer stayed unusable ({why}); "
            f"rule-based fallback: {action.rationale}"
        )
        return action.model_copy(update={"rationale": rationale})


def _current(audit: PanelAudit, history: Sequence[PanelVersion]) -> PanelVersion:
    """The version being repaired; the latest when the audit names none of the history."""
    by_version = {v.version: v for v in history}
    return by_version.get(audit.version) or by_version[max(by_version)]


def llm_repairer(spec: BackendSpec) -> LLMRepairer:
    """The registry's factory: ``openai:MODEL``, ``openai-compat:URL#MODEL`` or ``gemini:MODEL``
    as ``--repairer``; every option goes to the model client."""
    return LLMRepairer(chat_model(spec))
