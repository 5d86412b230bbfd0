"""Google Gemini chat models behind ChatModel, through the google-genai SDK.

Backend: ``gemini:MODEL`` (key from GOOGLE_API_KEY or GEMINI_API_KEY, in the SDK's order).
Options: ``timeout`` (s, 120), ``max_retries`` (3), ``temperature``, ``images`` (per call, 16),
``base_url`` (else GEMINI_BASE_URL, else GOOGLE_GEMINI_BASE_URL, else Google's endpoint).

google-genai is the successor of the deprecated google-generativeai package; this module uses
only google-genai (``from google import genai``).

Why the client does some things itself:
- The schema goes as ``response_json_schema`` (plain JSON Schema from pydantic), not as
  ``response_schema=<class>``: the SDK's conversion for the Gemini Developer API rejects
  ``dict`` fields (additionalProperties) and fixed-length tuples (prefixItems), which the
  project's own models (StoryPlan, PanelAudit) use. The answer is validated with pydantic here.
- Retries: the SDK's HttpRetryOptions back off exponentially but ignore Retry-After and the
  API's RetryInfo, so SDK retries are off and a small bounded loop here honours both.

This module imports google-genai; it is imported only when such a backend is built.
"""

from __future__ import annotations

import email.utils
import importlib
import os
import random
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from google import genai
from google.genai import errors, types
from pydantic import BaseModel

from storyviz.errors import (
    BackendError,
    ProviderAuthError,
    ProviderError,
    RefusalError,
)
from storyviz.metering import CallMeter
from storyviz.providers.base import CallLimits, ChatMessage, ChatResult
from storyviz.providers.calls import (
    CallRecord,
    MeterBinding,
    client_options,
    metered_call,
    output_error,
    retries_text,
    safe_message,
    validate_answer,
    warn_if_key_in_clear,
)
from storyviz.redaction import redact
from storyviz.registry import BackendSpec

T = TypeVar("T", bound=BaseModel)

KEY_ENVS = ("GOOGLE_API_KEY", "GEMINI_API_KEY")  # the SDK's own precedence
BASE_URL_ENVS = ("GEMINI_BASE_URL", "GOOGLE_GEMINI_BASE_URL")
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
OPTIONS = frozenset({"timeout", "max_retries", "temperature", "images", "base_url"})
RETRIED_CODES = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_WAIT = 60.0  # a server asking for longer is not waited for
REFUSAL_FINISHES = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}
)
_sleep = time.sleep  # tests may replace it


@dataclass(frozen=True)
class GeminiSettings:
    """Everything a client needs, parsed and checked from a backend string and the environment."""

    spec: str  # redacted backend string
    model: str
    api_key: str
    key_env: str  # which variable the key came from, for auth errors
    base_url: str | None  # None: the SDK's default endpoint
    timeout: float = 120.0
    max_retries: int = 3
    temperature: float | None = None
    images: int = 16


def gemini_chat_from_spec(spec: BackendSpec) -> GeminiChat:
    """Build a client for ``gemini:MODEL``."""
    return GeminiChat(settings_from_spec(spec))


def settings_from_spec(
    spec: BackendSpec,
    *,
    own_options: frozenset[str] = frozenset(),
    example: str = "gemini:gemini-2.5-flash",
) -> GeminiSettings:
    """Client settings for ``gemini:MODEL`` or, with the backend's `own_options` allowed beside
    the client's, another Gemini backend such as ``gemini-image:MODEL``."""
    if spec.name not in ("gemini", "gemini-image"):
        raise BackendError(f"backend {spec.name!r} is not a Gemini backend")
    spec.check_options(OPTIONS | own_options)
    if not spec.model:
        raise BackendError(f"backend {spec.name!r} needs a model, e.g. {example}")
    options = client_options(spec)
    key_env, key = next(((n, os.environ[n].strip()) for n in KEY_ENVS if _env(n)), ("", ""))
    if not key:
        raise ProviderAuthError(
            f"{spec.redacted()} needs an API key: set GEMINI_API_KEY (or GOOGLE_API_KEY)"
        )
    base_url = spec.options.get("base_url") or next(
        (os.environ[n].strip() for n in BASE_URL_ENVS if _env(n)), None
    )
    return GeminiSettings(
        spec=spec.redacted(),
        model=spec.model,
        api_key=key,
        key_env=key_env,
        base_url=base_url,
        **options,
    )


def _env(name: str) -> bool:
    return bool(os.environ.get(name, "").strip())


