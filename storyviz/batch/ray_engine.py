"""``--engine ray``: stories fan out as Ray tasks; renders go to one actor per accelerator.

- Each story is a task (one CPU) running the shared story code path; its generator is an
  `ActorGenerator`, so only render calls leave the task. Planning, auditing and composing run
  where Ray put the task.
- Render actors: ``--actors`` of them (default: as many as the cluster has of the actor
  resource, ``GPU`` unless ``--actor-resource`` names a custom one), each holding one unit of
  that resource and no CPU, each loading the generator once. A cluster with none of the
  resource gets no actors: each task then renders in its own process, as a local worker does.
- Failures: a task whose worker dies is retried by Ray (``max_retries``); the retry resumes the
  story's run from its state file, keeping finished drawings. An actor that dies is restarted
  by Ray and its in-flight render re-executed (``max_restarts``/``max_task_retries``), loading
  the model again on the new actor.
- ``address``: what ``ray.init`` takes (``auto``, ``ray://head:10001``); none starts a local
  instance for this command and stops it after. A Ray already initialised in this process (a
  test, a notebook) is used as it is and left running.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from storyviz.batch.engine import MAX_ATTEMPTS, OnResult, Tick, died
from storyviz.batch.folder import BatchFolder, VistoryOutput
from storyviz.batch.jobs import StoryJob
from storyviz.config import Settings
from storyviz.errors import InputError

RAY_MISSING = 'the ray engine needs Ray: pip install "storyviz[ray]"'


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InputError(RAY_MISSING) from None
    return ray


def _story_task(
    job: StoryJob,
    settings: Settings,
    batch_root: str,
    vistory: VistoryOutput | None,
    actors: list[Any],
) -> dict[str, Any]:
    from storyviz.batch.render_service import ActorGenerator
    from storyviz.batch.story import run_story

    generator = ActorGenerator(settings.generator, actors) if actors else None
    return run_story(job, settings, batch_root, vistory, generator)


class RayEngine:
    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        actors: int | None = None,
        actor_resource: str = "GPU",
    ) -> None:
        self.ray = import_ray()
        self.address = address
        self.actors = actors
        self.actor_resource = actor_resource
        self._handles: list[Any] = []
        self._stats: list[dict[str, Any]] = []

    def options(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "actors": self.actors,
            "actor_resource": self.actor_resource,
        }

    def stats(self) -> dict[str, Any]:
        return {"actors": self._stats, "model_loads": _total_loads(self._stats)}

    def run(
        self,
        jobs: Sequence[StoryJob],
        settings: Settings,
        folder: BatchFolder,
        vistory: VistoryOutput | None,
        on_result: OnResult,
        tick: Tick,
    ) -> None:
        ray = self.ray
        owned = not ray.is_initialized()
        if owned:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # nothing leaves the machine
            try:
                ray.init(
                    address=self.address,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level=logging.WARNING,
                )
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise InputError(
                    f"cannot reach Ray at {self.address}: {exc}".splitlines()[0]
                ) from None
        # A task's working directory is not the driver's (another node, or wherever `ray start`
        # ran): every path it is given is absolute, on a disk the driver and workers share.
        settings = settings.model_copy(update={"runs_dir": Path(settings.runs_dir).resolve()})
        root = str(folder.root.resolve())
        try:
            self._handles = self._start_actors(settings.generator)
            task = ray.remote(num_cpus=1, max_retries=MAX_ATTEMPTS - 1)(_story_task)
            refs: dict[Any, StoryJob] = {
                task.remote(job, settings, root, vistory, self._handles): job for job in jobs
            }
            try:
                while refs:
                    done, _ = ray.wait(list(refs), num_returns=1, timeout=0.5)
                    for ref in done:
                        job = refs.pop(ref)
                        try:
                            on_result(ray.get(ref))
                        except ray.exceptions.RayError as exc:  # retries spent
                            final = died(folder, job, type(exc).__name__)
                            on_result(final or _failed(folder, job, exc))
                    tick()
            except BaseException:
                for ref in refs:
                    ray.cancel(ref, force=True)
                raise
            self._stats = [ray.get(actor.stats.remote()) for actor in self._handles]
        finally:
            for actor in self._handles:
                ray.kill(actor)
            if owned:
                ray.shutdown()

    def _start_actors(self, spec: str) -> list[Any]:
        from storyviz.batch.render_service import RenderService

        ray = self.ray
        have = ray.cluster_resources().get(self.actor_resource, 0)
        count = int(have) if self.actors is None else self.actors
        if count and count > have:
            raise InputError(
                f"--actors {count}: the Ray cluster has {have:g} {self.actor_resource}, "
                "one per render actor"
            )
        self.actors = count
        if count == 0:
            return []
        need: dict[str, Any] = {"num_cpus": 0}
        if self.actor_resource == "GPU":
            need["num_gpus"] = 1
        else:
            need["resources"] = {self.actor_resource: 1}
        actor_class = ray.remote(max_restarts=-1, max_task_retries=-1, **need)(RenderService)
        handles = [actor_class.remote(spec) for _ in range(count)]
        try:  # a generator that does not build on the actor's node fails here
            ray.get([h.ping.remote() for h in handles])
        except ray.exceptions.RayError as exc:
            for handle in handles:
                ray.kill(handle)
            raise InputError(f"a render actor did not start: {_last_line(exc)}") from None
        return handles


def _failed(folder: BatchFolder, job: StoryJob, exc: Exception) -> dict[str, Any]:
    state = folder.state(job.key)
    state.status, state.error = (
        "failed",
        str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
    )
    folder.write_state(state)
    return state.model_dump(mode="json")


def _last_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def _total_loads(stats: list[dict[str, Any]]) -> int | None:
    loads = [s["model_loads"] for s in stats if s.get("model_loads") is not None]
    return sum(loads) if loads else None
