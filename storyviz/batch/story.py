"""One story of a batch, drawn wherever the engine put it: the code path every engine shares.

The story's state file in the batch folder says which run folder holds its work. A task that
finds a run id there (a retry after its worker died, a resumed batch) resumes that run, so no
finished drawing is drawn again (`Run.drawn`); otherwise it starts a new run and records the id
as soon as the folder exists. A story that fails is recorded with a one-line error and the task
returns normally: one story never stops the rest of the batch. A task that cannot see the batch
folder (a Ray node without the shared disk) writes nothing and returns the failure, which the
driver records.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from storyviz.batch.folder import MANIFEST_FILE, BatchFolder, StoryState, VistoryOutput, _now
from storyviz.batch.jobs import StoryJob, read_story_text
from storyviz.config import Settings
from storyviz.errors import StoryvizError
from storyviz.protocols import model_loads


def run_story(
    job: StoryJob,
    settings: Settings,
    batch_root: str,
    vistory: VistoryOutput | None = None,
    generator: Any = None,
) -> dict[str, Any]:
    """Draw (or finish drawing) one story; returns its final `StoryState` as JSON data.

    ``generator``: the engine's stand-in for the generator (a Ray engine's client of its render
    actors); by default the settings' generator is built here, in this process."""
    from storyviz.importing import bulk_import

    with bulk_import():
        from storyviz.agents.runner import resume_run, start_run

    folder = BatchFolder(Path(batch_root))
    if not (folder.root / MANIFEST_FILE).is_file():  # a node without the driver's disk
        return StoryState(
            key=job.key,
            status="failed",
            host=socket.gethostname(),
            pid=os.getpid(),
            error=f"the batch folder {batch_root} is not on {socket.gethostname()}: give "
            "--runs-dir a folder every node mounts at the same path (docs/scale.md)",
        ).model_dump(mode="json")
    state = folder.state(job.key)
    state.status, state.error = "running", None
    state.attempts += 1
    state.started_at, state.finished_at = _now(), None
    state.host, state.pid = socket.gethostname(), os.getpid()
    folder.write_state(state)
    began = time.monotonic()

    def record_run(run: Any) -> None:
        state.run_id, state.run_dir = run.run_id, str(run.dir)
        folder.write_state(state)

    try:
        backends = _backends(settings, generator)
        if state.run_id and (Path(settings.runs_dir) / state.run_id).is_dir():
            result = resume_run(settings, state.run_id, backends=backends)
        else:
            request, seed, notes = _request(job, settings)
            state.notes = list(notes)
            result = start_run(
                settings, request, seed=seed, backends=backends, on_created=record_run
            )
        state.run_id, state.run_dir = result.run_id, str(result.run_dir)
        state.model_loads = model_loads(backends.generator)
        state.status = "completed" if result.status == "completed" else "failed"
        state.panels, state.consistency_index = result.panels, result.consistency_index
        state.report = str(result.report) if result.report else None
        state.pages = sorted(str(p) for p in (Path(result.run_dir) / "pages").glob("*.png"))
        if state.status == "completed" and vistory is not None:
            state.exported = [str(p) for p in _export(Path(result.run_dir), job, vistory)]
        elif state.status != "completed":
            state.error = f"the run ended {result.status}"
    except KeyboardInterrupt:
        state.status, state.error = "interrupted", "interrupted"
        raise
    except StoryvizError as exc:
        state.status, state.error = "failed", str(exc)
    except Exception as exc:  # a generator's own exception: recorded, the batch goes on
        state.status, state.error = "failed", f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        state.seconds += time.monotonic() - began
        state.finished_at = _now()
        folder.write_state(state)
    return state.model_dump(mode="json")


def _backends(settings: Settings, generator: Any) -> Any:
    from storyviz import registry
    from storyviz.agents.context import Backends

    return Backends(
        planner=registry.build("planner", settings.planner),
        generator=generator
        if generator is not None
        else registry.build("generator", settings.generator),
        auditor=registry.build("auditor", settings.auditor),
        repairer=registry.build("repairer", settings.repairer),
    )


def _request(job: StoryJob, settings: Settings) -> tuple[Any, Any, list[str]]:
    if job.kind == "vistorybench":
        from storyviz.vistorybench import seeded_run

        text, seed, notes = seeded_run(Path(job.path), job.lang, settings)
        return settings.story_request(text), seed, notes
    return settings.story_request(read_story_text(job)), None, []


def _export(run_dir: Path, job: StoryJob, vistory: VistoryOutput) -> list[Path]:
    from storyviz.vistorybench_export import export_vistorybench

    return export_vistorybench(
        run_dir,
        Path(vistory.out),
        method=vistory.method,
        mode=vistory.mode,
        story_id=job.key,
        stamp=vistory.stamp,
        flat=False,
    )
