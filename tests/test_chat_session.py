"""The chat session API without a terminal: plan, approve, edit, undo, regen, resume."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import MIA_STORY

from storyviz.agents.chat.session import ChatSession
from storyviz.agents.chat.state import Reply
from storyviz.agents.chat.threads import thread_path
from storyviz.errors import InputError


def images(run_dir: str | Path) -> dict[str, str]:
    """Panel id -> sha256 of the image the comic shows for it."""
    from storyviz.agents.chat.carry import RenderedRun

    run = RenderedRun.open(run_dir)
    found = {}
    for panel in run.plan.panels:
        image = run.image(panel.id)
        assert image is not None
        found[panel.id] = hashlib.sha256(image.read_bytes()).hexdigest()
    return found


def run_folders(runs: Path) -> list[Path]:
    return sorted(p for p in runs.iterdir() if (p / "manifest.json").is_file())


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One conversation up to an edit after approval (three renders are the slow part)."""
    runs = tmp_path_factory.mktemp("chat") / "runs"
    replies: dict[str, Reply] = {}
    with ChatSession.open("mia", runs_dir=runs) as chat:
        replies["story"] = chat.send(MIA_STORY)
        replies["runs_before_yes"] = Reply(str(len(run_folders(runs)) if runs.exists() else 0))
        replies["early_edit"] = chat.send("make panel 8 at dawn")
        replies["yes"] = chat.send("yes")
        replies["edit"] = chat.send("make panel 3 at night")
        replies["regen"] = chat.send("/regen 5 7")
    return {"runs": runs, "replies": replies}


def test_what_a_next_run_keeps(drawn: dict[str, object]) -> None:
    from storyviz.agents.chat.carry import RenderedRun, seed_after_edit

    replies = drawn["replies"]
    assert isinstance(replies, dict)
    run = RenderedRun.open(str(replies["edit"].run_dir))
    same, diff = seed_after_edit(run, run.plan)
    assert sorted(same.panels) == [p.id for p in run.plan.panels] and not diff.changed_panels
    assert sorted(same.references) == ["bolt", "mia"]
    assert all(c.image.is_file() and c.version.score is not None for c in same.panels["p03"])
    restyled, _ = seed_after_edit(run, run.plan.model_copy(update={"style": "ink"}))
    assert restyled.panels == {} and restyled.references == {}  # references have a style too


def test_the_plan_waits_for_approval(drawn: dict[str, object]) -> None:
    replies = drawn["replies"]
    assert isinstance(replies, dict)
    story = replies["story"]
    assert story.kind == "plan" and "Say 'yes'" in story.text
    assert story.plan is not None
    assert [c["name"] for c in story.plan["characters"]] == ["Mia", "Bolt"]
    third = story.plan["panels"][2]
    assert third["n"] == "3" and third["cast"] == "Mia" and "Are you lost?" in third["dialogue"]
    assert replies["runs_before_yes"].text == "0"  # nothing drawn before the yes
    early = replies["early_edit"]
    assert early.kind == "edit" and early.changed == ["p08"] and early.run_dir is None
    assert early.plan is not None and early.plan["panels"][7]["marked"]


def test_approval_draws_the_edited_plan(drawn: dict[str, object]) -> None:
    replies = drawn["replies"]
    assert isinstance(replies, dict)
    yes = replies["yes"]
    assert yes.kind == "render" and yes.run_dir and yes.report
    assert Path(yes.report).is_file()
    assert "Drew 8 panel(s), kept 0" in yes.text
    assert "at dawn" in (Path(yes.run_dir) / "plan.json").read_text()


def test_an_edit_redraws_exactly_that_panel(drawn: dict[str, object]) -> None:
    replies = drawn["replies"]
    assert isinstance(replies, dict)
    before, after = replies["yes"], replies["edit"]
    assert after.kind == "render" and after.changed == ["p03"]
    assert "Redrawn: panel 3 (p03)" in after.text and "kept 7" in after.text
    old, new = images(str(before.run_dir)), images(str(after.run_dir))
    assert [pid for pid in old if old[pid] != new[pid]] == ["p03"]
    assert Path(str(after.report)).is_file()


