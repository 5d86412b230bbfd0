"""The Ray engine's render side: one actor per accelerator holds the generator, and each story
task talks to the actors through a stand-in generator.

The actor builds the generator once and serves render requests from every story, one at a time
(the default actor concurrency: one model, one call on its device at once), so a model's weights
load once per actor, not once per story. Requests and results cross by value (a `RenderRequest`
names its reference and init images by path, so those paths must be readable where the actor
runs: one machine, or a folder every node mounts; docs/scale.md).
"""

from __future__ import annotations

import itertools
import os
import random
import socket
import threading
import time
from typing import Any

from storyviz.protocols import (
    PromptFormat,
    RenderResult,
    model_loads,
    prompt_format,
    unsupported_repairs,
)
from storyviz.schemas import RenderRequest


class RenderService:
    """What a render actor runs (wrapped by ``ray.remote`` in the engine)."""

    def __init__(self, spec: str) -> None:
        from storyviz import registry

        self.generator = registry.build("generator", spec)
        self.renders = 0
        self.busy_s = 0.0  # time inside the generator: with the batch's wall time, how busy

    def ping(self) -> int:
        return os.getpid()

    def describe(self) -> dict[str, Any]:
        return {"unsupported_repairs": dict(unsupported_repairs(self.generator))}

    def prompt_format(self) -> tuple[str, str, int | None] | None:
        found = prompt_format(self.generator)
        return None if found is None else (found.style, found.model, found.budget)

    def count_tokens(self, text: str) -> int:
        found = prompt_format(self.generator)
        if found is None or found.count is None:
            return 0
        return found.count(text)

    def render(self, request: RenderRequest) -> RenderResult:
        self.renders += 1
        began = time.monotonic()
        try:
            return self.generator.render(request)
        finally:
            self.busy_s += time.monotonic() - began

    def stats(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "node": socket.gethostname(),
            "renders": self.renders,
            "busy_s": round(self.busy_s, 3),
            "model_loads": model_loads(self.generator),
        }


class ActorGenerator:
    """A story task's generator: each render goes to one of the engine's actors, in turn from a
    random start, so stories spread over the actors; the generator's declarations (repairs it
    cannot draw, the prompt form it wants) are the actor's own."""

    def __init__(self, spec: str, actors: list[Any]) -> None:
        import ray

        self.spec = spec
        self._actors = actors
        self._turn = itertools.cycle(random.sample(actors, len(actors)))
        self._lock = threading.Lock()  # a run renders several panels at once, from threads
        self.unsupported_repairs: dict[str, str] = ray.get(actors[0].describe.remote())[
            "unsupported_repairs"
        ]

    def _next(self) -> Any:
        with self._lock:
            return next(self._turn)

    def render(self, request: RenderRequest) -> RenderResult:
        import ray

        result: RenderResult = ray.get(self._next().render.remote(request))
        return result

    def prompt_format(self) -> PromptFormat | None:
        import ray

        actor = self._actors[0]
        found = ray.get(actor.prompt_format.remote())
        if found is None:
            return None
        style, model, budget = found
        return PromptFormat(
            style, model, budget, count=lambda text: int(ray.get(actor.count_tokens.remote(text)))
        )
