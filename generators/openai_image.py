"""OpenAI image models as a generator (backend ``openai-image:MODEL``, e.g. ``gpt-image-1``).

- A panel with no reference sheets is drawn with ``images.generate``.
- A panel whose cast has reference sheets goes through ``images.edit`` with those sheets as the
  input images (the instruction says which image is whom). ``generate`` takes no image input, and
  without the sheets the cast drifts from panel to panel; ``?references=false`` turns this off.
- A repair with a mask is an ``images.edit`` of the panel (image 1) with the mask in OpenAI's
  convention (transparent = may be redrawn; ours is white = redraw), the sheets after it; the
  original is pasted back outside the mask. A repair without a mask edits the whole panel.

Sizes: the model answers at 1024x1024, 1536x1024 or 1024x1536 (``?size=`` fixes one, or
``auto``); the nearest by aspect is asked for and the answer brought to the exact panel size.
Seeds: the API has none; the requested seed is recorded with ``seed_honoured: false``.

The connection (SDK client, OPENAI_API_KEY, OPENAI_BASE_URL or ``?base_url=``, ``timeout``,
``max_retries`` with Retry-After honoured by the SDK, error messages with the key scrubbed) is
the chat backend's (``storyviz/providers/openai_chat.py``); every call is metered like the
LLM calls (role ``generator``, usage tokens, images sent and received) and counts against
--max-llm-calls.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from typing import Any
from urllib.parse import urlsplit

import openai
from openai.types import ImagesResponse

from storyviz.errors import BackendError, ModelOutputError, ProviderAuthError
from storyviz.protocols import RenderResult
from storyviz.providers.calls import CallRecord
from storyviz.providers.openai_chat import (
    BASE_URL_ENV,
    KEY_ENV,
    OpenAIChat,
    OpenAISettings,
    common_options,
    error_text,
)
from storyviz.redaction import redact
from storyviz.registry import BackendSpec
from storyviz.schemas import RenderRequest

from . import api_images as api
from .api_generator import ApiImageGenerator
from .api_images import Reference, RepairInputs, Size

RENDERER = "openai-image"
CLIENT_OPTIONS = frozenset({"timeout", "max_retries", "images"})
OWN_OPTIONS = frozenset(
    {"size", "quality", "references", "input_fidelity", "moderation", "base_url"}
)
GPT_IMAGE_SIZES: tuple[Size, ...] = ((1024, 1024), (1536, 1024), (1024, 1536))
MODEL_SIZES: dict[str, tuple[Size, ...]] = {
    "dall-e-2": ((1024, 1024),),
    "dall-e-3": ((1024, 1024), (1792, 1024), (1024, 1792)),
}
CHOICES = {
    "quality": ("low", "medium", "high", "auto"),
    "input_fidelity": ("low", "high"),
    "moderation": ("low", "auto"),
}
REFUSAL_CODES = frozenset({"moderation_blocked", "content_policy_violation"})
DEFAULT_REFERENCES = 8
MAX_REFERENCES = 16  # images.edit takes at most 16 input images


class OpenAIImageGenerator(ApiImageGenerator):
    """Renders panels, references and repairs with an OpenAI image model."""

    renderer = RENDERER

    def __init__(self, spec: BackendSpec) -> None:
        spec.check_options(CLIENT_OPTIONS | OWN_OPTIONS)
        if not spec.model:
            raise BackendError(
                "backend 'openai-image' needs a model, e.g. openai-image:gpt-image-1"
            )
        self.model = spec.model
        self.sizes = MODEL_SIZES.get(self.model, GPT_IMAGE_SIZES)
        self.auto_size = spec.options.get("size") == "auto"  # the model chooses
        self.size = _size_option(spec, self.sizes)
        self.choices = {k: _choice(spec, k) for k in CHOICES}
        # DALL-E models cannot take reference images; their edits are mask-only (dall-e-2).
        self.use_references = spec.flag("references", not self.model.startswith("dall-e"))
        client = common_options(BackendSpec(spec.name, spec.model, _only(spec, CLIENT_OPTIONS)))
        self.max_references = spec.option(
            "images", int, DEFAULT_REFERENCES, low=1, high=MAX_REFERENCES
        )
        base_url = _base_url(spec)
        self.spec = spec.redacted()
        key = os.environ.get(KEY_ENV, "").strip()
        if not key:
            raise ProviderAuthError(f"{self.spec} needs an API key: set {KEY_ENV}")
        settings = OpenAISettings(self.spec, self.model, key, base_url, compat=False, **client)
        # The chat backend's connection: the same SDK client, retries and error messages.
        self._connection = OpenAIChat(settings)
        super().__init__(secret=key)

    def render(self, request: RenderRequest) -> RenderResult:
        started = time.perf_counter()
        repair = api.repair_inputs(request, self.base_dir, self.spec)
        references = self._references(request, self.max_references - (1 if repair else 0))
        task = api.task_of(request, repair, len(references))
        size = self.size
        if size is None and not self.auto_size:
            size = api.nearest_size(self.sizes, request.width, request.height)
        with self._metered(request, repair) as record:
            response = self._send(request, task, references, repair, size, record)
            answer = self._image(response, record)
        details = {
            "endpoint": "images.generate" if task == "generate" else "images.edit",
            "api_size": _size_text(size),
            **{k: v for k, v in self.choices.items() if v is not None},
        }
        return self._result(request, answer, repair, task, references, record, started, details)

    # -- the call ----------------------------------------------------------------------------------

    def _send(
        self,
        request: RenderRequest,
        task: api.Task,
        references: list[Reference],
        repair: RepairInputs | None,
        size: Size | None,
        record: CallRecord,
    ) -> ImagesResponse:
        arguments: dict[str, Any] = {"model": self.model, "n": 1, "size": _size_text(size)}
        arguments.update({k: v for k, v in self.choices.items() if v is not None})
        if self.model.startswith("dall-e"):
            arguments["response_format"] = "b64_json"
        client = self._connection.client
        try:
            if task == "generate":
                arguments.pop("input_fidelity", None)  # the API takes it for edits only
                prompt = api.instruction(request, task, references, first_reference=1)
                return client.images.generate(prompt=prompt, **arguments)
            arguments.pop("moderation", None)  # the API takes it for generations only
            files: list[tuple[str, bytes, str]] = []
            if repair is not None:
                panel = repair.original if size is None else repair.original.resize(size)
                files.append(("panel.png", api.png_bytes(panel), "image/png"))
                if repair.mask is not None:
                    mask = repair.mask if size is None else repair.mask.resize(size)
                    rgba = api.transparent_where_masked(mask)
                    arguments["mask"] = ("mask.png", api.png_bytes(rgba), "image/png")
            first = len(files) + 1
            for ref in references:
                files.append((f"{ref.character_id}.png", api.png_bytes(ref.image), "image/png"))
            record.images_in = len(files) + (1 if "mask" in arguments else 0)
            prompt = api.instruction(request, task, references, first_reference=first)
            return client.images.edit(image=files, prompt=prompt, **arguments)
        except openai.BadRequestError as exc:
            if exc.code in REFUSAL_CODES:
                raise self._connection.refusal(error_text(exc)) from None
            raise self._connection.provider_error(exc) from None
        except openai.OpenAIError as exc:
            raise self._connection.provider_error(exc) from None

    def _image(self, response: ImagesResponse, record: CallRecord) -> Any:
        usage = response.usage
        if usage is not None:
            record.input_tokens = usage.input_tokens
            record.output_tokens = usage.output_tokens
        data = response.data or []
        record.images_out = sum(1 for d in data if d.b64_json)
        if not data:
            raise ModelOutputError(f"{self.spec}: the answer has no image")
        first = data[0]
        if not first.b64_json:
            what = "a URL" if first.url else "nothing"
            raise ModelOutputError(f"{self.spec}: the answer carries {what}, not image data")
        try:
            raw = base64.b64decode(first.b64_json, validate=True)
        except binascii.Error:
            raise ModelOutputError(f"{self.spec}: the answer's image is not valid base64") from None
        return api.decode(raw, self.spec)


# -- options ---------------------------------------------------------------------------------------


def _only(spec: BackendSpec, keys: frozenset[str]) -> dict[str, str]:
    return {k: v for k, v in spec.options.items() if k in keys}


def _size_option(spec: BackendSpec, sizes: tuple[Size, ...]) -> Size | None:
    """``?size=WxH`` (one the model supports); None for ``auto`` or no option."""
    raw = spec.options.get("size")
    if raw is None or raw == "auto":
        return None
    known = ", ".join([*(_size_text(s) for s in sizes), "auto"])
    try:
        width, _, height = raw.lower().partition("x")
        size = (int(width), int(height))
    except ValueError:
        size = (0, 0)
    if size not in sizes:
        raise BackendError(f"backend 'openai-image': size={raw} is not one of {known}")
    return size


def _size_text(size: Size | None) -> str:
    return "auto" if size is None else f"{size[0]}x{size[1]}"


def _choice(spec: BackendSpec, key: str) -> str | None:
    value = spec.options.get(key)
    if value is not None and value not in CHOICES[key]:
        raise BackendError(
            f"backend 'openai-image': {key}={value} is not one of {', '.join(CHOICES[key])}"
        )
    return value


def _base_url(spec: BackendSpec) -> str | None:
    """``?base_url=`` (a fake server, a proxy), else OPENAI_BASE_URL, else api.openai.com."""
    url = spec.options.get("base_url") or os.environ.get(BASE_URL_ENV, "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BackendError(
            f"backend 'openai-image': base_url {redact(url)!r} is not an http(s) URL"
        )
    return url
