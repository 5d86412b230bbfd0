"""Setup shared by the tests that drive the real SDKs (openai, google-genai) against tests/fakes/.

The chat and image tests of both providers start the same way: a test key in the environment
and nothing else that could point the SDK at a real service, a fresh fake server per test, and
quick settings. Kept here so the files cannot drift (a base-URL variable cleared in one but not
another would let a developer's own setting reach the network). The chat tests also share the
answer they ask for (`MiniPlan`), so a behaviour checked once for both clients
(test_provider_contract.py) and one checked per client are checked on the same schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

import pytest
from fakes import ScriptedServer
from pydantic import BaseModel

from storyviz.metering import CallMeter, LLMCall
from storyviz.providers.base import ChatMessage, ChatModel

S = TypeVar("S", bound=ScriptedServer)

OPENAI_KEY = "OPENAI_API_KEY"
GEMINI_KEY = "GEMINI_API_KEY"
OPENAI_OTHERS = ("OPENAI_BASE_URL",)
GEMINI_OTHERS = ("GOOGLE_API_KEY", "GEMINI_BASE_URL", "GOOGLE_GEMINI_BASE_URL")


class Look(BaseModel):
    name: str
    hair: str
    colors: dict[str, str] = {}  # what google-genai's own response_schema conversion cannot send
    box: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)


class MiniPlan(BaseModel):
    title: str
    characters: list[Look]


PLAN = MiniPlan(title="Mia and Bolt", characters=[Look(name="Mia", hair="red")])


def ask(client: ChatModel, text: str = "Plan this story.") -> MiniPlan:
    """One structured call for a MiniPlan, as a test makes it (purpose "test")."""
    return client.structured([ChatMessage("user", text)], MiniPlan, purpose="test").value


def set_key(monkeypatch: pytest.MonkeyPatch, variable: str, secret: str, *cleared: str) -> None:
    """`secret` in `variable`, every `cleared` unset, for the rest of the test."""
    monkeypatch.setenv(variable, secret)
    for name in cleared:
        monkeypatch.delenv(name, raising=False)


def api_key(variable: str, secret: str, *cleared: str) -> Any:
    """An autouse fixture for a test module: `set_key` before each of its tests.

    Assign it to a module-level name (``_api_key = openai_key(SECRET)``): pytest finds fixtures
    by the names a module holds."""

    @pytest.fixture(autouse=True)
    def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
        set_key(monkeypatch, variable, secret, *cleared)

    return _api_key


def openai_key(secret: str) -> Any:
    return api_key(OPENAI_KEY, secret, *OPENAI_OTHERS)


def gemini_key(secret: str) -> Any:
    return api_key(GEMINI_KEY, secret, *GEMINI_OTHERS)


def served(kind: type[S]) -> Any:
    """A fixture that runs a fresh `kind` fake for each test (``server = served(FakeX)``), so
    no scripted answer or recorded request leaks from one test into the next."""

    @pytest.fixture
    def server() -> Iterator[S]:
        with kind() as fake:
            yield fake

    return server


def quick(timeout: float, options: dict[str, object]) -> dict[str, object]:
    """Backend options with no retries and a short timeout unless the test sets them: a test
    that breaks the exchange fails in seconds instead of waiting out the SDK's defaults."""
    return {"timeout": timeout, "max_retries": 0, **options}


def metered(budget: int | None = None) -> tuple[CallMeter, list[LLMCall]]:
    """A meter (with `budget`, if any) and the list every call it records is appended to."""
    meter = CallMeter(budget=budget)
    calls: list[LLMCall] = []
    meter.subscribe(calls.append)
    return meter, calls
