"""A model planner whose plan contradicts the story is sent the plan check's findings once,
before drawing: the real CLI, the real openai SDK and a fake OpenAI-compatible server."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import last_json, storyviz
from fakes.openai_server import FakeOpenAIServer, message_text, schema_name
from llm_answers import panel_answer

STORY = (
    "Mia, a girl with red hair and a yellow raincoat, finds a silver robot dog named Bolt. "
    '"Are you lost?" Mia asks. Bolt beeps. They walk home in the rain.'
)


def _character(name: str, hair: str, outfit: str, species: str = "human") -> dict[str, Any]:
    colours = [{"part": "hair", "colour": hair}] if hair else []
    colours += [{"part": "outfit", "colour": outfit}] if outfit else []
    if species != "human":
        colours = [{"part": "fur", "colour": "silver"}]
    return {
        "name": name,
        "role": "main",
        "description": f"{name}, as the story says",
        "species": species,
        "age": "",
        "hair": f"{hair} hair" if hair else "",
        "eyes": "",
        "skin": "silver plating" if species != "human" else "",
        "outfit": f"{outfit} raincoat" if outfit else "",
        "accessories": [],
        "colours": colours,
    }


BEATS = ["Mia finds Bolt.", "Mia asks if he is lost.", "They walk home in the rain."]


def _server(fixes: bool, invalid: bool = False) -> FakeOpenAIServer:
    """Mia's hair comes back blue; asked to correct it, the model fixes it (or, when `fixes`
    is False, answers the same wrong plan again)."""

    def respond(body: dict[str, Any]) -> Any:
        name = schema_name(body)
        if name == "CharacterBible":
            return {
                "title": "Mia finds Bolt",
                "characters": [
                    _character("Mia", "blue", "yellow"),
                    _character("Bolt", "", "", "robot dog"),
                ],
            }
        if name == "PanelsAnswer":
            return {"panels": [panel_answer(beat, ["Mia", "Bolt"]) for beat in BEATS]}
        if name == "EditPlanAnswer" and invalid:  # a cast member the plan does not have
            return {"summary": "", "title": "", "style": "", "characters": [],
                    "panels": [panel_answer(BEATS[0], ["Zed"], panel_id="p01")]}  # fmt: skip
        if name == "EditPlanAnswer":
            mia = {**_character("Mia", "red" if fixes else "blue", "yellow"), "id": "mia"}
            bolt = {**_character("Bolt", "", "", "robot dog"), "id": "bolt"}
            return {
                "summary": "Mia's hair is red, as the story says" if fixes else "no change",
                "title": "Mia finds Bolt",
                "style": "",
                "characters": [mia, bolt],
                "panels": [
                    panel_answer(beat, ["Mia", "Bolt"], panel_id=f"p{n:02d}")
                    for n, beat in enumerate(BEATS, 1)
                ],
            }
        raise AssertionError(f"unexpected schema {name!r}")

    server = FakeOpenAIServer()
    server.respond_with(respond)
    return server


def _run(
    tmp_path: Path, fixes: bool, invalid: bool = False
) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    with _server(fixes, invalid) as server:
        summary = last_json(
            storyviz(
                "run", STORY, "--panels", "3", "--planner", server.backend("m"),
                "--runs-dir", str(tmp_path / "runs"), "--json",
                env={**os.environ, "OPENAI_API_KEY": "sk-test-correction"},
            )
        )  # fmt: skip
        bodies = [r.body for r in server.requests]
    return summary, bodies, str(summary["run_dir"])


def test_the_findings_go_back_once_and_the_corrected_plan_is_drawn(tmp_path: Path) -> None:
    summary, bodies, run_dir = _run(tmp_path, fixes=True)
    assert summary["status"] == "completed"
    edits = [b for b in bodies if schema_name(b) == "EditPlanAnswer"]
    assert len(edits) == 1  # once, not until it is right
    asked = message_text(edits[0])
    assert "'hair'" in asked and "'red'" in asked and "'blue'" in asked
    assert "yellow raincoat" in asked  # the story goes with the findings
    plan = json.loads((Path(run_dir) / "plan.json").read_text())
    mia = next(c for c in plan["characters"] if c["name"] == "Mia")
    assert mia["attributes"]["colors"]["hair"] == "red"
    audit = json.loads((Path(run_dir) / "audit.json").read_text())
    (finding,) = audit["plan_findings"]
    assert (finding["kind"], finding["part"], finding["expected"], finding["observed"]) == (
        "colour",
        "hair",
        "red",
        "blue",
    )
    assert finding["corrected"] is True
    assert "corrected by the planner" in (Path(run_dir) / "report.html").read_text()


def test_a_contradiction_the_planner_keeps_is_a_warning_and_stays_in_the_report(
    tmp_path: Path,
) -> None:
    summary, bodies, run_dir = _run(tmp_path, fixes=False)
    assert summary["status"] == "completed"  # a reason to look, not to stop
    assert sum(schema_name(b) == "EditPlanAnswer" for b in bodies) == 1
    audit = json.loads((Path(run_dir) / "audit.json").read_text())
    assert [(f["part"], f["corrected"]) for f in audit["plan_findings"]] == [("hair", False)]
    events = [
        json.loads(line) for line in (Path(run_dir) / "events.jsonl").read_text().splitlines()
    ]
    warnings = [e["detail"]["message"] for e in events if e["event"] == "warning"]
    assert any("the plan does not match the story" in w and "red hair" in w for w in warnings)
    assert "still in the plan" in (Path(run_dir) / "report.html").read_text()


def test_a_chat_plan_is_checked_and_corrected_before_it_is_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storyviz.agents.chat.session import ChatSession

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-correction")
    for fixes in (True, False):
        with (
            _server(fixes) as server,
            ChatSession.open(
                None, runs_dir=tmp_path / f"runs-{fixes}", planner=server.backend("m"), panels=3
            ) as chat,
        ):
            reply = chat.send(STORY)
            assert reply.kind == "plan", reply.text
            plan = chat.plan
            assert plan is not None
            mia = next(c for c in plan.characters if c.name == "Mia")
            assert mia.attributes.colors["hair"] == ("red" if fixes else "blue")
            noted = "Note: The plan does not match the story" in reply.text
            assert noted is not fixes, reply.text
            assert sum(schema_name(r.body) == "EditPlanAnswer" for r in server.requests) == 1


def test_the_correction_is_one_call_and_a_bad_answer_keeps_the_plan(tmp_path: Path) -> None:
    summary, bodies, folder = _run(tmp_path, fixes=True, invalid=True)
    edits = [b for b in bodies if schema_name(b) == "EditPlanAnswer"]
    assert summary["status"] == "completed" and len(edits) == 1  # no retry of a correction
    run_dir = Path(folder)
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    warnings = [e["detail"]["message"] for e in events if e["event"] == "warning"]
    assert any(w.startswith("the plan correction failed") for w in warnings), warnings
    plan = json.loads((run_dir / "plan.json").read_text())
    assert (
        next(c for c in plan["characters"] if c["name"] == "Mia")["attributes"]["colors"]["hair"]
        == "blue"
    )  # the plan as planned is drawn


def test_the_correction_gets_no_time_past_the_planning_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from storyviz import registry
    from storyviz.agents.planner.plan_check import check_plan, corrections
    from storyviz.errors import StoryvizError
    from storyviz.schemas import StoryRequest

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-correction")
    with _server(fixes=True) as server:
        planner = registry.build("planner", server.backend("m", deadline=30))
        request = StoryRequest(story=STORY, panels=3)
        plan = planner.plan(request)
        problems = corrections(check_plan(STORY, plan))
        assert problems
        getattr(planner, "_planning_deadline").at = 0.0  # noqa: B009 - as if it had passed
        with pytest.raises(StoryvizError, match="deadline"):
            planner.correct_plan(request, plan, problems)
        assert not any(schema_name(r.body) == "EditPlanAnswer" for r in server.requests)
