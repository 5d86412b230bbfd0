"""A fake OpenAI-compatible chat server: `POST /v1/chat/completions`, real wire format.

Point any OpenAI client at `server.base_url` (or use `server.backend("m")` for a storyviz
backend string such as ``openai-compat:http://127.0.0.1:PORT/v1#m``). Script answers with the
helpers (`answer`, `malformed`, `refuse`, `rate_limit`, `fail`, `slow`, `reject_json_schema`,
`unauthorized`, ...) or answer from what was asked with `respond_with(fn)`, where `fn(body)`
returns a pydantic object or dict (sent as the model's JSON answer), a str (sent verbatim as
the answer text) or a `Reply` (sent as it is)::

    with FakeOpenAIServer() as server:
        server.respond_with(lambda body: plans[schema_name(body)])
        ...
        assert "Mia" in message_text(server.last.body)
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel

from . import RecordedRequest, Reply, ScriptedServer

DEFAULT_MODEL = "fake-model"
DEFAULT_USAGE = (12, 7)
_ids = itertools.count(1)


def completion(
    content: str | None,
    *,
    model: str = DEFAULT_MODEL,
    finish_reason: str = "stop",
    refusal: str | None = None,
    usage: tuple[int, int] = DEFAULT_USAGE,
) -> dict[str, Any]:
    """A `chat.completion` object as the API returns it."""
    prompt, answer = usage
    return {
        "id": f"chatcmpl-fake-{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": answer,
            "total_tokens": prompt + answer,
        },
    }


def error_reply(
    status: int,
    message: str,
    *,
    type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """An error in the API's shape: ``{"error": {"message", "type", "param", "code"}}``."""
    body = {"error": {"message": message, "type": type, "param": param, "code": code}}
    return Reply(status, body, dict(headers or {}))


def as_content(answer: object) -> str:
    """A pydantic object, dict or list as JSON text; a str as it is."""
    if isinstance(answer, BaseModel):
        return answer.model_dump_json()
    if isinstance(answer, str):
        return answer
    return json.dumps(answer)


# -- reading what the client sent ------------------------------------------------------------------


def schema_name(body: Mapping[str, Any]) -> str | None:
    """The schema a request asks for: `response_format.json_schema.name`, or in JSON mode the
    name storyviz writes into the system message ("... the JSON schema named X ...")."""
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return str(response_format["json_schema"]["name"])
    found = re.search(r"JSON schema named (\w+)", message_text(body))
    return found.group(1) if found else None


def message_text(body: Mapping[str, Any]) -> str:
    """Every text the request's messages carry, joined by newlines."""
    texts: list[str] = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(p["text"] for p in content if p.get("type") == "text")
    return "\n".join(texts)


def image_urls(body: Mapping[str, Any]) -> list[str]:
    """The `image_url` URLs of every message, in order (data URLs for inline images)."""
    urls: list[str] = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, list):
            urls.extend(p["image_url"]["url"] for p in content if p.get("type") == "image_url")
    return urls


