"""OpenAI and OpenAI-compatible chat models (Ollama, vLLM, llama.cpp...) behind ChatModel.

Backends: ``openai:MODEL`` (key from OPENAI_API_KEY, base URL from OPENAI_BASE_URL if set) and
``openai-compat:BASE_URL#MODEL`` (no key sent, unless ``?key_env=NAME`` names the variable
holding one; never OPENAI_API_KEY by default, since the URL can be anyone's server). Options:
``timeout`` (s, 120), ``max_retries`` (3), ``temperature``, ``mode`` (``json_schema`` |
``json_object``), ``images`` (per call, 16), ``stream`` (true: a caller that asks for progress
gets the answer streamed, `openai_stream.py`). A key about to go over plain http to another
machine is warned about (`warn_if_key_in_clear`).

Structured output goes through the SDK's ``chat.completions.parse`` (a strict JSON schema made
from the pydantic class). Many OpenAI-compatible servers reject ``json_schema``; for those the
client falls back, once and for the rest of its life, to JSON mode with the schema in the
system message and validates the answer itself. Retries of 429/5xx, timeouts and connection
errors are the SDK's own (``max_retries``; it honours Retry-After and retry-after-ms).

A caller's `CallLimits` cap the answer's length (``max_completion_tokens`` for OpenAI, whose
newer models refuse ``max_tokens``; ``max_tokens`` for compatible servers, the name llama.cpp,
Ollama, vLLM and LM Studio all read) and shorten the timeout to what is left of its deadline.

This module imports the openai SDK; it is imported only when such a backend is built.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import openai
from openai import OpenAI
from openai.lib._parsing._completions import type_to_response_format_param
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionContentPartParam,
    ChatCompletionMessageParam,
)
from pydantic import BaseModel, ValidationError

from storyviz.errors import (
    BackendError,
    ModelOutputError,
    ProviderAuthError,
    ProviderError,
    RefusalError,
)
from storyviz.metering import CallMeter
from storyviz.providers.base import CallLimits, ChatMessage, ChatResult, ImagePart
from storyviz.providers.calls import (
    CallRecord,
    MeterBinding,
    client_options,
    metered_call,
    output_error,
    problems_of,
    retries_text,
    safe_message,
    validate_answer,
    warn_if_key_in_clear,
)
from storyviz.providers.openai_stream import StreamDeadline, StreamedAnswer, read_answer
from storyviz.redaction import redact
from storyviz.registry import BackendSpec

T = TypeVar("T", bound=BaseModel)
Mode = Literal["json_schema", "json_object"]

KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"
# The SDK refuses an empty key and reads OPENAI_API_KEY for a missing one; this is what an
# openai-compat server gets when no ?key_env= names a key for it.
COMPAT_PLACEHOLDER_KEY = "not-needed"
OPTIONS = frozenset({"timeout", "max_retries", "temperature", "mode", "images", "stream"})
COMPAT_OPTIONS = OPTIONS | {"key_env"}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FALLBACK_NOTE = "server rejected json_schema; used JSON mode with validation"
_RETRIED_STATUSES = {408, 409, 429} | set(range(500, 600))
_REJECTION_WORDS = ("response_format", "json_schema", "not supported", "unsupported")


@dataclass(frozen=True)
class OpenAISettings:
    """Everything a client needs, parsed and checked from a backend string and the environment."""

    spec: str  # redacted backend string
    model: str
    api_key: str
    base_url: str | None  # None: the SDK's default (api.openai.com)
    compat: bool
    timeout: float = 120.0
    max_retries: int = 3
    temperature: float | None = None
    mode: Mode = "json_schema"
    images: int = 16
    key_env: str | None = KEY_ENV  # where api_key came from; None: no key, a placeholder
    stream: bool = True  # stream when the caller asks for progress (CallLimits.on_tokens)


def openai_chat_from_spec(spec: BackendSpec) -> OpenAIChat:
    """Build a client for ``openai:MODEL`` or ``openai-compat:BASE_URL#MODEL``."""
    return OpenAIChat(settings_from_spec(spec))


