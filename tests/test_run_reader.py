"""RunReader: the one way a run folder is read back, and the one way each read fails."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from storyviz.agents.runner import start_run
from storyviz.config import load_settings
from storyviz.errors import RunStoreError
from storyviz.exports.source import load_run
from storyviz.run_reader import Problem, RunReader
from storyviz.run_store import (
    AUDIT_FILE,
    EVENTS_FILE,
    MANIFEST_FILE,
    PLAN_FILE,
    REQUEST_FILE,
    Run,
    RunStore,
)
from storyviz.schemas import AuditLog, PanelVersion, StoryRequest

STORY = (
    "Mia, a girl with red hair, finds a lost robot dog in the rain. "
    '"Are you lost?" she asks. The dog beeps. They walk home together.'
)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run drawn start to end on the offline defaults."""
    settings = load_settings(runs_dir=tmp_path_factory.mktemp("runs"))
    outcome = start_run(settings, StoryRequest(story=STORY, panels=4))
    assert outcome.status == "completed"
    return Path(outcome.run_dir)


@pytest.fixture
def copy(finished: Path, tmp_path: Path) -> Path:
    """A copy of the finished run to damage."""
    return Path(shutil.copytree(finished, tmp_path / "runs" / finished.name))


def _png(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (200, 40, 40)).save(path)
    return path


def test_a_finished_run_reads_whole(finished: Path) -> None:
    reader = RunReader(finished)
    manifest, plan, audit = reader.need_manifest(), reader.need_plan(), reader.need_audit()
    request = reader.request()
    assert reader.run_id == manifest.run_id == finished.name
    assert request is not None and request.story == STORY == manifest.request.story
    assert reader.events() and reader.events()[0].event == "started"
    assert len(reader.pages()) == len(plan.pages) and all(p.is_file() for p in reader.pages())
    for panel in plan.panels:
        current = reader.current_panel(panel.id)
        version = audit.current[panel.id]
        assert current == (version, finished / f"panels/{panel.id}_v{version}.png")
        assert version in reader.panel_versions(panel.id)
    for sheet in plan.characters:
        assert reader.reference(sheet.id) == finished / audit.references[sheet.id]
        assert reader.reference(sheet.id).is_file()
    assert reader.report_path.is_file()
    assert reader.problems() == []


def test_a_run_with_no_audit_yet_shows_its_newest_panels(copy: Path) -> None:
    (copy / AUDIT_FILE).unlink()
    reader = RunReader(copy)
    assert reader.audit() is None
    assert reader.problem(AUDIT_FILE) == Problem(AUDIT_FILE, "missing")
    with pytest.raises(RunStoreError, match=f"^run {copy.name} has no audit.json$"):
        reader.need_audit()
    plan = reader.need_plan()
    for panel in plan.panels:
        newest = max(reader.panel_versions(panel.id))
        assert reader.current_panel(panel.id) == (newest, copy / f"panels/{panel.id}_v{newest}.png")
    sheet = plan.characters[0]
    assert reader.reference_name(sheet.id) == f"references/{sheet.id}.png"
    assert reader.manifest() is not None and [p.file for p in reader.problems()] == [AUDIT_FILE]


def test_a_damaged_manifest_fails_one_way_everywhere(copy: Path) -> None:
    (copy / MANIFEST_FILE).write_text('{"run_id": 3}', encoding="utf-8")
    reader = RunReader(copy)
    assert reader.manifest() is None
    problem = reader.problem(MANIFEST_FILE)
    assert problem is not None and problem.kind == "malformed"
    assert problem.detail == "run_id: Input should be a valid string"
    message = f"run {copy.name}: manifest.json is damaged (Input should be a valid string)"
    for read in (reader.need_manifest, Run(copy).manifest, lambda: load_run(copy)):
        with pytest.raises(RunStoreError) as caught:
            read()
        assert str(caught.value) == message
    assert RunStore(copy.parent).list() == []  # a run list skips it
    assert reader.request() is not None  # request.json still reads
    (copy / MANIFEST_FILE).write_text('{"run_id": ', encoding="utf-8")
    cut = RunReader(copy)
    assert cut.manifest() is None
    assert cut.problem(MANIFEST_FILE) == Problem(
        MANIFEST_FILE, "malformed", "Invalid JSON: EOF while parsing a value at line 1 column 11",
        "document",
    )  # fmt: skip


