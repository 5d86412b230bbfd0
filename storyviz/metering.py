"""Counting model calls: every call becomes an event, the manifest sums them per role, and a
budget (--max-llm-calls) stops a run cleanly before the call that would exceed it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from storyviz.errors import BudgetExceededError
from storyviz.schemas import RunEvent


@dataclass(frozen=True)
class LLMCall:
    role: str  # planner, generator (API image models), auditor, repairer
    backend: str
    model: str
    purpose: str  # e.g. "plan characters", "audit p03", "repair p02", "panel p01 v1"
    seconds: float
    input_tokens: int = 0
    output_tokens: int = 0
    images_in: int = 0  # images sent (panels, references, masks): image input is billed
    images_out: int = 0  # images received (API image generators)
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


def llm_costs(events: Iterable[RunEvent]) -> dict[str, Any]:
    """The manifest's model-call costs, summed from a run's `llm_call` events (so calls made
    before an interruption and after a resume all count)."""
    by_role: dict[str, dict[str, Any]] = {}
    saved = 0
    for event in events:
        if event.event == "audited":
            saved += int(event.detail.get("vlm_calls_saved") or 0)
        if event.event != "llm_call":
            continue
        d = event.detail
        role = by_role.setdefault(
            event.step or "unknown",
            {
                "calls": 0,
                "failed_calls": 0,
                "input_tokens": 0,
                "output_tokens": 0,
                "images": 0,
                "seconds": 0.0,
            },
        )
        role["calls"] += 1
        role["failed_calls"] += 0 if d.get("ok", True) else 1
        role["input_tokens"] += int(d.get("input_tokens") or 0)
        role["output_tokens"] += int(d.get("output_tokens") or 0)
        role["images"] += int(d.get("images_out") or 0)
        role["seconds"] = round(role["seconds"] + float(event.seconds or 0.0), 4)
    return {
        "llm_calls": sum(r["calls"] for r in by_role.values()),
        "input_tokens": sum(r["input_tokens"] for r in by_role.values()),
        "output_tokens": sum(r["output_tokens"] for r in by_role.values()),
        "llm_by_role": by_role,
        "vlm_calls_saved": saved,
    }