def settings_from_spec(spec: BackendSpec) -> OpenAISettings:
    if spec.name not in ("openai", "openai-compat"):
        raise BackendError(f"backend {spec.name!r} is not an OpenAI backend")
    spec.check_options(OPTIONS if spec.name == "openai" else COMPAT_OPTIONS)
    common = common_options(spec)
    if spec.name == "openai":
        if not spec.model:
            raise BackendError("backend 'openai' needs a model, e.g. openai:gpt-4.1-mini")
        key = os.environ.get(KEY_ENV, "").strip()
        if not key:
            raise ProviderAuthError(f"{spec.redacted()} needs an API key: set {KEY_ENV}")
        base_url = os.environ.get(BASE_URL_ENV, "").strip() or None
        return OpenAISettings(
            spec.redacted(),
            spec.model,
            key,
            base_url,
            compat=False,
            **common,
            **_stream_option(spec),
        )
    base_url, model = _split_compat_model(spec)
    key_env, key = _compat_key(spec)
    return OpenAISettings(
        spec.redacted(),
        model,
        key or COMPAT_PLACEHOLDER_KEY,
        base_url,
        compat=True,
        key_env=key_env,
        **common,
        **_stream_option(spec),
    )


def _compat_key(spec: BackendSpec) -> tuple[str | None, str]:
    """The variable ``?key_env=`` names and its value, or (None, "") when none is named.

    An openai-compat URL can be any server, so no key goes to it unless the backend string says
    which variable holds one: sending OPENAI_API_KEY to whatever URL was given would hand an
    OpenAI key to a stranger's server (and, over http, to the network)."""
    name = spec.options.get("key_env")
    if name is None:
        return None, ""
    if not _ENV_NAME.fullmatch(name):
        raise BackendError(
            f"backend 'openai-compat': key_env={name!r} is not an environment variable name"
        )
    key = os.environ.get(name, "").strip()
    if not key:
        raise ProviderAuthError(f"{spec.redacted()} sends the key in {name}, but {name} is not set")
    return name, key


def common_options(spec: BackendSpec) -> dict[str, Any]:
    """The client options every OpenAI backend takes, checked (the image backend uses them too)."""
    mode = spec.option("mode", str, "json_schema")
    if mode not in ("json_schema", "json_object"):
        raise BackendError(
            f"backend {spec.name!r}: option mode must be json_schema or json_object, not {mode!r}"
        )
    return {**client_options(spec), "mode": mode}


def _stream_option(spec: BackendSpec) -> dict[str, Any]:
    """``stream=true|false`` for the chat clients (the image backend takes no such option)."""
    return {"stream": spec.flag("stream", True)}


def _split_compat_model(spec: BackendSpec) -> tuple[str, str]:
    example = "openai-compat:http://127.0.0.1:11434/v1#llama3.1"
    base_url, sep, model = (spec.model or "").rpartition("#")
    if not sep or not model.strip() or not base_url.strip():
        raise BackendError(f"backend 'openai-compat' needs BASE_URL#MODEL, e.g. {example}")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BackendError(
            f"backend 'openai-compat': {redact(base_url)!r} is not an http(s) URL; e.g. {example}"
        )
    return base_url.strip(), model.strip()


