"""The generator half that the API image backends (``openai-image``, ``gemini-image``) share.

Both wrap one metered SDK call per image in the same steps, and a fix to one (what a call is
filed under, which provenance a render records, where reference sheets are read from) must
reach the other: the runner binds the meter and sets the run folder the same way for both,
and reports compare their renders side by side. Each backend's file keeps only what its API
needs: options, the request it sends, how its answer is read.

No SDK here, so both backends can build on it without importing each other's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from PIL import Image

from storyviz.metering import CallMeter
from storyviz.protocols import PromptFormat, RenderResult
from storyviz.providers.calls import CallRecord, MeterBinding, metered_call
from storyviz.schemas import RenderRequest

from . import api_images as api
from .api_images import Reference, RepairInputs, Task


class ApiImageGenerator:
    """The run wiring and bookkeeping of an API image backend; subclasses make the call."""

    renderer: ClassVar[str]
    spec: str  # redacted: what run folders and messages may show
    model: str
    use_references: bool

    def __init__(self, secret: str) -> None:
        self._secret = secret  # scrubbed from every message a failed call leaves
        self._binding = MeterBinding()
        self.base_dir: Path | None = None  # the run folder; the runner sets it

    def bind_meter(self, meter: CallMeter, role: str) -> None:
        self._binding.bind(meter, role)

    def prompt_names(self) -> list[str]:
        return [api.PROMPT]

    def prompt_format(self) -> PromptFormat:
        """Image APIs read instructions in sentences; their text limits are in characters, far
        beyond a panel's prompt, so no token budget is given."""
        return PromptFormat("sentences", f"{self.renderer} ({self.model})")

    def _references(self, request: RenderRequest, limit: int) -> list[Reference]:
        """The cast's sheets, at most `limit`, for a panel only: a reference sheet is what the
        panels are drawn from, so it is drawn from words alone."""
        if not (self.use_references and request.kind == "panel"):
            return []
        return api.references_of(request, self.base_dir, self.spec, limit)

    @contextmanager
    def _metered(self, request: RenderRequest, repair: RepairInputs | None) -> Iterator[CallRecord]:
        """One call, claimed against the budget and recorded under the panel it draws."""
        purpose = f"{'repair' if repair else request.kind} {request.target_id} v{request.version}"
        with metered_call(
            self._binding,
            backend=self.spec,
            model=self.model,
            purpose=purpose,
            secret=self._secret,
        ) as record:
            yield record

    def _result(
        self,
        request: RenderRequest,
        answer: Image.Image,
        repair: RepairInputs | None,
        task: Task,
        references: list[Reference],
        record: CallRecord,
        started: float,
        details: Mapping[str, Any],
    ) -> RenderResult:
        """The answer at the panel's size, with the provenance every API render records, the
        backend's own `details` (what it asked the API for) and the call's usage."""
        image = api.finish(answer, request, repair)
        seconds = time.perf_counter() - started
        info = api.base_info(self.renderer, self.spec, self.model, request, task, references)
        info.update(details)
        info.update(
            answer_size=list(answer.size),
            input_tokens=record.input_tokens,
            output_tokens=record.output_tokens,
            seconds=round(seconds, 4),
        )
        return RenderResult(image, seconds, info, seed=request.seed, task=task)
