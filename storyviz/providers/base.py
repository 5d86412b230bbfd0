"""The protocol every language/vision model client satisfies, and what one call records.

Planners, auditors and repairers that use a model depend on this protocol only; they never see
an SDK. A client returns a validated pydantic object (or raises ModelOutputError with the raw
answer), plus the usage that the run's meter turns into events and costs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from storyviz.metering import CallMeter

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class ImagePart:
    """An image sent with a message (inline bytes; clients encode them as their API wants)."""

    data: bytes
    mime: str = "image/png"
    label: str = ""  # e.g. "panel p03 v1" or "reference: mia", for the text around it


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    text: str
    images: Sequence[ImagePart] = ()


@dataclass(frozen=True)
class ChatResult(Generic[T]):
    value: T
    raw: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    mode: Literal["json_schema", "json_object"] = "json_schema"
    # e.g. "server rejected json_schema; used JSON mode"
    notes: list[str] = field(default_factory=list)


TokenProgress = Callable[[int, float], None]
"""fn(tokens so far, seconds since the call was sent), called as a streamed answer arrives."""


@dataclass(frozen=True)
class CallLimits:
    """What bounds one call, set by the caller who knows the whole job (the planner).

    A small local model can write until its context is full and take minutes doing it; the
    caller knows how long an answer to its schema can sensibly be and how much of its time is
    left, so it says so per call. A client applies what its API supports and ignores the rest.
    """

    max_tokens: int | None = None  # the answer's most output tokens
    deadline: float | None = None  # time.monotonic() after which the call is cut
    on_tokens: TokenProgress | None = None  # asks the client to stream, and says how it goes

    def timeout(self, configured: float) -> float:
        """The call's timeout: the configured one, or less when the deadline is nearer."""
        if self.deadline is None:
            return configured
        return max(0.05, min(configured, self.deadline - time.monotonic()))

    def past_deadline(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


@runtime_checkable
class ChatModel(Protocol):
    """A model that answers messages with an object of a given pydantic schema."""

    spec: str  # the backend string, redacted-safe (no secrets), e.g. "openai:gpt-4.1-mini"
    model: str
    supports_images: bool
    max_images_per_call: int

    def bind_meter(self, meter: CallMeter, role: str) -> None:
        """Count every call against `meter` under `role` (reserve before, record after)."""
        ...

    def structured(
        self,
        messages: Sequence[ChatMessage],
        schema: type[T],
        *,
        purpose: str,
        limits: CallLimits | None = None,
    ) -> ChatResult[T]:
        """One call (with the client's own retries for 429/5xx), within `limits` as far as the
        service allows. Raises ProviderAuthError, RefusalError, ProviderError,
        BudgetExceededError, or ModelOutputError (raw kept)."""
        ...