class OpenAIChat:
    """A ChatModel over the OpenAI Chat Completions API (or a server that speaks it)."""

    supports_images = True

    def __init__(self, settings: OpenAISettings) -> None:
        self.settings = settings
        self.spec = settings.spec
        self.model = settings.model
        self.max_images_per_call = settings.images
        self._mode: Mode = settings.mode
        self._fell_back = False
        self._binding = MeterBinding()
        self._client = OpenAI(
            api_key=settings.api_key,
            base_url=settings.base_url,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
        )
        self._base_url = redact(str(self._client.base_url).rstrip("/"))
        warn_if_key_in_clear(self.spec, str(self._client.base_url), settings.key_env)

    @property
    def client(self) -> OpenAI:
        """The SDK client, for the image backend that shares this connection and its errors."""
        return self._client

    def bind_meter(self, meter: CallMeter, role: str) -> None:
        self._binding.bind(meter, role)

    def structured(
        self,
        messages: Sequence[ChatMessage],
        schema: type[T],
        *,
        purpose: str,
        limits: CallLimits | None = None,
    ) -> ChatResult[T]:
        wire = to_wire_messages(messages, max_images=self.max_images_per_call)
        limits = limits or CallLimits()
        with metered_call(
            self._binding,
            backend=self.spec,
            model=self.model,
            purpose=purpose,
            secret=self.settings.api_key,
        ) as record:
            try:
                value, raw = self._ask(wire, schema, record, limits)
            except openai.OpenAIError as exc:
                raise self.provider_error(
                    exc, timeout=limits.timeout(self.settings.timeout)
                ) from None
            except StreamDeadline as exc:
                record.notes.append(f"cut at the deadline after {len(exc.content)} characters")
                raise ProviderError(
                    f"{self.spec}: the answer was cut at the deadline while it was streaming"
                ) from None
            return ChatResult(
                value=value,
                raw=raw,
                model=self.model,
                input_tokens=record.input_tokens,
                output_tokens=record.output_tokens,
                seconds=record.seconds,
                mode=self._mode,
                notes=list(record.notes),
            )

    # -- one exchange ------------------------------------------------------------------------------

    def _ask(
        self,
        wire: list[ChatCompletionMessageParam],
        schema: type[T],
        record: CallRecord,
        limits: CallLimits,
    ) -> tuple[T, str]:
        client = self._client_within(limits)
        streamed = self.settings.stream and limits.on_tokens is not None
        if self._mode == "json_schema":
            try:
                if streamed:
                    return self._ask_streamed(client, wire, schema, record, limits)
                return self._ask_with_schema(client, wire, schema, record, limits)
            except openai.APIStatusError as exc:
                if not (self.settings.compat and rejects_json_schema(exc)):
                    raise
                self._mode = "json_object"  # remembered: later calls go straight to JSON mode
                self._fell_back = True
        if self._fell_back:
            record.notes.append(FALLBACK_NOTE)
        if streamed:
            return self._ask_streamed(client, wire, schema, record, limits)
        return self._ask_json_mode(client, wire, schema, record, limits)

    def _client_within(self, limits: CallLimits) -> OpenAI:
        """The SDK client for one call: with a nearer deadline, a shorter timeout and no retry
        that would start after it."""
        timeout = limits.timeout(self.settings.timeout)
        if timeout >= self.settings.timeout:
            return self._client
        return self._client.with_options(timeout=timeout, max_retries=0)

    def _ask_streamed(
        self,
        client: OpenAI,
        wire: list[ChatCompletionMessageParam],
        schema: type[T],
        record: CallRecord,
        limits: CallLimits,
    ) -> tuple[T, str]:
        """One streamed call in the current mode (the same request as the unstreamed one, plus
        ``stream``); a server that answers with one JSON body is read as such."""
        if self._mode == "json_schema":
            messages, response_format = wire, type_to_response_format_param(schema)
        else:
            messages = with_schema_instruction(wire, schema)
            response_format = {"type": "json_object"}
        with client.chat.completions.with_streaming_response.create(
            model=self.model,
            messages=messages,
            response_format=response_format,
            stream=True,
            stream_options={"include_usage": True},
            **self._sampling(limits),
        ) as response:
            answer = read_answer(
                client,
                response.http_response,
                on_tokens=limits.on_tokens,
                deadline=limits.deadline,
            )
        if answer.streamed:
            record.notes.append("streamed")
        return self._checked(schema, answer, record), answer.content

    def _checked(self, schema: type[T], answer: StreamedAnswer, record: CallRecord) -> T:
        record.input_tokens, record.output_tokens = answer.input_tokens, answer.output_tokens
        if answer.refusal:
            raise self.refusal(answer.refusal)
        if answer.finish_reason == "content_filter":
            raise self.refusal("the content filter stopped the answer")
        if answer.finish_reason == "length":
            raise self._truncated(schema, answer.content)
        return validate_answer(schema, answer.content, who=self.spec)

    def _ask_with_schema(
        self,
        client: OpenAI,
        wire: list[ChatCompletionMessageParam],
        schema: type[T],
        record: CallRecord,
        limits: CallLimits,
    ) -> tuple[T, str]:
        response = client.chat.completions.with_raw_response.parse(
            model=self.model, messages=wire, response_format=schema, **self._sampling(limits)
        )
        body = _json_body(response.text)
        record.input_tokens, record.output_tokens = _usage(body)
        content = _content(body)
        try:
            completion = response.parse()
        except openai.ContentFilterFinishReasonError:
            raise self.refusal("the content filter stopped the answer") from None
        except openai.LengthFinishReasonError:
            raise self._truncated(schema, content) from None
        except ValidationError as exc:
            raise output_error(schema, content, problems_of(exc), who=self.spec) from None
        if not completion.choices:
            raise output_error(schema, content, ["the answer has no choices"], who=self.spec)
        message = completion.choices[0].message
        if message.refusal:
            raise self.refusal(message.refusal)
        if message.parsed is None:
            raise output_error(schema, content, ["the answer is empty"], who=self.spec)
        return message.parsed, content

    def _ask_json_mode(
        self,
        client: OpenAI,
        wire: list[ChatCompletionMessageParam],
        schema: type[T],
        record: CallRecord,
        limits: CallLimits,
    ) -> tuple[T, str]:
        response = client.chat.completions.with_raw_response.create(
            model=self.model,
            messages=with_schema_instruction(wire, schema),
            response_format={"type": "json_object"},
            **self._sampling(limits),
        )
        completion: ChatCompletion = response.parse()
        usage = completion.usage
        if usage is not None:
            record.input_tokens, record.output_tokens = usage.prompt_tokens, usage.completion_tokens
        if not completion.choices:
            raise output_error(schema, "", ["the answer has no choices"], who=self.spec)
        choice = completion.choices[0]
        answer = StreamedAnswer(
            content=choice.message.content or "",
            refusal=choice.message.refusal or "",
            finish_reason=choice.finish_reason,
            input_tokens=record.input_tokens,
            output_tokens=record.output_tokens,
        )
        return self._checked(schema, answer, record), answer.content

    def _sampling(self, limits: CallLimits) -> dict[str, Any]:
        temperature = self.settings.temperature
        sampling: dict[str, Any] = {} if temperature is None else {"temperature": temperature}
        if limits.max_tokens is not None:
            key = "max_tokens" if self.settings.compat else "max_completion_tokens"
            sampling[key] = limits.max_tokens
        return sampling

    # -- errors ------------------------------------------------------------------------------------

    def refusal(self, text: str) -> RefusalError:
        return RefusalError(safe_message(f"{self.spec} refused: {text}", self.settings.api_key))

    def _truncated(self, schema: type[BaseModel], content: str) -> ModelOutputError:
        problem = "the answer was cut off at the token limit (finish_reason=length)"
        return output_error(schema, content, [problem], who=self.spec)

    def provider_error(
        self, exc: openai.OpenAIError, *, timeout: float | None = None
    ) -> ProviderError:
        """One line a user can act on, never with the key in it."""
        settings = self.settings
        retries = settings.max_retries
        if isinstance(exc, openai.APITimeoutError):
            text = (
                f"{self.spec}: the request timed out after {timeout or settings.timeout:g} s "
                f"({retries_text(retries)}); raise ?timeout=..."
            )
        elif isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            text = f"{self.spec}: cannot connect to {self._base_url} ({cause}); is it running?"
        elif isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            who = (
                f"the server at {self._base_url} refused the key"
                if settings.compat
                else "OpenAI refused the API key"
            )
            fix = (
                f"set {settings.key_env} to a valid key"
                if settings.key_env
                else "name the variable holding its key with ?key_env=NAME"
            )
            text = f"{self.spec}: {who} (HTTP {exc.status_code}: {error_text(exc)}); {fix}"
            return ProviderAuthError(safe_message(text, settings.api_key))
        elif isinstance(exc, openai.APIStatusError):
            after = (
                f" after {retries_text(retries)}" if exc.status_code in _RETRIED_STATUSES else ""
            )
            what = "rate limited" if exc.status_code == 429 else "the server failed"
            if exc.status_code < 500 and exc.status_code != 429:
                what = "the request was refused"
            text = (
                f"{self.spec}: {what} (HTTP {exc.status_code}{after}) "
                f"at {self._base_url}: {error_text(exc)}"
            )
        else:
            text = f"{self.spec}: {type(exc).__name__}: {exc}"
        return ProviderError(safe_message(text, settings.api_key))


