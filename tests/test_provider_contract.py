"""What every ChatModel client promises, checked once for each: openai and gemini, each through
its real SDK against its fake server on 127.0.0.1.

The agents rely on these promises without knowing which service answers (an unusable answer is
a ModelOutputError keeping the raw text, a refusal a RefusalError, a broken exchange a one-line
ProviderError, a refused key an error naming the variable and never the key, every call
metered), so they are one test each, run for both clients. Each client's own
ways (its wire format, Gemini's retry loop, JSON mode for openai-compat servers) stay in
test_providers_openai.py and test_providers_gemini.py.

A `Provider` holds only what differs between the two: the fake, how a backend string is built
into a client, the variables, and the few scripted replies and words that are each service's
own (a refusal is `refuse()` for OpenAI, `block_prompt()` for Gemini).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pytest
from api_clients import (
    GEMINI_KEY,
    GEMINI_OTHERS,
    OPENAI_KEY,
    OPENAI_OTHERS,
    PLAN,
    MiniPlan,
    ask,
    metered,
    quick,
    set_key,
)
from fakes import GARBLED_BODIES, gemini_server, openai_server
from fakes.gemini_server import FakeGeminiServer
from fakes.openai_server import FakeOpenAIServer
from pydantic import BaseModel

from storyviz.errors import (
    BudgetExceededError,
    ModelOutputError,
    ProviderAuthError,
    ProviderError,
    RefusalError,
)
from storyviz.metering import CallMeter
from storyviz.providers.base import ChatMessage, ChatModel, ImagePart
from storyviz.providers.gemini_chat import gemini_chat_from_spec
from storyviz.providers.openai_chat import openai_chat_from_spec
from storyviz.registry import BackendSpec, parse_backend

SECRET = "sk-test-SECRET-123"
PNG = b"\x89PNG\r\n\x1a\n fake image bytes"

F = TypeVar("F", FakeOpenAIServer, FakeGeminiServer)


@dataclass(frozen=True)
class Provider(Generic[F]):
    """One client under the contract, and what is its own."""

    name: str
    fake: type[F]
    build: Callable[[BackendSpec], ChatModel]  # backend string (parsed) -> client
    model: str  # the model a backend string for the fake names
    named_backend: str  # the service's own backend, key and base URL from the environment
    key_env: str
    other_envs: tuple[str, ...]  # unset in every test, so nothing can reach the network
    base_url_env: str
    schema_name: Callable[[Mapping[str, Any]], str | None]  # which schema a request asked for
    http_429: str  # how an error names a 429
    http_500: str  # ... and a 500
    retried_headers: dict[str, str]  # what the SDK adds to a retried request
    missing_key: str  # pattern of the error for a missing key
    auth_words: tuple[str, ...]  # what an error for a refused key must say
    refusals: Callable[[F], list[str]]  # script each kind of refusal; the error each must match
    key_refusals: Callable[[F, str], int]  # script refusals of the key echoing it; how many

    def client(self, server: F, **options: object) -> ChatModel:
        """A client for the fake; quick by default (no retries, 2 s timeout)."""
        return self.build(parse_backend(server.backend(self.model, **quick(2, options))))


def openai_refusals(server: FakeOpenAIServer) -> list[str]:
    server.refuse("I can't draw that.")
    server.content_filter()
    return ["I can't draw that", "content filter"]


def openai_key_refusals(server: FakeOpenAIServer, secret: str) -> int:
    server.unauthorized(f"Incorrect API key provided: {secret}.")  # a server that echoes it
    return 1


def gemini_refusals(server: FakeGeminiServer) -> list[str]:
    server.block_prompt("SAFETY")
    server.safety_stop("PROHIBITED_CONTENT")
    return [r"prompt was blocked \(SAFETY\)", r"stopped \(PROHIBITED_CONTENT\)"]


def gemini_key_refusals(server: FakeGeminiServer, secret: str) -> int:
    server.unauthorized()  # 400 API_KEY_INVALID
    server.forbidden(f"key {secret} is not allowed")  # 403, a server that echoes the key
    return 2


OPENAI = Provider(
    name="openai",
    fake=FakeOpenAIServer,
    build=openai_chat_from_spec,
    model="m",
    named_backend="openai:gpt-4.1-mini",
    key_env=OPENAI_KEY,
    other_envs=OPENAI_OTHERS,
    base_url_env="OPENAI_BASE_URL",
    schema_name=openai_server.schema_name,
    http_429="HTTP 429",
    http_500="HTTP 500",
    retried_headers={"x-stainless-retry-count": "1"},
    missing_key="set OPENAI_API_KEY",
    auth_words=("OPENAI_API_KEY", "OpenAI refused the API key"),
    refusals=openai_refusals,
    key_refusals=openai_key_refusals,
)
GEMINI = Provider(
    name="gemini",
    fake=FakeGeminiServer,
    build=gemini_chat_from_spec,
    model="gemini-2.5-flash",
    named_backend="gemini:gemini-2.5-flash",
    key_env=GEMINI_KEY,
    other_envs=GEMINI_OTHERS,
    base_url_env="GEMINI_BASE_URL",
    schema_name=gemini_server.schema_name,
    http_429="HTTP 429 RESOURCE_EXHAUSTED",
    http_500="HTTP 500 INTERNAL",
    retried_headers={},  # storyviz's own retry loop marks nothing
    missing_key="GEMINI_API_KEY.*GOOGLE_API_KEY",
    auth_words=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    refusals=gemini_refusals,
    key_refusals=gemini_key_refusals,
)


@pytest.fixture(params=[OPENAI, GEMINI], ids=lambda provider: provider.name)
def provider(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Provider[Any]:
    """Each test runs once per client, with that client's test key set."""
    chosen: Provider[Any] = request.param
    set_key(monkeypatch, chosen.key_env, SECRET, *chosen.other_envs)
    return chosen


