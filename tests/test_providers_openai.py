"""The real openai SDK client against a fake Chat Completions server on 127.0.0.1: what is
OpenAI's own.

Each test scripts what the server answers and checks both sides: what storyviz made of the
answer, and what the SDK actually sent over the wire. What both chat clients promise (unusable
answers, refusals, retries, timeouts, auth errors, metering) is checked for this client too, in
test_provider_contract.py.
"""

from __future__ import annotations

import base64

import pytest
from api_clients import PLAN, MiniPlan, ask, metered, openai_key, quick, served
from fakes.openai_server import FakeOpenAIServer, image_urls, message_text, schema_name

from storyviz.errors import BackendError, ModelOutputError, ProviderAuthError, ProviderError
from storyviz.providers.base import ChatMessage, ChatModel, ImagePart
from storyviz.providers.openai_chat import FALLBACK_NOTE, OpenAIChat, openai_chat_from_spec
from storyviz.registry import parse_backend

SECRET = "sk-test-SECRET-123"
PNG = b"\x89PNG\r\n\x1a\n fake image bytes"


_api_key = openai_key(SECRET)
server = served(FakeOpenAIServer)


def compat(server: FakeOpenAIServer, **options: object) -> OpenAIChat:
    """An openai-compat client for the fake; quick by default (no retries, 2 s timeout)."""
    return openai_chat_from_spec(parse_backend(server.backend("m", **quick(2, options))))


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


def test_a_fallback_is_one_metered_call_with_its_note(server: FakeOpenAIServer) -> None:
    meter, calls = metered()
    client = compat(server)
    client.bind_meter(meter, "auditor")
    server.reject_json_schema()
    server.answer(PLAN)

    ask(client)

    assert meter.used == 1
    assert [c.notes for c in calls] == [(FALLBACK_NOTE,)]


# -- building from a backend string ----------------------------------------------------------------


def test_openai_compat_needs_no_key(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    server.answer(PLAN)

    assert ask(compat(server)) == PLAN
    assert server.last.headers["authorization"] == "Bearer not-needed"


def test_an_openai_compat_server_refusing_the_key_is_named(server: FakeOpenAIServer) -> None:
    server.unauthorized()

    with pytest.raises(ProviderAuthError, match="the server at .* refused the key.*OPENAI_API_KEY"):
        ask(compat(server))


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
    assert client.spec == "openai-compat:http://***@host:8000/v1#m"  # the user name too
