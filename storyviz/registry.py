"""Backend strings and the one place that turns them into backends.

A backend string is ``NAME[:MODEL][?key=value&...]``: ``offline``, ``sketch?drift=0.5``,
``openai:gpt-4.1-mini``, ``openai-compat:http://127.0.0.1:11434/v1#llama3.1``. Every backend,
the built-in ones too, is looked up here by role and name; its module is imported only when it
is built, so listing or parsing backends never pulls in torch or a provider SDK.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl, quote, unquote

from storyviz.errors import BackendError
from storyviz.redaction import MASK, is_secret_name, redact

Role = Literal["planner", "generator", "auditor", "repairer"]
ROLES: tuple[Role, ...] = ("planner", "generator", "auditor", "repairer")

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
# What parse_backend accepts as a name, so that resolve can suggest the exact one (_NAME).
_WRITTEN_NAME = re.compile(r"^\s*[A-Za-z][A-Za-z0-9_-]*\s*$")

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

    def option(
        self,
        key: str,
        kind: Callable[[str], T],
        default: T,
        *,
        low: float | None = None,
        high: float | None = None,
    ) -> T:
        """A typed option value, or a BackendError that says which option and why.

        Every number must be finite: ``float("nan")``, ``"inf"`` and ``"1e999"`` parse, but no
        setting means anything with them, and they fail far away (in ``time.sleep``, an SDK, a
        sampler) with a traceback. Numbers are checked against ``low..high`` (inclusive) where
        the caller gives bounds; every numeric option of a built-in backend does."""
        if key not in self.options:
            return default
        raw = self.options[key]
        try:
            value = kind(raw)
        except (TypeError, ValueError, OverflowError) as exc:
            why = MASK if is_secret_name(key) else redact(str(exc))
            raise BackendError(
                f"backend {self.name!r}: option {key}={shown_option(key, raw)!r} is invalid ({why})"
            ) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise BackendError(
                f"backend {self.name!r}: option {key}={shown_option(key, raw)!r} is not a finite "
                "number"
            )
        if low is not None or high is not None:
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise TypeError(f"option {key}: bounds apply to numbers, not {type(value)}")
            if (low is not None and value < low) or (high is not None and value > high):
                raise BackendError(
                    f"backend {self.name!r}: {key} must be within {_bounds(low, high)}, "
                    f"got {shown_option(key, raw)}"
                )
        return value

    def check_options(self, allowed: set[str] | frozenset[str]) -> None:
        unknown = sorted(set(self.options) - set(allowed))
        if unknown:
            known = ", ".join(sorted(allowed)) or "none"
            raise BackendError(
                f"backend {self.name!r} does not take option(s) {', '.join(unknown)}; "
                f"it takes: {known}"
            )


def _bounds(low: float | None, high: float | None) -> str:
    """``0..1``, ``>= 1``, ``<= 60``: a range as a message says it."""
    if low is None:
        return f"<= {high:g}"
    if high is None:
        return f">= {low:g}"
    return f"{low:g}..{high:g}"


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
    path stays put; in option values ``+`` means a space anyway (write ``%2B`` for a plus). The
    name after ``+`` is matched ignoring case, so ``offline+VLM:...`` reaches `resolve` as two
    stages and is told the exact name, instead of failing as one unreadable name."""
    names = "|".join(re.escape(n) for n in sorted(_REGISTRY["auditor"], key=len, reverse=True))
    return re.split(rf"\+(?=(?:{names})(?:[:?]|$))", text, flags=re.IGNORECASE)


def parse_backend(text: str) -> BackendSpec:
    """Parse ``NAME[:MODEL][?key=value&...]``; the model part may itself contain ``:`` and ``#``.
    Auditors compose as ``A+B+...`` (see `split_chain`): the stages after the first land in
    ``chain``.

    Nothing is lower-cased or stripped: a name is kept as written, so `resolve` can refuse
    ``SKETCH`` or `` sketch`` with the exact name to use instead of accepting a string that
    is recorded differently from how it was given."""
    raw = text or ""
    if not raw.strip():
        raise BackendError("empty backend string")
    stages = split_chain(raw)
    if len(stages) > 1:
        first, *rest = (_parse_one(stage, raw) for stage in stages)
        return BackendSpec(first.name, first.model, first.options, tuple(rest))
    return _parse_one(raw, raw)


