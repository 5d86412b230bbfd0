"""Counting model calls: every call becomes an event, the manifest sums them per role, and a
budget (--max-llm-calls) stops a run cleanly before the call that would exceed it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Protocol, runtime_checkable

from storyviz.errors import BudgetExceededError


@dataclass(frozen=True)
class LLMCall:
    role: str  # planner, auditor, repairer
    backend: str
    model: str
    purpose: str  # e.g. "plan characters", "audit p03", "repair p02"
    seconds: float
    input_tokens: int = 0
    output_tokens: int = 0
    ok: bool = True
    error: str | None = None
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class RoleUsage:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0


@dataclass
class CallMeter:
    """Shared by every model-backed backend of one run; thread-safe."""

    budget: int | None = None
    used: int = 0
    per_role: dict[str, RoleUsage] = field(default_factory=dict)
    _listeners: list[Callable[[LLMCall], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def subscribe(self, listener: Callable[[LLMCall], None]) -> None:
        self._listeners.append(listener)

    def reserve(self, role: str) -> None:
        """Claim one call of the budget, or stop the run before it is made."""
        with self._lock:
            if self.budget is not None and self.used >= self.budget:
                raise BudgetExceededError(
                    f"the LLM call budget of {self.budget} is spent (by the {role}); "
                    "resume with a larger --max-llm-calls"
                )
            self.used += 1

    def record(self, call: LLMCall) -> None:
        with self._lock:
            usage = self.per_role.setdefault(call.role, RoleUsage())
            usage.calls += 1
            usage.input_tokens += call.input_tokens
            usage.output_tokens += call.output_tokens
            usage.seconds = round(usage.seconds + call.seconds, 4)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(call)


@runtime_checkable
class Metered(Protocol):
    """A backend that calls models: the runner binds the run's meter and the backend's role."""

    def bind_meter(self, meter: CallMeter, role: str) -> None: ...
