"""Gemini image models as a generator (backend ``gemini-image:MODEL``, e.g.
``gemini-2.5-flash-image``).

One ``generate_content`` call per image: the instruction (``prompts/api_image.j2``) and, as
inline image parts, the cast's reference sheets, so every panel is drawn from the same sheets.
A repair sends the panel to fix first (and its mask as a picture, white = redraw, since the API
takes no mask); the original is pasted back outside the mask afterwards. The answer's image part
is decoded and brought to the panel's exact size; the aspect ratio asked for is the supported one
nearest to the panel's (``?aspect=`` fixes one).

An answer blocked or stopped by a safety filter is a RefusalError; an answer without an image
part (a model that only talks back) is a ModelOutputError quoting what it said. The API takes no
seed; the requested one is recorded with ``seed_honoured: false``.

The connection (google-genai client, GEMINI_API_KEY or GOOGLE_API_KEY, ``base_url``, ``timeout``,
``max_retries`` with Retry-After and RetryInfo honoured, error messages with the key scrubbed)
is the chat backend's (``storyviz/providers/gemini_chat.py``); every call is metered like the LLM
calls (role ``generator``) and counts against --max-llm-calls.
"""

from __future__ import annotations

import time

from google.genai import types
from PIL import Image

from storyviz.errors import BackendError, ModelOutputError
from storyviz.protocols import RenderResult
from storyviz.providers.base import ChatMessage, ImagePart
from storyviz.providers.calls import CallRecord, safe_message
from storyviz.providers.gemini_chat import (
    REFUSAL_FINISHES,
    GeminiChat,
    finish_name,
    record_usage,
    settings_from_spec,
    to_contents,
)
from storyviz.registry import BackendSpec
from storyviz.schemas import RenderRequest

from . import api_images as api
from .api_generator import ApiImageGenerator

RENDERER = "gemini-image"
OWN_OPTIONS = frozenset({"aspect", "references"})
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
IMAGE_REFUSALS = REFUSAL_FINISHES | {"IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"}


class GeminiImageGenerator(ApiImageGenerator):
    """Renders panels, references and repairs with a Gemini image model."""

    renderer = RENDERER

    def __init__(self, spec: BackendSpec) -> None:
        settings = settings_from_spec(
            spec, own_options=OWN_OPTIONS, example="gemini-image:gemini-2.5-flash-image"
        )
        aspect = spec.options.get("aspect")
        if aspect is not None and aspect not in ASPECT_RATIOS:
            raise BackendError(
                f"backend 'gemini-image': aspect={aspect} is not one of {', '.join(ASPECT_RATIOS)}"
            )
        self.aspect = aspect
        self.use_references = spec.flag("references", True)
        self.spec = settings.spec
        self.model = settings.model
        # The chat backend's connection: the same client, retries, key and error messages.
        self._connection = GeminiChat(settings)
        super().__init__(secret=settings.api_key)

    def render(self, request: RenderRequest) -> RenderResult:
        started = time.perf_counter()
        repair = api.repair_inputs(request, self.base_dir, self.spec)
        images: list[ImagePart] = []
        if repair is not None:
            images.append(ImagePart(api.png_bytes(repair.original), label="image 1: the panel"))
            if repair.mask is not None:
                images.append(ImagePart(api.png_bytes(repair.mask), label="image 2: the mask"))
        references = self._references(request, self._connection.max_images_per_call - len(images))
        first = len(images) + 1
        for i, ref in enumerate(references):
            label = f"image {first + i}: reference sheet of {ref.name}"
            images.append(ImagePart(api.png_bytes(ref.image), label=label))
        task = api.task_of(request, repair, len(references))
        mask_position = 2 if repair is not None and repair.mask is not None else None
        prompt = api.instruction(
            request, task, references, first_reference=first, mask_position=mask_position
        )
        aspect = self.aspect or api.nearest_ratio(ASPECT_RATIOS, request.width, request.height)
        contents, _ = to_contents(
            [ChatMessage("user", prompt, images=images)],
            max_images=self._connection.max_images_per_call,
        )
        config = types.GenerateContentConfig(
            response_modalities=["TEXT", "IMAGE"],
            image_config=types.ImageConfig(aspect_ratio=aspect),
            temperature=self._connection.settings.temperature,
        )
        with self._metered(request, repair) as record:
            record.images_in = len(images)
            response = self._connection.generate(contents, config)
            answer = self._image(response, record)
        details = {"aspect_ratio": aspect}
        return self._result(request, answer, repair, task, references, record, started, details)

    def _image(self, response: types.GenerateContentResponse, record: CallRecord) -> Image.Image:
        record_usage(response, record)
        self._connection.raise_if_refused(response, IMAGE_REFUSALS)
        candidate = response.candidates[0] if response.candidates else None
        parts = candidate.content.parts if candidate and candidate.content else None
        pictures = [
            p.inline_data.data
            for p in parts or []
            if p.inline_data is not None
            and p.inline_data.data
            and (p.inline_data.mime_type or "").startswith("image/")
            and not p.thought
        ]
        record.images_out = len(pictures)
        if not pictures:
            said = " ".join(p.text for p in parts or [] if p.text and not p.thought)
            finish = finish_name(candidate) if candidate is not None else "no candidates"
            detail = f"; it said: {said}" if said else ""
            raise ModelOutputError(
                safe_message(
                    f"{self.spec}: the answer has no image ({finish}){detail}",
                    self._connection.settings.api_key,
                )
            )
        return api.decode(pictures[-1], self.spec)  # the last one: the final, not a draft
