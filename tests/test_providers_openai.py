"""The real openai SDK client against a fake Chat Completions server on 127.0.0.1.

Each test scripts what the server answers and checks both sides: what storyviz made of the
answer, and what the SDK actually sent over the wire.
"""

from __future__ import annotations

import base64
import time

import pytest
from api_clients import metered, openai_key, quick, served
from fakes.openai_server import FakeOpenAIServer, image_urls, message_text, schema_name
from pydantic import BaseModel

from storyviz.errors import (
    BackendError,
    BudgetExceededError,
    ModelOutputError,
    ProviderAuthError,
    ProviderError,
    RefusalError,
)
from storyviz.metering import CallMeter
from storyviz.providers.base import ChatMessage, ChatModel, ImagePart
from storyviz.providers.openai_chat import FALLBACK_NOTE, OpenAIChat, openai_chat_from_spec
from storyviz.registry import parse_backend

SECRET = "sk-test-SECRET-123"
PNG = b"\x89PNG\r\n\x1a\n fake image bytes"


class Look(BaseModel):
    name: str
    hair: str


class MiniPlan(BaseModel):
    title: str
    characters: list[Look]


PLAN = MiniPlan(title="Mia and Bolt", characters=[Look(name="Mia", hair="red")])


_api_key = openai_key(SECRET)
server = served(FakeOpenAIServer)


def compat(server: FakeOpenAIServer, **options: object) -> OpenAIChat:
    """An openai-compat client for the fake; quick by default (no retries, 2 s timeout)."""
    return openai_chat_from_spec(parse_backend(server.backend("m", **quick(2, options))))


def ask(client: OpenAIChat, text: str = "Plan this story.") -> MiniPlan:
    return client.structured([ChatMessage("user", text)], MiniPlan, purpose="test").value


# -- a good exchange, both sides -------------------------------------------------------------------


def test_a_good_answer_is_parsed_and_the_request_is_the_real_wire_format(
    server: FakeOpenAIServer, mia_story: str
) -> None:
    client = compat(server)
    assert isinstance(client, ChatModel)
    server.answer(PLAN, usage=(321, 45))
    messages = [
        ChatMessage("system", "You plan comics."),
        ChatMessage(
            "user",
            mia_story,
            images=[ImagePart(PNG, label="reference: mia"), ImagePart(PNG, mime="image/jpeg")],
        ),
    ]

    result = client.structured(messages, MiniPlan, purpose="plan characters")

    assert result.value == PLAN
    assert result.raw == PLAN.model_dump_json()
    assert (result.model, result.mode, result.notes) == ("m", "json_schema", [])
    assert (result.input_tokens, result.output_tokens) == (321, 45)
    request = server.last
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    body = request.body
    assert body["model"] == "m"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert mia_story in message_text(body)
    response_format = body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "MiniPlan"
    assert response_format["json_schema"]["strict"] is True
    assert set(response_format["json_schema"]["schema"]["properties"]) == {"title", "characters"}
    encoded = base64.b64encode(PNG).decode()
    assert image_urls(body) == [
        f"data:image/png;base64,{encoded}",
        f"data:image/jpeg;base64,{encoded}",
    ]
    parts = body["messages"][1]["content"]
    assert [p["type"] for p in parts] == ["text", "text", "image_url", "image_url"]
    assert parts[1]["text"] == "reference: mia"  # the label comes right before its image
    assert "temperature" not in body


