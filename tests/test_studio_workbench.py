"""The studio's logic without a browser: one Workbench per browser session, on the offline
backends, through the real chat session and run folders."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from storyviz.agents.chat.catalog import list_threads
from storyviz.studio.run_view import RunView
from storyviz.studio.workbench import CANCELLED, Screen, StoryOptions, Workbench

STORY = (
    "Mia, a girl with red hair and a yellow raincoat, finds a small dog named Bolt in the park. "
    '"Hello!" says Mia. Bolt barks. They run home in the rain.'
)


def last(steps: object) -> Screen:
    screens = list(steps)  # type: ignore[call-overload]
    assert screens, "a step always shows something"
    return screens[-1]


def digests(view: RunView) -> dict[str, str]:
    return {
        pid: hashlib.sha256(Path(path).read_bytes()).hexdigest()
        for pid, (path, _) in zip(view.panel_ids, view.panels, strict=True)
    }


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    runs = tmp_path_factory.mktemp("studio") / "runs"
    bench = Workbench(runs)
    planned = last(bench.start(StoryOptions(story=STORY, panels=3)))
    streamed = list(bench.approve())
    first = bench._view
    edited = last(bench.say("make panel 2 at night"))
    after_edit = bench._view
    redrawn = last(bench.redraw(3, 4242))
    after_redraw = bench._view
    yield {
        "bench": bench,
        "runs": runs,
        "planned": planned,
        "streamed": streamed,
        "first": first,
        "edited": edited,
        "after_edit": after_edit,
        "redrawn": redrawn,
        "after_redraw": after_redraw,
    }
    bench.close()


def test_a_story_is_planned_not_drawn(drawn: dict[str, object]) -> None:
    planned = drawn["planned"]
    assert isinstance(planned, Screen)
    assert not planned.error and not planned.approved
    assert [row[0] for row in planned.characters] == ["Mia", "Bolt"]
    assert "hair red" in planned.characters[0][2]
    assert [row[0] for row in planned.panels] == ["1", "2", "3"]
    assert planned.view.panels == [] and "Say 'yes'" in planned.notice
    assert planned.messages[0] == {"role": "user", "content": STORY}


def test_drawing_streams_pictures_before_it_ends(drawn: dict[str, object]) -> None:
    streamed = drawn["streamed"]
    assert isinstance(streamed, list)
    during = [s for s in streamed if s.drawing]
    # every reference sheet and every panel shows up as its own step, before the run is read
    counts = [len(s.view.references) + len(s.view.panels) for s in during]
    assert counts == sorted(counts) and counts[-1] == 2 + 3
    assert any(len(s.view.panels) == 1 for s in during)
    final = streamed[-1]
    assert not final.drawing and final.approved
    assert len(final.view.panels) == 3 and final.view.pages
    assert final.view.report is not None and final.view.report.is_file()
    assert final.view.rounds[0][0] == "0"


def test_a_chat_edit_redraws_only_its_panel(drawn: dict[str, object]) -> None:
    before, after = digests(drawn["first"]), digests(drawn["after_edit"])  # type: ignore[arg-type]
    changed = {pid for pid in before if before[pid] != after[pid]}
    assert changed == {"p02"}
    edited = drawn["edited"]
    assert isinstance(edited, Screen) and "night" in edited.panels[1][2]


def test_a_redraw_with_a_new_seed_changes_only_that_panel(drawn: dict[str, object]) -> None:
    before, after = digests(drawn["after_edit"]), digests(drawn["after_redraw"])  # type: ignore[arg-type]
    assert {pid for pid in before if before[pid] != after[pid]} == {"p03"}
    redrawn = drawn["redrawn"]
    assert isinstance(redrawn, Screen) and "4242" in redrawn.messages[-1]["content"]


def test_table_edits_redraw_what_they_touch_and_bad_cells_change_nothing(
    drawn: dict[str, object],
) -> None:
    bench = drawn["bench"]
    assert isinstance(bench, Workbench)
    shown = last(bench.undo())  # back to the redraw's parent, so this test starts drawn
    characters, panels = shown.characters, [list(r) for r in shown.panels]
    before = digests(bench._view)

    panels[0][1] = "sideways"
    refused = last(bench.apply_cells(characters, panels))
    assert refused.error and "the shot must be one of" in refused.notice
    assert digests(bench._view) == before

    panels[0][1] = shown.panels[0][1]
    assert panels[0][3] == "Mia, Bolt"
    panels[0][3] = "Mia"  # Bolt leaves the panel: the sketch draws one figure fewer
    panels[0][4] = "The mountain, an hour before the storm."
    done = last(bench.apply_cells(characters, panels))
    assert not done.error, done.notice
    assert done.panels[0][4] == "The mountain, an hour before the storm."
    assert done.panels[0][3] == "Mia"
    assert "Redrawn: panel 1 (p01)." in done.messages[-1]["content"]
    after = digests(bench._view)
    assert {pid for pid in before if before[pid] != after[pid]} == {"p01"}

    # a panel's own text box: dialogue with a speaker the plan does not know is refused
    bad = last(bench.edit_panel(1, caption="x", dialogue="Zed: hi", prompt=""))
    assert bad.error and "no character is called 'Zed'" in bad.notice


def test_export_a_pdf_that_reads_back(drawn: dict[str, object]) -> None:
    from pypdf import PdfReader

    bench = drawn["bench"]
    assert isinstance(bench, Workbench)
    screen, written = bench.export("pdf")
    assert not screen.error and len(written) == 1
    assert len(PdfReader(written[0]).pages) >= 1


def test_a_thread_reopens_in_a_new_session_with_its_panels(drawn: dict[str, object]) -> None:
    bench, runs = drawn["bench"], drawn["runs"]
    assert isinstance(bench, Workbench) and isinstance(runs, Path)
    thread = bench.thread
    assert thread is not None
    other = Workbench(runs)
    held = other.reopen(thread)  # the first session still holds it
    assert held.error and "being written by" in held.notice
    summary = next(t for t in list_threads(runs) if t.name == thread)
    assert summary.busy and summary.runs >= 3
    bench.close()
    reopened = other.reopen(thread)
    assert not reopened.error and reopened.thread == thread
    assert len(reopened.view.panels) == 3 and reopened.characters
    assert reopened.messages and reopened.approved
    other.close()
    bench.reopen(thread)  # give it back for the module's teardown


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (StoryOptions(story="   \n"), "The story is empty"),
        (StoryOptions(story="Mia.", backends={"generator": "nope"}), "nope"),
        (StoryOptions(story="Mia.", panels=-2), "panels must be 1 or more"),
        (StoryOptions(story="Mia.", panels=500), "panels must be between"),
    ],
)
def test_bad_input_is_a_one_line_notice(
    tmp_path: Path, options: StoryOptions, fragment: str
) -> None:
    bench = Workbench(tmp_path / "runs")
    screen = last(bench.start(options))
    assert screen.error and fragment in screen.notice and "\n" not in screen.notice
    assert list_threads(tmp_path / "runs") == []
    bench.close()


def test_a_cancel_stops_the_drawing_and_the_run_can_be_resumed(tmp_path: Path) -> None:
    from storyviz.agents.runner import resume_run
    from storyviz.config import load_settings

    runs = tmp_path / "runs"
    bench = Workbench(runs)
    last(bench.start(StoryOptions(story=STORY, panels=3)))
    assert bench.cancel() == "Nothing is being drawn."
    screens = []
    for screen in bench.approve():
        screens.append(screen)
        if screen.drawing and screen.view.references:
            bench.cancel()  # the button, pressed while the first sheet is on screen
    final = screens[-1]
    assert final.error and CANCELLED in final.notice and not final.approved
    (run_dir,) = [p for p in runs.iterdir() if (p / "manifest.json").is_file()]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert len(list((run_dir / "panels").glob("*.png"))) < 3
    outcome = resume_run(load_settings(runs_dir=runs), run_dir.name)
    assert outcome.status == "completed"
    again = last(bench.approve())  # the thread goes on: the plan is drawn on request
    assert not again.error and len(again.view.panels) == 3
    bench.close()


def test_two_sessions_never_share_state(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    one, two = Workbench(runs), Workbench(runs)
    a = last(one.start(StoryOptions(story=STORY, panels=2)))
    b = last(two.start(StoryOptions(story="Old Tom, a sailor in a blue coat, fishes.", panels=1)))
    assert a.thread != b.thread
    assert [r[0] for r in a.characters] == ["Mia", "Bolt"] and len(b.panels) == 1
    assert last(one.say("/plan")).title == a.title
    one.close()
    two.close()


def test_flagged_versions_carry_their_boxes_and_a_version_can_be_picked(tmp_path: Path) -> None:
    """With a drifting renderer the auditor flags panels: each flagged version has its findings'
    boxes in pixels, and picking another version of a panel shows it (only that panel changes)
    and is marked as picked."""
    from PIL import Image

    bench = Workbench(tmp_path / "runs", {"generator": "sketch?drift=1"})
    last(bench.start(StoryOptions(story=STORY, panels=3)))
    drawn = last(bench.approve())
    view = drawn.view
    assert view.flagged, "drift=1 makes the offline auditor flag panels"
    boxed = next(f for f in view.flagged if f.marks)
    path, boxes = boxed.annotated()
    width, height = Image.open(path).size
    assert boxes and all(
        0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height for (x0, y0, x1, y1), _ in boxes
    )
    assert all("expected" in label for _, label in boxes)
    assert set(boxed.colours()) == {label for _, label in boxes}
    assert all(c.startswith("#") and len(c) == 7 for c in boxed.colours().values())
    assert bench.flagged(boxed.label) == boxed and bench.flagged("nope") is None

    number, choices = next((n, bench.versions(n)) for n in (1, 2, 3) if len(bench.versions(n)) > 1)
    shown = [c for c in choices if "shown" in c.label]
    assert len(shown) == 1 and all(Path(c.path).is_file() for c in choices)
    other = next(c for c in choices if c is not shown[0])
    before = digests(view)
    picked = last(bench.use_version(number, other.number))
    assert not picked.error, picked.notice
    after = digests(picked.view)
    pid = f"p{number:02d}"
    assert [p for p in before if before[p] != after[p]] == [pid]
    assert after[pid] == hashlib.sha256(Path(other.path).read_bytes()).hexdigest()
    now = bench.versions(number)
    assert [c.number for c in now if "picked, shown" in c.label] == [other.number]
    refused = last(bench.use_version(number, 99))
    assert refused.error and "has no v99" in refused.notice
    assert bench.versions(99) == []
    bench.close()
