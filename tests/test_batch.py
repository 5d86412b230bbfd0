"""`storyviz batch` on the local engine: a folder of ordinary runs, failures recorded, resume,
a killed worker, and the ViStoryBench tree read back by the benchmark loader's rules."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_helpers import drawing, panel_files, renders_per_version, story_files, watch
from cli_helpers import STORYVIZ, storyviz
from test_vistorybench import read_outputs, write_story

from storyviz.batch.folder import BatchFolder
from storyviz.batch.local_engine import LocalEngine
from storyviz.batch.runner import run_batch
from storyviz.cli_batch import Sources, jobs_for, new_batch
from storyviz.config import load_settings
from storyviz.errors import InputError
from storyviz.run_store import RunStore


def _batch(tmp_path: Path, files: list[Path], **settings: object) -> tuple[BatchFolder, object]:
    config = load_settings(runs_dir=tmp_path / "runs", max_rounds=0, **settings)
    engine = LocalEngine(workers=2)
    sources = Sources(files, None, "full", None, "en", "storyviz", None)
    folder = new_batch(config, jobs_for(sources), engine, sources)
    return folder, run_batch(folder, config, engine, show=False)


def test_three_stories_become_three_ordinary_runs_and_an_index(tmp_path: Path) -> None:
    folder, result = _batch(tmp_path, story_files(tmp_path / "s"))
    assert result.status == "completed" and not result.failed  # type: ignore[attr-defined]
    store = RunStore(tmp_path / "runs")
    states = folder.states()
    assert [s.key for s in states] == ["mia", "tom", "ana"]
    for state in states:
        assert state.status == "completed" and state.attempts == 1
        assert store.open(state.run_id or "").manifest().status == "completed"
    summary = json.loads((folder.root / "batch.json").read_text())
    assert summary["counts"] == {"stories": 3, "completed": 3, "failed": 0, "unfinished": 0}
    assert summary["panels_drawn"] == sum(len(panel_files(Path(s.run_dir or ""))) for s in states)
    index = (folder.root / "index.html").read_text()
    for state in states:
        report = os.path.relpath(state.report or "", folder.root)
        assert f'href="{report}"' in index and (folder.root / report).is_file()
    assert {m.run_id for m in store.list()} == {s.run_id for s in states}  # batches/ not a run


def test_a_failed_story_is_recorded_and_the_rest_go_on(tmp_path: Path) -> None:
    files = story_files(tmp_path / "s", ["mia", "tom"])
    broken = tmp_path / "s" / "broken.txt"
    broken.write_bytes(b"\xff\xfe not text")
    folder, result = _batch(tmp_path, [files[0], broken, files[1]])
    states = {s.key: s for s in folder.states()}
    assert states["broken"].status == "failed"
    assert "not UTF-8" in (states["broken"].error or "")
    assert states["mia"].status == states["tom"].status == "completed"
    assert [s.key for s in result.failed] == ["broken"]  # type: ignore[attr-defined]


class _OtherDiskEngine:
    """Dispatch as on a Ray node that does not mount the driver's runs folder: the story code
    runs against a path where the batch folder is absent."""

    name = "other-disk"

    def __init__(self, elsewhere: Path) -> None:
        self.elsewhere = elsewhere

    def options(self) -> dict[str, object]:
        return {}

    def stats(self) -> dict[str, object]:
        return {}

    def run(self, jobs, settings, folder, vistory, on_result, tick):  # type: ignore[no-untyped-def]
        from storyviz.batch.story import run_story

        for job in jobs:
            on_result(run_story(job, settings, str(self.elsewhere / folder.root.name), vistory))
            tick()


def test_a_worker_without_the_batch_folder_fails_its_story_in_one_line(tmp_path: Path) -> None:
    config = load_settings(runs_dir=tmp_path / "runs", max_rounds=0)
    engine = _OtherDiskEngine(tmp_path / "node-disk")
    sources = Sources(story_files(tmp_path / "s", ["mia"]), None, "full", None, "en", "x", None)
    folder = new_batch(config, jobs_for(sources), engine, sources)
    result = run_batch(folder, config, engine, show=False)
    (state,) = folder.states()
    assert state.status == "failed" and result.status == "completed"
    assert "not on" in (state.error or "") and "every node mounts" in (state.error or "")
    assert "\n" not in (state.error or "")
    assert not (tmp_path / "node-disk").exists()  # nothing written where the driver cannot see
    assert json.loads((folder.root / "batch.json").read_text())["counts"]["failed"] == 1


def test_bad_inputs_are_one_line_errors_and_leave_no_batch(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="name story files"):
        jobs_for(Sources([], None, "full", None, "en", "storyviz", None))
    with pytest.raises(InputError, match="no story file"):
        jobs_for(Sources([tmp_path / "nope.txt"], None, "full", None, "en", "storyviz", None))
    files = story_files(tmp_path / "s", ["mia"])
    for args, message in (
        ([*map(str, files), "--engine", "spark"], "--engine must be local or ray"),
        ([*map(str, files), "--generator", "nope"], "generator"),
        (["--resume", "20260101-000000-batch-0000"], "no batch"),
        ([*map(str, files), "--vistorybench", str(tmp_path)], "not both"),
    ):
        done = storyviz("batch", *args, cwd=tmp_path)
        assert done.returncode != 0, args
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("storyviz: error:"), done.stderr
        assert message in lines[0], lines[0]
    assert not (tmp_path / "runs" / "batches").exists()


def test_ray_missing_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from storyviz.batch import ray_engine

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(InputError, match=r'pip install "storyviz\[ray\]"'):
        ray_engine.RayEngine()


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_its_story_resumes(tmp_path: Path) -> None:
    files = story_files(tmp_path / "s", ["mia", "tom"])
    root = tmp_path / "runs" / "batches"
    before: dict[str, dict[str, int]] = {}

    def kill(state: object) -> None:
        run_dir = Path(state.run_dir)  # type: ignore[attr-defined]
        before[state.key] = panel_files(run_dir)  # type: ignore[attr-defined]
        os.kill(state.pid, signal.SIGKILL)  # type: ignore[attr-defined]

    def start_watch() -> None:
        deadline = time.monotonic() + 60
        while not root.is_dir() or not any(root.iterdir()):
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        watch(next(root.iterdir()), drawing, kill)

    import threading

    threading.Thread(target=start_watch, daemon=True).start()
    folder, result = _batch(tmp_path, files, generator="sketch?delay=0.4")
    assert result.status == "completed" and not result.failed  # type: ignore[attr-defined]
    ((key, drawn_before),) = before.items()
    state = folder.state(key)
    assert state.attempts == 2
    run_dir = Path(state.run_dir or "")
    after = panel_files(run_dir)
    assert all(after[name] == mtime for name, mtime in drawn_before.items())  # not redrawn
    assert max(renders_per_version(run_dir).values()) == 1
    assert "resumed" in (run_dir / "events.jsonl").read_text()


@pytest.mark.slow
def test_an_interrupted_batch_resumes_without_redoing_finished_work(tmp_path: Path) -> None:
    files = story_files(tmp_path / "s")
    process = subprocess.Popen(
        [*STORYVIZ, "batch", *map(str, files), "--workers", "1", "--quiet",
         "--generator", "sketch?delay=0.3", "--max-rounds", "0"],
        cwd=tmp_path, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    root = tmp_path / "runs" / "batches"
    deadline = time.monotonic() + 90
    folder = None
    while time.monotonic() < deadline:
        if root.is_dir() and any(root.iterdir()):
            folder = BatchFolder(next(root.iterdir()))
            states = folder.states()
            if states[0].status == "completed" and drawing(states[1]):
                break
        time.sleep(0.05)
    assert folder is not None
    first = folder.state("mia")
    finished = panel_files(Path(first.run_dir or ""))
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert f"storyviz batch --resume {folder.batch_id}" in err
    assert folder.manifest().status == "interrupted"
    interrupted = folder.state("tom")
    assert interrupted.status == "interrupted" and interrupted.run_id
    done = storyviz("batch", "--resume", folder.batch_id, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert [s["status"] for s in out["stories"]] == ["completed"] * 3
    assert folder.state("mia").attempts == 1  # a finished story is not run again
    assert panel_files(Path(first.run_dir or "")) == finished
    tom = folder.state("tom")
    assert tom.run_id == interrupted.run_id  # the same run, resumed
    assert max(renders_per_version(Path(tom.run_dir or "")).values()) == 1


@pytest.mark.slow
def test_a_vistorybench_batch_writes_the_tree_the_benchmark_reads(tmp_path: Path) -> None:
    dataset = tmp_path / "ViStory"
    for number in ("01", "08", "02"):  # 02 is not in the lite split
        write_story(dataset / number)
    done = storyviz(
        "batch", "--vistorybench", str(dataset), "--split", "lite", "--method", "mymethod",
        "--max-rounds", "0", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert [s["key"] for s in out["stories"]] == ["01", "08"]
    tree = Path(out["folder"]) / "vistorybench"
    found = read_outputs(tree, "mymethod")
    assert sorted(found) == ["01", "08"]
    assert all(sorted(shots) == [1, 2, 3] for shots in found.values())
    stamps = list((tree / "mymethod" / "base" / "en").iterdir())
    assert len(stamps) == 1  # one timestamp for the whole batch
    evaluated = storyviz("eval", "--batch", out["batch_id"], "--json", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    scores = json.loads(evaluated.stdout.strip().splitlines()[-1])[0]
    assert sorted(scores["stories"]) == ["01", "08"]
    assert scores["mean"]["cids_cross_mean"] is not None
