"""Backend strings are parsed in one place and unknown names say which ones exist."""

from __future__ import annotations

import subprocess
import sys

import pytest

from storyviz.errors import BackendError
from storyviz.registry import BackendEntry, BackendSpec, build, parse_backend, register, resolve


@pytest.mark.parametrize(
    ("text", "name", "model", "options"),
    [
        ("offline", "offline", None, {}),
        ("sketch?drift=0.5", "sketch", None, {"drift": "0.5"}),
        ("openai:gpt-4.1-mini", "openai", "gpt-4.1-mini", {}),
        (
            "gemini:gemini-2.5-flash?temperature=0.2",
            "gemini",
            "gemini-2.5-flash",
            {"temperature": "0.2"},
        ),
        (
            "openai-compat:http://127.0.0.1:11434/v1#llama3.1",
            "openai-compat",
            "http://127.0.0.1:11434/v1#llama3.1",
            {},
        ),
        (
            "diffusers:/path/to/local/model?steps=4&guidance=0",
            "diffusers",
            "/path/to/local/model",
            {"steps": "4", "guidance": "0"},
        ),
        ("  Sketch  ", "sketch", None, {}),
    ],
)
def test_parse_backend(text: str, name: str, model: str | None, options: dict[str, str]) -> None:
    spec = parse_backend(text)
    assert (spec.name, spec.model, dict(spec.options)) == (name, model, options)


@pytest.mark.parametrize(
    "text", ["", "   ", "9lives", "sketch:", "sketch?drift", "sketch?a=1&a=2", "bad name"]
)
def test_malformed_backend_strings_raise_a_clear_error(text: str) -> None:
    with pytest.raises(BackendError):
        parse_backend(text)


def test_spec_string_round_trips_and_redacts_secrets() -> None:
    spec = parse_backend("openai:gpt-4.1?api_key=sk-123&temperature=0.1")
    assert parse_backend(str(spec)) == spec
    assert "sk-123" not in spec.redacted()
    assert "temperature=0.1" in spec.redacted()


def test_unknown_backend_lists_the_known_ones() -> None:
    with pytest.raises(BackendError) as info:
        resolve("generator", "dalle-9000")
    message = str(info.value)
    assert "unknown generator backend 'dalle-9000'" in message
    assert "sketch" in message


def test_options_are_typed_and_unknown_options_rejected() -> None:
    spec = BackendSpec("sketch", None, {"drift": "lots"})
    with pytest.raises(BackendError, match="drift='lots' is invalid"):
        spec.option("drift", float, 0.0)
    with pytest.raises(BackendError, match="does not take option"):
        build("generator", "sketch?colour=red")


def test_missing_extra_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from storyviz import registry

    monkeypatch.setitem(registry._REGISTRY, "generator", dict(registry._REGISTRY["generator"]))
    register(
        "generator",
        "needs-extra",
        BackendEntry("storyviz_no_such_module:Thing", "test", extra="diffusers"),
    )
    with pytest.raises(BackendError, match=r'pip install "storyviz\[diffusers\]"'):
        build("generator", "needs-extra")


def test_resolving_and_listing_backends_imports_nothing_heavy() -> None:
    code = (
        "import sys; from storyviz import registry; "
        "[registry.resolve(r, registry.DEFAULTS[r]) for r in registry.ROLES]; "
        "heavy = ('torch', 'langgraph', 'diffusers', 'openai'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
