"""Credentials in backend strings never reach what storyviz records or prints.

A backend string can carry a secret as a secret-named option, as URL userinfo (in the model part
or an option value) and as a secret URL query parameter; every backend's `.spec` (what manifests,
events, audit files and reports show), `BackendSpec.redacted()` and the parse errors that quote a
backend string must hide all three. The backends are built through the registry as a run builds
them; none of them is called, so no network is needed.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from storyviz import registry
from storyviz.config import load_settings
from storyviz.errors import BackendError
from storyviz.redaction import redact
from storyviz.registry import parse_backend

SECRET = "SECRET"
URL = f"http://user:{SECRET}-pass@127.0.0.1:9/v1"
TOKEN_URL = f"https://{SECRET}-token@proxy.example/v1"  # a token alone as the userinfo
QUERY_URL = f"https://proxy.example/v1?api_key={SECRET}-q&sig={SECRET}-s&size=2"


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building the named services needs a key; none is sent anywhere."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    monkeypatch.setenv("GEMINI_API_KEY", "gm-test-key")
    for name in ("OPENAI_BASE_URL", "GOOGLE_API_KEY", "GEMINI_BASE_URL", "GOOGLE_GEMINI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"openai-compat:{URL}#m", "openai-compat:http://***@127.0.0.1:9/v1#m"),
        (f"openai-compat:{TOKEN_URL}#m", "openai-compat:https://***@proxy.example/v1#m"),
        (f"vlm:openai-compat:{URL}#llava?batch=2", "vlm:openai-compat:http://***@127.0.0.1"),
        (f"gemini:g?base_url={quote(QUERY_URL, safe='')}", "size%3D2"),
        (f"gemini:g?base_url={quote(URL, safe='')}", "gemini:g?base_url=http%3A%2F%2F%2A%2A%2A%40"),
        (f"offline+vlm:openai-compat:{URL}#m", "offline+vlm:openai-compat:http://***@"),
        (f"openai:m?api_key={SECRET}&temperature=0.5", "temperature=0.5"),
        ("openai-compat:http://127.0.0.1:9/v1#m?key_env=MY_KEY", "key_env=MY_KEY"),
    ],
)
def test_redacted_masks_userinfo_secret_query_parameters_and_secret_options(
    text: str, kept: str
) -> None:
    shown = parse_backend(text).redacted()

    assert SECRET not in shown
    assert kept in shown  # what is not secret stays readable
    assert parse_backend(shown).redacted() == shown  # a redacted string parses and is stable


@pytest.mark.parametrize(
    ("role", "text"),
    [
        ("planner", f"openai-compat:{URL}#m"),
        ("planner", f"gemini:g?base_url={quote(QUERY_URL, safe='')}"),
        ("auditor", f"vlm:openai-compat:{TOKEN_URL}#llava"),
        ("auditor", f"offline+vlm:openai-compat:{URL}#m"),
        ("repairer", f"openai-compat:{URL}#m"),
        ("generator", f"openai-image:gpt-image-1?base_url={quote(QUERY_URL, safe='')}"),
        ("generator", f"openai-image:gpt-image-1?base_url={quote(TOKEN_URL, safe='')}"),
        ("generator", f"gemini-image:gemini-2.5-flash-image?base_url={quote(URL, safe='')}"),
    ],
)
def test_every_built_backend_records_a_spec_without_the_credentials(
    role: registry.Role, text: str
) -> None:
    backend = registry.build(role, text)

    assert SECRET not in backend.spec  # manifests, events, audit.json and panel versions
    chat = getattr(backend, "chat", None)
    if chat is not None:  # what each model call's event names as its backend
        assert SECRET not in chat.spec


def test_the_recorded_settings_hide_credentials_in_every_role() -> None:
    settings = load_settings(
        planner=f"openai-compat:{URL}#m",
        auditor=f"vlm:openai-compat:{TOKEN_URL}#m",
        repairer=f"gemini:g?base_url={quote(QUERY_URL, safe='')}",
    )
    assert SECRET not in str(settings.redacted())


@pytest.mark.parametrize(
    "text",
    [
        f"openai-compat:{URL}#m?timeout=1&timeout=2",  # repeats an option
        f"openai-compat:{URL}#m?timeout",  # options that do not parse
        f"offline+vlm:openai-compat:{URL}#m",  # a chain outside the auditor role
        f"openai-compat:{URL}#m?timeout=soon",  # an option value that is no number
        f"gemini:g?base_url={quote(QUERY_URL, safe='')}&base_url=x",
    ],
)
def test_errors_that_quote_a_backend_string_hide_its_credentials(text: str) -> None:
    role: registry.Role = "planner"
    with pytest.raises(BackendError) as caught:
        registry.build(role, text)
    assert SECRET not in str(caught.value)


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "diffusers:/models/sd?steps=4&guidance=7.5 at http://127.0.0.1:8000/v1#m"
    assert redact(text) == text
