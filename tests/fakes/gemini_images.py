"""A fake Gemini image model: `generateContent` answering with an `inlineData` image part.

The same server as `gemini_server.FakeGeminiServer` (paths, errors, `rate_limit`, `block_prompt`,
`unauthorized`...), except that a good answer is a picture: by default a solid-colour PNG whose
aspect is the `generationConfig.imageConfig.aspectRatio` asked for (1024 on the long side), in a
candidate with a short text part before it, as gemini-2.5-flash-image answers. Read what was sent
with `gemini_server.inline_images(body)` and `request_text(body)`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from . import RecordedRequest, Reply
from .gemini_server import DEFAULT_USAGE, FakeGeminiServer, generate_content_response
from .openai_images import DEFAULT_COLOR, png


def image_response(
    image: bytes | None,
    *,
    text: str | None = "Here is the panel.",
    finish_reason: str = "STOP",
    usage: tuple[int, int] = (1290, 1290),
    mime: str = "image/png",
) -> dict[str, Any]:
    """A `GenerateContentResponse` whose candidate holds a text part and an inline image."""
    body = generate_content_response(text, finish_reason=finish_reason, usage=usage)
    candidate = body["candidates"][0]
    parts = candidate.setdefault("content", {"parts": [], "role": "model"})["parts"]
    if image is not None:
        data = base64.b64encode(image).decode("ascii")
        parts.append({"inlineData": {"mimeType": mime, "data": data}})
    return body


def aspect_size(config: Mapping[str, Any]) -> tuple[int, int]:
    """The pixel size the fake answers for the request's aspect ratio (long side 1024)."""
    ratio = str(((config.get("imageConfig") or {}).get("aspectRatio")) or "1:1")
    w, _, h = ratio.partition(":")
    width, height = int(w), int(h)
    scale = 1024 / max(width, height)
    return round(width * scale), round(height * scale)


class FakeGeminiImageServer(FakeGeminiServer):
    """Speaks `generateContent` with image answers; draws a solid colour unless scripted."""

    def __init__(self, *, color: tuple[int, int, int] = DEFAULT_COLOR, **kw: Any) -> None:
        super().__init__(**kw)
        self.color = color
        self.respond_with(
            lambda body: png(aspect_size(body.get("generationConfig") or {}), self.color)
        )

    def backend(self, model: str = "gemini-2.5-flash-image", **options: object) -> str:
        """The storyviz backend string for this server, e.g. ``backend(max_retries=0)``."""
        query = urlencode({"base_url": self.base_url, **{k: str(v) for k, v in options.items()}})
        return f"gemini-image:{model}?{query}"

    def adapt(self, answer: object, request: RecordedRequest) -> Reply:
        if isinstance(answer, Reply):
            return answer
        assert isinstance(answer, bytes), "an image responder returns PNG bytes or a Reply"
        return Reply(200, image_response(answer))

    # -- scripting helpers -------------------------------------------------------------------------

    def answer_image(
        self,
        size: tuple[int, int] = (1024, 1024),
        color: tuple[int, int, int] = DEFAULT_COLOR,
        *,
        usage: tuple[int, int] = (1290, 1290),
        times: int = 1,
    ) -> None:
        self.enqueue(Reply(200, image_response(png(size, color), usage=usage)), times=times)

    def text_only(self, text: str = "I can only describe the panel: a girl in the rain.") -> None:
        """A model that talks back instead of drawing (no image part)."""
        self.enqueue(Reply(200, image_response(None, text=text, usage=DEFAULT_USAGE)))

    def image_safety(self) -> None:
        """A candidate stopped by the image safety filter, without content."""
        self.enqueue(Reply(200, generate_content_response(None, finish_reason="IMAGE_SAFETY")))
