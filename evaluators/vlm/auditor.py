"""The vision-language-model auditor: a model looks at panels beside the character sheets and
reference images, and says where a character drifted.

Panels share calls (``panels_per_call``, within the model's image limit) because every call
re-sends the sheets and references. What can go wrong with an answer is handled without
crashing the run and without pretending a panel is clean:

- an answer that is not the schema, or names panels or characters the call did not show, is
  sent back once with its problems; what is still unknown afterwards is dropped with a note;
- a panel the answer leaves out is asked about again, alone, once; if that fails too it gets an
  ``artifact`` finding saying the auditor gave no verdict (major, so the panel is re-rendered
  and audited again rather than scored 1.0);
- a refusal of a shared call is retried panel by panel; a refused panel gets a minor
  ``artifact`` finding noting the refusal;
- an unreadable image is a critical ``artifact`` finding, as with the offline auditor, and costs
  no call; ProviderError (network, 5xx after the client's retries, auth) propagates.

Finding ids and scores follow the offline auditor; see vlm_scoring for the panel score.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from PIL import UnidentifiedImageError

from storyviz.errors import BackendError, ModelOutputError, RefusalError
from storyviz.evaluators.panel_audits import finding_ids
from storyviz.evaluators.vlm.batches import Batch, plan_batches, solo
from storyviz.evaluators.vlm.findings import (
    no_verdict_finding,
    refusal_finding,
    unreadable_finding,
    verdict_findings,
)
from storyviz.evaluators.vlm.prompt import (
    PANELS_PROMPT,
    SYSTEM_PROMPT,
    audit_messages,
    panel_label,
    problems_message,
    read_image,
    reference_label,
)
from storyviz.evaluators.vlm.reading import read_answer
from storyviz.evaluators.vlm.schema import AuditAnswer, PanelVerdict
from storyviz.evaluators.vlm.scoring import panel_audit
from storyviz.metering import CallMeter
from storyviz.protocols import AuditItem
from storyviz.providers.base import ChatMessage, ChatModel, ChatResult, ImagePart
from storyviz.schemas import Finding, PanelAudit

log = logging.getLogger(__name__)

_UNREADABLE = (OSError, UnidentifiedImageError, ValueError)


@dataclass
class _Reply:
    """What one call (and its retry) yielded for its panels."""

    verdicts: dict[str, PanelVerdict] = field(default_factory=dict)
    refusal: str | None = None
    failure: str | None = None
    attempts: int = 0


class VLMAuditor:
    """Audits panels with a chat model that reads images; satisfies the Auditor protocol."""

    def __init__(
        self, chat: ChatModel, *, panels_per_call: int = 4, with_references: bool = True
    ) -> None:
        if not getattr(chat, "supports_images", False):
            raise BackendError(
                f"the VLM auditor needs a model that reads images, and {chat.spec} does not; "
                "choose a vision model or use the offline auditor"
            )
        if chat.max_images_per_call < 1:
            raise BackendError(f"{chat.spec} accepts no images per call; it cannot audit panels")
        if panels_per_call < 1:
            raise BackendError(f"panels_per_call must be at least 1, got {panels_per_call}")
        self.chat = chat
        self.spec = f"vlm:{chat.spec}"
        self.panels_per_call = panels_per_call
        self.with_references = with_references
        self.calls = 0
        """Model calls made so far, failed ones (refusals, unusable answers) included."""
        self.notes: list[str] = []
        """What was dropped or worked around (unknown ids, odd boxes, references left out)."""

    def bind_meter(self, meter: CallMeter, role: str) -> None:
        self.chat.bind_meter(meter, role)

    def prompt_names(self) -> list[str]:
        return [SYSTEM_PROMPT, PANELS_PROMPT]

    def audit(self, items: Sequence[AuditItem]) -> list[PanelAudit]:
        """One PanelAudit per item, in the order given."""
        results: dict[int, PanelAudit] = {}
        panels: dict[int, ImagePart] = {}
        for position, item in enumerate(items):
            try:
                panels[position] = read_image(
                    Path(item.image_path), panel_label(item.panel.id, item.version)
                )
            except _UNREADABLE as exc:
                results[position] = self._special(item, unreadable_finding, str(exc))
        entries = [(p, item) for p, item in enumerate(items) if p in panels]
        max_images = self.chat.max_images_per_call
        batches = plan_batches(
            entries,
            panels_per_call=self.panels_per_call,
            max_images=max_images,
            with_references=self.with_references,
        )
        for batch in batches:
            reply = self._ask(batch, panels, retry=True)
            shared = len(batch.items) > 1
            for position, item in zip(batch.positions, batch.items, strict=True):
                verdict = reply.verdicts.get(item.panel.id)
                last = reply
                # A panel asked about alone, then refused or already asked again, is not re-asked.
                if verdict is None and (shared or (reply.refusal is None and reply.attempts == 1)):
                    alone = solo(
                        item, position, max_images=max_images, with_references=self.with_references
                    )
                    last = self._ask(alone, panels, retry=False)
                    verdict = last.verdicts.get(item.panel.id)
                results[position] = (
                    self._mapped(item, verdict)
                    if verdict is not None
                    else self._unanswered(item, last)
                )
        return [results[p] for p in range(len(items))]

    def _ask(self, batch: Batch, panels: dict[int, ImagePart], *, retry: bool) -> _Reply:
        """One call for the batch, plus one retry with the problems when `retry` allows."""
        self._note_dropped_references(batch)
        images = [panels[p] for p in batch.positions]
        messages = audit_messages(batch, images, self._references(batch))
        purpose = "audit " + ",".join(item.panel.id for item in batch.items)
        try:
            result = self._call(messages, purpose)
        except RefusalError as exc:
            return _Reply(refusal=str(exc), attempts=1)
        except ModelOutputError as exc:
            if not retry:
                return _Reply(failure=_unusable(exc), attempts=1)
            first, raw, problems = None, exc.raw, list(exc.problems)
        else:
            reading = read_answer(result.value, batch)
            if not reading.problems or not retry:
                return self._accept(result.value, batch, attempts=1)
            first, raw = result.value, result.raw
            problems = reading.problems + [f"no verdict for panel {pid}" for pid in reading.missing]
        followup = [
            *messages,
            *([ChatMessage(role="assistant", text=raw)] if raw else []),
            problems_message(batch, problems),
        ]
        try:
            answer = self._call(followup, purpose + " (retry)").value
        except (RefusalError, ModelOutputError) as exc:
            if first is None:
                if isinstance(exc, RefusalError):
                    return _Reply(refusal=str(exc), attempts=2)
                return _Reply(failure=_unusable(exc), attempts=2)
            answer = first
        return self._accept(answer, batch, attempts=2)

    def _accept(self, answer: AuditAnswer, batch: Batch, *, attempts: int) -> _Reply:
        reading = read_answer(answer, batch)
        self._note(*reading.notes, *(f"dropped: {problem}" for problem in reading.panel_problems))
        failure = "the answer did not include this panel"
        return _Reply(verdicts=reading.verdicts, failure=failure, attempts=attempts)

    def _call(self, messages: list[ChatMessage], purpose: str) -> ChatResult[AuditAnswer]:
        self.calls += 1
        return self.chat.structured(messages, AuditAnswer, purpose=purpose)

    def _references(self, batch: Batch) -> list[ImagePart]:
        parts = []
        for cid, path in batch.references.items():
            try:
                parts.append(read_image(Path(path), reference_label(cid)))
            except _UNREADABLE as exc:
                self._note(f"reference image of {cid} left out: {exc}")
        return parts

    def _note_dropped_references(self, batch: Batch) -> None:
        if batch.dropped_references:
            self._note(
                f"{self.chat.spec} takes {self.chat.max_images_per_call} images per call: "
                f"references of {', '.join(batch.dropped_references)} left out"
            )

    def _mapped(self, item: AuditItem, verdict: PanelVerdict) -> PanelAudit:
        mapped = verdict_findings(item, verdict, finding_ids(item), self.spec)
        self._note(*mapped.notes)
        return panel_audit(item, mapped.findings, self.spec)

    def _unanswered(self, item: AuditItem, reply: _Reply) -> PanelAudit:
        if reply.refusal is not None:
            return self._special(item, refusal_finding, reply.refusal)
        reason = reply.failure or "the model gave no answer"
        self._note(f"panel {item.panel.id}: no verdict ({reason})")
        return self._special(item, no_verdict_finding, reason)

    def _special(self, item: AuditItem, make: _FindingMaker, reason: str) -> PanelAudit:
        finding = make(next(finding_ids(item)), item, reason, self.spec)
        return panel_audit(item, [finding], self.spec, judged=False)

    def _note(self, *notes: str) -> None:
        for note in notes:
            log.warning("%s: %s", self.spec, note)
            self.notes.append(note)


class _FindingMaker(Protocol):
    def __call__(self, finding_id: str, item: AuditItem, reason: str, auditor: str) -> Finding: ...


def _unusable(exc: ModelOutputError) -> str:
    return "unusable answer: " + "; ".join(exc.problems)