# -- the wire format -------------------------------------------------------------------------------


def to_wire_messages(
    messages: Sequence[ChatMessage], *, max_images: int
) -> list[ChatCompletionMessageParam]:
    """ChatMessages as Chat Completions messages; images become data-URL `image_url` parts,
    each after a text part with its label, so the model knows which picture is which."""
    count = sum(len(m.images) for m in messages)
    if count > max_images:
        raise ValueError(
            f"{count} images in one call; this backend takes at most {max_images} "
            "(split the call, or raise ?images=...)"
        )
    wire: list[ChatCompletionMessageParam] = []
    for message in messages:
        if message.images and message.role != "user":
            raise ValueError(f"images can only be sent in user messages, not {message.role}")
        if message.role == "system":
            wire.append({"role": "system", "content": message.text})
        elif message.role == "assistant":
            wire.append({"role": "assistant", "content": message.text})
        elif not message.images:
            wire.append({"role": "user", "content": message.text})
        else:
            wire.append({"role": "user", "content": _user_parts(message)})
    return wire


def _user_parts(message: ChatMessage) -> list[ChatCompletionContentPartParam]:
    parts: list[ChatCompletionContentPartParam] = []
    if message.text:
        parts.append({"type": "text", "text": message.text})
    for image in message.images:
        if image.label:
            parts.append({"type": "text", "text": image.label})
        parts.append({"type": "image_url", "image_url": {"url": data_url(image)}})
    return parts


