"""Prompt alignment by a vision-language model: 0-4 for scene, camera and the characters'
actions, one call per panel (``--judge vlm:openai:MODEL``; any service the VLM auditor takes).

The wording is data in prompts/eval_alignment_system.txt and prompts/eval_alignment.j2. An
answer outside the schema is sent back once by the client's own retry; a panel that still gets
no usable answer is reported as unjudged (None), never as a score.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from storyviz.errors import BackendError, ModelOutputError, RefusalError
from storyviz.evaluators.vlm.prompt import read_image
from storyviz.prompts import load
from storyviz.providers.base import ChatMessage, ChatModel
from storyviz.registry import parse_backend
from storyviz.schemas import CharacterSheet, PanelSpec

SYSTEM_PROMPT = "eval_alignment_system.txt"
PANEL_PROMPT = "eval_alignment.j2"
ASPECTS = ("scene", "camera", "actions")


class AlignmentAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scene: int = Field(ge=0, le=4)
    camera: int = Field(ge=0, le=4)
    actions: int = Field(ge=0, le=4)
    note: str = ""


def build_judge(text: str) -> AlignmentJudge:
    """``vlm:SERVICE:MODEL`` -> a judge; the service's own options go at the end."""
    spec = parse_backend(text)
    if spec.name != "vlm" or not spec.model:
        raise BackendError(
            f"the judge must be vlm:SERVICE:MODEL (e.g. vlm:openai:gpt-4.1-mini), not {text!r}"
        )
    from storyviz.providers.factories import chat_model

    inner = parse_backend(spec.model)
    chat = chat_model(type(inner)(inner.name, inner.model, {**inner.options, **spec.options}))
    if not getattr(chat, "supports_images", False):
        raise BackendError(f"the judge needs a model that reads images, and {chat.spec} does not")
    return AlignmentJudge(chat)


class AlignmentJudge:
    def __init__(self, chat: ChatModel) -> None:
        self.chat = chat
        self.name = f"vlm:{chat.spec}"
        self.calls = 0

    def judge(
        self, panel: PanelSpec, image: Path, sheets: Sequence[CharacterSheet]
    ) -> dict[str, object] | None:
        """{scene, camera, actions, note} for one panel, or None when the model gave no verdict."""
        names = {s.id: s.name for s in sheets}
        cast = [
            f"{names.get(m.character_id, m.character_id)}: {m.action or 'present'}"
            + (f" ({m.expression})" if m.expression else "")
            for m in panel.cast
        ]
        scene = ", ".join(
            p for p in (panel.scene, panel.setting, panel.time_of_day, panel.weather) if p
        )
        text = load(PANEL_PROMPT).render_lines(
            panel_id=panel.id,
            scene=scene or "unspecified",
            shot=panel.shot,
            cast=cast,
            beat=panel.beat,
        )
        messages = [
            ChatMessage(role="system", text=load(SYSTEM_PROMPT).text.strip()),
            ChatMessage(role="user", text=text, images=[read_image(image, f"panel {panel.id}")]),
        ]
        self.calls += 1
        try:
            answer = self.chat.structured(
                messages, AlignmentAnswer, purpose=f"eval {panel.id}"
            ).value
        except (ModelOutputError, RefusalError):
            return None
        return answer.model_dump()
