"""What an engine is: a way to dispatch a batch's stories. Everything else (the story's work,
its state, the batch folder, the status display) is shared (`storyviz.batch.runner`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from storyviz.batch.folder import BatchFolder, VistoryOutput
from storyviz.batch.jobs import StoryJob
from storyviz.config import Settings

MAX_ATTEMPTS = 3
"""Tries per story when its worker process dies (a crash, an out-of-memory kill); each try
resumes the run the last one left, so finished panels are kept."""

OnResult = Callable[[dict[str, Any]], None]
Tick = Callable[[], None]


class Engine(Protocol):
    name: str

    def options(self) -> dict[str, Any]:
        """What the manifest records of this engine (workers, address, actors)."""
        ...

    def run(
        self,
        jobs: Sequence[StoryJob],
        settings: Settings,
        folder: BatchFolder,
        vistory: VistoryOutput | None,
        on_result: OnResult,
        tick: Tick,
    ) -> None:
        """Draw every job; call ``on_result`` with each story's final state as it ends and
        ``tick`` often (the live status). Returns when all have ended; KeyboardInterrupt stops
        the workers and propagates."""
        ...

    def stats(self) -> dict[str, Any]:
        """What batch.json records of the engine's work (its render actors, model loads)."""
        ...


def died(folder: BatchFolder, job: StoryJob, why: str) -> dict[str, Any] | None:
    """A story whose worker died: None to try again (resuming its run), or its failed state
    once it has had `MAX_ATTEMPTS`."""
    state = folder.state(job.key)
    if state.status in ("completed", "failed"):
        return state.model_dump(mode="json")
    if state.attempts < MAX_ATTEMPTS:
        return None
    state.status, state.error = "failed", f"its worker died {state.attempts} times ({why})"
    folder.write_state(state)
    return state.model_dump(mode="json")
