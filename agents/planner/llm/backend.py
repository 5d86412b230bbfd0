"""The registry's factory for a model-backed planner: ``openai:MODEL``,
``openai-compat:URL#MODEL`` or ``gemini:MODEL`` as ``--planner``."""

from __future__ import annotations

from storyviz.agents.planner.llm.planner import LLMPlanner
from storyviz.errors import BackendError
from storyviz.providers.factories import chat_model, split_options
from storyviz.registry import BackendSpec

PROMPT_MODES = ("template", "written")


def llm_planner(spec: BackendSpec) -> LLMPlanner:
    """Own options: steps (1 or 2: one call, or a character bible then panels), retries
    (answers sent back with their validation errors), per_page (panels per page), prompts
    (``template``, the default: panel prompts from prompts/panel.j2; ``written``: the model
    writes each panel's prompt for the generator, one more call per 12 panels); the rest go to
    the model client."""
    own, rest = split_options(spec, {"steps", "retries", "per_page", "prompts"})
    prompts = own.option("prompts", str, "template")
    if prompts not in PROMPT_MODES:
        raise BackendError(
            f"planner {spec.name!r}: prompts must be one of {', '.join(PROMPT_MODES)}, "
            f"got {prompts!r}"
        )
    return LLMPlanner(
        chat_model(rest),
        two_step=own.option("steps", int, 2, low=1, high=2) == 2,
        max_retries=own.option("retries", int, 2, low=0, high=10),
        per_page=own.option("per_page", int, 4, low=1, high=6),
        write_prompts=prompts == "written",
    )
