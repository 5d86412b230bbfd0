"""The real openai SDK client against a fake Chat Completions server on 127.0.0.1: what is
OpenAI's own.

Each test scripts what the server answers and checks both sides: what storyviz made of the
answer, and what the SDK actually sent over the wire. What both chat clients promise (unusable
answers, refusals, retries, timeouts, auth errors, metering) is checked for this client too, in
test_provider_contract.py.
"""

from __future__ import annotations

import base64
import logging

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
    client = compat(server, key_env="OPENAI_API_KEY")  # a key only where one is named
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


def test_openai_compat_does_not_send_openai_api_key_to_the_server(
    server: FakeOpenAIServer,
) -> None:
    """OPENAI_API_KEY (SECRET here) is set, but the URL can be anyone's server."""
    server.answer(PLAN)

    assert ask(compat(server)) == PLAN
    sent = server.last.headers
    assert sent["authorization"] == "Bearer not-needed"
    assert all(SECRET not in value for value in sent.values())


def test_key_env_names_the_variable_whose_key_an_openai_compat_server_gets(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_KEY", "local-server-key-42")
    server.answer(PLAN)

    client = compat(server, key_env="MY_KEY")

    assert ask(client) == PLAN
    assert server.last.headers["authorization"] == "Bearer local-server-key-42"
    assert "key_env=MY_KEY" in client.spec  # the record says which variable, never the key
    assert "local-server-key-42" not in client.spec


@pytest.mark.parametrize(
    ("key_env", "error", "match"),
    [
        ("UNSET_KEY", ProviderAuthError, "sends the key in UNSET_KEY, but UNSET_KEY is not set"),
        ("1BAD", BackendError, "key_env='1BAD' is not an environment variable name"),
        ("A-B", BackendError, "not an environment variable name"),
        ("MY_KEY%0A", BackendError, r"key_env='MY_KEY\\n' is not an environment variable name"),
    ],
)
def test_key_env_must_name_a_variable_that_is_set(
    key_env: str, error: type[Exception], match: str
) -> None:
    text = f"openai-compat:http://127.0.0.1:9/v1#m?key_env={key_env}"
    with pytest.raises(error, match=match):
        openai_chat_from_spec(parse_backend(text))


def test_key_env_is_an_openai_compat_option_only() -> None:
    with pytest.raises(BackendError, match="does not take option.*key_env"):
        openai_chat_from_spec(parse_backend("openai:gpt-4.1-mini?key_env=MY_KEY"))


@pytest.mark.parametrize(
    ("text", "warned"),
    [
        ("openai-compat:http://10.1.2.3:8000/v1#m?key_env=MY_KEY", True),
        ("openai-compat:http://gpu-box.lan/v1#m?key_env=MY_KEY", True),
        ("openai-compat:https://10.1.2.3/v1#m?key_env=MY_KEY", False),  # encrypted
        ("openai-compat:http://127.0.0.1:8000/v1#m?key_env=MY_KEY", False),  # this machine
        ("openai-compat:http://localhost:8000/v1#m?key_env=MY_KEY", False),
        ("openai-compat:http://[::1]:8000/v1#m?key_env=MY_KEY", False),
        ("openai-compat:http://10.1.2.3:8000/v1#m", False),  # no key is sent at all
    ],
)
def test_a_key_about_to_cross_the_network_in_clear_text_is_warned_about(
    text: str, warned: bool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MY_KEY", "local-server-key-42")
    with caplog.at_level(logging.WARNING):
        openai_chat_from_spec(parse_backend(text))

    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == (1 if warned else 0), lines
    for line in lines:
        assert line.startswith("storyviz: warning: ") and "plain http" in line and "MY_KEY" in line
        assert "local-server-key-42" not in line and "\n" not in line


def test_the_openai_backend_warns_too_when_its_base_url_is_plain_http_elsewhere(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://proxy.example:8080/v1")
    with caplog.at_level(logging.WARNING):
        openai_chat_from_spec(parse_backend("openai:gpt-4.1-mini"))

    (record,) = caplog.records
    assert "OPENAI_API_KEY over plain http to proxy.example" in record.getMessage()
    assert SECRET not in record.getMessage()


def test_an_openai_compat_server_refusing_the_key_is_named(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_KEY", "wrong-key")
    server.unauthorized()
    server.unauthorized()

    with pytest.raises(ProviderAuthError, match="the server at .* refused the key.*MY_KEY"):
        ask(compat(server, key_env="MY_KEY"))
    with pytest.raises(ProviderAuthError, match="refused the key.*with \\?key_env=NAME"):
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