class GeminiChat:
    """A ChatModel over the Gemini API's generateContent."""

    supports_images = True

    def __init__(self, settings: GeminiSettings) -> None:
        self.settings = settings
        self.spec = settings.spec
        self.model = settings.model
        self.max_images_per_call = settings.images
        self._binding = MeterBinding()
        self._base_url = redact((settings.base_url or DEFAULT_BASE_URL).rstrip("/"))
        self._client = genai.Client(
            api_key=settings.api_key,
            vertexai=False,
            http_options=types.HttpOptions(
                base_url=settings.base_url,
                timeout=max(1, round(settings.timeout * 1000)),  # milliseconds
                retry_options=types.HttpRetryOptions(attempts=1),  # retries are ours
            ),
        )
        self._timeouts, self._transport_errors = _transport_error_types()
        warn_if_key_in_clear(self.spec, settings.base_url or DEFAULT_BASE_URL, settings.key_env)

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
        """`limits`: the token cap becomes ``max_output_tokens`` and a nearer deadline a shorter
        timeout for this request; answers are not streamed (no progress is reported)."""
        contents, system = to_contents(messages, max_images=self.max_images_per_call)
        limits = limits or CallLimits()
        timeout = limits.timeout(self.settings.timeout)
        config = types.GenerateContentConfig(
            response_mime_type="application/json",
            response_json_schema=schema.model_json_schema(),
            system_instruction=system,
            temperature=self.settings.temperature,
            max_output_tokens=limits.max_tokens,
            http_options=(
                types.HttpOptions(timeout=max(1, round(timeout * 1000)))
                if timeout < self.settings.timeout
                else None
            ),
        )
        with metered_call(
            self._binding,
            backend=self.spec,
            model=self.model,
            purpose=purpose,
            secret=self.settings.api_key,
        ) as record:
            response = self.generate(contents, config)
            raw = self._answer_text(response, schema, record)
            value = validate_answer(schema, raw, who=self.spec)
            return ChatResult(
                value=value,
                raw=raw,
                model=self.model,
                input_tokens=record.input_tokens,
                output_tokens=record.output_tokens,
                seconds=record.seconds,
                mode="json_schema",
                notes=list(record.notes),
            )

    # -- sending, with retries ---------------------------------------------------------------------

    def generate(
        self, contents: list[types.Content], config: types.GenerateContentConfig
    ) -> types.GenerateContentResponse:
        """One call, retried on 408/429/5xx, timeouts and connection errors (bounded); the
        image backend (generators/gemini_image.py) sends through it too."""
        last = self.settings.max_retries
        for attempt in range(last + 1):
            try:
                return self._client.models.generate_content(
                    model=self.model, contents=contents, config=config
                )
            except errors.APIError as exc:
                if exc.code not in RETRIED_CODES or attempt == last:
                    raise self._api_error(exc, attempt) from None
                wait = retry_wait(exc, attempt)
                if wait > MAX_RETRY_WAIT:
                    raise self._api_error(exc, attempt, asked_wait=wait) from None
            except self._timeouts:
                if attempt == last:
                    raise self.error(
                        f"the request timed out after {self.settings.timeout:g} s "
                        f"({retries_text(last)}); raise ?timeout=..."
                    ) from None
                wait = backoff(attempt)
            except self._transport_errors as exc:
                if attempt == last:
                    raise self.error(
                        f"cannot connect to {self._base_url} ({type(exc).__name__}: {exc})"
                    ) from None
                wait = backoff(attempt)
            _sleep(wait)
        raise AssertionError("unreachable: the loop returns or raises")

    # -- reading the answer ------------------------------------------------------------------------

    def _answer_text(
        self, response: types.GenerateContentResponse, schema: type[BaseModel], record: CallRecord
    ) -> str:
        record_usage(response, record)
        self.raise_if_refused(response)
        if not response.candidates:
            raise output_error(schema, "", ["the answer has no candidates"], who=self.spec)
        candidate = response.candidates[0]
        finish = finish_name(candidate)
        parts = candidate.content.parts if candidate.content and candidate.content.parts else []
        text = "".join(p.text for p in parts if p.text and not p.thought)
        if finish == "MAX_TOKENS":
            problem = "the answer was cut off at the token limit (finishReason=MAX_TOKENS)"
            raise output_error(schema, text, [problem], who=self.spec)
        if not text:
            raise output_error(schema, "", [f"the answer is empty ({finish})"], who=self.spec)
        return text

    def raise_if_refused(
        self, response: types.GenerateContentResponse, finishes: frozenset[str] = REFUSAL_FINISHES
    ) -> None:
        """A RefusalError when the prompt was blocked or the first candidate was stopped by a
        safety filter (one of `finishes`)."""
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            detail = f": {feedback.block_reason_message}" if feedback.block_reason_message else ""
            raise self.refusal(f"the prompt was blocked ({_name(feedback.block_reason)}){detail}")
        if not response.candidates:
            return
        candidate = response.candidates[0]
        finish = finish_name(candidate)
        if finish in finishes:
            detail = f": {candidate.finish_message}" if candidate.finish_message else ""
            raise self.refusal(f"the answer was stopped ({finish}){detail}")

    # -- errors ------------------------------------------------------------------------------------

    def error(self, text: str) -> ProviderError:
        return ProviderError(safe_message(f"{self.spec}: {text}", self.settings.api_key))

    def refusal(self, text: str) -> RefusalError:
        return RefusalError(safe_message(f"{self.spec} refused: {text}", self.settings.api_key))

    def _api_error(
        self, exc: errors.APIError, attempt: int, *, asked_wait: float | None = None
    ) -> ProviderError:
        """One line a user can act on, never with the key in it."""
        code = exc.code
        status = f"HTTP {code}{f' {exc.status}' if exc.status else ''}"
        message = exc.message or str(exc.details)
        if code in (401, 403) or (code == 400 and _is_key_problem(exc)):
            text = (
                f"{self.spec}: Gemini refused the key from {self.settings.key_env} "
                f"({status}: {message}); set GEMINI_API_KEY (or GOOGLE_API_KEY) to a valid key"
            )
            return ProviderAuthError(safe_message(text, self.settings.api_key))
        if asked_wait is not None:
            return self.error(
                f"{status}: the server asks to wait {asked_wait:g} s, longer than "
                f"{MAX_RETRY_WAIT:g} s; try again later ({message})"
            )
        after = f" after {retries_text(attempt)}" if code in RETRIED_CODES else ""
        what = "rate limited" if code == 429 else "the request failed"
        return self.error(f"{what} ({status}{after}) at {self._base_url}: {message}")


