"""Backend strings and the one place that turns them into backends.

A backend string is ``NAME[:MODEL][?key=value&...]``: ``offline``, ``sketch?drift=0.5``,
``openai:gpt-4.1-mini``, ``openai-compat:http://127.0.0.1:11434/v1#llama3.1``. Every backend,
the built-in ones too, is looked up here by role and name; its module is imported only when it
is built, so listing or parsing backends never pulls in torch or a provider SDK.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl, quote, unquote

from storyviz.errors import BackendError
from storyviz.redaction import MASK, is_secret_name, redact

Role = Literal["planner", "generator", "auditor", "repairer"]
ROLES: tuple[Role, ...] = ("planner", "generator", "auditor", "repairer")

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")

T = TypeVar("T")


@dataclass(frozen=True)
class BackendSpec:
    """A parsed backend string."""

    name: str
    model: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    chain: tuple[BackendSpec, ...] = ()
    """The stages after this one in an auditor chain ``A+B`` (see `split_chain`)."""

    def __str__(self) -> str:
        text = self.name
        if self.model:
            text += f":{self.model}"
        if self.options:
            text += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in self.options.items())
        return "+".join([text, *(str(stage) for stage in self.chain)])

    def redacted(self) -> str:
        """The string with its secrets masked, safe to write to a run folder or a terminal: the
        values of secret-looking options, and URL userinfo and secret query parameters in the
        model and in every option value (see storyviz.redaction)."""
        hidden = {k: (MASK if is_secret_name(k) else redact(v)) for k, v in self.options.items()}
        model = redact(self.model) if self.model else self.model
        own = str(BackendSpec(self.name, model, hidden))
        return "+".join([own, *(stage.redacted() for stage in self.chain)])

    def option(self, key: str, kind: Callable[[str], T], default: T) -> T:
        """A typed option value, or a BackendError that says which option and why."""
        if key not in self.options:
            return default
        raw = self.options[key]
        try:
            return kind(raw)
        except (TypeError, ValueError) as exc:
            why = MASK if is_secret_name(key) else redact(str(exc))
            raise BackendError(
                f"backend {self.name!r}: option {key}={shown_option(key, raw)!r} is invalid ({why})"
            ) from None

    def check_options(self, allowed: set[str] | frozenset[str]) -> None:
        unknown = sorted(set(self.options) - set(allowed))
        if unknown:
            known = ", ".join(sorted(allowed)) or "none"
            raise BackendError(
                f"backend {self.name!r} does not take option(s) {', '.join(unknown)}; "
                f"it takes: {known}"
            )


def shown(text: str) -> str:
    """A backend string (or a piece of one) as an error message may quote it: decoded, so a
    percent-encoded URL in an option is seen and masked like any other (storyviz.redaction)."""
    return redact(unquote(text))


def shown_option(key: str, value: str) -> str:
    """An option's value as a message may quote it."""
    return MASK if is_secret_name(key) else redact(value)


def split_chain(text: str) -> list[str]:
    """``clip:ViT-B-32+vlm:openai:gpt-4.1-mini`` -> its stages. A ``+`` splits only where a
    registered auditor name follows it (then ``:``, ``?`` or the end), so a ``+`` inside a model
    path stays put; in option values ``+`` means a space anyway (write ``%2B`` for a plus)."""
    names = "|".join(re.escape(n) for n in sorted(_REGISTRY["auditor"], key=len, reverse=True))
    return re.split(rf"\+(?=(?:{names})(?:[:?]|$))", text)


def parse_backend(text: str) -> BackendSpec:
    """Parse ``NAME[:MODEL][?key=value&...]``; the model part may itself contain ``:`` and ``#``.
    Auditors compose as ``A+B+...`` (see `split_chain`): the stages after the first land in
    ``chain``."""
    raw = (text or "").strip()
    if not raw:
        raise BackendError("empty backend string")
    stages = split_chain(raw)
    if len(stages) > 1:
        first, *rest = (_parse_one(stage.strip(), raw) for stage in stages)
        return BackendSpec(first.name, first.model, first.options, tuple(rest))
    return _parse_one(raw, raw)


def _parse_one(raw: str, whole: str) -> BackendSpec:
    if not raw:
        raise BackendError(f"backend {shown(whole)!r} has an empty stage around '+'")
    head, _, query = raw.partition("?")
    name, sep, model = head.partition(":")
    name = name.strip().lower()
    if not _NAME.match(name):
        raise BackendError(f"invalid backend name {shown(name)!r} in {shown(raw)!r}")
    if sep and not model.strip():
        raise BackendError(f"backend {shown(raw)!r} has a ':' but no model after it")
    options: dict[str, str] = {}
    if query:
        try:
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            raise BackendError(
                f"cannot parse the options {shown(query)!r} of backend {shown(raw)!r}"
            ) from None
        for key, value in pairs:
            if key in options:
                raise BackendError(f"backend {shown(raw)!r} repeats option {key!r}")
            options[key] = value
    return BackendSpec(name=name, model=model.strip() or None, options=options)


@dataclass(frozen=True)
class BackendEntry:
    """Where a backend's factory lives and what installing it takes."""

    target: str  # "module:callable", called with the BackendSpec
    summary: str
    extra: str | None = None  # the pip extra that brings its dependencies


_LLM_PLANNER = "storyviz.providers.factories:llm_planner"
_LLM_REPAIRER = "storyviz.providers.factories:llm_repairer"

