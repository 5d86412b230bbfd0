"""The real google-genai SDK client against a fake Gemini API server on 127.0.0.1: what is
Gemini's own.

Each test scripts what the server answers and checks both sides: what storyviz made of the
answer, and what the SDK actually sent over the wire. What both chat clients promise (unusable
answers, refusals, retries, timeouts, auth errors, metering) is checked for this client too, in
test_provider_contract.py.
"""

from __future__ import annotations

import logging
import time

import pytest
from api_clients import PLAN, MiniPlan, ask, gemini_key, quick, served
from fakes.gemini_server import (
    FakeGeminiServer,
    inline_images,
    model_of,
    request_text,
    response_schema,
    schema_name,
)

from storyviz.errors import BackendError, ProviderError
from storyviz.providers.base import ChatMessage, ChatModel, ImagePart
from storyviz.providers.gemini_chat import GeminiChat, gemini_chat_from_spec
from storyviz.registry import parse_backend

SECRET = "sk-test-SECRET-123"
PNG = b"\x89PNG\r\n\x1a\n fake image bytes"


_api_key = gemini_key(SECRET)
server = served(FakeGeminiServer)


def gemini(server: FakeGeminiServer, **options: object) -> GeminiChat:
    """A client for the fake; quick by default (no retries, 2 s timeout)."""
    backend = server.backend("gemini-2.5-flash", **quick(2, options))
    return gemini_chat_from_spec(parse_backend(backend))


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


# -- retries: storyviz's own loop ------------------------------------------------------------------


def test_a_server_asking_for_a_very_long_wait_is_not_waited_for(server: FakeGeminiServer) -> None:
    server.rate_limit(retry_after=3600)

    started = time.perf_counter()
    with pytest.raises(ProviderError, match="asks to wait 3600 s"):
        ask(gemini(server, max_retries=3))
    assert time.perf_counter() - started < 2
    assert len(server.requests) == 1


# -- building from a backend string ----------------------------------------------------------------


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
        ("gemini:gemini-2.5-flash?timeout=0", "timeout must be within 0.1..3600, got 0"),
        ("gemini:gemini-2.5-flash?max_retries=many", "max_retries"),
    ]:
        with pytest.raises(BackendError, match=match):
            gemini_chat_from_spec(parse_backend(bad))


@pytest.mark.parametrize(
    ("base_url", "warned"),
    [("http://10.1.2.3:8080", True), ("https://10.1.2.3", False), ("http://127.0.0.1:9", False)],
)
def test_a_key_about_to_cross_the_network_in_clear_text_is_warned_about(
    base_url: str, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        gemini_chat_from_spec(parse_backend(f"gemini:g?base_url={base_url}"))

    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == (1 if warned else 0), lines
    assert all("GEMINI_API_KEY over plain http" in line for line in lines)
    assert all(SECRET not in line for line in lines)