@pytest.fixture
def server(provider: Provider[Any]) -> Iterator[Any]:
    """A fresh fake of the provider's service for each test."""
    with provider.fake() as fake:
        yield fake


# -- answers that cannot be used -------------------------------------------------------------------


def test_malformed_json_is_a_model_output_error_that_keeps_the_raw_answer(
    provider: Provider[Any], server: Any
) -> None:
    server.malformed('{"title": "Mia", "characters": [')

    with pytest.raises(ModelOutputError) as caught:
        ask(provider.client(server))

    assert caught.value.raw == '{"title": "Mia", "characters": ['
    assert "not valid JSON" in caught.value.problems[0]
    assert "\n" not in str(caught.value)


def test_json_of_the_wrong_shape_lists_the_problems(provider: Provider[Any], server: Any) -> None:
    server.answer({"title": "Mia", "characters": [{"name": "Mia"}]})

    with pytest.raises(ModelOutputError) as caught:
        ask(provider.client(server))

    assert caught.value.problems == ["characters.0.hair: Field required"]
    assert "MiniPlan" in str(caught.value)


def test_an_answer_cut_off_at_the_token_limit_is_a_model_output_error(
    provider: Provider[Any], server: Any
) -> None:
    server.truncated('{"title": "Mi')

    with pytest.raises(ModelOutputError, match="token limit") as caught:
        ask(provider.client(server))
    assert caught.value.raw == '{"title": "Mi'


def test_every_kind_of_refusal_is_a_refusal_error_saying_why(
    provider: Provider[Any], server: Any
) -> None:
    reasons = provider.refusals(server)
    client = provider.client(server)

    for reason in reasons:
        with pytest.raises(RefusalError, match=reason):
            ask(client)


@pytest.mark.parametrize("body", sorted(GARBLED_BODIES))
def test_a_status_200_body_that_is_not_the_apis_json_is_a_one_line_storyviz_error(
    provider: Provider[Any], server: Any, body: str
) -> None:
    """The SDK parses the body inside its call; whatever its parser raises (JSONDecodeError,
    UnicodeDecodeError, an AttributeError on a str) comes out as the project's error."""
    meter, calls = metered()
    client = provider.client(server)
    client.bind_meter(meter, "planner")
    server.garbled(body)

    with pytest.raises((ProviderError, ModelOutputError)) as caught:
        ask(client)

    message = str(caught.value)
    assert "\n" not in message and SECRET not in message
    if body in ("truncated JSON", "an HTML error page"):  # what every SDK fails to parse
        assert type(caught.value) is ProviderError
        assert "answer cannot be read" in message
    assert [call.ok for call in calls] == [False]  # metered as a failed call


# -- the service failing ---------------------------------------------------------------------------


def test_a_429_with_retry_after_is_waited_for_then_retried(
    provider: Provider[Any], server: Any
) -> None:
    server.rate_limit(retry_after=1)
    server.answer(PLAN)
    client = provider.client(server, max_retries=2)

    started = time.perf_counter()
    assert ask(client) == PLAN
    waited = time.perf_counter() - started

    assert waited >= 0.9  # Retry-After: 1 honoured
    assert len(server.requests) == 2
    retried = server.requests[1].headers
    assert {name: retried.get(name) for name in provider.retried_headers} == (
        provider.retried_headers
    )


def test_server_errors_past_the_retries_are_a_provider_error_naming_the_status(
    provider: Provider[Any], server: Any
) -> None:
    server.fail(500, times=3, retry_after=0.01)

    with pytest.raises(ProviderError, match=provider.http_500 + " after 2 retries") as caught:
        ask(provider.client(server, max_retries=2))

    assert type(caught.value) is ProviderError
    assert len(server.requests) == 3


