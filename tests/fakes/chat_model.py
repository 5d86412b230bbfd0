"""An in-process ChatModel for unit tests of model-backed planners, auditors and repairers.

It answers from a script (a queue, or a responder that sees the request) and behaves like the
real clients where it matters to callers: the answer is validated into the requested schema,
an invalid one raises ModelOutputError with the raw text, exceptions in the script are raised,
and a bound meter is charged before and after each call. Wire-level behaviour (HTTP, SDK retries)
is tested against the fake servers beside this module instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from storyviz.errors import ModelOutputError
from storyviz.metering import CallMeter, LLMCall
from storyviz.providers.base import CallLimits, ChatMessage, ChatResult

Answer = str | dict[str, Any] | BaseException
Responder = Callable[[Sequence[ChatMessage], type[BaseModel], str], Answer]


@dataclass
class Call:
    """One request the fake received."""

    messages: list[ChatMessage]
    schema: type[BaseModel]
    purpose: str

    @property
    def text(self) -> str:
        return "\n".join(m.text for m in self.messages)

    @property
    def images(self) -> list[str]:
        return [image.label for m in self.messages for image in m.images]


class ScriptedChat:
    def __init__(
        self,
        answers: Sequence[Answer] = (),
        *,
        responder: Responder | None = None,
        spec: str = "fake:model",
        model: str = "model",
        supports_images: bool = True,
        max_images_per_call: int = 16,
    ) -> None:
        self.answers = list(answers)
        self.responder = responder
        self.spec, self.model = spec, model
        self.supports_images = supports_images
        self.max_images_per_call = max_images_per_call
        self.calls: list[Call] = []
        self.limits: list[CallLimits | None] = []  # what each call was bounded by
        self.bound: tuple[CallMeter, str] | None = None

    def bind_meter(self, meter: CallMeter, role: str) -> None:
        self.bound = (meter, role)

    def structured(
        self,
        messages: Sequence[ChatMessage],
        schema: type[Any],
        *,
        purpose: str,
        limits: CallLimits | None = None,
    ) -> ChatResult[Any]:
        self.limits.append(limits)
        if self.bound is not None:
            self.bound[0].reserve(self.bound[1])
        self.calls.append(Call(list(messages), schema, purpose))
        if self.responder is not None:
            answer = self.responder(messages, schema, purpose)
        else:
            assert self.answers, f"the script has no answer left for {purpose!r}"
            answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        raw = answer if isinstance(answer, str) else json.dumps(answer)
        try:
            value = schema.model_validate_json(raw)
        except ValidationError as exc:
            problems = [
                f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in exc.errors()
            ]
            raise ModelOutputError(
                f"the answer does not fit {schema.__name__}", raw=raw, problems=problems
            ) from None
        if self.bound is not None:
            meter, role = self.bound
            meter.record(LLMCall(role, self.spec, self.model, purpose, seconds=0.0))
        return ChatResult(value=value, raw=raw, model=self.model, input_tokens=10, output_tokens=5)