def data_url(image: ImagePart) -> str:
    return f"data:{image.mime};base64,{base64.b64encode(image.data).decode('ascii')}"


def with_schema_instruction(
    wire: list[ChatCompletionMessageParam], schema: type[BaseModel]
) -> list[ChatCompletionMessageParam]:
    """JSON mode knows no schema: state it in the system message (added first if none)."""
    instruction = (
        f"Answer with one JSON object that validates against the JSON schema named "
        f"{schema.__name__}:\n{json.dumps(schema.model_json_schema())}"
    )
    out = list(wire)
    for index, message in enumerate(out):
        if message["role"] == "system" and isinstance(message.get("content"), str):
            out[index] = {"role": "system", "content": f"{message['content']}\n\n{instruction}"}
            return out
    return [{"role": "system", "content": instruction}, *out]


def rejects_json_schema(exc: openai.APIStatusError) -> bool:
    """Whether an error says the server does not do `json_schema` response formats."""
    if exc.status_code not in (400, 415, 422, 500, 501):
        return False
    text = f"{exc.message} {json.dumps(exc.body) if exc.body is not None else ''}".lower()
    return any(word in text for word in _REJECTION_WORDS)


def error_text(exc: openai.APIStatusError) -> str:
    """The API's own error message from an error body, else the SDK's summary."""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return exc.message


def _json_body(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _usage(body: dict[str, Any]) -> tuple[int, int]:
    usage = body.get("usage") or {}
    return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)


def _content(body: dict[str, Any]) -> str:
    try:
        return str(body["choices"][0]["message"]["content"] or "")
    except (KeyError, IndexError, TypeError):
        return ""
