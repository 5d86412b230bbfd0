"""Backend strings and the one place that turns them into backends.

A backend string is ``NAME[:MODEL][?key=value&...]``: ``offline``, ``sketch?drift=0.5``,
``openai:gpt-4.1-mini``, ``openai-compat:http://127.0.0.1:11434/v1#llama3.1``. Every backend,
the built-in ones too, is looked up here by role and name among the declarations that
storyviz/backend_plugins.py collects (built-ins, then installed plugins); its module is imported
only when it is built, so listing or parsing backends never pulls in torch or a provider SDK.
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

# What parse_backend accepts as a name, so that resolve can suggest the exact one
# (storyviz.backend_plugins.NAME).
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

    def flag(self, key: str, default: bool) -> bool:
        """A true/false option (`parse_flag`), or a BackendError naming it and its value."""
        return self.option(key, parse_flag, default)

    def check_options(self, allowed: set[str] | frozenset[str]) -> None:
        unknown = sorted(set(self.options) - set(allowed))
        if unknown:
            known = ", ".join(sorted(allowed)) or "none"
            raise BackendError(
                f"backend {self.name!r} does not take option(s) {', '.join(unknown)}; "
                f"it takes: {known}"
            )


FLAG_WORDS: dict[str, bool] = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
}
"""The words a true/false option accepts, in any case and with spaces around them."""


def parse_flag(text: str) -> bool:
    """A true/false word (`FLAG_WORDS`); a ValueError for anything else, which
    `BackendSpec.option` turns into the one-line error every flag option gives."""
    word = text.strip().lower()
    if word not in FLAG_WORDS:
        raise ValueError("expected true or false")
    return FLAG_WORDS[word]


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
    known auditor name (built-in or plugin) follows it (then ``:``, ``?`` or the end), so a ``+``
    inside a model path stays put; in option values ``+`` means a space anyway (write ``%2B`` for
    a plus). The name after ``+`` is matched ignoring case, so ``offline+VLM:...`` reaches
    `resolve` as two stages and is told the exact name, instead of failing as one unreadable
    name. Installed plugins are read only for a string with a ``+`` in it."""
    if "+" not in text:
        return [text]
    from storyviz.backend_plugins import names as known_names

    names = "|".join(re.escape(n) for n in sorted(known_names("auditor"), key=len, reverse=True))
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


def one_line(exc: BaseException) -> str:
    """An exception as one line of a message: its type and its text with the newlines gone."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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
    """A backend's declaration: where its factory lives and what installing it takes.

    Built-ins and plugins alike declare one per role and name (storyviz/builtin_backends.py,
    docs/plugins.md). The factory is called with the `BackendSpec` and returns an object that
    satisfies the role's protocol in storyviz/protocols.py."""

    target: str  # "module:callable", called with the BackendSpec
    summary: str
    extra: str | None = None  # the pip extra that brings its dependencies
    model: ModelUse = "optional"
    example: str = ""  # a backend string with a model, for the error when one is missing
    distribution: str = "storyviz"
    """Who declared it: storyviz, or the plugin's distribution; for a plugin the registry sets
    this and `version` from the package metadata, so a declaration leaves both out."""
    version: str = ""

    @property
    def plugin(self) -> bool:
        return self.distribution != "storyviz"

    @property
    def origin(self) -> str:
        """``storyviz-foo 0.1``: the distribution and version, as messages and listings say it."""
        return f"{self.distribution} {self.version}".strip()

    def check_model(self, spec: BackendSpec) -> None:
        """A model given to a backend that takes none, or missing where one is needed, is an
        error here, before anything is imported, for every backend alike."""
        if self.model == "none" and spec.model is not None:
            raise BackendError(f"backend {spec.name!r} takes no model; got {shown(spec.model)!r}")
        if self.model == "required" and spec.model is None:
            example = f", e.g. {self.example}" if self.example else ""
            raise BackendError(f"backend {spec.name!r} needs a model{example}")


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


def resolve(role: Role, text: str) -> tuple[BackendSpec, BackendEntry]:
    """Parse and look up a backend string; imports no backend (a plugin's declaration at most)."""
    from storyviz import backend_plugins

    spec = parse_backend(text)
    if spec.chain and role != "auditor":
        raise BackendError(
            f"only auditors compose with '+'; {shown(text)!r} is not a {role} backend"
        )
    found = []
    for stage in (spec, *spec.chain):
        entry = backend_plugins.find(role, stage.name)
        if entry is None:
            raise unknown_name(f"{role} backend", stage.name, backend_plugins.names(role))
        entry.check_model(stage)
        found.append(entry)
    if spec.chain:
        return spec, _COMPOSITE
    return spec, found[0]


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
    except ModuleNotFoundError as exc:
        raise _not_installed(role, spec, entry, exc) from None
    except Exception as exc:
        if not entry.plugin:
            raise  # a built-in that cannot be imported is a bug: keep the traceback
        raise BackendError(_cannot_import(role, spec, entry, exc)) from None
    try:
        return factory(spec)
    except ModuleNotFoundError as exc:  # factories import their SDKs and torch when called
        raise _not_installed(role, spec, entry, exc) from None


def _not_installed(
    role: Role, spec: BackendSpec, entry: BackendEntry, exc: ModuleNotFoundError
) -> Exception:
    """The pip command for a backend whose dependencies are missing. A missing storyviz module
    is a bug in a built-in (the traceback is kept) and a version mismatch in a plugin."""
    missing = (exc.name or "").split(".")[0]
    if entry.extra and missing and missing != "storyviz":
        return BackendError(
            f"the {role} backend {spec.name!r} needs {missing}: "
            f'pip install "{entry.distribution}[{entry.extra}]"'
        )
    if entry.plugin:
        return BackendError(_cannot_import(role, spec, entry, exc))
    return exc


def _cannot_import(role: Role, spec: BackendSpec, entry: BackendEntry, exc: Exception) -> str:
    return (
        f"plugin {entry.origin}: the {role} backend {spec.name!r} cannot be loaded from "
        f"{entry.target}: {one_line(exc)}"
    )
