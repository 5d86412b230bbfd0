"""The openai-image generator through the real openai SDK, against a fake Images API on 127.0.0.1.

Each test checks both sides: the picture and provenance storyviz made of the answer, and what
the SDK actually sent (JSON for generations, multipart uploads for edits).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from api_clients import metered, openai_key, quick, served
from fakes.openai_images import FakeOpenAIImagesServer, Form
from image_requests import BLUE, GREEN, PAPER, RED, SEED, colour, panel, repair_files, sheets

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

SECRET = "sk-test-SECRET-img-77"

_api_key = openai_key(SECRET)
server = served(FakeOpenAIImagesServer)


def generator(server: FakeOpenAIImagesServer, **options: object) -> Generator:
    """Built through the registry as a run builds it; quick by default (no retries)."""
    return registry.build("generator", server.backend("gpt-image-1", **quick(5, options)))


# -- generate ----------------------------------------------------------------------------------


def test_a_panel_without_references_is_generated_and_the_wire_is_the_images_api(
    server: FakeOpenAIImagesServer,
) -> None:
    result = generator(server, quality="low", moderation="low").render(panel())

    sent = server.last
    assert (sent.path, sent.headers["authorization"]) == (
        "/v1/images/generations",
        f"Bearer {SECRET}",
    )
    assert sent.body["model"] == "gpt-image-1" and sent.body["n"] == 1
    assert (sent.body["size"], sent.body["quality"], sent.body["moderation"]) == (
        "1536x1024",
        "low",
        "low",
    )
    assert "Mia finds Bolt under a bench." in sent.body["prompt"]
    assert "Avoid: watermark, text." in sent.body["prompt"]  # no negative prompt in this API
    assert result.image.size == (600, 400) and colour(result.image, 300, 200) == GREEN
    info = result.info
    assert (info["renderer"], info["task"], info["endpoint"]) == (
        "openai-image",
        "generate",
        "images.generate",
    )
    assert (info["seed"], info["seed_honoured"]) == (SEED, False)
    assert (info["api_size"], info["answer_size"], info["size"]) == (
        "1536x1024",
        [1536, 1024],
        [600, 400],
    )
    assert (info["input_tokens"], info["output_tokens"]) == (50, 4160)


@pytest.mark.parametrize(
    ("size", "options", "asked"),
    [
        ((512, 512), {}, "1024x1024"),
        ((400, 600), {}, "1024x1536"),
        ((1000, 400), {}, "1536x1024"),  # wider than any size: the widest
        ((560, 512), {}, "1024x1024"),  # nearly square
        ((600, 400), {"size": "1024x1024"}, "1024x1024"),
        ((600, 400), {"size": "auto"}, "auto"),
    ],
)
def test_the_size_asked_for_is_the_nearest_by_aspect_and_the_answer_fits_the_panel_exactly(
    server: FakeOpenAIImagesServer,
    size: tuple[int, int],
    options: dict[str, str],
    asked: str,
) -> None:
    result = generator(server, **options).render(panel(*size))

    assert server.last.body["size"] == asked
    assert result.image.size == size


def test_bad_options_are_one_line_backend_errors(server: FakeOpenAIImagesServer) -> None:
    with pytest.raises(BackendError, match="size=800x600 is not one of 1024x1024, 1536x1024"):
        generator(server, size="800x600")
    with pytest.raises(BackendError, match="quality=ultra is not one of low, medium, high, auto"):
        generator(server, quality="ultra")
    with pytest.raises(BackendError, match="does not take option.*steps"):
        generator(server, steps=4)
    with pytest.raises(BackendError, match="needs a model"):
        registry.build("generator", "openai-image")
    assert server.requests == []


# -- references and repairs: images.edit -----------------------------------------------------------


def test_a_panel_with_cast_references_is_an_edit_with_the_sheets_as_images(
    server: FakeOpenAIImagesServer, tmp_path: Path
) -> None:
    gen = generator(server, input_fidelity="high", moderation="low")
    gen.base_dir = tmp_path  # type: ignore[attr-defined]  # the runner sets the run folder

    result = gen.render(panel(references=sheets(tmp_path)))

    sent = server.last
    assert sent.path == "/v1/images/edits"
    assert sent.headers["content-type"].startswith("multipart/form-data")
    form = sent.body
    assert isinstance(form, Form)
    assert (form.fields["model"], form.fields["size"], form.fields["input_fidelity"]) == (
        "gpt-image-1",
        "1536x1024",
        "high",
    )
    uploads = form.files["image[]"]
    assert [f.content_type for f in uploads] == ["image/png", "image/png"]
    assert [colour(f.image(), 5, 5) for f in uploads] == [RED, BLUE]  # cast order: Mia, Bolt
    assert "mask" not in form.files and "moderation" not in form.fields  # generations only
    assert "(image 1: Mia; image 2: Bolt)" in form.fields["prompt"]
    assert result.image.size == (600, 400)
    assert (result.info["task"], result.info["references"]) == ("references", ["mia", "bolt"])


def test_references_can_be_turned_off(server: FakeOpenAIImagesServer, tmp_path: Path) -> None:
    gen = generator(server, references="false")
    gen.base_dir = tmp_path  # type: ignore[attr-defined]

    gen.render(panel(references=sheets(tmp_path)))

    assert server.last.path == "/v1/images/generations"


def test_an_inpaint_repair_sends_the_panel_then_the_sheets_with_a_transparent_where_to_draw_mask(
    server: FakeOpenAIImagesServer, tmp_path: Path
) -> None:
    original, mask_path = repair_files(tmp_path)
    gen = generator(server)
    gen.base_dir = tmp_path  # type: ignore[attr-defined]

    result = gen.render(
        panel(
            version=2,
            references=sheets(tmp_path),
            init_image=original,
            mask=mask_path,
            strength=0.8,
        )
    )

    form = server.last.body
    assert server.last.path == "/v1/images/edits"
    first, *refs = form.files["image[]"]
    assert first.image().size == (1536, 1024)  # stretched to the size asked for, like the mask
    assert colour(first.image(), 768, 512) == PAPER
    assert [colour(f.image(), 5, 5) for f in refs] == [RED, BLUE]
    (mask,) = form.files["mask"]
    sent_mask = mask.image()
    assert sent_mask.mode == "RGBA" and sent_mask.size == (1536, 1024)
    alpha = sent_mask.getchannel("A")
    assert alpha.getpixel((400, 600)) == 0  # inside the box: transparent, may be redrawn
    assert alpha.getpixel((1300, 100)) == 255  # outside: opaque, kept
    prompt = form.fields["prompt"]
    assert prompt.startswith("Edit image 1") and "(image 2: Mia; image 3: Bolt)" in prompt

    image = result.image
    assert image.size == (600, 400)
    assert colour(image, 150, 250) == GREEN  # the redrawn region
    assert colour(image, 500, 50) == PAPER  # outside the mask: the original
    assert result.info["task"] == "inpaint"


def test_a_repair_without_a_mask_edits_the_whole_panel(
    server: FakeOpenAIImagesServer, tmp_path: Path
) -> None:
    original, _ = repair_files(tmp_path, (400, 600))

    result = generator(server, references="false").render(panel(400, 600, init_image=original))

    form = server.last.body
    assert len(form.files["image[]"]) == 1 and "mask" not in form.files
    assert form.fields["size"] == "1024x1536"
    assert (result.info["task"], result.image.size) == ("edit", (400, 600))


def test_an_unreadable_reference_is_a_backend_error_naming_the_file(
    server: FakeOpenAIImagesServer, tmp_path: Path
) -> None:
    gen = generator(server)
    gen.base_dir = tmp_path  # type: ignore[attr-defined]
    with pytest.raises(BackendError, match=r"cannot read image .*nobody\.png"):
        gen.render(panel(references={"mia": "references/nobody.png"}))
    assert server.requests == []


# -- the service failing ---------------------------------------------------------------------------


def test_a_429_with_retry_after_is_waited_for_then_retried(server: FakeOpenAIImagesServer) -> None:
    server.rate_limit(retry_after=0.6)

    started = time.perf_counter()
    result = generator(server, max_retries=2).render(panel())

    assert time.perf_counter() - started >= 0.55  # Retry-After honoured
    assert len(server.requests) == 2 and result.image.size == (600, 400)


def test_server_errors_past_the_retries_name_the_status(server: FakeOpenAIImagesServer) -> None:
    server.fail(503, times=2, retry_after=0.01)
    with pytest.raises(ProviderError, match=r"HTTP 503 after 1 retry"):
        generator(server, max_retries=1).render(panel())


@pytest.mark.parametrize("body", ["truncated JSON", "an HTML error page", "a JSON list"])
def test_a_status_200_body_that_is_not_json_is_a_provider_error(
    server: FakeOpenAIImagesServer, body: str
) -> None:
    meter, calls = metered()
    gen = generator(server)
    gen.bind_meter(meter, "generator")  # type: ignore[attr-defined]
    server.garbled(body)

    with pytest.raises(ProviderError, match="answer cannot be read") as caught:
        gen.render(panel())
    assert "\n" not in str(caught.value)
    assert [call.ok for call in calls] == [False]


def test_a_refused_key_is_an_auth_error_naming_the_variable_never_the_key(
    server: FakeOpenAIImagesServer,
) -> None:
    meter, calls = metered()
    gen = generator(server)
    gen.bind_meter(meter, "generator")  # type: ignore[attr-defined]
    server.unauthorized(f"Incorrect API key provided: {SECRET}.")  # a server that echoes it

    with pytest.raises(ProviderAuthError) as caught:
        gen.render(panel())

    message = str(caught.value)
    assert "OPENAI_API_KEY" in message and SECRET not in message and "\n" not in message
    assert calls and not calls[0].ok and SECRET not in repr(calls[0].as_dict())


def test_a_missing_key_names_the_variable(
    server: FakeOpenAIImagesServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ProviderAuthError, match=r"openai-image:gpt-image-1.* set OPENAI_API_KEY"):
        generator(server)


def test_a_moderation_block_is_a_refusal(server: FakeOpenAIImagesServer) -> None:
    server.refuse()
    with pytest.raises(RefusalError, match="refused: Your request was rejected by the safety"):
        generator(server).render(panel())


@pytest.mark.parametrize(
    ("script", "said"),
    [("no_image", "the answer has no image"), ("url_only", "carries a URL, not image data")],
)
def test_an_answer_without_image_data_is_a_model_output_error(
    server: FakeOpenAIImagesServer, script: str, said: str
) -> None:
    getattr(server, script)()
    with pytest.raises(ModelOutputError, match=said):
        generator(server).render(panel())


# -- metering --------------------------------------------------------------------------------------


def test_every_image_call_is_metered_as_the_generator_and_the_budget_stops_the_next(
    server: FakeOpenAIImagesServer, tmp_path: Path
) -> None:
    meter, calls = metered(budget=1)
    gen = generator(server)
    gen.base_dir = tmp_path  # type: ignore[attr-defined]
    gen.bind_meter(meter, "generator")  # type: ignore[attr-defined]

    result = gen.render(panel(references=sheets(tmp_path)))
    with pytest.raises(BudgetExceededError, match="budget of 1"):
        gen.render(panel())

    assert len(server.requests) == 1  # the second call was never sent
    (call,) = calls
    assert (call.role, call.model, call.purpose, call.ok) == (
        "generator",
        "gpt-image-1",
        "panel p01 v1",
        True,
    )
    assert (call.input_tokens, call.output_tokens, call.images_in, call.images_out) == (
        50,
        4160,
        2,
        1,
    )
    assert meter.per_role["generator"].calls == 1
    recorded = repr([call.as_dict(), result.info])
    assert SECRET not in recorded and SECRET not in result.info["backend"]
