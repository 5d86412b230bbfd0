"""The small protocols through which agents reach generators and evaluators.

Agents never import a backend module: they get objects satisfying these protocols from the
registry, so a diffusers pipeline and the sketch renderer are interchangeable to the graph.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast, get_args, runtime_checkable

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


RenderTask = Literal["text2img", "img2img", "inpaint", "generate", "references", "edit"]
"""What a render did: diffusers' three pipelines; an image API's plain generation, generation
from reference images, edit of a whole image and masked edit."""


@dataclass(frozen=True)
class Reseed:
    """A seed whose output came back broken (NaN, black, blanked), and why; the render went on
    with another seed."""

    seed: int
    reason: str


@dataclass(frozen=True)
class RenderResult:
    """An image and what a person needs to reproduce it.

    The typed fields are what the graph reads: ``seed`` is the seed the image was made with
    (None: the requested one; a broken output may have been reseeded), ``task`` what was run,
    ``strength`` how much of an init image was repainted, ``reseeds`` the seeds given up on,
    ``warnings`` what the renderer could not honour (a prompt cut to the model's text window)
    in one line each: the run emits them as ``warning`` events a person sees.
    ``info`` is the provenance record the backend writes into the panel version's parameters
    (model, device, tokens, ...), in its own key order. Where it names ``seed``, ``task``,
    ``strength`` or ``reseeded`` it must agree with the typed field; a renderer that fills only
    ``info`` (an older plugin) has the typed fields read from it."""

    image: Image
    seconds: float = 0.0
    info: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    task: RenderTask | None = None
    strength: float | None = None
    reseeds: tuple[Reseed, ...] = ()
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        typed = {
            "seed": self.seed,
            "task": self.task,
            "strength": self.strength,
            "reseeded": [{"seed": r.seed, "reason": r.reason} for r in self.reseeds] or None,
        }
        for key, value in typed.items():
            if key not in self.info or value is None:
                continue
            if self.info[key] != value:
                raise ValueError(f"render info {key}={self.info[key]!r} disagrees with {value!r}")
        if self.seed is None and self.info.get("seed") is not None:
            object.__setattr__(self, "seed", int(self.info["seed"]))
        if self.task is None and self.info.get("task") is not None:
            object.__setattr__(self, "task", _task(self.info["task"]))
        if self.strength is None and self.info.get("strength") is not None:
            object.__setattr__(self, "strength", float(self.info["strength"]))
        if not self.reseeds and self.info.get("reseeded"):
            reseeds = tuple(Reseed(int(r["seed"]), str(r["reason"])) for r in self.info["reseeded"])
            object.__setattr__(self, "reseeds", reseeds)
        if self.strength is not None and not 0.0 < self.strength <= 1.0:
            raise ValueError(f"render strength {self.strength} is outside (0, 1]")

    def seed_used(self, requested: int) -> int:
        """The seed the image was made with: the requested one unless the renderer says so."""
        return requested if self.seed is None else self.seed


def _task(value: object) -> RenderTask:
    if value not in get_args(RenderTask):
        raise ValueError(f"render task {value!r} is none of {', '.join(get_args(RenderTask))}")
    return cast(RenderTask, value)


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
class PlanCorrector(Protocol):
    """A planner that can take the plan check's findings back (a model planner): given its plan
    and what contradicts the story, one line each, it answers a corrected plan."""

    def correct_plan(
        self, request: StoryRequest, plan: StoryPlan, problems: list[str]
    ) -> StoryPlan: ...


@runtime_checkable
class Generator(Protocol):
    spec: str

    def render(self, request: RenderRequest) -> RenderResult: ...


def unsupported_repairs(generator: object) -> Mapping[str, str]:
    """The repair strategies ``generator`` cannot draw, each with the reason: its optional
    ``unsupported_repairs`` attribute (strategy -> why), or none. The graph gives such a repair
    a strategy the generator can draw instead (``agents/repair_fallback.py``)."""
    declared = getattr(generator, "unsupported_repairs", None)
    if not isinstance(declared, Mapping):
        return {}
    return {str(k): str(v) for k, v in declared.items()}


PromptStyle = Literal["tags", "sentences"]


@dataclass(frozen=True)
class PromptFormat:
    """How a generator wants its panel prompts written, for a prompt writer (LLMGA's role).

    ``style``: comma-separated tags (SD-family CLIP encoders) or plain sentences (FLUX's T5, image
    APIs); ``budget``: the most tokens one text window of the model reads, None when unknown;
    ``count``: the loaded model's own token counter, so a written prompt can be checked against
    the budget; ``model``: what draws, named in the writer's instructions."""

    style: PromptStyle
    model: str
    budget: int | None = None
    count: Callable[[str], int] | None = None


def prompt_format(generator: object) -> PromptFormat | None:
    """``generator``'s optional ``prompt_format()``, or None: it draws from the plan itself (the
    sketch renderer) or does not say, and panel prompts keep the template."""
    declared = getattr(generator, "prompt_format", None)
    if not callable(declared):
        return None
    found = declared()
    return found if isinstance(found, PromptFormat) else None


def model_loads(generator: object) -> int | None:
    """How many models ``generator``'s process has loaded from disk (its optional
    ``model_loads()``), or None where it loads none or does not say."""
    declared = getattr(generator, "model_loads", None)
    if not callable(declared):
        return None
    found = declared()
    return found if isinstance(found, int) else None


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
