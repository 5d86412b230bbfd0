"""The small protocols through which agents reach generators and evaluators.

Agents never import a backend module: they get objects satisfying these protocols from the
registry, so a diffusers pipeline and the sketch renderer are interchangeable to the graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from storyviz.schemas import (
    CharacterSheet,
    PanelAudit,
    PanelSpec,
    PanelVersion,
    RenderRequest,
    RepairAction,
    StoryPlan,
    StoryRequest,
)

if TYPE_CHECKING:
    from PIL.Image import Image


@dataclass
class RenderResult:
    """An image and what a person needs to reproduce it."""

    image: Image
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class AuditItem:
    """One panel version to judge, with what it should show."""

    panel: PanelSpec
    version: int
    image_path: Path
    characters: list[CharacterSheet]
    references: dict[str, Path] = field(default_factory=dict)


@runtime_checkable
class Planner(Protocol):
    spec: str

    def plan(self, request: StoryRequest) -> StoryPlan: ...


@runtime_checkable
class Generator(Protocol):
    spec: str

    def render(self, request: RenderRequest) -> RenderResult: ...


@runtime_checkable
class Auditor(Protocol):
    spec: str

    def audit(self, items: Sequence[AuditItem]) -> list[PanelAudit]: ...


@runtime_checkable
class Repairer(Protocol):
    spec: str

    def propose(
        self,
        plan: StoryPlan,
        audit: PanelAudit,
        history: Sequence[PanelVersion],
    ) -> RepairAction: ...
