"""Weak and slow local models (issue 17, part 3): salvage, bounds, streamed progress.

Everything goes through the real openai SDK to the fake OpenAI-compatible server, which
answers as the API does (SSE chunks when the request streams, one JSON body when it does not
or when told it is a server that ignores ``stream``), so these tests fail if the client sends
the wrong field, misreads a chunk or waits past its deadline.
"""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import assert_one_line_error, last_json, storyviz
from fakes.openai_server import FakeOpenAIServer, schema_name
from llm_answers import panel_answer
from test_llm_end_to_end import STORY, _bible, _panels

from storyviz.agents.planner.llm.budget import answer_tokens
from storyviz.agents.planner.llm.planner import LLMPlanner
from storyviz.agents.planner.llm.salvage import ranges, usable_panels
from storyviz.agents.planner.llm.schema import CharacterBible, PanelAnswer, PanelsAnswer
from storyviz.agents.planner.rules.offline import OfflinePlanner
from storyviz.config import load_settings
from storyviz.errors import BackendError, DeadlineReached, ModelOutputError
from storyviz.registry import build
from storyviz.schemas import RunEvent, StoryRequest

NO_PANELS: dict[str, Any] = {"panels": []}


def _planner(server: FakeOpenAIServer, **options: object) -> tuple[LLMPlanner, list[str]]:
    """The planner a backend string builds, with its warnings collected."""
    planner = build("planner", server.backend("m", max_retries=0, **options))
    assert isinstance(planner, LLMPlanner)
    warnings: list[str] = []
    planner.warn = warnings.append
    return planner, warnings


def _answers(bible: object, panels: object) -> Any:
    def respond(body: dict[str, Any]) -> object:
        return bible if schema_name(body) == "CharacterBible" else panels

    return respond


