"""`storyviz batch`: the command's inputs turned into a batch folder and an engine.

Everything a user can get wrong (no stories, a missing dataset, both sources, a mistyped backend,
Ray not installed, an unknown batch to resume) fails here in one line before any folder exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from storyviz.batch.engine import Engine
from storyviz.batch.folder import BatchFolder, BatchManifest, VistoryOutput, new_batch_id, stamp_of
from storyviz.batch.jobs import StoryJob, text_jobs, vistorybench_jobs
from storyviz.config import Settings
from storyviz.errors import InputError

ENGINES = ("local", "ray")


@dataclass
class Sources:
    files: list[Path]
    vistorybench: Path | None
    split: str
    stories: str | None
    lang: str
    method: str
    out: Path | None


def jobs_for(sources: Sources) -> list[StoryJob]:
    if sources.vistorybench is not None:
        if sources.files:
            raise InputError("give story files or --vistorybench, not both")
        from storyviz.vistorybench_dataset import parse_story_list

        wanted = parse_story_list(sources.stories) if sources.stories else None
        return vistorybench_jobs(sources.vistorybench, sources.split, wanted, sources.lang)
    if sources.stories or sources.out is not None:
        raise InputError("--stories and --out belong to a --vistorybench batch")
    return text_jobs(sources.files)


def make_engine(
    name: str,
    *,
    workers: int | None,
    address: str | None,
    actors: int | None,
    actor_resource: str,
) -> Engine:
    if name not in ENGINES:
        raise InputError(f"--engine must be local or ray, not {name!r}")
    if workers is not None and workers < 1:
        raise InputError("--workers must be at least 1")
    if actors is not None and actors < 0:
        raise InputError("--actors must be 0 or more")
    if name == "local":
        if address is not None or actors is not None:
            raise InputError("--address and --actors belong to --engine ray")
        from storyviz.batch.local_engine import LocalEngine

        return LocalEngine(workers)
    if workers is not None:
        raise InputError("--workers belongs to --engine local (Ray places one task per CPU)")
    from storyviz.batch.ray_engine import RayEngine

    return RayEngine(address=address, actors=actors, actor_resource=actor_resource)


def new_batch(
    settings: Settings, jobs: list[StoryJob], engine: Engine, sources: Sources
) -> BatchFolder:
    """Check the backends build, then make the batch folder (nothing is left on a typo)."""
    from storyviz.agents.runner import build_backends

    build_backends(settings)
    batch_id = new_batch_id()
    vistory = None
    root = Path(settings.runs_dir) / "batches" / batch_id
    if sources.vistorybench is not None:
        from storyviz.vistorybench_export import _name

        out = sources.out if sources.out is not None else root / "vistorybench"
        vistory = VistoryOutput(
            out=str(Path(out).resolve()),
            method=_name(sources.method, "method"),
            stamp=stamp_of(batch_id),
        )
    manifest = BatchManifest(
        batch_id=batch_id,
        engine=engine.name,
        engine_options=engine.options(),
        config=settings.redacted(),
        jobs=jobs,
        vistorybench=vistory,
    )
    return BatchFolder.create(Path(settings.runs_dir), manifest)