def _parse_one(raw: str, whole: str) -> BackendSpec:
    if not raw:
        raise BackendError(f"backend {shown(whole)!r} has an empty stage around '+'")
    head, _, query = raw.partition("?")
    name, sep, model = head.partition(":")
    if not _WRITTEN_NAME.match(name):
        raise BackendError(f"invalid backend name {shown(name)!r} in {shown(raw)!r}")
    if sep and not model.strip():
        raise BackendError(f"backend {shown(raw)!r} has a ':' but no model after it")
    if model != model.strip():
        raise BackendError(
            f"backend {shown(name)!r}: the model {shown(model)!r} has spaces around it; "
            f"did you mean {shown(model.strip())!r}?"
        )
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
    return BackendSpec(name=name, model=model or None, options=options)


def unknown_name(what: str, name: str, known: Iterable[str]) -> BackendError:
    """The error for a name that is not one of `known`. Names are exact; one that differs from a
    known name only by case or surrounding spaces gets that name suggested, because ``SKETCH``
    or `` sketch`` is a slip, not a request for another backend."""
    names = sorted(known)
    guess = name.strip().lower()
    if guess in names:
        return BackendError(f"unknown {what} {shown(name)!r}; did you mean {guess!r}?")
    return BackendError(f"unknown {what} {shown(name)!r}; known {what}s: {', '.join(names)}")


ModelUse = Literal["none", "optional", "required"]
"""Whether a backend takes a model after ``NAME:``: never (``sketch``), maybe, or always."""


@dataclass(frozen=True)
class BackendEntry:
    """Where a backend's factory lives and what installing it takes."""

    target: str  # "module:callable", called with the BackendSpec
    summary: str
    extra: str | None = None  # the pip extra that brings its dependencies
    model: ModelUse = "optional"
    example: str = ""  # a backend string with a model, for the error when one is missing

    def check_model(self, spec: BackendSpec) -> None:
        """A model given to a backend that takes none, or missing where one is needed, is an
        error here, before anything is imported, for every backend alike."""
        if self.model == "none" and spec.model is not None:
            raise BackendError(f"backend {spec.name!r} takes no model; got {shown(spec.model)!r}")
        if self.model == "required" and spec.model is None:
            example = f", e.g. {self.example}" if self.example else ""
            raise BackendError(f"backend {spec.name!r} needs a model{example}")


_LLM_PLANNER = "storyviz.agents.planner.llm_backend:llm_planner"
_LLM_REPAIRER = "storyviz.agents.repairer_llm:llm_repairer"

_OPENAI = "openai:gpt-4.1-mini"
_COMPAT = "openai-compat:http://127.0.0.1:11434/v1#llama3.1"
_GEMINI = "gemini:gemini-2.5-flash"