def test_a_rate_limit_past_the_retries_says_so(provider: Provider[Any], server: Any) -> None:
    server.rate_limit(retry_after=0.01, times=2)

    expected = rf"rate limited \({provider.http_429} after 1 retry\)"
    with pytest.raises(ProviderError, match=expected):
        ask(provider.client(server, max_retries=1))
    assert len(server.requests) == 2


def test_an_answer_slower_than_the_timeout_is_a_provider_error_about_the_timeout(
    provider: Provider[Any], server: Any
) -> None:
    server.slow(5, PLAN)

    started = time.perf_counter()
    with pytest.raises(ProviderError, match=r"timed out after 0.5 s.*\?timeout=") as caught:
        ask(provider.client(server, timeout=0.5))

    assert time.perf_counter() - started < 3
    assert "\n" not in str(caught.value)


def test_a_server_that_is_not_there_is_named_in_the_error(provider: Provider[Any]) -> None:
    with provider.fake() as gone:
        client = provider.client(gone)
        url = gone.base_url
    with pytest.raises(ProviderError, match="cannot connect to " + url):
        ask(client)


def test_a_refused_key_is_an_auth_error_naming_the_variables_and_never_the_key(
    provider: Provider[Any], server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    meter, calls = metered()
    monkeypatch.setenv(provider.base_url_env, server.base_url)
    client = provider.build(parse_backend(provider.named_backend))
    client.bind_meter(meter, "planner")
    refusals = provider.key_refusals(server, SECRET)

    for _ in range(refusals):
        with pytest.raises(ProviderAuthError) as caught:
            ask(client)
        message = str(caught.value)
        assert all(word in message for word in provider.auth_words), message
        assert SECRET not in message
    assert len(calls) == refusals
    assert all(SECRET not in repr(call.as_dict()) for call in calls)


# -- metering --------------------------------------------------------------------------------------


def test_every_call_is_reserved_and_recorded_and_the_budget_stops_before_sending(
    provider: Provider[Any], server: Any
) -> None:
    meter, calls = metered(budget=2)
    client = provider.client(server)
    client.bind_meter(meter, "planner")
    server.answer(PLAN, usage=(100, 20))
    server.fail(503)

    assert ask(client) == PLAN
    with pytest.raises(ProviderError):
        ask(client)
    with pytest.raises(BudgetExceededError):
        ask(client)

    assert len(server.requests) == 2  # the third call was never sent
    good, bad = calls
    assert (good.role, good.backend, good.model, good.purpose) == (
        "planner",
        client.spec,
        provider.model,
        "test",
    )
    assert (good.input_tokens, good.output_tokens, good.ok, good.error) == (100, 20, True, None)
    assert bad.ok is False and bad.error is not None and "HTTP 503" in bad.error
    assert meter.per_role["planner"].calls == 2
    assert meter.per_role["planner"].input_tokens == 100


def test_too_many_images_is_a_caller_bug_caught_before_the_budget_is_touched(
    provider: Provider[Any], server: Any
) -> None:
    meter = CallMeter(budget=5)
    client = provider.client(server, images=1)
    client.bind_meter(meter, "auditor")
    images = [ImagePart(PNG), ImagePart(PNG)]

    with pytest.raises(ValueError, match="at most 1"):
        client.structured([ChatMessage("user", "audit", images)], MiniPlan, purpose="audit")
    assert meter.used == 0 and server.requests == []


# -- building from a backend string ----------------------------------------------------------------


def test_the_named_backend_without_a_key_fails_at_build_time(
    provider: Provider[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(provider.key_env)

    with pytest.raises(ProviderAuthError, match=provider.missing_key):
        provider.build(parse_backend(provider.named_backend))


# -- the fake itself, as other tests use it --------------------------------------------------------


def test_a_responder_answers_from_what_was_asked(provider: Provider[Any], server: Any) -> None:
    class Verdict(BaseModel):
        ok: bool

    answers: dict[str, BaseModel] = {"MiniPlan": PLAN, "Verdict": Verdict(ok=True)}
    server.respond_with(lambda body: answers[provider.schema_name(body) or ""])
    client = provider.client(server)

    assert ask(client) == PLAN
    verdict = client.structured([ChatMessage("user", "ok?")], Verdict, purpose="check").value
    assert verdict == Verdict(ok=True)


def test_a_broken_responder_fails_the_test_loudly(provider: Provider[Any]) -> None:
    def broken(body: object) -> object:
        raise KeyError("missing")

    with pytest.raises(AssertionError, match="responder failed: KeyError"):  # noqa: SIM117
        with provider.fake() as fake:
            fake.respond_with(broken)
            with pytest.raises(ProviderError, match="responder raised KeyError"):
                ask(provider.client(fake))
