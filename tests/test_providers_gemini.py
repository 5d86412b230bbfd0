"""The real google-genai SDK client against a fake Gemini API server on 127.0.0.1.

Each test scripts what the server answers and checks both sides: what storyviz made of the
answer, and what the SDK actually sent over the wire.
"""

from __future__ import annotations

import time

import pytest
from api_clients import gemini_key, metered, quick, served
from fakes.gemini_server import (
    FakeGeminiServer,
    inline_images,
    model_of,
    request_text,
    response_schema,
    schema_name,
)
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
from storyviz.providers.gemini_chat import GeminiChat, gemini_chat_from_spec
from storyviz.registry import parse_backend

SECRET = "sk-test-SECRET-123"
PNG = b"\x89PNG\r\n\x1a\n fake image bytes"


class Look(BaseModel):
    name: str
    hair: str
    colors: dict[str, str] = {}  # what the SDK's own response_schema conversion cannot send
    box: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)


class MiniPlan(BaseModel):
    title: str
    characters: list[Look]


PLAN = MiniPlan(title="Mia and Bolt", characters=[Look(name="Mia", hair="red")])


_api_key = gemini_key(SECRET)
server = served(FakeGeminiServer)


def gemini(server: FakeGeminiServer, **options: object) -> GeminiChat:
    """A client for the fake; quick by default (no retries, 2 s timeout)."""
    backend = server.backend("gemini-2.5-flash", **quick(2, options))
    return gemini_chat_from_spec(parse_backend(backend))


def ask(client: GeminiChat, text: str = "Plan this story.") -> MiniPlan:
    return client.structured([ChatMessage("user", text)], MiniPlan, purpose="test").value


# -- a good exchange, both sides -------------------------------------------------------------------


def test_a_good_answer_is_parsed_and_the_request_is_the_real_wire_format(
    server: FakeGeminiServer, mia_story: str
) -> None:
    client = gemini(server, temperature=0.2)
    assert isinstance(client, ChatModel)
    server.answer(PLAN, usage=(321, 45))
    messages = [
        ChatMessage("system", "You plan comics."),
        ChatMessage("user", mia_story, images=[ImagePart(PNG, label="reference: mia")]),
        ChatMessage("assistant", "Noted."),
        ChatMessage("user", "Now the plan.", images=[ImagePart(PNG, mime="image/jpeg")]),
    ]

    result = client.structured(messages, MiniPlan, purpose="plan characters")

    assert result.value == PLAN
    assert result.raw == PLAN.model_dump_json()
    assert (result.model, result.mode, result.notes) == ("gemini-2.5-flash", "json_schema", [])
    assert (result.input_tokens, result.output_tokens) == (321, 45)
    request = server.last
    assert model_of(request) == "gemini-2.5-flash"
    assert request.path.endswith("/models/gemini-2.5-flash:generateContent")
    assert request.headers["x-goog-api-key"] == SECRET
    body = request.body
    assert body["systemInstruction"]["parts"] == [{"text": "You plan comics."}]
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert mia_story in request_text(body)
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["temperature"] == 0.2
    assert schema_name(body) == "MiniPlan"
    assert response_schema(body) == MiniPlan.model_json_schema()
    assert inline_images(body) == [("image/png", PNG), ("image/jpeg", PNG)]
    first_parts = body["contents"][0]["parts"]
    assert first_parts[1] == {"text": "reference: mia"}  # the label comes right before its image
    assert "inlineData" in first_parts[2]