def test_regen_draws_one_panel_from_a_new_seed(drawn: dict[str, object]) -> None:
    replies = drawn["replies"]
    assert isinstance(replies, dict)
    before, after = replies["edit"], replies["regen"]
    assert after.kind == "render" and after.changed == ["p05"], after.text
    assert "run seed 7" in after.text
    old, new = images(str(before.run_dir)), images(str(after.run_dir))
    assert [pid for pid in old if old[pid] != new[pid]] == ["p05"]


def test_resume_undo_and_the_read_only_commands(drawn: dict[str, object]) -> None:
    runs = drawn["runs"]
    replies = drawn["replies"]
    assert isinstance(runs, Path) and isinstance(replies, dict)
    with ChatSession.open("mia", runs_dir=runs) as chat:
        recap = chat.recap()
        assert recap is not None and "Resuming thread mia" in recap.text
        assert chat.values["run_dir"] == replies["regen"].run_dir
        assert len(chat.values["runs"]) == 3

        show = chat.send("/show 3")
        assert show.image and Path(show.image).is_file() and "p03" in show.text
        assert (
            hashlib.sha256(Path(show.image).read_bytes()).hexdigest()
            == images(str(replies["regen"].run_dir))["p03"]
        )
        audit = chat.send("/audit")
        assert "Consistency index" in audit.text and "p08" in audit.text
        assert Path(str(chat.send("/report").report)).is_file()
        listed = chat.send("/runs").text
        assert all(str(replies[k].run_dir) in listed for k in ("yes", "edit", "regen"))
        assert chat.send("/plan").plan is not None
        exported = chat.send("/export png")
        assert exported.kind == "info" and "page_01.png" in exported.text
        for message, fragment in [
            ("/show 12", "there is no panel 12: the plan has 8 panels"),
            ("/show", "which panel?"),
            ("/regen 2 banana", "the seed must be a whole number"),
            ("/regen 2 -1", "the seed must be between"),
            ("/export tiff", "unknown export format 'tiff'"),
        ]:
            reply = chat.send(message)
            assert reply.kind == "error" and fragment in reply.text, (message, reply)
        assert chat.send("yes").text.startswith("That is already drawn")

        undone = chat.send("/undo")  # the regen
        assert undone.kind == "undo" and undone.run_dir == replies["edit"].run_dir
        undone = chat.send("/undo")  # the night edit
        assert undone.run_dir == replies["yes"].run_dir
        assert chat.plan is not None and chat.plan.panel("p03").time_of_day == "day"
        runs_made = len(run_folders(runs))
        redrawn = chat.send("/undo")  # the edit before approval: drawn back, p08 only
        assert redrawn.kind == "render" and redrawn.changed == ["p08"]
        assert len(run_folders(runs)) == runs_made + 1
        assert chat.send("/undo").text == "Nothing to undo."


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        ("", "Nothing was said"),
        ("   ", "Nothing was said"),
        ("/frobnicate", "Unknown command /frobnicate"),
        ("/", "Unknown command"),
        ("make panel 12 at night", "there is no panel 12: the plan has"),
        ("make it pop", "did not understand"),
        ("/audit", "Nothing is drawn yet"),
        ("/undo", "Nothing to undo"),
    ],
)
def test_bad_messages_get_a_clear_answer(tmp_path: Path, message: str, fragment: str) -> None:
    with ChatSession.open("t", runs_dir=tmp_path / "runs") as chat:
        chat.send("Mia finds a dog. Mia laughs. The dog barks. Mia and the dog play.")
        reply = chat.send(message)
        assert reply.kind == "error", reply
        assert fragment in reply.text
        assert chat.waiting  # the conversation goes on


def test_before_any_story(tmp_path: Path) -> None:
    with ChatSession.open("t", runs_dir=tmp_path / "runs") as chat:
        assert chat.recap() is None
        assert "describe your story first" in chat.send("yes").text
        assert "describe your story first" in chat.send("/plan").text
        assert "/regen N [SEED]   draw panel N again" in chat.send("/help").text
        assert chat.send("/quit").done
        too_long = chat.send("x" * 50_001)
        assert too_long.kind == "error" and "limit is 50,000" in too_long.text


