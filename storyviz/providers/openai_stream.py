"""Reading a Chat Completions answer that was asked for with ``stream=True``.

A small local model can take minutes for one plan; streamed, the person watching sees tokens
arrive (and how fast) instead of a frozen line. Not every server that speaks the API streams:
some ignore ``stream`` and answer with one JSON ``chat.completion``. So the reader looks at what
came back: ``text/event-stream`` is read chunk by chunk through the SDK's own SSE parser
(``openai.Stream``), anything else as the one completion it is. Both end in the same
`StreamedAnswer`, so the client validates either the same way.

A slow stream is not cut by the HTTP timeout (that bounds each read, not the whole answer), so
the reader checks the caller's deadline between chunks itself.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openai import OpenAI, Stream
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from storyviz.providers.base import TokenProgress

if TYPE_CHECKING:
    import httpx2  # the HTTP client of the openai SDK this project pins

PROGRESS_EVERY = 0.25
"""Seconds between progress reports: often enough to look live, rarely enough to be cheap."""


class StreamDeadline(Exception):
    """The caller's deadline passed while the answer was still streaming."""

    def __init__(self, content: str) -> None:
        super().__init__("the deadline passed while the answer was streaming")
        self.content = content


@dataclass
class StreamedAnswer:
    """What one answer came to, streamed or not."""

    content: str = ""
    refusal: str = ""
    finish_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    streamed: bool = False


def read_answer(
    client: OpenAI,
    response: httpx2.Response,
    *,
    on_tokens: TokenProgress | None,
    deadline: float | None,
) -> StreamedAnswer:
    """The answer in `response` (not yet read): SSE chunks, or one JSON completion."""
    kind = response.headers.get("content-type", "")
    if not kind.startswith("text/event-stream"):
        return _from_completion(ChatCompletion.model_validate(json.loads(response.read())))
    return _from_chunks(
        Stream(cast_to=ChatCompletionChunk, response=response, client=client),
        on_tokens=on_tokens,
        deadline=deadline,
    )


def _from_completion(completion: ChatCompletion) -> StreamedAnswer:
    answer = StreamedAnswer()
    if completion.usage is not None:
        answer.input_tokens = completion.usage.prompt_tokens
        answer.output_tokens = completion.usage.completion_tokens
    if completion.choices:
        choice = completion.choices[0]
        answer.content = choice.message.content or ""
        answer.refusal = choice.message.refusal or ""
        answer.finish_reason = choice.finish_reason
    return answer


def _from_chunks(
    stream: Stream[ChatCompletionChunk],
    *,
    on_tokens: TokenProgress | None,
    deadline: float | None,
) -> StreamedAnswer:
    """Join the deltas; count one token per content chunk (what llama.cpp, Ollama and OpenAI
    send) until the final usage chunk gives the real count."""
    answer = StreamedAnswer(streamed=True)
    parts: list[str] = []
    refusal: list[str] = []
    started = last_report = time.monotonic()
    chunks = 0
    with stream:
        for chunk in stream:
            if chunk.usage is not None:
                answer.input_tokens = chunk.usage.prompt_tokens
                answer.output_tokens = chunk.usage.completion_tokens
            for choice in chunk.choices[:1]:
                if choice.delta.content:
                    parts.append(choice.delta.content)
                    chunks += 1
                if choice.delta.refusal:
                    refusal.append(choice.delta.refusal)
                if choice.finish_reason is not None:
                    answer.finish_reason = choice.finish_reason
            now = time.monotonic()
            if on_tokens is not None and now - last_report >= PROGRESS_EVERY:
                on_tokens(chunks, now - started)
                last_report = now
            if deadline is not None and now >= deadline:
                raise StreamDeadline("".join(parts))
    answer.content, answer.refusal = "".join(parts), "".join(refusal)
    answer.output_tokens = answer.output_tokens or chunks
    if on_tokens is not None:
        on_tokens(answer.output_tokens, time.monotonic() - started)
    return answer