def test_the_base_url_can_come_from_the_environment(
    server: FakeGeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_BASE_URL", server.base_url)
    client = gemini_chat_from_spec(parse_backend("gemini:gemini-2.5-flash?max_retries=0"))
    server.answer(PLAN)

    assert ask(client) == PLAN
    assert client.spec == "gemini:gemini-2.5-flash?max_retries=0"
    assert "temperature" not in server.last.body["generationConfig"]


# -- answers that cannot be used -------------------------------------------------------------------


def test_malformed_json_is_a_model_output_error_that_keeps_the_raw_answer(
    server: FakeGeminiServer,
) -> None:
    server.malformed('{"title": "Mia", "characters": [')

    with pytest.raises(ModelOutputError) as caught:
        ask(gemini(server))

    assert caught.value.raw == '{"title": "Mia", "characters": ['
    assert "not valid JSON" in caught.value.problems[0]
    assert "\n" not in str(caught.value)


def test_json_of_the_wrong_shape_lists_the_problems(server: FakeGeminiServer) -> None:
    server.answer({"title": "Mia", "characters": [{"name": "Mia"}]})

    with pytest.raises(ModelOutputError) as caught:
        ask(gemini(server))
    assert caught.value.problems == ["characters.0.hair: Field required"]


def test_an_answer_cut_off_at_the_token_limit_is_a_model_output_error(
    server: FakeGeminiServer,
) -> None:
    server.truncated('{"title": "Mi')

    with pytest.raises(ModelOutputError, match="token limit") as caught:
        ask(gemini(server))
    assert caught.value.raw == '{"title": "Mi'


def test_safety_blocks_are_refusals(server: FakeGeminiServer) -> None:
    server.block_prompt("SAFETY")
    server.safety_stop("PROHIBITED_CONTENT")
    client = gemini(server)

    with pytest.raises(RefusalError, match=r"prompt was blocked \(SAFETY\)"):
        ask(client)
    with pytest.raises(RefusalError, match=r"stopped \(PROHIBITED_CONTENT\)"):
        ask(client)


# -- the service failing ---------------------------------------------------------------------------


def test_a_429_with_retry_after_is_waited_for_then_retried(server: FakeGeminiServer) -> None:
    server.rate_limit(retry_after=1)
    server.answer(PLAN)

    started = time.perf_counter()
    assert ask(gemini(server, max_retries=2)) == PLAN
    waited = time.perf_counter() - started

    assert waited >= 0.9  # Retry-After: 1 honoured
    assert len(server.requests) == 2


def test_server_errors_past_the_retries_are_a_provider_error_naming_the_status(
    server: FakeGeminiServer,
) -> None:
    server.fail(500, times=3, retry_after=0.01)

    with pytest.raises(ProviderError, match=r"HTTP 500 INTERNAL after 2 retries") as caught:
        ask(gemini(server, max_retries=2))

    assert type(caught.value) is ProviderError
    assert len(server.requests) == 3


def test_a_server_asking_for_a_very_long_wait_is_not_waited_for(server: FakeGeminiServer) -> None:
    server.rate_limit(retry_after=3600)

    started = time.perf_counter()
    with pytest.raises(ProviderError, match="asks to wait 3600 s"):
        ask(gemini(server, max_retries=3))
    assert time.perf_counter() - started < 2
    assert len(server.requests) == 1


def test_an_answer_slower_than_the_timeout_is_a_provider_error_about_the_timeout(
    server: FakeGeminiServer,
) -> None:
    server.slow(5, PLAN)

    started = time.perf_counter()
    with pytest.raises(ProviderError, match=r"timed out after 0.5 s.*\?timeout=") as caught:
        ask(gemini(server, timeout=0.5))

    assert time.perf_counter() - started < 3
    assert "\n" not in str(caught.value)


def test_a_server_that_is_not_there_is_named_in_the_error() -> None:
    with FakeGeminiServer() as gone:
        client = gemini(gone)
        url = gone.base_url
    with pytest.raises(ProviderError, match="cannot connect to " + url):
        ask(client)


def test_a_refused_key_is_an_auth_error_naming_the_variables_and_never_the_key(
    server: FakeGeminiServer,
) -> None:
    meter, calls = metered()
    client = gemini(server)
    client.bind_meter(meter, "auditor")
    server.unauthorized()
    server.forbidden(f"key {SECRET} is not allowed")  # a server that echoes the key

    for _ in range(2):
        with pytest.raises(ProviderAuthError) as caught:
            ask(client)
        message = str(caught.value)
        assert "GEMINI_API_KEY" in message and "GOOGLE_API_KEY" in message
        assert SECRET not in message
    assert len(calls) == 2
    assert all(SECRET not in repr(call.as_dict()) for call in calls)


# -- metering --------------------------------------------------------------------------------------


def test_every_call_is_reserved_and_recorded_and_the_budget_stops_before_sending(
    server: FakeGeminiServer,
) -> None:
    meter, calls = metered(budget=2)
    client = gemini(server)
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
    assert (good.role, good.backend, good.model) == ("planner", client.spec, "gemini-2.5-flash")
    assert (good.input_tokens, good.output_tokens, good.ok, good.error) == (100, 20, True, None)
    assert bad.ok is False and bad.error is not None and "HTTP 503" in bad.error


def test_too_many_images_is_a_caller_bug_caught_before_the_budget_is_touched(
    server: FakeGeminiServer,
) -> None:
    meter = CallMeter(budget=5)
    client = gemini(server, images=1)
    client.bind_meter(meter, "auditor")

    with pytest.raises(ValueError, match="at most 1"):
        client.structured(
            [ChatMessage("user", "audit", [ImagePart(PNG), ImagePart(PNG)])],
            MiniPlan,
            purpose="audit",
        )
    assert meter.used == 0 and server.requests == []


# -- building from a backend string ----------------------------------------------------------------


def test_a_missing_key_fails_at_build_time_naming_both_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")

    with pytest.raises(ProviderAuthError, match="GEMINI_API_KEY.*GOOGLE_API_KEY"):
        gemini_chat_from_spec(parse_backend("gemini:gemini-2.5-flash"))


def test_google_api_key_is_accepted_too(
    server: FakeGeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key")
    server.answer(PLAN)

    assert ask(gemini(server)) == PLAN
    assert server.last.headers["x-goog-api-key"] == "google-key"


def test_options_are_parsed_and_checked() -> None:
    client = gemini_chat_from_spec(
        parse_backend("gemini:gemini-2.5-pro?timeout=5&max_retries=1&images=4")
    )
    assert (client.model, client.max_images_per_call) == ("gemini-2.5-pro", 4)
    assert (client.settings.timeout, client.settings.max_retries) == (5.0, 1)

    for bad, match in [
        ("gemini", "needs a model"),
        ("gemini:gemini-2.5-flash?mode=json_object", "does not take option"),
        ("gemini:gemini-2.5-flash?timeout=0", "timeout must be positive"),
        ("gemini:gemini-2.5-flash?max_retries=many", "max_retries"),
    ]:
        with pytest.raises(BackendError, match=match):
            gemini_chat_from_spec(parse_backend(bad))


# -- the fake itself, as other tests use it --------------------------------------------------------


def test_a_responder_answers_from_what_was_asked(server: FakeGeminiServer) -> None:
    class Verdict(BaseModel):
        ok: bool

    answers: dict[str, BaseModel] = {"MiniPlan": PLAN, "Verdict": Verdict(ok=True)}
    server.respond_with(lambda body: answers[schema_name(body) or ""])
    client = gemini(server)

    assert ask(client) == PLAN
    verdict = client.structured([ChatMessage("user", "ok?")], Verdict, purpose="check").value
    assert verdict == Verdict(ok=True)