def test_the_request_falls_back_to_the_manifests(copy: Path) -> None:
    (copy / REQUEST_FILE).unlink()
    reader = RunReader(copy)
    request = reader.request()
    assert request is not None and request.story == STORY
    assert reader.problems() == [Problem(REQUEST_FILE, "missing")]


def test_an_unreadable_file_says_why(copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = Path.read_bytes

    def refuse(path: Path) -> bytes:
        if path.name == PLAN_FILE:
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    reader = RunReader(copy)
    assert reader.plan() is None
    assert reader.problem(PLAN_FILE) == Problem(PLAN_FILE, "unreadable", "Permission denied")
    with pytest.raises(RunStoreError) as caught:
        reader.need_plan()
    assert str(caught.value) == f"run {copy.name}: cannot read plan.json (Permission denied)"


def test_missing_panel_files_fall_back_to_what_is_on_disk(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    v1 = _png(run_dir / "panels/p1_v1.png")
    _png(run_dir / "panels/p1_v2_v3.png")  # panel "p1_v2", version 3: not p1's
    other = run_dir / "panels/p1_v2_v3.png"
    versions = [
        PanelVersion(
            panel_id="p1", version=n, path=f"panels/p1_v{n}.png", seed=n, prompt="", backend=""
        )
        for n in (1, 2)
    ]
    audit = AuditLog(threshold=0.8, max_rounds=2, versions={"p1": versions}, current={"p1": 2})
    (run_dir / AUDIT_FILE).write_text(audit.model_dump_json(), encoding="utf-8")
    reader = RunReader(run_dir)
    assert reader.panel_versions("p1") == {1: v1}  # p1_v2.png was never written
    assert reader.panel_versions("p1_v2") == {3: other}
    assert reader.panel_candidates("p1") == [(2, run_dir / "panels/p1_v2.png"), (1, v1)]
    assert reader.current_panel("p1") == (1, v1)
    assert reader.current_panel("p2") is None and reader.panel_versions("p2") == {}
    assert RunReader(tmp_path / "nowhere").current_panel("p1") is None


def test_pages_are_in_reading_order_past_nine(tmp_path: Path) -> None:
    for number in (10, 2, 12, 1, 11, 9, 3, 4, 5, 6, 7, 8):
        _png(tmp_path / f"pages/page_{number:02d}.png")
    _png(tmp_path / "pages/page_x.png")  # not a page
    _png(tmp_path / "pages/page_3 copy.png")
    (tmp_path / "pages/page_99.png").mkdir()
    names = [p.name for p in RunReader(tmp_path).pages()]
    assert names == [f"page_{n:02d}.png" for n in range(1, 13)]
    assert names.index("page_02.png") < names.index("page_10.png")
    assert RunReader(tmp_path / "nowhere").pages() == []


def test_events_with_a_line_cut_short(copy: Path) -> None:
    whole = RunReader(copy).events()
    with open(copy / EVENTS_FILE, "a", encoding="utf-8") as fh:
        fh.write('{"event": "render", "st')  # a kill in the middle of a write
    reader = RunReader(copy)
    assert reader.events() == whole
    assert reader.problem(EVENTS_FILE) == Problem(
        EVENTS_FILE, "malformed", "1 line(s) could not be read and are skipped"
    )
    assert list(Run(copy).events()) == whole


def test_an_empty_folder_reads_as_nothing(tmp_path: Path) -> None:
    reader = RunReader(tmp_path)
    assert reader.manifest() is reader.request() is reader.plan() is reader.audit() is None
    assert reader.events() == [] and reader.pages() == []
    assert [(p.file, p.kind) for p in reader.problems()] == [
        (MANIFEST_FILE, "missing"),
        (REQUEST_FILE, "missing"),
        (PLAN_FILE, "missing"),
        (AUDIT_FILE, "missing"),
        (EVENTS_FILE, "missing"),
    ]
    with pytest.raises(RunStoreError, match=f"^run {tmp_path.name} has no plan.json$"):
        reader.need_plan()


def test_inside_never_leaves_the_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    picture = _png(run_dir / "panels/p1_v1.png")
    _png(tmp_path / "secret.png")
    reader = RunReader(run_dir)
    assert reader.inside("panels/p1_v1.png") == picture.resolve()
    for outside in ("../secret.png", str(tmp_path / "secret.png"), "https://x.org/a.png", ""):
        assert reader.inside(outside) is None
    assert reader.inside("panels/p1_v2.png") is None
