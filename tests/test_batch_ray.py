"""The Ray engine on a local Ray instance: custom resources stand in for GPUs, so render actors
are placed as on a cluster; stories are tasks, renders go to the actors."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_helpers import drawing, panel_files, renders_per_version, story_files, watch

from storyviz.batch.local_engine import LocalEngine
from storyviz.batch.runner import run_batch
from storyviz.cli_batch import Sources, jobs_for, new_batch
from storyviz.config import load_settings

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[None]:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, resources={"render_slot": 2}, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _run(tmp_path: Path, engine: Any, files: list[Path], **settings: Any) -> Any:
    config = load_settings(runs_dir=tmp_path / "runs", max_rounds=0, **settings)
    sources = Sources(files, None, "full", None, "en", "storyviz", None)
    folder = new_batch(config, jobs_for(sources), engine, sources)
    return folder, run_batch(folder, config, engine, show=False)


def _engine(actors: int | None = None) -> Any:
    from storyviz.batch.ray_engine import RayEngine

    return RayEngine(actors=actors, actor_resource="render_slot")


def _when_drawing(batches: Path, act: Any) -> None:
    """In a thread: once the batch folder appears under ``batches`` and one of its stories is
    drawing, ``act`` on that story's state."""

    def start_watch() -> None:
        deadline = time.monotonic() + 60
        while not (batches.is_dir() and any(batches.iterdir())) and time.monotonic() < deadline:
            time.sleep(0.05)
        watch(next(batches.iterdir()), drawing, act)

    threading.Thread(target=start_watch, daemon=True).start()


def test_stories_fan_out_and_renders_go_to_the_actors(tmp_path: Path, ray_instance: None) -> None:
    files = story_files(tmp_path / "s")
    engine = _engine()
    folder, result = _run(tmp_path / "ray", engine, files)
    assert result.status == "completed" and not result.failed
    actors = engine.stats()["actors"]
    assert len(actors) == 2  # one per declared unit of the resource
    assert all(a["busy_s"] > 0 for a in actors)  # time inside the generator, for utilisation
    states = folder.states()
    drawn = sum(sum(renders_per_version(Path(s.run_dir)).values()) for s in states)
    references = sum(len(list((Path(s.run_dir) / "references").glob("*.png"))) for s in states)
    assert sum(a["renders"] for a in actors) == drawn + references  # every render on an actor
    local_folder, _ = _run(tmp_path / "local", LocalEngine(2), files)
    for ray_state, local_state in zip(states, local_folder.states(), strict=True):
        ray_pages = sorted(Path(ray_state.run_dir, "pages").glob("*.png"))
        local_pages = sorted(Path(local_state.run_dir, "pages").glob("*.png"))
        assert [p.read_bytes() for p in ray_pages] == [p.read_bytes() for p in local_pages]


def test_the_model_loads_once_per_actor(
    tmp_path: Path, ray_instance: None, tiny_model: Path
) -> None:
    files = story_files(tmp_path / "s")
    engine = _engine(actors=1)
    _, result = _run(tmp_path, engine, files, generator=f"diffusers:{tiny_model}?steps=2&size=64")
    assert result.status == "completed" and not result.failed
    stats = engine.stats()
    assert [a["model_loads"] for a in stats["actors"]] == [1]
    assert result.summary["model_loads"] == 1  # batch.json's count: the actor's, nothing else
    assert stats["actors"][0]["renders"] >= 6  # three stories' panels and references


def test_a_killed_story_worker_is_retried_and_keeps_finished_panels(
    tmp_path: Path, ray_instance: None
) -> None:
    files = story_files(tmp_path / "s", ["mia", "tom"])
    before: dict[str, dict[str, int]] = {}

    def kill(state: Any) -> None:
        before[state.key] = panel_files(Path(state.run_dir))
        os.kill(state.pid, signal.SIGKILL)

    _when_drawing(tmp_path / "runs" / "batches", kill)
    folder, result = _run(tmp_path, _engine(), files, generator="sketch?delay=0.4")
    assert result.status == "completed" and not result.failed
    ((key, drawn_before),) = before.items()
    state = folder.state(key)
    assert state.attempts == 2
    after = panel_files(Path(state.run_dir or ""))
    assert all(after[name] == mtime for name, mtime in drawn_before.items())
    assert max(renders_per_version(Path(state.run_dir or "")).values()) == 1


def _render_actor_pids() -> list[int]:
    import psutil

    pids = []
    for process in psutil.process_iter(["cmdline"]):
        line = process.info["cmdline"] or []
        if line and line[0].startswith("ray::RenderService"):
            pids.append(process.pid)
    return pids


def test_a_killed_render_actor_is_restarted_and_its_render_sent_again(
    tmp_path: Path, ray_instance: None
) -> None:
    files = story_files(tmp_path / "s", ["mia", "tom"])
    killed: list[int] = []
    before: dict[str, dict[str, int]] = {}

    def kill(state: Any) -> None:
        before[state.key] = panel_files(Path(state.run_dir))
        pid = _render_actor_pids()[0]
        killed.append(pid)
        os.kill(pid, signal.SIGKILL)

    _when_drawing(tmp_path / "runs" / "batches", kill)
    engine = _engine()
    folder, result = _run(tmp_path, engine, files, generator="sketch?delay=0.4")
    assert result.status == "completed" and not result.failed
    assert len(killed) == 1
    actors = engine.stats()["actors"]
    assert len(actors) == 2 and killed[0] not in {a["pid"] for a in actors}  # a new process
    for state in folder.states():
        assert state.attempts == 1  # the story task itself never failed
        run_dir = Path(state.run_dir or "")
        assert max(renders_per_version(run_dir).values()) == 1  # nothing drawn twice
        assert len(list((run_dir / "pages").glob("*.png"))) >= 1
    ((key, drawn_before),) = before.items()
    after = panel_files(Path(folder.state(key).run_dir or ""))
    assert all(after[name] == mtime for name, mtime in drawn_before.items())