def sse_pieces(body: Mapping[str, Any], *, chunk_chars: int = 8) -> tuple[bytes, ...]:
    """A `chat.completion` as the API streams it: ``chat.completion.chunk`` events carrying the
    role, then the content `chunk_chars` characters at a time (or the refusal), then the
    finish reason, a usage chunk with empty choices (what ``stream_options.include_usage``
    asks for; its completion tokens are the content chunks, one token each, as a server that
    streams token by token counts them), and ``data: [DONE]``, each as one SSE ``data:``
    line."""
    choice = body["choices"][0]
    message = choice["message"]
    base = {k: body[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}

    def event(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> bytes:
        choices = (
            []
            if delta is None
            else [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
        )
        return f"data: {json.dumps(base | {'choices': choices} | extra)}\n\n".encode()

    pieces = [event({"role": "assistant", "content": ""})]
    content = message.get("content") or ""
    pieces += [
        event({"content": content[i : i + chunk_chars]})
        for i in range(0, len(content), chunk_chars)
    ]
    if message.get("refusal"):
        pieces.append(event({"refusal": message["refusal"]}))
    pieces.append(event({}, choice["finish_reason"]))
    tokens = -(-len(content) // chunk_chars)  # a streaming server: one token per content chunk
    usage = body["usage"] | {
        "completion_tokens": tokens,
        "total_tokens": body["usage"]["prompt_tokens"] + tokens,
    }
    pieces.append(event(None, usage=usage))
    pieces.append(b"data: [DONE]\n\n")
    return tuple(pieces)


class OpenAIDialect(ScriptedServer):
    """What every fake OpenAI endpoint (chat here, images in openai_images.py) shares: the
    ``/v1`` base URL and the API's error replies, so the SDK's retries and error handling meet
    the same wire format whichever endpoint a test drives."""

    rate_limit_message = "Rate limit reached for requests. Please try again later."

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def error(self, status: int, message: str, **extra: Any) -> Reply:
        return error_reply(status, message, **extra)

    def rate_limit(self, retry_after: float | None = 1, *, times: int = 1) -> None:
        """429 with `Retry-After` (seconds) when given."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        reply = error_reply(
            429,
            self.rate_limit_message,
            type="requests",
            code="rate_limit_exceeded",
            headers=headers,
        )
        self.enqueue(reply, times=times)

    def fail(
        self,
        status: int = 500,
        message: str = "The server had an error",
        *,
        times: int = 1,
        retry_after: float | None = None,
    ) -> None:
        """A server error (500 by default) `times` times; `retry_after` (s) keeps retries quick."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        self.enqueue(
            error_reply(status, message, type="server_error", headers=headers), times=times
        )

    def unauthorized(self, message: str = "Incorrect API key provided.") -> None:
        """401 invalid_api_key."""
        self.enqueue(error_reply(401, message, code="invalid_api_key"))


class FakeOpenAIServer(OpenAIDialect):
    """Speaks the Chat Completions API on `/v1/chat/completions`."""

    path = "/v1/chat/completions"
    streams = True
    """Whether a request with ``"stream": true`` gets SSE chunks, as from the API; False plays
    a server that ignores ``stream`` and answers with one JSON body."""
    chunk_chars = 8
    chunk_delay = 0.0  # seconds between streamed chunks (a slow model)

    def backend(self, model: str = DEFAULT_MODEL, **options: object) -> str:
        """The storyviz backend string for this server, e.g. ``backend("m", timeout=1)``."""
        query = urlencode({k: str(v) for k, v in options.items()})
        return f"openai-compat:{self.base_url}#{model}" + (f"?{query}" if query else "")

    def serves(self, method: str, path: str) -> bool:
        return method == "POST" and path == self.path

    def adapt(self, answer: object, request: RecordedRequest) -> Reply:
        if isinstance(answer, Reply):
            return answer
        model = str((request.body or {}).get("model", DEFAULT_MODEL))
        return Reply(200, completion(as_content(answer), model=model))

    def finish(self, reply: Reply, request: RecordedRequest) -> Reply:
        """A completion, streamed when the request says ``"stream": true`` (and this server
        streams); errors and garbled bodies go as they are, as the API sends errors."""
        asked = isinstance(request.body, dict) and request.body.get("stream") is True
        body = reply.body
        if not (self.streams and asked and reply.status == 200 and isinstance(body, dict)):
            return reply
        if body.get("object") != "chat.completion":
            return reply
        return Reply(
            200,
            headers={"Content-Type": "text/event-stream; charset=utf-8"},
            delay=reply.delay,
            pieces=sse_pieces(body, chunk_chars=self.chunk_chars),
            piece_delay=self.chunk_delay,
        )

    # -- scripting helpers (each enqueues; `times` repeats it) -------------------------------------

    def answer(
        self,
        answer: object,
        *,
        usage: tuple[int, int] = DEFAULT_USAGE,
        delay: float = 0.0,
        times: int = 1,
    ) -> None:
        """A good answer: `answer` (pydantic object, dict, or str) as the message content."""
        body = completion(as_content(answer), usage=usage)
        self.enqueue(Reply(200, body, delay=delay), times=times)

    def malformed(self, text: str = '{"title": "The Lost Robot", "panels": [', **kw: Any) -> None:
        """An answer whose content is not valid JSON."""
        self.answer(text, **kw)

    def refuse(self, text: str = "I'm sorry, I can't help with that.") -> None:
        """A structured-output refusal: `message.refusal` set, content null."""
        self.enqueue(Reply(200, completion(None, refusal=text)))

    def content_filter(self) -> None:
        """An answer stopped by the content filter (`finish_reason: content_filter`)."""
        self.enqueue(Reply(200, completion(None, finish_reason="content_filter")))

    def truncated(self, text: str = '{"title": "The Lo') -> None:
        """An answer cut off at the token limit (`finish_reason: length`)."""
        self.enqueue(Reply(200, completion(text, finish_reason="length")))

    def slow(self, seconds: float, answer: object = None) -> None:
        """A good answer sent only after `seconds` (past a client's timeout)."""
        self.answer({} if answer is None else answer, delay=seconds)

    def reject_json_schema(
        self, message: str = "response_format type 'json_schema' is not supported by this server"
    ) -> None:
        """A 400 as a server without structured outputs gives (Ollama, older vLLM, llama.cpp)."""
        self.enqueue(error_reply(400, message, param="response_format"))
