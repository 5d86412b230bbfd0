"""Ask a model, check its answer, and send it back with the problems until it is right.

A plan that parses can still be wrong (five panels for six, a speaker who is not there), and a
local model in JSON mode sometimes does not parse at all. Both get the same treatment: the
previous answer goes back as the assistant's turn, followed by the list of problems, a bounded
number of times. What stays wrong is raised as one line a user can read. Refusals and service
failures are not the model's answer being wrong, so they pass through untouched.

With a planning `Deadline`, no attempt starts after it, and a service failure once it has
passed (the call in flight cut by its shortened timeout) is the deadline's, not the service's:
both raise DeadlineReached, which a salvaging planner treats like an answer that stayed wrong.
Every answer that parsed is kept in `seen`, so what a model got right can still be used.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import TypeVar

from pydantic import BaseModel

from storyviz.agents.planner.llm.budget import Deadline
from storyviz.errors import DeadlineReached, ModelOutputError, ProviderError
from storyviz.prompts import load
from storyviz.providers.base import CallLimits, ChatMessage, ChatModel

T = TypeVar("T", bound=BaseModel)

RETRY_PROMPT = "planner_retry.j2"
SHOWN_PROBLEMS = 5
"""How many problems the final error names; the rest are counted."""


def ask_until_valid(
    chat: ChatModel,
    messages: Sequence[ChatMessage],
    schema: type[T],
    *,
    purpose: str,
    check: Callable[[T], list[str]],
    max_retries: int,
    what: str = "answer",
    last_check: Callable[[T], list[str]] | None = None,
    limits: CallLimits | None = None,
    deadline: Deadline | None = None,
    seen: list[T] | None = None,
) -> T:
    """The first answer `check` finds no problem with, after at most `max_retries` re-asks.

    ``last_check``, when given, judges the last attempt instead of `check`: problems worth a
    re-ask but not worth failing over (a prompt a few tokens over its budget) are left out of it.
    Raises ModelOutputError naming what stayed wrong in "the planner's {what}" (DeadlineReached
    when `deadline` passed first); RefusalError, ProviderError and BudgetExceededError from the
    client propagate unchanged. `limits` bound each call; answers that parsed go to `seen`.
    """
    history = list(messages)
    attempts = max_retries + 1
    raw, problems = "", ["no answer"]
    for attempt in range(attempts):
        label = purpose if attempt == 0 else f"{purpose} (retry {attempt})"
        if deadline is not None:
            if deadline.passed():
                raise _deadline_error(deadline, what, raw, problems)
            deadline.calls += 1
        try:
            result = chat.structured(list(history), schema, purpose=label, limits=limits)
        except ModelOutputError as exc:
            raw, problems = exc.raw, _one_line_each(exc.problems or [str(exc)])
        except ProviderError as exc:
            if deadline is not None and deadline.passed():
                raise _deadline_error(deadline, what, raw, [*problems, str(exc)]) from None
            raise
        else:
            if seen is not None:
                seen.append(result.value)
            judge = last_check if last_check is not None and attempt + 1 == attempts else check
            raw, problems = result.raw, judge(result.value)
            if not problems:
                return result.value
        if attempt + 1 < attempts:
            history += feedback(raw, problems)
    raise ModelOutputError(
        f"the planner's {what} stayed invalid after {attempts} attempt"
        f"{'s' if attempts != 1 else ''}: {summarise(problems)}",
        raw=raw,
        problems=problems,
    )


def _deadline_error(
    deadline: Deadline, what: str, raw: str, problems: Sequence[str]
) -> DeadlineReached:
    wrong = [p for p in problems if p != "no answer"]
    said = f"; the planner's {what} was still wrong: {summarise(wrong)}" if wrong else ""
    return DeadlineReached(deadline.message() + said, raw=raw, problems=list(wrong))


def feedback(raw: str, problems: Sequence[str]) -> list[ChatMessage]:
    """The model's previous answer as its own turn, then what is wrong with it."""
    return [
        ChatMessage("assistant", raw if raw.strip() else "(an empty answer)"),
        ChatMessage("user", load(RETRY_PROMPT).render(problems=list(problems))),
    ]


def summarise(problems: Sequence[str]) -> str:
    """The first few problems on one line (a model's names may hold line breaks), and a count.
    A problem repeated (a weak model writes the same bad speaker in every line) is named once,
    with how many times it occurred."""
    counts = Counter(" ".join(p.split()) for p in problems)
    distinct = [f"{p} (x{n})" if n > 1 else p for p, n in counts.items()]
    shown = "; ".join(distinct[:SHOWN_PROBLEMS])
    rest = len(distinct) - SHOWN_PROBLEMS
    return shown + (f"; and {rest} more" if rest > 0 else "")


def _one_line_each(problems: Sequence[str]) -> list[str]:
    return [" ".join(p.split()) for p in problems if p.strip()] or ["the answer was unusable"]
