"""The registry's factory for the VLM auditor: ``vlm:SERVICE:MODEL``, e.g.
``vlm:openai:gpt-4.1-mini`` or ``vlm:openai-compat:URL#MODEL``."""

from __future__ import annotations

from storyviz.errors import BackendError
from storyviz.evaluators.vlm.auditor import VLMAuditor
from storyviz.providers.factories import chat_model, split_options
from storyviz.registry import BackendSpec, parse_backend


def vlm_auditor(spec: BackendSpec) -> VLMAuditor:
    """Own options: batch (panels per call), references (send reference images: true/false);
    the rest, written at the end of the whole string, go to the model client."""
    if not spec.model:
        raise BackendError(
            "the vlm auditor needs a model service, e.g. vlm:openai:gpt-4.1-mini or "
            "vlm:openai-compat:http://127.0.0.1:11434/v1#llava"
        )
    inner = parse_backend(spec.model)
    if inner.options:
        raise BackendError("put the vlm auditor's options at the end of the whole string")
    combined = BackendSpec(inner.name, inner.model, dict(spec.options))
    own, rest = split_options(combined, {"batch", "references"})
    return VLMAuditor(
        chat_model(rest),
        panels_per_call=own.option("batch", int, 4, low=1, high=16),
        with_references=own.flag("references", True),
    )
