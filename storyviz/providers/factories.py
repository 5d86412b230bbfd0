"""Registry factories for model-backed backends: one backend string in, a wired backend out.

A backend string carries options for two layers: the role's own (`steps=1`, `batch=6`) and the
model client's (`timeout=30`, `temperature=0.2`). The factories here split them, build the client
for the service the string names, and hand it to the planner, auditor or repairer, which only
ever see the ChatModel protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storyviz.errors import BackendError
from storyviz.providers.base import ChatModel
from storyviz.registry import BackendSpec, parse_backend, unknown_name

CHAT_SERVICES = ("openai", "openai-compat", "gemini")


def _split(spec: BackendSpec, own: set[str]) -> tuple[dict[str, str], BackendSpec]:
    """The role's own options, and the spec left for the model client."""
    mine = {k: v for k, v in spec.options.items() if k in own}
    rest = {k: v for k, v in spec.options.items() if k not in own}
    return mine, BackendSpec(spec.name, spec.model, rest)


def chat_model(spec: BackendSpec) -> ChatModel:
    """The model client for `openai:…`, `openai-compat:…#…` or `gemini:…`."""
    if spec.name in ("openai", "openai-compat"):
        from storyviz.providers.openai_chat import openai_chat_from_spec

        return openai_chat_from_spec(spec)
    if spec.name == "gemini":
        from storyviz.providers.gemini_chat import gemini_chat_from_spec

        return gemini_chat_from_spec(spec)
    raise unknown_name("model service", spec.name, CHAT_SERVICES)


def _flag(spec: BackendSpec, key: str, default: bool) -> bool:
    def parse(raw: str) -> bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError("expected true or false")

    return spec.option(key, parse, default)


def _int_in(spec: BackendSpec, key: str, default: int, low: int, high: int) -> int:
    return spec.option(key, int, default, low=low, high=high)


def llm_planner(spec: BackendSpec) -> Any:
    """`openai:MODEL`, `openai-compat:URL#MODEL`, `gemini:MODEL` as planner.

    Own options: steps (1 or 2: one call, or a character bible then panels), retries (answers
    sent back with their validation errors), per_page (panels per page).
    """
    from storyviz.agents.planner.llm import LLMPlanner

    mine, rest = _split(spec, {"steps", "retries", "per_page"})
    own = BackendSpec(spec.name, spec.model, mine)
    steps = _int_in(own, "steps", 2, 1, 2)
    return LLMPlanner(
        chat_model(rest),
        two_step=steps == 2,
        max_retries=_int_in(own, "retries", 2, 0, 10),
        per_page=_int_in(own, "per_page", 4, 1, 6),
    )


def vlm_auditor(spec: BackendSpec) -> Any:
    """`vlm:SERVICE:MODEL`, e.g. `vlm:openai:gpt-4.1-mini` or `vlm:openai-compat:URL#MODEL`.

    Own options: batch (panels per call), references (send reference images: true/false).
    """
    from storyviz.evaluators.vlm_auditor import VLMAuditor

    if not spec.model:
        raise BackendError(
            "the vlm auditor needs a model service, e.g. vlm:openai:gpt-4.1-mini or "
            "vlm:openai-compat:http://127.0.0.1:11434/v1#llava"
        )
    inner = parse_backend(spec.model)
    if inner.options:
        raise BackendError("put the vlm auditor's options at the end of the whole string")
    combined = BackendSpec(inner.name, inner.model, dict(spec.options))
    mine, rest = _split(combined, {"batch", "references"})
    own = BackendSpec(spec.name, spec.model, mine)
    return VLMAuditor(
        chat_model(rest),
        panels_per_call=_int_in(own, "batch", 4, 1, 16),
        with_references=_flag(own, "references", True),
    )


def llm_repairer(spec: BackendSpec) -> Any:
    """`openai:MODEL`, `openai-compat:URL#MODEL`, `gemini:MODEL` as repairer."""
    from storyviz.agents.repairer_llm import LLMRepairer

    return LLMRepairer(chat_model(spec))


FACTORIES: dict[str, Callable[[BackendSpec], Any]] = {
    "planner": llm_planner,
    "auditor": vlm_auditor,
    "repairer": llm_repairer,
}
