"""A fake Gemini API server: `POST /v1beta/models/{model}:generateContent`, real wire format.

Point google-genai at it with ``HttpOptions(base_url=server.url)`` (storyviz:
``server.backend("gemini-2.5-flash")`` gives ``gemini:gemini-2.5-flash?base_url=...``). Script
answers with the helpers (`answer`, `malformed`, `block_prompt`, `safety_stop`, `rate_limit`,
`fail`, `slow`, `unauthorized`, ...) or answer from what was asked with `respond_with(fn)`,
where `fn(body)` returns a pydantic object or dict (sent as the model's JSON answer), a str
(sent verbatim as the answer text) or a `Reply` (sent as it is).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from . import RecordedRequest, Reply, ScriptedServer
from .openai_server import as_content

DEFAULT_MODEL = "gemini-fake"
DEFAULT_USAGE = (12, 7)
_PATH = re.compile(r"^/(v1beta|v1|v1alpha)/models/([^/:]+):generateContent$")
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def generate_content_response(
    text: str | None,
    *,
    finish_reason: str = "STOP",
    usage: tuple[int, int] = DEFAULT_USAGE,
    model: str = DEFAULT_MODEL,
    block_reason: str | None = None,
) -> dict[str, Any]:
    """A `GenerateContentResponse` as the API returns it (camelCase JSON)."""
    prompt, answer = usage
    body: dict[str, Any] = {
        "usageMetadata": {
            "promptTokenCount": prompt,
            "candidatesTokenCount": answer,
            "totalTokenCount": prompt + answer,
        },
        "modelVersion": model,
    }
    if block_reason is not None:
        body["promptFeedback"] = {"blockReason": block_reason}
        return body
    candidate: dict[str, Any] = {"finishReason": finish_reason, "index": 0}
    if text is not None:
        candidate["content"] = {"parts": [{"text": text}], "role": "model"}
    body["candidates"] = [candidate]
    return body


def error_reply(
    code: int,
    message: str,
    *,
    status: str | None = None,
    details: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """An error in the API's shape: ``{"error": {"code", "message", "status", "details"}}``."""
    error: dict[str, Any] = {
        "code": code,
        "message": message,
        "status": status or _STATUS.get(code, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    return Reply(code, {"error": error}, dict(headers or {}))


# -- reading what the client sent ------------------------------------------------------------------


def model_of(request: RecordedRequest) -> str:
    """The model named in the request path."""
    found = _PATH.match(request.path)
    return found.group(2) if found else ""


def response_schema(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The schema asked for: `generationConfig.responseJsonSchema` (or `responseSchema`)."""
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    return dict(schema) if schema else None


def schema_name(body: Mapping[str, Any]) -> str | None:
    """The title of the requested schema (a pydantic class name)."""
    schema = response_schema(body)
    return str(schema["title"]) if schema and "title" in schema else None


def request_text(body: Mapping[str, Any]) -> str:
    """Every text part of the system instruction and the contents, joined by newlines."""
    texts: list[str] = []
    system = body.get("systemInstruction") or {}
    texts.extend(p["text"] for p in system.get("parts", []) if "text" in p)
    for content in body.get("contents", []):
        texts.extend(p["text"] for p in content.get("parts", []) if "text" in p)
    return "\n".join(texts)


def inline_images(body: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """(mime type, bytes) of every inline image in the contents, in order."""
    images: list[tuple[str, bytes]] = []
    for content in body.get("contents", []):
        for part in content.get("parts", []):
            data = part.get("inlineData")
            if data:
                mime = data.get("mimeType") or data.get("mime_type", "")
                text = data["data"]  # the SDK sends url-safe base64 without padding
                images.append((mime, base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))))
    return images


class FakeGeminiServer(ScriptedServer):
    """Speaks the Gemini API's `generateContent`."""

    @property
    def base_url(self) -> str:
        return self.url

    def backend(self, model: str = DEFAULT_MODEL, **options: object) -> str:
        """The storyviz backend string for this server, e.g. ``backend("m", timeout=1)``."""
        query = urlencode({"base_url": self.base_url, **{k: str(v) for k, v in options.items()}})
        return f"gemini:{model}?{query}"

    def serves(self, method: str, path: str) -> bool:
        return method == "POST" and bool(_PATH.match(path))

    def adapt(self, answer: object, request: RecordedRequest) -> Reply:
        if isinstance(answer, Reply):
            return answer
        return Reply(200, generate_content_response(as_content(answer), model=model_of(request)))

    def error(self, status: int, message: str, **extra: Any) -> Reply:
        return error_reply(status, message, **extra)

    # -- scripting helpers (each enqueues; `times` repeats it) -------------------------------------

    def answer(
        self,
        answer: object,
        *,
        usage: tuple[int, int] = DEFAULT_USAGE,
        delay: float = 0.0,
        times: int = 1,
    ) -> None:
        """A good answer: `answer` (pydantic object, dict, or str) as the candidate's text."""
        body = generate_content_response(as_content(answer), usage=usage)
        self.enqueue(Reply(200, body, delay=delay), times=times)

    def malformed(self, text: str = '{"title": "The Lost Robot", "panels": [', **kw: Any) -> None:
        """An answer whose text is not valid JSON."""
        self.answer(text, **kw)

    def block_prompt(self, reason: str = "SAFETY") -> None:
        """The prompt itself blocked: `promptFeedback.blockReason`, no candidates."""
        self.enqueue(Reply(200, generate_content_response(None, block_reason=reason)))

    def safety_stop(self, reason: str = "SAFETY") -> None:
        """A candidate stopped by a safety filter (`finishReason: SAFETY`), no content."""
        self.enqueue(Reply(200, generate_content_response(None, finish_reason=reason)))

    def truncated(self, text: str = '{"title": "The Lo') -> None:
        """An answer cut off at the token limit (`finishReason: MAX_TOKENS`)."""
        self.enqueue(Reply(200, generate_content_response(text, finish_reason="MAX_TOKENS")))

    def rate_limit(self, retry_after: float | None = 1, *, times: int = 1) -> None:
        """429 RESOURCE_EXHAUSTED, with `Retry-After` and a RetryInfo detail when given."""
        headers: dict[str, str] = {}
        details: list[dict[str, Any]] = []
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
            details.append(
                {
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": f"{retry_after:g}s",
                }
            )
        reply = error_reply(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            details=details,
            headers=headers,
        )
        self.enqueue(reply, times=times)

    def fail(
        self,
        code: int = 500,
        message: str = "Internal error encountered.",
        *,
        times: int = 1,
        retry_after: float | None = None,
    ) -> None:
        """A server error (500 INTERNAL by default) `times` times; `retry_after` (s) keeps
        retries quick."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        self.enqueue(error_reply(code, message, headers=headers), times=times)

    def slow(self, seconds: float, answer: object = None) -> None:
        """A good answer sent only after `seconds` (past a client's timeout)."""
        self.answer({} if answer is None else answer, delay=seconds)

    def unauthorized(self) -> None:
        """What the API answers a bad key with: 400 INVALID_ARGUMENT, reason API_KEY_INVALID."""
        detail = {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
        }
        self.enqueue(
            error_reply(400, "API key not valid. Please pass a valid API key.", details=[detail])
        )

    def forbidden(self, message: str = "Method doesn't allow unregistered callers.") -> None:
        """403 PERMISSION_DENIED."""
        self.enqueue(error_reply(403, message))