# -- the wire format -------------------------------------------------------------------------------


def to_contents(
    messages: Sequence[ChatMessage], *, max_images: int
) -> tuple[list[types.Content], str | None]:
    """ChatMessages as Gemini contents plus one system instruction; images become inline-bytes
    parts, each after a text part with its label, so the model knows which picture is which."""
    count = sum(len(m.images) for m in messages)
    if count > max_images:
        raise ValueError(
            f"{count} images in one call; this backend takes at most {max_images} "
            "(split the call, or raise ?images=...)"
        )
    system: list[str] = []
    contents: list[types.Content] = []
    for message in messages:
        if message.images and message.role != "user":
            raise ValueError(f"images can only be sent in user messages, not {message.role}")
        if message.role == "system":
            system.append(message.text)
            continue
        parts: list[types.Part] = []
        if message.text:
            parts.append(types.Part.from_text(text=message.text))
        for image in message.images:
            if image.label:
                parts.append(types.Part.from_text(text=image.label))
            parts.append(types.Part.from_bytes(data=image.data, mime_type=image.mime))
        role = "model" if message.role == "assistant" else "user"
        contents.append(types.Content(role=role, parts=parts))
    return contents, ("\n\n".join(system) if system else None)


# -- retry timing ----------------------------------------------------------------------------------


def retry_wait(exc: errors.APIError, attempt: int) -> float:
    """Seconds to wait before retrying: the server's Retry-After / retry-after-ms header or
    RetryInfo detail when it gives one, else exponential backoff with jitter."""
    headers = getattr(exc.response, "headers", None)
    asked = _header_wait(headers) if headers is not None else None
    if asked is None:
        asked = _retry_info_wait(exc.details)
    return backoff(attempt) if asked is None else max(0.0, asked)


def backoff(attempt: int) -> float:
    return min(0.5 * 2.0**attempt, 8.0) * (0.75 + random.random() * 0.5)


def _header_wait(headers: Mapping[str, str]) -> float | None:
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    return None if parsed is None else email.utils.mktime_tz(parsed) - time.time()


def _retry_info_wait(details: Any) -> float | None:
    error = details.get("error", details) if isinstance(details, dict) else {}
    for detail in error.get("details", []) if isinstance(error, dict) else []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        found = re.fullmatch(r"\s*([0-9.]+)s\s*", str(delay or ""))
        if found:
            return float(found.group(1))
    return None


# -- small helpers ---------------------------------------------------------------------------------


def record_usage(response: types.GenerateContentResponse, record: CallRecord) -> None:
    """The call's tokens from the answer's usage metadata (thinking tokens bill as output)."""
    usage = response.usage_metadata
    if usage is not None:
        record.input_tokens = usage.prompt_token_count or 0
        record.output_tokens = (usage.candidates_token_count or 0) + (
            usage.thoughts_token_count or 0
        )


def finish_name(candidate: types.Candidate) -> str:
    """A candidate's finish reason as its API name (``STOP``, ``SAFETY``...), or ''."""
    return _name(candidate.finish_reason) if candidate.finish_reason is not None else ""


def _is_key_problem(exc: errors.APIError) -> bool:
    text = f"{exc.message} {exc.details}"
    return "API_KEY_INVALID" in text or "API key" in text


def _name(value: object) -> str:
    return str(getattr(value, "value", value))


def _transport_error_types() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """(timeouts, other transport errors) of httpx and httpx2, whichever the SDK may use."""
    timeouts: list[type[Exception]] = []
    transport: list[type[Exception]] = []
    for name in ("httpx", "httpx2"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        timeouts.append(module.TimeoutException)
        transport.append(module.TransportError)
    return tuple(timeouts), tuple(transport)
