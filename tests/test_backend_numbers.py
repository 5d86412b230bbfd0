"""Every numeric option of every backend is finite and within its range, checked in one place
(`BackendSpec.option`): a bad number is a one-line BackendError when the backend is built,
never an OverflowError from time.sleep or a ValueError from an SDK in the middle of a run.

The backends are built through the registry as a run builds them; none is called, no weights
are loaded (every option is checked before a model would be), and no key is needed.
"""

from __future__ import annotations

import math

import pytest

from storyviz import registry
from storyviz.config import load_settings
from storyviz.errors import BackendError, ConfigError

NOT_FINITE = ("nan", "NaN", "inf", "-inf", "infinity", "1e999")  # 1e999 parses as inf
HUGE = "1e308"  # finite, but no setting means that

COMPAT = "openai-compat:http://127.0.0.1:9/v1#m"
GEMINI = "gemini:gemini-2.5-flash"

# (role, backend string without the option, option, values that must be refused)
CASES: list[tuple[registry.Role, str, str, tuple[str, ...]]] = [
    ("generator", "sketch", "delay", (*NOT_FINITE, HUGE, "-1", "3601")),
    ("generator", "sketch", "drift", (*NOT_FINITE, HUGE, "-0.1", "1.5")),
    ("planner", "offline", "per_page", ("nan", "inf", HUGE, "0", "7", "-1")),
    ("auditor", "offline", "minor", (*NOT_FINITE, HUGE, "-5")),
    ("auditor", "offline", "critical", ("nan", "inf", HUGE)),
    ("auditor", "offline", "presence", ("nan", "-inf", "-0.5", "2")),
    ("planner", COMPAT, "timeout", (*NOT_FINITE, HUGE, "0", "-1")),
    ("planner", COMPAT, "temperature", (*NOT_FINITE, HUGE, "-0.1", "2.5")),
    ("planner", COMPAT, "max_retries", ("nan", "-1", "11", "10" * 30)),
    ("planner", COMPAT, "images", ("inf", "0", "-3", "10" * 30)),
    ("planner", COMPAT, "steps", ("nan", "0", "3")),
    ("planner", COMPAT, "retries", ("-1", "11", HUGE)),
    ("planner", COMPAT, "per_page", ("0", "7")),
    ("repairer", COMPAT, "timeout", ("nan", "inf")),
    ("auditor", f"vlm:{COMPAT}", "batch", ("nan", "0", "17")),
    ("auditor", f"vlm:{COMPAT}", "temperature", ("nan", "inf")),
    ("planner", GEMINI, "timeout", (*NOT_FINITE, HUGE, "0")),
    ("planner", GEMINI, "temperature", ("nan", "-inf", "3")),
    ("planner", GEMINI, "max_retries", ("-1", "100")),
    ("generator", "openai-image:gpt-image-1", "images", ("0", "17", "nan")),
    ("generator", "openai-image:gpt-image-1", "timeout", ("nan", "inf", "-1")),
    ("generator", "gemini-image:gemini-2.5-flash-image", "temperature", ("nan", "inf", "9")),
    ("generator", "gemini-image:gemini-2.5-flash-image", "timeout", ("-inf", HUGE)),
    ("generator", "diffusers:stabilityai/sd-turbo", "steps", ("nan", "0", "-1", "1001")),
    ("generator", "diffusers:stabilityai/sd-turbo", "guidance", (*NOT_FINITE, HUGE, "-1")),
    ("generator", "diffusers:stabilityai/sd-turbo", "size", ("nan", HUGE, "32", "99999x512")),
    ("generator", "diffusers:m?ip_adapter=sd15", "ip_scale", ("nan", "inf", "-0.1", "3")),
    ("auditor", "clip:ViT-B-32", "threshold", (*NOT_FINITE, "-0.1", "1.5")),
    ("auditor", "dino:facebook/dinov2-small", "threshold", ("nan", "inf")),
    ("auditor", "dino:facebook/dinov2-small", "detector_threshold", ("nan", "-1", "2")),
]


def _strings() -> list[tuple[registry.Role, str]]:
    cases = []
    for role, base, option, values in CASES:
        joiner = "&" if "?" in base else "?"
        cases.extend((role, f"{base}{joiner}{option}={value}") for value in values)
    return cases


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Options are checked before any key is looked for: none is set."""
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "GEMINI_BASE_URL",
        "GOOGLE_GEMINI_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("role", "text"), _strings())
def test_a_number_that_is_not_finite_or_out_of_range_is_refused_when_built(
    role: registry.Role, text: str
) -> None:
    option = text.rpartition("&")[2] if "&" in text else text.rpartition("?")[2]
    key = option.partition("=")[0]

    with pytest.raises(BackendError) as caught:
        registry.build(role, text)

    message = str(caught.value)
    assert "\n" not in message
    assert key in message, message  # it names the option that is wrong


@pytest.mark.parametrize(
    ("role", "text"),
    [
        ("generator", "sketch?delay=0&drift=1"),
        ("generator", "sketch?delay=3600&drift=0"),
        ("planner", "offline?per_page=6"),
        ("auditor", "offline?minor=1&major=2&critical=399&presence=0"),
        ("planner", f"{COMPAT}?timeout=0.1&temperature=0&max_retries=10&images=100"),
        ("planner", f"{COMPAT}?temperature=2&max_retries=0&images=1&steps=1&retries=10"),
        ("auditor", f"vlm:{COMPAT}?batch=16"),
    ],
)
def test_the_ends_of_every_range_are_accepted(role: registry.Role, text: str) -> None:
    assert registry.build(role, text).spec


def test_a_float_option_of_any_backend_refuses_nan_even_without_a_range() -> None:
    spec = registry.parse_backend("plugin?ratio=nan&fine=0.5")

    assert spec.option("fine", float, 0.0) == 0.5
    with pytest.raises(BackendError, match="ratio='nan' is not a finite number"):
        spec.option("ratio", float, 0.0)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_settings_refuse_numbers_that_are_not_finite(value: float) -> None:
    with pytest.raises(ConfigError, match="threshold: Input should be a finite number"):
        load_settings(threshold=value)


def test_settings_from_the_environment_refuse_nan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYVIZ_THRESHOLD", "nan")
    with pytest.raises(ConfigError, match="finite"):
        load_settings()
