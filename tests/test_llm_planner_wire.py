"""The model-backed planner through the real SDKs and fake servers: what goes over the wire."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cli_helpers import assert_one_line_error, storyviz
from fakes.gemini_server import FakeGeminiServer, request_text
from fakes.openai_server import FakeOpenAIServer, message_text, schema_name
from test_llm_end_to_end import STORY, _bible, _panels

from storyviz.errors import ModelOutputError
from storyviz.registry import build
from storyviz.schemas import StoryRequest


def test_a_semantically_wrong_plan_is_sent_back_with_its_errors() -> None:
    wrong = copy.deepcopy(_panels())
    wrong["panels"][1]["cast"][0]["character"] = "Zed"  # nobody called Zed
    with FakeOpenAIServer() as server:
        server.answer(_bible())
        server.answer(wrong)
        server.answer(_panels())
        planner = build("planner", server.backend("m"))
        plan = planner.plan(StoryRequest(story=STORY, panels=3))
        bodies = [r.body for r in server.requests]
    assert [c.name for c in plan.characters] == ["Mia", "Bolt"] and len(plan.panels) == 3
    assert [schema_name(b) for b in bodies] == ["CharacterBible", "PanelsAnswer", "PanelsAnswer"]
    retry = message_text(bodies[2])
    assert "Zed" in retry and "problems" in retry.lower()
    assert "Zed" not in message_text(bodies[1])


def test_a_plan_that_stays_wrong_fails_naming_the_problem() -> None:
    short: dict[str, Any] = {"panels": _panels()["panels"][:2]}
    with FakeOpenAIServer() as server:
        server.answer(_bible())
        server.answer(short, times=3)
        planner = build("planner", server.backend("m", retries=2, fallback="none"))
        with pytest.raises(ModelOutputError, match="asked for 3"):
            planner.plan(StoryRequest(story=STORY, panels=3))
        assert len(server.requests) == 4


def test_the_gemini_planner_sends_the_story_and_a_json_schema(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "gm-test-SECRET-1")
    with FakeGeminiServer() as server:
        server.answer(_bible())
        server.answer(_panels())
        plan = build("planner", server.backend("m")).plan(StoryRequest(story=STORY, panels=3))
        first = server.requests[0].body
    assert len(plan.panels) == 3
    assert "Are you lost?" in request_text(first)
    assert first["generationConfig"]["responseMimeType"] == "application/json"


def test_a_missing_key_is_one_line_naming_the_variable_and_leaves_no_run(tmp_path: Any) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    runs = tmp_path / "runs"
    proc = storyviz(
        "run", STORY, "--planner", "openai:gpt-4.1-mini", "--runs-dir", str(runs), env=env
    )
    assert_one_line_error(proc, "OPENAI_API_KEY")
    assert not runs.exists() or not any(runs.iterdir())