_REGISTRY: dict[Role, dict[str, BackendEntry]] = {
    "planner": {
        "offline": BackendEntry(
            "storyviz.agents.planner.offline:OfflinePlanner",
            "rule-based planner: beats, characters, dialogue, settings, shots (no key, no network)",
            model="none",
        ),
        "openai": BackendEntry(
            _LLM_PLANNER,
            "OpenAI model, structured output (OPENAI_API_KEY)",
            extra="openai",
            model="required",
            example=_OPENAI,
        ),
        "openai-compat": BackendEntry(
            _LLM_PLANNER,
            "any OpenAI-compatible server: Ollama, vLLM, llama.cpp, LM Studio (URL#MODEL); "
            "no key sent unless ?key_env=VAR",
            extra="openai",
            model="required",
            example=_COMPAT,
        ),
        "gemini": BackendEntry(
            _LLM_PLANNER,
            "Gemini via google-genai (GEMINI_API_KEY)",
            extra="gemini",
            model="required",
            example=_GEMINI,
        ),
    },
    "generator": {
        "sketch": BackendEntry(
            "storyviz.generators.sketch:SketchGenerator",
            "deterministic Pillow storyboard; ?drift=0..1 perturbs first renders (demo aid)",
            model="none",
        ),
        "diffusers": BackendEntry(
            "storyviz.generators.diffusers_backend:DiffusersGenerator",
            "diffusers pipelines: SD-Turbo, SDXL(-Turbo), SD 1.5, FLUX.1-schnell or a local "
            "folder; ?steps=&guidance=&size=&device=&dtype=&offload=&negative="
            "&ip_adapter=&ip_scale=&layout=",
            extra="diffusers",
            model="required",
            example="diffusers:stabilityai/sd-turbo or diffusers:/path/to/local/model",
        ),
        "openai-image": BackendEntry(
            "storyviz.generators.openai_image:OpenAIImageGenerator",
            "OpenAI image API (gpt-image-1): cast references and masked repairs via images.edit "
            "(OPENAI_API_KEY)",
            extra="openai",
            model="required",
            example="openai-image:gpt-image-1",
        ),
        "gemini-image": BackendEntry(
            "storyviz.generators.gemini_image:GeminiImageGenerator",
            "Gemini image models (gemini-2.5-flash-image) with the cast's reference sheets "
            "(GEMINI_API_KEY)",
            extra="gemini",
            model="required",
            example="gemini-image:gemini-2.5-flash-image",
        ),
    },
    "auditor": {
        "offline": BackendEntry(
            "storyviz.evaluators.color_auditor:ColorAuditor",
            "pixel auditor: CIELAB colour attributes and presence per character region",
            model="none",
        ),
        "vlm": BackendEntry(
            "storyviz.evaluators.vlm_backend:vlm_auditor",
            "vision-language model auditor: vlm:openai:MODEL, vlm:gemini:MODEL, "
            "vlm:openai-compat:URL#MODEL",
            extra="llm",
            model="required",
            example="vlm:openai:gpt-4.1-mini or vlm:openai-compat:http://127.0.0.1:11434/v1#llava",
        ),
        "clip": BackendEntry(
            "storyviz.evaluators.identity_backends:clip_auditor",
            "open_clip identity: crop per character vs its reference; clip:ViT-B-32"
            "?pretrained=NAME_OR_PATH or clip:/local/dir; ?threshold=&detector=&device=",
            extra="clip",
            model="required",
            example="clip:ViT-B-32?pretrained=laion2b_s34b_b79k",
        ),
        "dino": BackendEntry(
            "storyviz.evaluators.identity_backends:dino_auditor",
            "DINOv2 identity (transformers): dino:facebook/dinov2-small or a folder; "
            "?threshold=&detector=&device=",
            extra="clip",
            model="required",
            example="dino:facebook/dinov2-small",
        ),
    },
    "repairer": {
        "offline": BackendEntry(
            "storyviz.agents.repairer:RuleRepairer",
            "rule-based repairer: inpaint the drifted characters' boxes (else reprompt), "
            "then reseed",
            model="none",
        ),
        "openai": BackendEntry(
            _LLM_REPAIRER,
            "OpenAI model chooses repairs",
            extra="openai",
            model="required",
            example=_OPENAI,
        ),
        "openai-compat": BackendEntry(
            _LLM_REPAIRER,
            "OpenAI-compatible server chooses repairs (URL#MODEL; ?key_env=VAR for a key)",
            extra="openai",
            model="required",
            example=_COMPAT,
        ),
        "gemini": BackendEntry(
            _LLM_REPAIRER,
            "Gemini chooses repairs",
            extra="gemini",
            model="required",
            example=_GEMINI,
        ),
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
            raise unknown_name(f"{role} backend", stage.name, entries)
        entries[stage.name].check_model(stage)
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