def test_thread_names_and_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a usable thread name"):
        ChatSession.open("../escape", runs_dir=tmp_path)
    with pytest.raises(InputError, match="panels must be between 1 and 60, got 0"):
        ChatSession.open("t", runs_dir=tmp_path, panels=0)
    assert thread_path(tmp_path, "mia") == tmp_path / "chats" / "mia.sqlite"


def test_a_resumed_thread_keeps_its_settings(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with ChatSession.open("s", runs_dir=runs, panels=3, style="ink") as chat:
        reply = chat.send(MIA_STORY)
        assert reply.plan is not None and len(reply.plan["panels"]) == 3
    with ChatSession.open("s", runs_dir=runs, generator="sketch?drift=0.5") as chat:
        assert chat.settings.panels == 3 and chat.settings.style == "ink"
        assert chat.settings.generator == "sketch?drift=0.5"  # a flag given again wins


def test_a_render_cut_short_is_finished_when_the_thread_is_opened_again(tmp_path: Path) -> None:
    def stop(event: object) -> None:
        if getattr(event, "event", "") == "rendered":
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-render

    runs = tmp_path / "runs"
    with ChatSession.open("k", runs_dir=runs, listener=stop) as chat:
        chat.send("Mia finds a dog. The dog barks. Mia laughs.")
        with pytest.raises(KeyboardInterrupt):
            chat.send("yes")
        assert not chat.waiting and not chat.values.get("run_dir")
    with ChatSession.open("k", runs_dir=runs) as chat:
        assert chat.waiting
        assert chat.values["reply"]["kind"] == "render"
        assert Path(chat.values["run_dir"], "report.html").is_file()


def test_a_model_planner_edits_through_its_own_edit_plan(tmp_path: Path) -> None:
    from fakes.chat_model import ScriptedChat

    from storyviz import registry
    from storyviz.agents.planner.edit.plans import answer_from_plan
    from storyviz.agents.planner.llm.planner import LLMPlanner
    from storyviz.agents.planner.rules.offline import OfflinePlanner
    from storyviz.agents.runner import Backends
    from storyviz.schemas import StoryRequest

    # The model answers with the offline planner's plan, then with that plan at night in panel 3.
    request = StoryRequest(story=MIA_STORY)
    drafted = answer_from_plan(OfflinePlanner().plan(request)).model_dump(exclude={"summary"})
    for item in [*drafted["characters"], *drafted["panels"]]:
        del item["id"]
    planned = LLMPlanner(ScriptedChat([drafted]), two_step=False).plan(request)
    revised = answer_from_plan(planned).model_dump()
    revised["summary"] = "Panel 3 now happens at night."
    revised["panels"][2]["time_of_day"] = "night"
    chat_model = ScriptedChat([drafted, revised], spec="fake:planner")
    backends = Backends(
        planner=LLMPlanner(chat_model, two_step=False),
        generator=registry.build("generator", "sketch"),
        auditor=registry.build("auditor", "offline"),
        repairer=registry.build("repairer", "offline"),
    )
    with ChatSession.open("llm", runs_dir=tmp_path / "runs", backends=backends) as chat:
        assert chat.send(MIA_STORY).kind == "plan"
        reply = chat.send("make panel 3 at night")
    assert reply.kind == "edit" and reply.changed == ["p03"]
    assert "Panel 3 now happens at night." in reply.text
    assert chat_model.calls[-1].purpose == "edit plan"
    assert "make panel 3 at night" in chat_model.calls[-1].text


def test_a_deleted_run_folder_is_drawn_again_not_a_dead_end(tmp_path: Path) -> None:
    import shutil

    with ChatSession.open("gone", runs_dir=tmp_path / "runs") as chat:
        chat.send("Mia finds a dog. The dog barks.")
        first = chat.send("yes")
        shutil.rmtree(str(first.run_dir))
        assert "cannot read the run folder" in chat.send("/show 1").text
        again = chat.send("make panel 1 at night")
    assert again.kind == "render" and "is gone, so every panel is drawn" in again.text
    assert again.run_dir and Path(again.run_dir, "report.html").is_file()


def test_one_session_per_thread(tmp_path: Path) -> None:
    import os

    from storyviz.errors import WriterBusyError

    with ChatSession.open("one", runs_dir=tmp_path / "runs") as chat:
        chat.send("Mia finds a dog.")
        with pytest.raises(WriterBusyError, match=f"^chat thread one is being written by process "
                           f"{os.getpid()}; wait for it to finish or stop it$"):  # fmt: skip
            ChatSession.open("one", runs_dir=tmp_path / "runs")
        with ChatSession.open("two", runs_dir=tmp_path / "runs") as other:  # others are free
            assert other.thread == "two"
    with ChatSession.open("one", runs_dir=tmp_path / "runs") as again:  # closed: free again
        assert again.plan is not None


def test_a_run_being_drawn_elsewhere_is_not_read_or_drawn_over(tmp_path: Path) -> None:
    from storyviz.errors import WriterBusyError
    from storyviz.run_store import Run

    with ChatSession.open("busy", runs_dir=tmp_path / "runs") as chat:
        chat.send("Mia finds a dog. The dog barks.")
        first = chat.send("yes")
        assert first.run_dir
        elsewhere = Run(Path(first.run_dir))
        elsewhere.lock()  # as a `storyviz resume` of it in another shell would
        try:
            with pytest.raises(WriterBusyError, match="is being written by process"):
                chat.send("make panel 1 at night")
        finally:
            elsewhere.unlock()
        assert run_folders(tmp_path / "runs") == [Path(first.run_dir)]  # nothing drawn over it
        shown = chat.send("/show 1")  # the cut-short drawing is finished first, from the run
        assert shown.kind != "error"
        (new,) = set(run_folders(tmp_path / "runs")) - {Path(first.run_dir)}
        assert chat.values["run_dir"] == str(new)
        said = chat.values["messages"][-1]["text"]
        assert "Redrawn: panel 1 (p01)" in said and "is gone" not in said


def test_use_picks_the_version_a_panel_shows_and_keeps_it(tmp_path: Path) -> None:
    """/use N V: no drawing, only that panel's picture changes, no repair replaces it, and the
    choice is carried by later edits until the panel itself is drawn again."""
    from storyviz.agents.chat.carry import RenderedRun

    runs = tmp_path / "runs"
    with ChatSession.open("pick", runs_dir=runs, generator="sketch?drift=1", panels=3) as chat:
        chat.send(MIA_STORY)
        first = chat.send("yes")
        run = RenderedRun.open(str(first.run_dir))
        repaired = [p.id for p in run.plan.panels if len(run.audit.versions[p.id]) > 1]
        assert repaired, "drift=1 makes the offline auditor flag and repair panels"
        pid = repaired[0]
        n = [p.id for p in run.plan.panels].index(pid) + 1
        shown = run.audit.current[pid]
        other = next(v.version for v in run.audit.versions[pid] if v.version != shown)

        picked = chat.send(f"/use {n} v{other}")
        assert picked.kind == "render", picked.text
        assert f"Panel {n} ({pid}) now shows v{other}" in picked.text and "Drew 0" in picked.text
        after = RenderedRun.open(str(picked.run_dir))
        assert after.audit.current[pid] == other and after.audit.chosen == {pid: other}
        assert all(r.panel_id != pid for rnd in after.audit.rounds for r in rnd.repairs)
        old, new = images(str(first.run_dir)), images(str(picked.run_dir))
        assert [p for p in old if old[p] != new[p]] == [pid]
        assert "picked by hand" in (Path(str(picked.run_dir)) / "report.html").read_text()
        assert chat.send(f"/use {n} {other}").kind == "info"  # already shown

        for message, fragment in [
            (f"/use {n}", "which version of panel"),
            (f"/use {n} v99", "has no v99"),
            (f"/use {n} best", "the version must be a number"),
            ("/use 9 1", "there is no panel 9"),
        ]:
            reply = chat.send(message)
            assert reply.kind == "error" and fragment in reply.text, (message, reply.text)

        elsewhere = next(p.id for p in run.plan.panels if p.id != pid)
        m = [p.id for p in run.plan.panels].index(elsewhere) + 1
        edited = chat.send(f"make panel {m} at night")
        assert RenderedRun.open(str(edited.run_dir)).audit.chosen == {pid: other}
        redrawn = chat.send(f"/regen {n} 11")
        assert RenderedRun.open(str(redrawn.run_dir)).audit.chosen == {}
        undone = chat.send("/undo")
        assert RenderedRun.open(str(undone.run_dir)).audit.chosen == {pid: other}