_REGISTRY: dict[Role, dict[str, BackendEntry]] = {
    "planner": {
        "offline": BackendEntry(
            "storyviz.agents.planner.offline:OfflinePlanner",
            "rule-based planner: beats, characters, dialogue, settings, shots (no key, no network)",
        ),
        "openai": BackendEntry(
            _LLM_PLANNER, "OpenAI model, structured output (OPENAI_API_KEY)", extra="openai"
        ),
        "openai-compat": BackendEntry(
            _LLM_PLANNER,
            "any OpenAI-compatible server: Ollama, vLLM, llama.cpp, LM Studio (URL#MODEL)",
            extra="openai",
        ),
        "gemini": BackendEntry(
            _LLM_PLANNER, "Gemini via google-genai (GEMINI_API_KEY)", extra="gemini"
        ),
    },
    "generator": {
        "sketch": BackendEntry(
            "storyviz.generators.sketch:SketchGenerator",
            "deterministic Pillow storyboard; ?drift=0..1 perturbs first renders (demo aid)",
        ),
        "diffusers": BackendEntry(
            "storyviz.generators.diffusers_backend:DiffusersGenerator",
            "diffusers pipelines: SD-Turbo, SDXL(-Turbo), SD 1.5, FLUX.1-schnell or a local "
            "folder; ?steps=&guidance=&size=&device=&dtype=&offload=&negative="
            "&ip_adapter=&ip_scale=&layout=",
            extra="diffusers",
        ),
        "openai-image": BackendEntry(
            "storyviz.generators.openai_image:OpenAIImageGenerator",
            "OpenAI image API (gpt-image-1): cast references and masked repairs via images.edit "
            "(OPENAI_API_KEY)",
            extra="openai",
        ),
        "gemini-image": BackendEntry(
            "storyviz.generators.gemini_image:GeminiImageGenerator",
            "Gemini image models (gemini-2.5-flash-image) with the cast's reference sheets "
            "(GEMINI_API_KEY)",
            extra="gemini",
        ),
    },
    "auditor": {
        "offline": BackendEntry(
            "storyviz.evaluators.color_auditor:ColorAuditor",
            "pixel auditor: CIELAB colour attributes and presence per character region",
        ),
        "vlm": BackendEntry(
            "storyviz.providers.factories:vlm_auditor",
            "vision-language model auditor: vlm:openai:MODEL, vlm:gemini:MODEL, "
            "vlm:openai-compat:URL#MODEL",
            extra="llm",
        ),
        "clip": BackendEntry(
            "storyviz.evaluators.identity_backends:clip_auditor",
            "open_clip identity: crop per character vs its reference; clip:ViT-B-32"
            "?pretrained=NAME_OR_PATH or clip:/local/dir; ?threshold=&detector=&device=",
            extra="clip",
        ),
        "dino": BackendEntry(
            "storyviz.evaluators.identity_backends:dino_auditor",
            "DINOv2 identity (transformers): dino:facebook/dinov2-small or a folder; "
            "?threshold=&detector=&device=",
            extra="clip",
        ),
    },
    "repairer": {
        "offline": BackendEntry(
            "storyviz.agents.repairer:RuleRepairer",
            "rule-based repairer: inpaint the drifted characters' boxes (else reprompt), "
            "then reseed",
        ),
        "openai": BackendEntry(_LLM_REPAIRER, "OpenAI model chooses repairs", extra="openai"),
        "openai-compat": BackendEntry(
            _LLM_REPAIRER, "OpenAI-compatible server chooses repairs (URL#MODEL)", extra="openai"
        ),
        "gemini": BackendEntry(_LLM_REPAIRER, "Gemini chooses repairs", extra="gemini"),
    },
}

_COMPOSITE = BackendEntry(
    "storyviz.evaluators.composite:CompositeAuditor",
    "A+B: B judges only the panels A flags (docs/evaluation.md)",
)

DEFAULTS: dict[Role, str] = {
    "planner": "offline",
    "generator": "sketch",
    "auditor": "offline",
    "repairer": "offline",
}


def register(role: Role, name: str, entry: BackendEntry) -> None:
    """Add a backend (plugins and tests use this; built-ins are listed above)."""
    if not _NAME.match(name):
        raise BackendError(f"invalid backend name {name!r}")
    _REGISTRY[role][name] = entry


def known(role: Role) -> dict[str, BackendEntry]:
    return dict(_REGISTRY[role])


def resolve(role: Role, text: str) -> tuple[BackendSpec, BackendEntry]:
    """Parse and look up a backend string without importing anything."""
    spec = parse_backend(text)
    entries = _REGISTRY[role]
    if spec.chain and role != "auditor":
        raise BackendError(
            f"only auditors compose with '+'; {shown(text)!r} is not a {role} backend"
        )
    for stage in (spec, *spec.chain):
        if stage.name not in entries:
            names = ", ".join(sorted(entries))
            raise BackendError(
                f"unknown {role} backend {stage.name!r}; known {role} backends: {names}"
            )
    if spec.chain:
        return spec, _COMPOSITE
    return spec, entries[spec.name]


def build(role: Role, text: str) -> Any:
    """Build the backend a string names; heavy imports happen here and only here."""
    spec, entry = resolve(role, text)
    if spec.chain:  # an auditor chain: each stage built as if given alone
        stages = [build(role, str(stage)) for stage in (replace(spec, chain=()), *spec.chain)]
        module_name, _, attr = entry.target.partition(":")
        return getattr(importlib.import_module(module_name), attr)(stages, spec)
    module_name, _, attr = entry.target.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
        return factory(spec)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if entry.extra and missing and missing != "storyviz":
            raise BackendError(
                f"the {role} backend {spec.name!r} needs {missing}: "
                f'pip install "storyviz[{entry.extra}]"'
            ) from None
        raise
