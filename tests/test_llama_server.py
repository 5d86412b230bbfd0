"""Opt-in: a real llama.cpp server with a weak model (Gemma-3-270M) plans a comic in bounded time.

Skipped unless ``STORYVIZ_LLAMA_URL`` names a running server (``scripts/llama_server.sh``
builds and starts one); the fakes cannot tell whether a real server reads ``max_tokens``,
streams, and honours a ``json_schema`` response format, and this says so in a minute. Whatever
the model answers, the run must end with a comic of the panels asked for, within the deadline
plus the drawing, each call within its token cap, and any help from the rules in a warning.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path

import pytest
from cli_helpers import last_json, storyviz

from storyviz.agents.planner.llm.budget import answer_tokens
from storyviz.agents.planner.llm.schema import CharacterBible, PanelsAnswer

pytestmark = pytest.mark.slow

URL = os.environ.get("STORYVIZ_LLAMA_URL", "").rstrip("/")
DEADLINE = 240.0
STORY = (
    "Mia, a girl with red hair and a yellow raincoat, finds a silver robot dog named Bolt. "
    '"Are you lost?" Mia asks. Bolt beeps. They walk home in the rain.'
)


def _server_up() -> bool:
    if not URL:
        return False
    try:
        with urllib.request.urlopen(f"{URL}/models", timeout=5) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.mark.skipif(not _server_up(), reason="no llama.cpp server at STORYVIZ_LLAMA_URL")
def test_a_weak_local_model_gives_a_comic_within_its_deadline(tmp_path: Path) -> None:
    backend = f"openai-compat:{URL}#gemma?deadline={DEADLINE:g}&timeout=120"
    started = time.monotonic()
    summary = last_json(
        storyviz(
            "run", STORY, "--panels", "3", "--planner", backend,
            "--runs-dir", str(tmp_path / "runs"), "--json", timeout=DEADLINE + 180,
        )
    )  # fmt: skip
    took = time.monotonic() - started
    assert summary["status"] == "completed"
    run_dir = Path(summary["run_dir"])
    plan = json.loads((run_dir / "plan.json").read_text())
    assert len(plan["panels"]) == 3
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    calls = [e for e in events if e["event"] == "llm_call" and e["step"] == "planner"]
    cap = max(answer_tokens(CharacterBible, 3), answer_tokens(PanelsAnswer, 3))
    assert calls and all(c["detail"]["output_tokens"] <= cap for c in calls)
    planned = next(e for e in events if e["event"] == "planned")
    assert planned["seconds"] <= DEADLINE + 15, planned["seconds"]
    warnings = [e["detail"]["message"] for e in events if e["event"] == "warning"]
    print(
        f"\nllama.cpp gemma: {len(calls)} calls, plan in {planned['seconds']:.1f} s, run in "
        f"{took:.1f} s, {sum(c['detail']['output_tokens'] for c in calls)} output tokens; "
        f"warnings: {warnings or 'none'}"
    )
