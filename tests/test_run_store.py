"""The run store is the one writer: atomic files, immutable versions, honest manifests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from storyviz.errors import RunNotFoundError, RunStoreError, WriterBusyError
from storyviz.run_store import RunStore, drawing_path, new_run_id
from storyviz.schemas import RenderRequest, StoryRequest


def _store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "runs")


def test_create_writes_request_and_running_manifest(tmp_path: Path) -> None:
    run = _store(tmp_path).create(
        StoryRequest(story="Mia walks home."), {"backends": {"planner": "offline"}}
    )
    assert (run.dir / "request.json").is_file()
    manifest = run.manifest()
    assert manifest.status == "running"
    assert manifest.pid == os.getpid()
    assert manifest.backends == {"planner": "offline"}
    assert "mia-walks-home" in run.run_id


def test_run_ids_are_unique_and_ascii_for_any_story() -> None:
    ids = {new_run_id("小さな犬が雨の中で") for _ in range(20)}
    assert len(ids) == 20
    assert all(i.isascii() and "-story-" in i for i in ids)
    assert "-mia-finds-a-dog-" in new_run_id("\x1b]0;PWNED\x07Mia finds a dog.")


def test_panel_versions_are_never_overwritten(tmp_path: Path) -> None:
    run = _store(tmp_path).create(StoryRequest(story="x"), {})
    img = Image.new("RGB", (8, 8), "red")
    assert run.save_panel("p01", 1, img) == "panels/p01_v1.png"
    with pytest.raises(RunStoreError, match="immutable"):
        run.save_panel("p01", 1, img)
    run.save_panel("p01", 2, img)
    assert sorted(p.name for p in (run.dir / "panels").iterdir()) == ["p01_v1.png", "p01_v2.png"]
    assert not list(run.dir.rglob("*.tmp"))


def test_events_are_appended_and_heard(tmp_path: Path) -> None:
    run = _store(tmp_path).create(StoryRequest(story="x"), {})
    heard = []
    run.subscribe(heard.append)
    run.emit("planned", "plan", seconds=0.1, detail={"panels": 3})
    run.emit("rendered", "render", panel_id="p01", version=1)
    with open(run.dir / "events.jsonl", "a") as fh:
        fh.write('{"event": "rend')  # a line cut short by a kill
    assert [e.event for e in run.events()] == ["planned", "rendered"]
    assert [e.event for e in heard] == ["planned", "rendered"]


def test_update_manifest_and_listing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    a = store.create(StoryRequest(story="first"), {})
    b = store.create(StoryRequest(story="second"), {})
    a.update_manifest(status="failed", error="boom")
    (store.root / "not-a-run").mkdir()
    listed = {m.run_id: m for m in store.list()}
    assert set(listed) == {a.run_id, b.run_id}
    assert listed[a.run_id].status == "failed" and listed[a.run_id].error == "boom"


def test_open_unknown_or_malicious_run_id(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with pytest.raises(RunNotFoundError, match="no run 'nope'"):
        store.open("nope")
    with pytest.raises(RunNotFoundError, match="not a valid run id"):
        store.open("../etc")


def test_unwritable_runs_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RunStoreError, match="cannot write to the runs directory"):
        RunStore(blocker / "runs").create(StoryRequest(story="x"), {})


# -- the drawing journal: what a resume may take instead of drawing again ----------------------
def _request(kind: str = "panel", **fields: object) -> RenderRequest:
    return RenderRequest(kind=kind, target_id="p01" if kind == "panel" else "mia",  # type: ignore[arg-type]
                         prompt="Mia in the rain", seed=7, **fields)  # fmt: skip


def test_a_saved_drawing_is_found_for_its_request_only(tmp_path: Path) -> None:
    run = _store(tmp_path).create(StoryRequest(story="x"), {})
    request = _request()
    assert run.drawn(request) is None
    path = run.save_drawing(request, Image.new("RGB", (8, 8), "red"), {"seed": 7, "n": 1})
    assert path == drawing_path(request) == "panels/p01_v1.png"
    assert run.drawn(request) == {"seed": 7, "n": 1}
    assert run.drawn(request.model_copy(update={"seed": 8})) is None  # another request
    assert run.drawn(request.model_copy(update={"version": 2})) is None
    reference = _request("reference")
    run.save_drawing(reference, Image.new("RGB", (8, 8), "blue"), {"seed": 1})
    assert drawing_path(reference) == "references/mia.png"
    assert run.drawn(reference) == {"seed": 1} and run.drawn(request) == {"seed": 7, "n": 1}
    assert not list(run.dir.rglob("*.tmp"))


def test_a_drawing_whose_image_is_missing_or_not_the_journalled_one_is_drawn_again(
    tmp_path: Path,
) -> None:
    run = _store(tmp_path).create(StoryRequest(story="x"), {})
    request = _request()
    run.save_drawing(request, Image.new("RGB", (8, 8), "red"), {"seed": 7})
    image = run.path("panels/p01_v1.png")
    whole = image.read_bytes()
    image.write_bytes(whole[: len(whole) // 2])  # cut short
    assert run.drawn(request) is None
    image.unlink()  # killed between the journal entry and the image's rename
    assert run.drawn(request) is None
    run.save_drawing(request, Image.new("RGB", (8, 8), "green"), {"seed": 9})  # replaces it
    assert run.drawn(request) == {"seed": 9}
    (run.dir / "journal" / "panel-p01_v1.json").write_text("{not json")
    assert run.drawn(request) is None


def test_a_repair_request_is_recognised_however_the_run_folder_is_reached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = RunStore(Path("runs")).create(StoryRequest(story="x"), {})  # a relative runs dir
    repair = _request(version=2, init_image=str(run.path("panels/p01_v1.png")),
                      mask=str(run.path("masks/p01_v2.png")))  # fmt: skip
    run.save_drawing(repair, Image.new("RGB", (8, 8), "red"), {"seed": 7})
    again = RunStore(tmp_path / "runs").open(run.run_id)  # absolute, as another shell gives it
    same = repair.model_copy(update={"init_image": str(again.path("panels/p01_v1.png")),
                                     "mask": str(again.path("masks/p01_v2.png"))})  # fmt: skip
    assert same.init_image != repair.init_image
    assert again.drawn(same) == {"seed": 7}


# -- one writer --------------------------------------------------------------------------------
def test_a_new_run_is_locked_by_its_creator_until_it_lets_go(tmp_path: Path) -> None:
    store = _store(tmp_path)
    run = store.create(StoryRequest(story="x"), {})
    assert run.writer_pid() == os.getpid()
    other = store.open(run.run_id)
    with pytest.raises(WriterBusyError, match=rf"^run {run.run_id} is being written by process "
                       rf"{os.getpid()}; wait for it to finish or stop it$"):  # fmt: skip
        other.lock()
    with pytest.raises(WriterBusyError):
        other.writer.check_free()
    run.unlock()
    assert run.writer_pid() is None
    other.lock()
    assert other.writer_pid() == os.getpid()
    other.unlock()


def test_a_killed_writer_leaves_no_lock(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    store = _store(tmp_path)
    run = store.create(StoryRequest(story="x"), {})
    run.unlock()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from storyviz.run_store import Run; "
         "Run(Path(sys.argv[1])).lock(); print('locked', flush=True); time.sleep(60)",
         str(run.dir)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert run.writer_pid() == holder.pid
        with pytest.raises(WriterBusyError, match=f"process {holder.pid}"):
            run.lock()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert run.writer_pid() is None  # the kernel dropped the flock with the process
    run.lock()
    run.unlock()


def test_leftover_temporary_files_are_removed_only_by_the_writer(tmp_path: Path) -> None:
    run = _store(tmp_path).create(StoryRequest(story="x"), {})
    (run.dir / "panels").mkdir()
    leftovers = [run.dir / ".manifest.json.99.1.tmp", run.dir / "panels" / ".p01_v1.png.9.9.tmp"]
    for path in leftovers:
        path.write_bytes(b"half")
    keep = run.dir / "panels" / "p01_v1.png"
    keep.write_bytes(b"png")
    other = RunStore(run.dir.parent).open(run.run_id)
    with pytest.raises(RunStoreError, match="only by its writer"):
        other.remove_leftovers()
    assert sorted(run.remove_leftovers()) == sorted(leftovers)
    assert keep.exists() and not any(p.exists() for p in leftovers)


def test_a_run_folder_that_cannot_be_written_whole_is_not_left_behind(tmp_path: Path) -> None:
    """A disk that fills up while the run folder is made (here: a file size limit, in a child
    process) leaves no folder that looks like a run, and a one-line error."""
    import subprocess
    import sys

    script = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from storyviz.errors import RunStoreError\n"
        "from storyviz.run_store import RunStore\n"
        "from storyviz.schemas import StoryRequest\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300))\n"
        "try:\n"
        "    RunStore(Path(sys.argv[1])).create(StoryRequest(story='Mia ' * 200), {})\n"
        "except RunStoreError as exc:\n"
        "    print(exc)\n"
    )
    runs = tmp_path / "runs"
    out = subprocess.run([sys.executable, "-c", script, str(runs)], capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert out.stdout.startswith("cannot write the run folder") and out.stdout.count("\n") == 1
    assert list(runs.iterdir()) == []
