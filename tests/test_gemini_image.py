"""The gemini-image generator through the real google-genai SDK, against a fake Gemini API on
127.0.0.1 that answers with inline image parts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from api_clients import gemini_key, metered, quick, served
from fakes.gemini_images import FakeGeminiImageServer
from fakes.gemini_server import inline_images, model_of, request_text
from image_requests import (
    BLUE,
    GREEN,
    PAPER,
    RED,
    SEED,
    colour,
    decoded,
    panel,
    repair_files,
    sheets,
)

from storyviz import registry
from storyviz.errors import (
    BackendError,
    BudgetExceededError,
    ModelOutputError,
    ProviderAuthError,
    ProviderError,
    RefusalError,
)
from storyviz.protocols import Generator

SECRET = "gm-test-SECRET-img-55"

_api_key = gemini_key(SECRET)
server = served(FakeGeminiImageServer)


def generator(
    server: FakeGeminiImageServer, base_dir: Path | None = None, **options: object
) -> Generator:
    gen = registry.build("generator", server.backend(**quick(5, options)))
    gen.base_dir = base_dir  # the runner sets the run folder
    return gen


def test_a_panel_is_one_call_with_the_cast_sheets_and_the_image_part_is_the_panel(
    server: FakeGeminiImageServer, tmp_path: Path
) -> None:
    result = generator(server, tmp_path).render(panel(references=sheets(tmp_path)))

    sent = server.last
    assert model_of(sent) == "gemini-2.5-flash-image"
    assert sent.headers["x-goog-api-key"] == SECRET
    config = sent.body["generationConfig"]
    assert "IMAGE" in config["responseModalities"]
    assert config["imageConfig"]["aspectRatio"] == "3:2"
    images = inline_images(sent.body)
    assert [mime for mime, _ in images] == ["image/png", "image/png"]
    assert [colour(decoded(data), 5, 5) for _, data in images] == [RED, BLUE]
    text = request_text(sent.body)
    assert "Mia finds Bolt under a bench." in text
    assert "(image 1: Mia; image 2: Bolt)" in text
    assert "image 2: reference sheet of Bolt" in text  # each picture labelled where it is

    assert result.image.size == (600, 400) and colour(result.image, 300, 200) == GREEN
    info = result.info
    assert (info["renderer"], info["task"], info["aspect_ratio"]) == (
        "gemini-image",
        "references",
        "3:2",
    )
    assert (info["seed"], info["seed_honoured"], info["references"]) == (
        SEED,
        False,
        ["mia", "bolt"],
    )


@pytest.mark.parametrize(
    ("size", "ratio"), [((512, 512), "1:1"), ((400, 600), "2:3"), ((1000, 400), "21:9")]
)
def test_the_aspect_asked_for_is_the_nearest_and_the_panel_size_is_exact(
    server: FakeGeminiImageServer, size: tuple[int, int], ratio: str
) -> None:
    result = generator(server).render(panel(*size))
    assert server.last.body["generationConfig"]["imageConfig"]["aspectRatio"] == ratio
    assert result.image.size == size


def test_an_inpaint_repair_sends_the_panel_and_the_mask_first_and_keeps_the_rest(
    server: FakeGeminiImageServer, tmp_path: Path
) -> None:
    original, mask = repair_files(tmp_path)

    result = generator(server, tmp_path).render(
        panel(version=2, references=sheets(tmp_path), init_image=original, mask=mask)
    )

    images = [decoded(data) for _, data in inline_images(server.last.body)]
    assert [colour(im, 500, 50) for im in images[:2]] == [PAPER, (0, 0, 0)]
    assert colour(images[1], 150, 250) == (255, 255, 255)  # the mask: white = redraw
    assert [colour(im, 5, 5) for im in images[2:]] == [RED, BLUE]
    text = request_text(server.last.body)
    assert text.startswith("Edit image 1") and "white in image 2" in text
    assert "(image 3: Mia; image 4: Bolt)" in text
    assert colour(result.image, 150, 250) == GREEN
    assert colour(result.image, 500, 50) == PAPER
    assert result.info["task"] == "inpaint"


def test_a_bad_aspect_option_is_a_backend_error(server: FakeGeminiImageServer) -> None:
    with pytest.raises(BackendError, match="aspect=7:5 is not one of 1:1"):
        generator(server, aspect="7:5")
    with pytest.raises(BackendError, match="does not take option.*quality"):
        generator(server, quality="low")


# -- the service failing ---------------------------------------------------------------------------


def test_a_429_with_retry_after_is_waited_for_then_retried(server: FakeGeminiImageServer) -> None:
    server.rate_limit(retry_after=0.6)

    started = time.perf_counter()
    result = generator(server, max_retries=2).render(panel())

    assert time.perf_counter() - started >= 0.55
    assert len(server.requests) == 2 and result.image.size == (600, 400)


def test_a_refused_key_is_an_auth_error_naming_the_variable(server: FakeGeminiImageServer) -> None:
    server.unauthorized()
    with pytest.raises(ProviderAuthError, match="GEMINI_API_KEY") as caught:
        generator(server).render(panel())
    assert SECRET not in str(caught.value)


def test_a_missing_key_names_the_variable(
    server: FakeGeminiImageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    with pytest.raises(ProviderAuthError, match=r"gemini-image:.*set GEMINI_API_KEY"):
        generator(server)


@pytest.mark.parametrize(
    ("script", "error", "said"),
    [
        ("block_prompt", RefusalError, r"prompt was blocked \(SAFETY\)"),
        ("image_safety", RefusalError, r"stopped \(IMAGE_SAFETY\)"),
        ("text_only", ModelOutputError, r"no image \(STOP\); it said: I can only describe"),
    ],
)
def test_a_blocked_or_imageless_answer_is_a_clear_error(
    server: FakeGeminiImageServer, script: str, error: type[Exception], said: str
) -> None:
    getattr(server, script)()
    with pytest.raises(error, match=said):
        generator(server).render(panel())


@pytest.mark.parametrize("body", ["truncated JSON", "an HTML error page"])
def test_a_status_200_body_that_is_not_json_is_a_provider_error(
    server: FakeGeminiImageServer, body: str
) -> None:
    server.garbled(body)
    with pytest.raises(ProviderError, match="answer cannot be read") as caught:
        generator(server).render(panel())
    assert "\n" not in str(caught.value)


# -- metering --------------------------------------------------------------------------------------


def test_image_calls_are_metered_as_the_generator_and_the_budget_stops_the_next(
    server: FakeGeminiImageServer, tmp_path: Path
) -> None:
    meter, calls = metered(budget=1)
    gen = generator(server, tmp_path)
    gen.bind_meter(meter, "generator")  # type: ignore[attr-defined]

    result = gen.render(panel(references=sheets(tmp_path)))
    with pytest.raises(BudgetExceededError):
        gen.render(panel())

    assert len(server.requests) == 1
    (call,) = calls
    assert (call.role, call.purpose, call.input_tokens, call.output_tokens) == (
        "generator",
        "panel p01 v1",
        1290,
        1290,
    )
    assert (call.images_in, call.images_out) == (2, 1)
    assert SECRET not in repr([call.as_dict(), result.info])
