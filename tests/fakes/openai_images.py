"""A fake OpenAI Images API: `POST /v1/images/generations` (JSON) and `POST /v1/images/edits`
(multipart/form-data: `image[]` files, `mask`, `prompt`, `size`...), real wire format.

Edits arrive as multipart uploads; the server parses them (with the standard library's email
parser, as any multipart reader would) into a `Form`, which is the `body` that tests and
responders see. By default the server draws a solid-colour PNG at the requested size and answers
``{"created", "data": [{"b64_json"}], "usage", ...}`` as gpt-image-1 does; script other answers
with the helpers (`answer`, `refuse`, `no_image`, `url_only`, `rate_limit`, `fail`,
`unauthorized`)::

    with FakeOpenAIImagesServer() as server:
        gen = OpenAIImageGenerator(parse_backend(server.backend("gpt-image-1")))
        ...
        form = server.last.body  # a Form for edits, a dict for generations
        assert len(form.files["image[]"]) == 2
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import urlencode

from PIL import Image

from . import RecordedRequest, Reply
from .openai_server import OpenAIDialect, error_reply

DEFAULT_USAGE = (50, 4160)  # input, output tokens: gpt-image-1, 1024x1024 at low quality-ish
DEFAULT_COLOR = (40, 160, 90)
GENERATIONS = "/v1/images/generations"
EDITS = "/v1/images/edits"


@dataclass(frozen=True)
class FormFile:
    """One uploaded file of a multipart request."""

    filename: str
    content_type: str
    data: bytes

    def image(self) -> Image.Image:
        with Image.open(io.BytesIO(self.data)) as image:
            image.load()
            return image.copy()


@dataclass
class Form:
    """A parsed multipart/form-data body: text fields and files by field name, in order."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, list[FormFile]] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        """A text field, like dict.get (so responders can read edits and generations alike)."""
        return self.fields.get(key, default)


def parse_multipart(raw: bytes, content_type: str) -> Form:
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw
    )
    form = Form()
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition") or "")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            form.fields[name] = data.decode("utf-8")
        else:
            form.files.setdefault(name, []).append(
                FormFile(filename, part.get_content_type(), data)
            )
    return form


def png(size: tuple[int, int], color: tuple[int, int, int] = DEFAULT_COLOR) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def parse_size(text: str | None) -> tuple[int, int]:
    """``1536x1024`` as (1536, 1024); ``auto`` or nothing as 1024x1024."""
    if not text or text == "auto":
        return 1024, 1024
    width, _, height = text.partition("x")
    return int(width), int(height)


def images_response(
    images: list[bytes], *, usage: tuple[int, int] | None = DEFAULT_USAGE, size: str = ""
) -> dict[str, Any]:
    """An `ImagesResponse` as the API returns it."""
    body: dict[str, Any] = {
        "created": int(time.time()),
        "data": [{"b64_json": base64.b64encode(data).decode("ascii")} for data in images],
        "output_format": "png",
        "quality": "low",
        "background": "opaque",
    }
    if size:
        body["size"] = size
    if usage is not None:
        prompt, out = usage
        body["usage"] = {
            "input_tokens": prompt,
            "input_tokens_details": {"image_tokens": 0, "text_tokens": prompt},
            "output_tokens": out,
            "total_tokens": prompt + out,
        }
    return body


class FakeOpenAIImagesServer(OpenAIDialect):
    """Speaks the Images API's generations and edits; draws a solid colour unless scripted."""

    rate_limit_message = "Rate limit reached for images per minute."

    def __init__(self, *, color: tuple[int, int, int] = DEFAULT_COLOR, **kw: Any) -> None:
        super().__init__(**kw)
        self.color = color
        self.respond_with(lambda body: png(parse_size(body.get("size")), self.color))

    def backend(self, model: str = "gpt-image-1", **options: object) -> str:
        """The storyviz backend string, e.g. ``backend("gpt-image-1", quality="low")``."""
        query = urlencode({"base_url": self.base_url, **{k: str(v) for k, v in options.items()}})
        return f"openai-image:{model}?{query}"

    def serves(self, method: str, path: str) -> bool:
        return method == "POST" and path in (GENERATIONS, EDITS)

    def parse_body(self, raw: bytes, headers: Mapping[str, str]) -> Any:
        content_type = headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            return parse_multipart(raw, content_type)
        return super().parse_body(raw, headers)

    def adapt(self, answer: object, request: RecordedRequest) -> Reply:
        """A responder's PNG bytes become a good answer at the size asked for."""
        if isinstance(answer, Reply):
            return answer
        assert isinstance(answer, bytes), "an images responder returns PNG bytes or a Reply"
        size = (request.body or {}).get("size") or ""
        return Reply(200, images_response([answer], size=size))

    # -- scripting helpers (each enqueues; `times` repeats it) -------------------------------------

    def answer(
        self,
        size: tuple[int, int] = (1024, 1024),
        color: tuple[int, int, int] = DEFAULT_COLOR,
        *,
        usage: tuple[int, int] | None = DEFAULT_USAGE,
        times: int = 1,
    ) -> None:
        self.enqueue(Reply(200, images_response([png(size, color)], usage=usage)), times=times)

    def refuse(self) -> None:
        """What gpt-image-1 answers a prompt its moderation blocks."""
        self.enqueue(
            error_reply(
                400,
                "Your request was rejected by the safety system. safety_violations=[violence].",
                type="image_generation_user_error",
                code="moderation_blocked",
            )
        )

    def no_image(self) -> None:
        """A 200 whose `data` is empty."""
        self.enqueue(Reply(200, {"created": int(time.time()), "data": []}))

    def url_only(self) -> None:
        """A dall-e style answer: a URL to fetch, no image data."""
        body = {"created": int(time.time()), "data": [{"url": "https://example.invalid/a.png"}]}
        self.enqueue(Reply(200, body))
