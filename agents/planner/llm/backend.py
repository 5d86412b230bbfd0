"""The registry's factory for a model-backed planner: ``openai:MODEL``,
``openai-compat:URL#MODEL`` or ``gemini:MODEL`` as ``--planner``."""

from __future__ import annotations

from storyviz.agents.planner.llm.planner import Fallback, LLMPlanner
from storyviz.errors import BackendError
from storyviz.providers.factories import chat_model, split_options
from storyviz.registry import BackendSpec

PROMPT_MODES = ("template", "written")


FALLBACKS: tuple[Fallback, ...] = ("rules", "none")
MAX_DEADLINE = 24 * 3600.0  # seconds; a day of planning is a mistake, not a setting
MAX_OUTPUT_TOKENS = 1_000_000
OWN = {"steps", "retries", "per_page", "prompts", "fallback", "deadline", "max_tokens"}


def llm_planner(spec: BackendSpec) -> LLMPlanner:
    """Own options: steps (1 or 2: one call, or a character bible then panels), retries
    (answers sent back with their validation errors), per_page (panels per page), prompts
    (``template``, the default: panel prompts from prompts/panel.j2; ``written``: the model
    writes each panel's prompt for the generator, one more call per 12 panels), fallback
    (``rules``, the default: what stays wrong is completed by the rule-based planner;
    ``none``: it fails the run), deadline (seconds for the whole plan), max_tokens (each
    call's output cap; default derived from the schema and panel count, 0 for none); the rest
    go to the model client."""
    own, rest = split_options(spec, OWN)
    prompts = own.option("prompts", str, "template")
    if prompts not in PROMPT_MODES:
        raise BackendError(
            f"planner {spec.name!r}: prompts must be one of {', '.join(PROMPT_MODES)}, "
            f"got {prompts!r}"
        )
    fallback = own.option("fallback", str, "rules")
    if fallback not in FALLBACKS:
        raise BackendError(
            f"planner {spec.name!r}: fallback must be one of {', '.join(FALLBACKS)}, "
            f"got {fallback!r}"
        )
    deadline = (
        own.option("deadline", float, 0.0, low=1.0, high=MAX_DEADLINE)
        if "deadline" in own.options
        else None
    )
    max_tokens = (
        own.option("max_tokens", int, 0, low=0, high=MAX_OUTPUT_TOKENS)
        if "max_tokens" in own.options
        else None
    )
    return LLMPlanner(
        chat_model(rest),
        two_step=own.option("steps", int, 2, low=1, high=2) == 2,
        max_retries=own.option("retries", int, 2, low=0, high=10),
        per_page=own.option("per_page", int, 4, low=1, high=6),
        write_prompts=prompts == "written",
        fallback="none" if fallback == "none" else "rules",
        deadline=deadline,
        max_tokens=max_tokens,
    )