def test_the_openai_backend_reads_its_key_and_base_url_from_the_environment(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    client = openai_chat_from_spec(parse_backend("openai:gpt-4.1-mini?temperature=0.3"))
    server.answer(PLAN)

    assert ask(client) == PLAN
    assert client.spec == "openai:gpt-4.1-mini?temperature=0.3"
    assert server.last.body["model"] == "gpt-4.1-mini"
    assert server.last.body["temperature"] == 0.3


# -- answers that cannot be used -------------------------------------------------------------------


def test_malformed_json_is_a_model_output_error_that_keeps_the_raw_answer(
    server: FakeOpenAIServer,
) -> None:
    server.malformed('{"title": "Mia", "characters": [')

    with pytest.raises(ModelOutputError) as caught:
        ask(compat(server))

    assert caught.value.raw == '{"title": "Mia", "characters": ['
    assert "not valid JSON" in caught.value.problems[0]
    assert "\n" not in str(caught.value)


def test_json_of_the_wrong_shape_lists_the_problems(server: FakeOpenAIServer) -> None:
    server.answer({"title": "Mia", "characters": [{"name": "Mia"}]})

    with pytest.raises(ModelOutputError) as caught:
        ask(compat(server))

    assert caught.value.problems == ["characters.0.hair: Field required"]
    assert "MiniPlan" in str(caught.value)


def test_an_answer_cut_off_at_the_token_limit_is_a_model_output_error(
    server: FakeOpenAIServer,
) -> None:
    server.truncated('{"title": "Mi')

    with pytest.raises(ModelOutputError, match="token limit") as caught:
        ask(compat(server))
    assert caught.value.raw == '{"title": "Mi'


def test_a_refusal_is_a_refusal_error(server: FakeOpenAIServer) -> None:
    server.refuse("I can't draw that.")
    server.content_filter()
    client = compat(server)

    with pytest.raises(RefusalError, match="I can't draw that"):
        ask(client)
    with pytest.raises(RefusalError, match="content filter"):
        ask(client)


# -- the service failing ---------------------------------------------------------------------------


def test_a_429_with_retry_after_is_waited_for_then_retried(server: FakeOpenAIServer) -> None:
    server.rate_limit(retry_after=1)
    server.answer(PLAN)
    client = compat(server, max_retries=2)

    started = time.perf_counter()
    assert ask(client) == PLAN
    waited = time.perf_counter() - started

    assert waited >= 0.9  # the SDK honoured Retry-After: 1
    assert len(server.requests) == 2
    assert server.requests[1].headers["x-stainless-retry-count"] == "1"


def test_server_errors_past_the_retries_are_a_provider_error_naming_the_status(
    server: FakeOpenAIServer,
) -> None:
    server.fail(500, times=3, retry_after=0.01)

    with pytest.raises(ProviderError, match=r"HTTP 500 after 2 retries") as caught:
        ask(compat(server, max_retries=2))

    assert type(caught.value) is ProviderError
    assert len(server.requests) == 3


def test_a_rate_limit_past_the_retries_says_so(server: FakeOpenAIServer) -> None:
    server.rate_limit(retry_after=0.01, times=2)

    with pytest.raises(ProviderError, match=r"rate limited \(HTTP 429 after 1 retry\)"):
        ask(compat(server, max_retries=1))


def test_an_answer_slower_than_the_timeout_is_a_provider_error_about_the_timeout(
    server: FakeOpenAIServer,
) -> None:
    server.slow(5, PLAN)

    started = time.perf_counter()
    with pytest.raises(ProviderError, match=r"timed out after 0.5 s.*\?timeout=") as caught:
        ask(compat(server, timeout=0.5))

    assert time.perf_counter() - started < 3
    assert "\n" not in str(caught.value)


def test_a_server_that_is_not_there_is_named_in_the_error() -> None:
    with FakeOpenAIServer() as gone:
        client = compat(gone)
        url = gone.base_url
    with pytest.raises(ProviderError, match="cannot connect to " + url):
        ask(client)


def test_a_refused_key_is_an_auth_error_naming_the_variable_and_never_the_key(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    meter, calls = metered()
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    client = openai_chat_from_spec(parse_backend("openai:gpt-4.1-mini"))
    client.bind_meter(meter, "planner")
    server.unauthorized(f"Incorrect API key provided: {SECRET}.")  # a server that echoes it

    with pytest.raises(ProviderAuthError) as caught:
        ask(client)

    message = str(caught.value)
    assert "OPENAI_API_KEY" in message and "OpenAI refused the API key" in message
    assert SECRET not in message
    assert calls and SECRET not in repr(calls[0].as_dict())


def test_an_openai_compat_server_refusing_the_key_is_named(server: FakeOpenAIServer) -> None:
    server.unauthorized()

    with pytest.raises(ProviderAuthError, match="the server at .* refused the key.*OPENAI_API_KEY"):
        ask(compat(server))


# -- servers without structured outputs ------------------------------------------------------------


def test_a_compat_server_rejecting_json_schema_gets_json_mode_and_it_is_remembered(
    server: FakeOpenAIServer,
) -> None:
    client = compat(server)
    server.reject_json_schema()
    server.answer(PLAN, times=2)

    first = client.structured(
        [ChatMessage("system", "You plan comics."), ChatMessage("user", "Mia")],
        MiniPlan,
        purpose="plan",
    )
    second = client.structured([ChatMessage("user", "Mia")], MiniPlan, purpose="plan")

    assert first.value == second.value == PLAN
    assert first.mode == second.mode == "json_object"
    assert first.notes == second.notes == [FALLBACK_NOTE]
    rejected, retried, remembered = (r.body for r in server.requests)
    assert rejected["response_format"]["type"] == "json_schema"
    assert retried["response_format"] == {"type": "json_object"}
    assert remembered["response_format"] == {"type": "json_object"}
    system = retried["messages"][0]
    assert system["role"] == "system" and system["content"].startswith("You plan comics.")
    assert '"characters"' in system["content"]  # the schema travels in the system message
    assert schema_name(retried) == schema_name(remembered) == "MiniPlan"
    assert remembered["messages"][0]["role"] == "system"  # added when the caller had none


def test_json_mode_still_validates_the_answer(server: FakeOpenAIServer) -> None:
    server.reject_json_schema()
    server.answer({"title": 3})

    with pytest.raises(ModelOutputError) as caught:
        ask(compat(server))
    assert "characters: Field required" in caught.value.problems


def test_json_mode_can_be_chosen_up_front(server: FakeOpenAIServer) -> None:
    server.answer(PLAN)

    result = compat(server, mode="json_object").structured(
        [ChatMessage("user", "Mia")], MiniPlan, purpose="plan"
    )

    assert (result.mode, result.notes) == ("json_object", [])
    assert server.last.body["response_format"] == {"type": "json_object"}


def test_openai_itself_does_not_fall_back(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    server.reject_json_schema()

    with pytest.raises(ProviderError, match="HTTP 400"):
        ask(openai_chat_from_spec(parse_backend("openai:gpt-4.1-mini?max_retries=0")))
    assert len(server.requests) == 1


# -- metering --------------------------------------------------------------------------------------


def test_every_call_is_reserved_and_recorded_and_the_budget_stops_before_sending(
    server: FakeOpenAIServer,
) -> None:
    meter, calls = metered(budget=2)
    client = compat(server)
    client.bind_meter(meter, "planner")
    server.answer(PLAN, usage=(100, 20))
    server.fail(500)

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
        "m",
        "test",
    )
    assert (good.input_tokens, good.output_tokens, good.ok, good.error) == (100, 20, True, None)
    assert bad.ok is False and bad.error is not None and "HTTP 500" in bad.error
    assert meter.per_role["planner"].calls == 2
    assert meter.per_role["planner"].input_tokens == 100


def test_a_fallback_is_one_metered_call_with_its_note(server: FakeOpenAIServer) -> None:
    meter, calls = metered()
    client = compat(server)
    client.bind_meter(meter, "auditor")
    server.reject_json_schema()
    server.answer(PLAN)

    ask(client)

    assert meter.used == 1
    assert [c.notes for c in calls] == [(FALLBACK_NOTE,)]


def test_too_many_images_is_a_caller_bug_caught_before_the_budget_is_touched(
    server: FakeOpenAIServer,
) -> None:
    meter = CallMeter(budget=5)
    client = compat(server, images=1)
    client.bind_meter(meter, "auditor")
    images = [ImagePart(PNG), ImagePart(PNG)]

    with pytest.raises(ValueError, match="at most 1"):
        client.structured([ChatMessage("user", "audit", images)], MiniPlan, purpose="audit")
    assert meter.used == 0 and server.requests == []


# -- building from a backend string ----------------------------------------------------------------


def test_the_openai_backend_without_a_key_fails_at_build_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")

    with pytest.raises(ProviderAuthError, match="set OPENAI_API_KEY"):
        openai_chat_from_spec(parse_backend("openai:gpt-4.1-mini"))


def test_openai_compat_needs_no_key(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    server.answer(PLAN)

    assert ask(compat(server)) == PLAN
    assert server.last.headers["authorization"] == "Bearer not-needed"


def test_options_are_parsed_and_checked() -> None:
    client = openai_chat_from_spec(
        parse_backend(
            "openai-compat:http://127.0.0.1:11434/v1#llama3.1"
            "?timeout=5&max_retries=1&images=4&mode=json_object"
        )
    )
    assert client.model == "llama3.1"
    assert client.max_images_per_call == 4
    assert (client.settings.timeout, client.settings.max_retries) == (5.0, 1)
    assert client.settings.base_url == "http://127.0.0.1:11434/v1"

    for bad, match in [
        ("openai-compat:http://127.0.0.1:11434/v1", "BASE_URL#MODEL"),
        ("openai-compat:127.0.0.1:11434#m", "not an http"),
        ("openai:gpt-4.1-mini?color=red", "does not take option"),
        ("openai:gpt-4.1-mini?mode=xml", "json_schema or json_object"),
        ("openai:gpt-4.1-mini?timeout=soon", "timeout"),
        ("openai:gpt-4.1-mini?images=0", "images"),
        ("openai", "needs a model"),
    ]:
        with pytest.raises(BackendError, match=match):
            openai_chat_from_spec(parse_backend(bad))


def test_a_password_in_a_compat_url_is_not_shown() -> None:
    client = openai_chat_from_spec(parse_backend("openai-compat:http://me:hunter2@host:8000/v1#m"))
    assert "hunter2" not in client.spec
    assert client.spec == "openai-compat:http://me:***@host:8000/v1#m"


# -- the fake itself, as other tests use it --------------------------------------------------------


def test_a_responder_answers_from_what_was_asked(server: FakeOpenAIServer) -> None:
    class Verdict(BaseModel):
        ok: bool

    answers: dict[str, BaseModel] = {"MiniPlan": PLAN, "Verdict": Verdict(ok=True)}
    server.respond_with(lambda body: answers[schema_name(body) or ""])
    client = compat(server)

    assert ask(client) == PLAN
    verdict = client.structured([ChatMessage("user", "ok?")], Verdict, purpose="check").value
    assert verdict == Verdict(ok=True)


def test_a_broken_responder_fails_the_test_loudly() -> None:
    def broken(body: object) -> object:
        raise KeyError("missing")

    with pytest.raises(AssertionError, match="responder failed: KeyError"):  # noqa: SIM117
        with FakeOpenAIServer() as fake:
            fake.respond_with(broken)
            with pytest.raises(ProviderError, match="responder raised KeyError"):
                ask(compat(fake))
