"""The run store is the one writer: atomic files, immutable versions, honest manifests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from storyviz.errors import RunNotFoundError, RunStoreError
from storyviz.run_store import RunStore, new_run_id, process_alive
from storyviz.schemas import StoryRequest


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


def test_process_alive() -> None:
    assert process_alive(os.getpid())
    assert not process_alive(None)
    assert not process_alive(2**22 + 12345)
