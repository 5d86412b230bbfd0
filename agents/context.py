"""What a run works with besides its state: the backends and, while the graph runs, the run
folder and the render slots.

The graph's state (agents/state.py) is data only, so the SQLite checkpoint can hold it; this is
everything else a node may use during one invocation. It is rebuilt from the manifest when a run
resumes and never checkpointed. `PipelineContext` is the `Backends` plus the run-scoped parts, so
the four roles are declared once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields
from typing import Any

from storyviz import registry
from storyviz.agents.render_requests import prompt_hashes
from storyviz.protocols import Auditor, Generator, Planner, Repairer, prompt_format
from storyviz.run_store import Run


@dataclass
class Backends:
    planner: Planner
    generator: Generator
    auditor: Auditor
    repairer: Repairer

    def __post_init__(self) -> None:
        """A planner that writes panel prompts (``bind_prompt_format``) learns the generator's
        wishes here, once the pair is known: in runs, resumes and chat sessions alike."""
        bind = getattr(self.planner, "bind_prompt_format", None)
        if callable(bind):
            bind(prompt_format(self.generator))

    def by_role(self) -> dict[str, Any]:
        return {
            "planner": self.planner,
            "generator": self.generator,
            "auditor": self.auditor,
            "repairer": self.repairer,
        }

    def prompt_hashes(self) -> dict[str, str]:
        """Hashes of the render prompts and of every prompt a model-backed backend uses."""
        from storyviz.prompts import load

        hashes = prompt_hashes()
        for backend in self.by_role().values():
            for name in getattr(backend, "prompt_names", lambda: [])():
                hashes[name] = load(name).sha256
        return hashes

    def specs(self) -> dict[str, str]:
        return {
            "planner": registry.parse_backend(self.planner.spec).redacted(),
            "generator": registry.parse_backend(self.generator.spec).redacted(),
            "auditor": registry.parse_backend(self.auditor.spec).redacted(),
            "repairer": registry.parse_backend(self.repairer.spec).redacted(),
        }


@dataclass
class PipelineContext(Backends):
    """What every node may use during one invocation (LangGraph's run-scoped context)."""

    run: Run
    render_slots: threading.BoundedSemaphore

    @classmethod
    def for_run(
        cls, backends: Backends, run: Run, render_slots: threading.BoundedSemaphore
    ) -> PipelineContext:
        roles = {f.name: getattr(backends, f.name) for f in fields(Backends)}
        return cls(**roles, run=run, render_slots=render_slots)