def _events(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


# -- salvage -------------------------------------------------------------------------------------


def test_characters_right_but_no_panels_give_the_rules_panels_with_a_warning(
    tmp_path: Path,
) -> None:
    with FakeOpenAIServer() as server:
        server.respond_with(_answers(_bible(), NO_PANELS))
        summary = last_json(
            storyviz(
                "run", STORY, "--panels", "3", "--planner", server.backend("gemma"),
                "--runs-dir", str(tmp_path / "runs"), "--json",
            )
        )  # fmt: skip
        calls = len(server.requests)
    assert summary["status"] == "completed"
    assert calls == 4  # the bible, then the panels asked three times (retries=2)
    run_dir = Path(summary["run_dir"])
    plan = json.loads((run_dir / "plan.json").read_text())
    assert [c["name"] for c in plan["characters"]] == ["Mia", "Bolt"]  # the model's
    rules = OfflinePlanner().plan(StoryRequest(story=STORY, panels=3))
    assert [p["beat"] for p in plan["panels"]] == [p.beat for p in rules.panels]
    assert {m["character_id"] for p in plan["panels"] for m in p["cast"]} <= {"mia", "bolt"}
    (warning,) = [e for e in _events(run_dir) if e["event"] == "warning"]
    message = warning["detail"]["message"]
    assert "all panels from the rule-based planner" in message
    assert "the plan has no panels" in message
    html = (run_dir / "report.html").read_text()
    assert "all panels from the rule-based planner" in html


def test_a_half_right_plan_keeps_its_good_panels_and_repairs_the_rest() -> None:
    wrong = copy.deepcopy(_panels())
    wrong["panels"] = wrong["panels"][:2]  # two of three
    zed = {"character": "Zed", "box": {"x0": 0.2, "y0": 0.2, "x1": 0.5, "y1": 0.9}}
    wrong["panels"][1]["cast"].append(zed)  # nobody called Zed
    wrong["panels"][1]["dialogue"] = [{"speaker": "Zed", "text": "Hello!", "kind": "speech"}]
    wrong["panels"][1]["cast"][0]["box"] = {"x0": -0.2, "y0": 0.3, "x1": 0.4, "y1": 1.2}
    with FakeOpenAIServer() as server:
        server.respond_with(_answers(_bible(), wrong))
        planner, warnings = _planner(server)
        plan = planner.plan(StoryRequest(story=STORY, panels=3))
    rules = OfflinePlanner().plan(StoryRequest(story=STORY, panels=3))
    assert [p.beat for p in plan.panels] == [
        "Mia finds Bolt under a bench.",
        "Mia asks if he is lost.",
        rules.panels[2].beat,
    ]
    second = plan.panels[1]
    assert [m.character_id for m in second.cast] == ["mia", "bolt"]  # Zed removed
    assert second.cast[0].box == (0.0, 0.3, 0.4, 1.0)  # clamped into the panel
    assert [(d.speaker_id, d.text) for d in second.dialogue] == [(None, "Hello!")]
    assert [p.id for p in plan.panels] == ["p01", "p02", "p03"]
    assert sum(len(p.panel_ids) for p in plan.pages) == 3
    (warning,) = warnings
    assert "panel 3 from the rule-based planner" in warning
    assert "'Zed' removed" in warning and "\n" not in warning


def test_no_usable_character_takes_the_whole_plan_from_the_rules_without_another_call() -> None:
    nameless = {"title": "", "characters": [{"name": " ", "role": "main"}]}
    with FakeOpenAIServer() as server:
        server.respond_with(_answers(nameless, _panels()))
        planner, warnings = _planner(server, retries=1)
        plan = planner.plan(StoryRequest(story=STORY, panels=3))
        asked = [schema_name(r.body) for r in server.requests]
    rules = OfflinePlanner().plan(StoryRequest(story=STORY, panels=3))
    assert asked == ["CharacterBible", "CharacterBible"]
    assert plan.model_dump(exclude={"title"}) == rules.model_dump(exclude={"title"})
    assert "all panels and all characters from the rule-based planner" in warnings[0]


def test_one_step_mode_salvages_too() -> None:
    answer = {**_bible(), "panels": _panels()["panels"][:1]}
    with FakeOpenAIServer() as server:
        server.respond_with(lambda body: answer)
        planner, warnings = _planner(server, steps=1, retries=0)
        plan = planner.plan(StoryRequest(story=STORY, panels=3))
    assert plan.panels[0].beat == "Mia finds Bolt under a bench." and len(plan.panels) == 3
    assert "panels 2-3 from the rule-based planner" in warnings[0]


def test_fallback_none_is_strict(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.respond_with(_answers(_bible(), NO_PANELS))
        planner, warnings = _planner(server, fallback="none")
        with pytest.raises(ModelOutputError, match="after 3 attempts: the plan has no panels"):
            planner.plan(StoryRequest(story=STORY, panels=3))
        proc = storyviz(
            "run", STORY, "--panels", "3", "--planner", server.backend("m", fallback="none"),
            "--runs-dir", str(tmp_path / "runs"), "--quiet",
        )  # fmt: skip
    assert warnings == []
    assert_one_line_error(proc, "stayed invalid after 3 attempts: the plan has no panels")


def test_usable_panels_rules() -> None:
    mia = {"character": "Mia", "box": {"x0": 0.1, "y0": 0.1, "x1": 0.5, "y1": 0.9}}
    thin = {"character": "Bolt", "box": {"x0": 0.5, "y0": 0.1, "x1": 0.51, "y1": 0.9}}
    panels = [
        PanelAnswer.model_validate({"beat": "", "cast": [mia]}),
        PanelAnswer.model_validate({"beat": "one", "cast": [mia, mia, thin]}),
        PanelAnswer.model_validate({"beat": "two"}),
        PanelAnswer.model_validate({"beat": "three"}),
    ]
    kept = usable_panels(panels, ["Mia", "Bolt"], asked=1)
    assert [p.beat for p in kept.panels] == ["one"]
    assert [m.character for m in kept.panels[0].cast] == ["Mia"]
    assert "panel 1 had no beat" in kept.repairs
    assert "2 panels beyond the 1 asked for" in kept.repairs
    assert ranges([2, 3, 5, 7, 8, 9]) == "2-3, 5, 7-9" and ranges([4]) == "4"


# -- bounds --------------------------------------------------------------------------------------


def test_max_tokens_are_sent_as_each_api_expects(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAIServer() as server:
        server.respond_with(_answers(_bible(), _panels()))
        planner, _ = _planner(server)
        planner.plan(StoryRequest(story=STORY, panels=3))
        compat = [r.body for r in server.requests]
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-1")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        build("planner", "openai:gpt-test").plan(StoryRequest(story=STORY, panels=3))
        official = [r.body for r in server.requests[2:]]
        build("planner", server.backend("m", max_tokens=0)).plan(
            StoryRequest(story=STORY, panels=3)
        )
        uncapped = [r.body for r in server.requests[4:]]
    assert [b["max_tokens"] for b in compat] == [
        answer_tokens(CharacterBible, 3),
        answer_tokens(PanelsAnswer, 3),
    ]
    assert answer_tokens(PanelsAnswer, 3) < answer_tokens(PanelsAnswer, 6)
    assert all("max_completion_tokens" not in b for b in compat)
    assert [b["max_completion_tokens"] for b in official] == [b["max_tokens"] for b in compat]
    assert all("max_tokens" not in b for b in official)
    assert all("max_tokens" not in b and "max_completion_tokens" not in b for b in uncapped)


def test_the_deadline_cuts_a_slow_call_and_salvages() -> None:
    with FakeOpenAIServer() as server:
        server.answer(_bible())
        server.answer(_panels(), delay=10)  # a model still writing its panels
        planner, warnings = _planner(server, deadline=1.5)
        started = time.monotonic()
        plan = planner.plan(StoryRequest(story=STORY, panels=3))
        took = time.monotonic() - started
        calls = len(server.requests)
    assert took < 4, took
    assert calls == 2  # no retry started after the deadline
    assert [c.name for c in plan.characters] == ["Mia", "Bolt"] and len(plan.panels) == 3
    assert (
        "the planning deadline of 1.5 s (?deadline=1.5) was reached after 2 model calls"
        in (warnings[0])
    )


def test_the_deadline_cuts_a_streaming_answer() -> None:
    with FakeOpenAIServer() as server:
        server.chunk_delay, server.chunk_chars = 0.1, 4  # about 25 s for the bible
        server.respond_with(_answers(_bible(), _panels()))
        planner, warnings = _planner(server, deadline=1)
        planner.progress = lambda *report: None
        started = time.monotonic()
        plan = planner.plan(StoryRequest(story=STORY, panels=3))
        took = time.monotonic() - started
    assert took < 3, took
    rules = OfflinePlanner().plan(StoryRequest(story=STORY, panels=3))
    assert [p.beat for p in plan.panels] == [p.beat for p in rules.panels]
    assert "deadline of 1 s" in warnings[0] and "after 1 model call" in warnings[0]


def test_the_deadline_with_fallback_none_fails_in_one_line(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.answer(_bible(), delay=10)
        planner, _ = _planner(server, deadline=1, fallback="none")
        with pytest.raises(DeadlineReached, match=r"deadline of 1 s \(\?deadline=1\)"):
            planner.plan(StoryRequest(story=STORY, panels=3))
        server.answer(_bible(), delay=10)
        proc = storyviz(
            "run", STORY, "--panels", "3", "--runs-dir", str(tmp_path / "runs"), "--quiet",
            "--planner", server.backend("m", deadline=1, fallback="none", max_retries=0),
        )  # fmt: skip
    assert_one_line_error(proc, "the planning deadline of 1 s (?deadline=1) was reached")


@pytest.mark.parametrize(
    ("option", "fragment"),
    [
        ("deadline=soon", "option deadline='soon' is invalid"),
        ("deadline=0", "deadline must be within"),
        ("deadline=nan", "not a finite number"),
        ("fallback=maybe", "fallback must be one of rules, none"),
        ("max_tokens=-1", "max_tokens must be within"),
        ("stream=perhaps", "stream"),
    ],
)
def test_bad_options_are_refused_before_any_call(option: str, fragment: str) -> None:
    with pytest.raises(BackendError, match=re.escape(fragment)) as caught:
        build("planner", f"openai-compat:http://127.0.0.1:9/v1#m?{option}")
    assert "\n" not in str(caught.value)


def test_a_bad_deadline_is_a_one_line_error_from_storyviz_run(tmp_path: Path) -> None:
    backend = "openai-compat:http://127.0.0.1:9/v1#m?deadline=soon"
    proc = storyviz(
        "run", STORY, "--planner", backend, "--runs-dir", str(tmp_path / "runs"), "--quiet"
    )
    assert_one_line_error(proc, "option deadline='soon' is invalid")


# -- streaming -----------------------------------------------------------------------------------


def test_a_streamed_plan_reports_tokens_as_they_arrive() -> None:
    progress: list[tuple[str, int, float, int | None]] = []
    with FakeOpenAIServer() as server:
        server.chunk_delay = 0.01
        server.respond_with(_answers(_bible(), _panels()))
        planner, _ = _planner(server)
        planner.progress = lambda *report: progress.append(report)
        plan = planner.plan(StoryRequest(story=STORY, panels=3))
        bodies = [r.body for r in server.requests]
    assert [c.name for c in plan.characters] == ["Mia", "Bolt"] and len(plan.panels) == 3
    assert all(b["stream"] is True for b in bodies)
    assert all(b["stream_options"] == {"include_usage": True} for b in bodies)
    assert bodies[0]["response_format"]["type"] == "json_schema"
    purposes = [p for p, _, _, _ in progress]
    assert "plan characters" in purposes and "plan panels" in purposes
    counts = [t for p, t, _, _ in progress if p == "plan characters"]
    assert {m for p, _, _, m in progress if p == "plan characters"} == {
        answer_tokens(CharacterBible, 3)
    }
    assert counts == sorted(counts) and len(counts) >= 2  # it grew while the answer came
    assert counts[-1] == -(-len(json.dumps(_bible())) // 8)  # one token per 8-character chunk


def test_a_server_that_does_not_stream_still_works() -> None:
    with FakeOpenAIServer() as server:
        server.streams = False  # answers one JSON body whatever the request says
        server.respond_with(_answers(_bible(), _panels()))
        planner, warnings = _planner(server)
        planner.progress = lambda *report: None
        plan = planner.plan(StoryRequest(story=STORY, panels=3))
        assert server.last.body["stream"] is True
    assert len(plan.panels) == 3 and warnings == []


def test_stream_false_sends_no_stream() -> None:
    with FakeOpenAIServer() as server:
        server.respond_with(_answers(_bible(), _panels()))
        planner, _ = _planner(server, stream="false")
        planner.progress = lambda *report: None
        planner.plan(StoryRequest(story=STORY, panels=3))
        assert all(r.body.get("stream") is not True for r in server.requests)


def test_a_streamed_refusal_and_cut_off_answer_are_read_from_chunks() -> None:
    from storyviz.errors import RefusalError

    with FakeOpenAIServer() as server:
        server.refuse("I can't plan that.")
        planner, _ = _planner(server)
        planner.progress = lambda *report: None
        with pytest.raises(RefusalError, match="I can't plan that."):
            planner.plan(StoryRequest(story=STORY, panels=3))
        server.truncated('{"title": "Mia", "characters": [')
        server.respond_with(_answers(_bible(), _panels()))
        plan = planner.plan(StoryRequest(story=STORY, panels=3))
        retry = server.requests[2].body["messages"][-1]["content"]
    assert len(plan.panels) == 3 and "finish_reason=length" in retry


def test_a_run_shows_tokens_per_second_on_its_progress_line(tmp_path: Path) -> None:
    """The runner turns streamed tokens into live events and the CLI's line shows the rate."""
    from storyviz.agents.runner import start_run
    from storyviz.cli import _Progress

    seen: list[RunEvent] = []
    with FakeOpenAIServer() as server:
        server.chunk_delay = 0.01
        server.respond_with(_answers(_bible(), _panels()))
        settings = load_settings(runs_dir=tmp_path / "runs", planner=server.backend("m"))
        outcome = start_run(settings, StoryRequest(story=STORY, panels=3), listener=seen.append)
    assert outcome.status == "completed"
    live = [e for e in seen if e.event == "llm_progress"]
    assert live and {e.detail["purpose"] for e in live} == {"plan characters", "plan panels"}
    assert "llm_progress" not in (Path(outcome.run_dir) / "events.jsonl").read_text()
    display = _Progress()
    with display:
        display(live[-1])
        (task,) = display.progress.tasks
        assert task.description.endswith("tokens/s")
        assert f"plan panels: {live[-1].detail['tokens']} tokens" in task.description
        assert (task.completed, task.total) == (
            live[-1].detail["tokens"],
            answer_tokens(PanelsAnswer, 3),
        )
        display(RunEvent(event="llm_call", step="planner"))
        assert display.progress.tasks == []


def test_an_answer_the_model_pads_forever_is_cut_by_max_tokens_and_sent_back() -> None:
    """What a small model does: an answer longer than the cap comes back `length`, is sent
    back once, and the salvage keeps what parsed."""
    padded = panel_answer("Mia finds Bolt under a bench.", ["Mia", "Bolt"])
    with FakeOpenAIServer() as server:
        server.answer(_bible())
        server.truncated(json.dumps({"panels": [padded] * 3})[:200])
        server.answer({"panels": [padded]})
        planner, warnings = _planner(server, retries=1)
        plan = planner.plan(StoryRequest(story=STORY, panels=3))
    assert plan.panels[0].beat == "Mia finds Bolt under a bench."
    assert "panels 2-3 from the rule-based planner" in warnings[0]


def test_gemini_gets_the_cap_as_max_output_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    from fakes.gemini_server import FakeGeminiServer

    monkeypatch.setenv("GEMINI_API_KEY", "gm-test-1")
    with FakeGeminiServer() as server:
        server.answer(_bible())
        server.answer(_panels())
        plan = build("planner", server.backend("m")).plan(StoryRequest(story=STORY, panels=3))
        configs = [r.body["generationConfig"] for r in server.requests]
    assert len(plan.panels) == 3
    assert [c["maxOutputTokens"] for c in configs] == [
        answer_tokens(CharacterBible, 3),
        answer_tokens(PanelsAnswer, 3),
    ]


def test_prompts_not_written_by_the_deadline_come_from_the_template() -> None:
    from fakes.chat_model import ScriptedChat
    from test_planner_llm import bible, good_panels, request
    from test_prompt_writer import WORDS

    def slow(messages: object, schema: type, purpose: str) -> object:
        if purpose == "plan panels":
            time.sleep(0.6)  # the deadline passes while the panels are written
            return good_panels()
        return bible()

    chat = ScriptedChat(responder=slow)
    planner = LLMPlanner(chat, write_prompts=True, deadline=0.5)
    planner.bind_prompt_format(WORDS)
    warnings: list[str] = []
    planner.warn = warnings.append
    plan = planner.plan(request())
    assert [c.purpose for c in chat.calls] == ["plan characters", "plan panels"]
    assert all(p.image_prompt is None for p in plan.panels) and len(plan.panels) == 4
    assert "deadline of 0.5 s" in warnings[0] and "prompts come from the template" in warnings[0]
    caps = [limits.max_tokens for limits in chat.limits if limits is not None]
    assert caps == [answer_tokens(CharacterBible, 4), answer_tokens(PanelsAnswer, 4)]
    with pytest.raises(DeadlineReached):
        strict = LLMPlanner(ScriptedChat(responder=slow), write_prompts=True, deadline=0.5,
                            fallback="none")  # fmt: skip
        strict.bind_prompt_format(WORDS)
        strict.plan(request())


def test_gemini_calls_are_cut_at_the_deadline_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from fakes.gemini_server import FakeGeminiServer

    monkeypatch.setenv("GEMINI_API_KEY", "gm-test-1")
    with FakeGeminiServer() as server:
        server.answer(_bible(), delay=10)
        planner = build("planner", server.backend("m", deadline=1, max_retries=0))
        assert isinstance(planner, LLMPlanner)
        warnings: list[str] = []
        planner.warn = warnings.append
        started = time.monotonic()
        plan = planner.plan(StoryRequest(story=STORY, panels=3))
        took = time.monotonic() - started
    assert took < 3, took
    assert len(plan.panels) == 3 and "deadline of 1 s" in warnings[0]


def test_a_repeated_problem_is_named_once_with_its_count() -> None:
    from storyviz.agents.planner.llm.retry import summarise

    said = summarise(["panel 1: speaker '5,' made off-panel"] * 5 + ["panel 2: no cast", "a\nb"])
    assert said == "panel 1: speaker '5,' made off-panel (x5); panel 2: no cast; a b"
    many = summarise([f"problem {n}" for n in range(8)])
    assert many.endswith("problem 4; and 3 more")
