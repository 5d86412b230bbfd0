"""The model client a backend string names, for the role factories that wrap one.

A model-backed backend string carries options for two layers: the role's own (`steps=1`,
`batch=6`) and the model client's (`timeout=30`, `temperature=0.2`). `split_options` separates
them and `chat_model` builds the client for the service the string names. The role factories
themselves live with their roles (agents/planner/llm/backend.py, agents/repairer_llm.py,
evaluators/vlm/backend.py): providers import no role, and a role sees only the ChatModel
protocol.
"""

from __future__ import annotations

from storyviz.providers.base import ChatModel
from storyviz.registry import BackendSpec, unknown_name

CHAT_SERVICES = ("openai", "openai-compat", "gemini")


def split_options(spec: BackendSpec, own: set[str]) -> tuple[BackendSpec, BackendSpec]:
    """``spec`` with only the role's own options, and ``spec`` with the rest, for the client."""
    mine = {k: v for k, v in spec.options.items() if k in own}
    rest = {k: v for k, v in spec.options.items() if k not in own}
    return BackendSpec(spec.name, spec.model, mine), BackendSpec(spec.name, spec.model, rest)


def chat_model(spec: BackendSpec) -> ChatModel:
    """The model client for `openai:…`, `openai-compat:…#…` or `gemini:…`."""
    if spec.name in ("openai", "openai-compat"):
        from storyviz.providers.openai_chat import openai_chat_from_spec

        return openai_chat_from_spec(spec)
    if spec.name == "gemini":
        from storyviz.providers.gemini_chat import gemini_chat_from_spec

        return gemini_chat_from_spec(spec)
    raise unknown_name("model service", spec.name, CHAT_SERVICES)
