"""Backend strings are parsed in one place and unknown names say which ones exist."""

from __future__ import annotations

import subprocess
import sys

import pytest

from storyviz.builtin_backends import BUILTINS
from storyviz.errors import BackendError
from storyviz.registry import BackendSpec, Role, build, parse_backend, resolve


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


@pytest.mark.parametrize(
    ("role", "text", "exact"),
    [
        ("generator", "SKETCH", "sketch"),
        ("generator", " sketch", "sketch"),
        ("generator", "sketch ", "sketch"),
        ("generator", "  Sketch  ", "sketch"),
        ("planner", "Offline?per_page=2", "offline"),
        ("planner", "OpenAI:gpt-4.1-mini", "openai"),
        ("auditor", "offline+VLM:openai:gpt-4.1-mini", "vlm"),
        ("auditor", "vlm:OpenAI:gpt-4.1-mini", "openai"),  # the service named inside vlm
        ("repairer", "\toffline", "offline"),
    ],
)
def test_backend_names_are_exact_and_a_near_miss_gets_the_name_to_use(
    role: Role, text: str, exact: str
) -> None:
    with pytest.raises(BackendError) as caught:
        build(role, text)
    message = str(caught.value)
    assert "\n" not in message
    assert message.endswith(f"; did you mean {exact!r}?"), message


@pytest.mark.parametrize(
    ("role", "text", "expected"),
    [
        ("generator", "sketch:model", "backend 'sketch' takes no model; got 'model'"),
        ("generator", "sketch:model?drift=0.5", "backend 'sketch' takes no model; got 'model'"),
        ("planner", "offline:gpt-4.1", "backend 'offline' takes no model; got 'gpt-4.1'"),
        ("auditor", "offline:x", "backend 'offline' takes no model; got 'x'"),
        ("auditor", "clip:ViT-B-32+offline:x", "backend 'offline' takes no model; got 'x'"),
        ("repairer", "offline:x", "backend 'offline' takes no model; got 'x'"),
        ("planner", "openai", "backend 'openai' needs a model, e.g. openai:gpt-4.1-mini"),
        ("repairer", "openai-compat", "backend 'openai-compat' needs a model, e.g. openai-compat:"),
        ("generator", "diffusers", "backend 'diffusers' needs a model, e.g. diffusers:"),
        ("generator", "openai-image", "backend 'openai-image' needs a model, e.g. openai-image:"),
        ("auditor", "dino", "backend 'dino' needs a model, e.g. dino:"),
        ("generator", "openai-image: gpt-image-1", "spaces around it; did you mean 'gpt-image-1'?"),
    ],
)
def test_whether_a_backend_takes_a_model_is_checked_before_it_is_built(
    role: Role, text: str, expected: str
) -> None:
    with pytest.raises(BackendError) as caught:
        resolve(role, text)  # nothing imported: the check is the registry's
    assert expected in str(caught.value)


def test_every_built_in_backend_says_whether_it_takes_a_model() -> None:
    for role, entries in BUILTINS.items():
        for name, entry in entries.items():
            assert entry.model in ("none", "required"), (role, name)
            if entry.model == "required":
                assert entry.example.startswith(f"{name}:"), (role, name)
            else:
                build(role, name)  # the no-model backends build offline as named


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


@pytest.mark.parametrize(
    ("word", "value"),
    [("1", True), ("true", True), ("YES", True), (" on ", True)]
    + [("0", False), ("False", False), ("no", False), ("OFF", False)],
)
def test_flag_options_take_the_usual_words_in_any_case(word: str, value: bool) -> None:
    assert BackendSpec("sketch", None, {"flag": word}).flag("flag", not value) is value
    assert BackendSpec("sketch").flag("flag", value) is value  # absent: the default


@pytest.mark.parametrize(
    ("role", "text", "name", "option"),
    [
        ("generator", "openai-image:gpt-image-1?references=maybe", "openai-image", "references"),
        (
            "generator",
            "gemini-image:gemini-2.5-flash-image?references=maybe",
            "gemini-image",
            "references",
        ),
        ("generator", "diffusers:stabilityai/sd-turbo?negative=maybe", "diffusers", "negative"),
        ("auditor", "vlm:openai:gpt-4.1-mini?references=maybe", "openai", "references"),
    ],
)
def test_every_flag_option_refuses_other_words_with_the_same_line(
    role: Role, text: str, name: str, option: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("GEMINI_API_KEY", "test")
    with pytest.raises(BackendError) as info:
        build(role, text)
    assert str(info.value) == (
        f"backend {name!r}: option {option}='maybe' is invalid (expected true or false)"
    )


def test_resolving_and_listing_backends_imports_nothing_heavy() -> None:
    code = (
        "import sys; from storyviz import registry; "
        "[registry.resolve(r, registry.DEFAULTS[r]) for r in registry.ROLES]; "
        "from storyviz.backend_plugins import listing; listing(); "
        "heavy = ('torch', 'langgraph', 'diffusers', 'openai'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
