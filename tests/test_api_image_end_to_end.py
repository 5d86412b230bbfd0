"""Whole runs with an API image model as the generator: the real CLI, the real SDKs, and fake
image APIs on 127.0.0.1 (the story is planned offline, audited and repaired by the rules)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import last_json, storyviz
from fakes.gemini_images import FakeGeminiImageServer
from fakes.gemini_server import inline_images
from fakes.openai_images import FakeOpenAIImagesServer, Form

pytestmark = pytest.mark.slow

SECRET = "sk-test-SECRET-e2e-img"
STORY = (
    "Mia, a girl with red hair and a yellow raincoat, finds a silver robot dog named Bolt. "
    '"Are you lost?" Mia asks. Bolt beeps. They walk home in the rain.'
)


def _run(backend: str, runs: Path, env: dict[str, str]) -> dict[str, Any]:
    return last_json(
        storyviz(
            "run", STORY, "--panels", "3", "--generator", backend, "--runs-dir", str(runs),
            "--json", env={**os.environ, **env},
        )
    )  # fmt: skip


def _calls(run_dir: Path) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    return [e for e in events if e["event"] == "llm_call"]


def _no_secret_in(run_dir: Path) -> None:
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_a_run_with_openai_image_draws_the_cast_from_their_sheets(tmp_path: Path) -> None:
    with FakeOpenAIImagesServer() as server:
        backend = server.backend("gpt-image-1", quality="low")
        summary = _run(backend, tmp_path / "runs", {"OPENAI_API_KEY": SECRET})
        requests = server.requests

    assert summary["status"] == "completed" and summary["panels"] == 3
    run_dir = Path(summary["run_dir"])
    # two reference sheets generated, then every panel drawn as an edit of the sheets
    assert [r.path for r in requests[:2]] == ["/v1/images/generations"] * 2
    first_panel = requests[2].body
    assert isinstance(first_panel, Form) and len(first_panel.files["image[]"]) == 2
    assert sorted(p.name for p in (run_dir / "references").iterdir()) == ["bolt.png", "mia.png"]

    calls = _calls(run_dir)
    assert len(calls) == len(requests)
    assert {c["step"] for c in calls} == {"generator"}
    assert all(c["detail"]["images_out"] == 1 and c["detail"]["output_tokens"] for c in calls)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    generator = manifest["costs"]["llm_by_role"]["generator"]
    assert (generator["calls"], generator["images"]) == (len(requests), len(requests))
    assert manifest["costs"]["llm_calls"] == len(requests)
    assert "api_image.j2" in manifest["prompt_hashes"]
    audit = json.loads((run_dir / "audit.json").read_text())
    parameters = audit["versions"]["p01"][0]["parameters"]
    assert (parameters["renderer"], parameters["seed_honoured"]) == ("openai-image", False)
    _no_secret_in(run_dir)


def test_a_run_with_gemini_image_sends_the_sheets_with_each_panel(tmp_path: Path) -> None:
    with FakeGeminiImageServer() as server:
        summary = _run(server.backend(), tmp_path / "runs", {"GEMINI_API_KEY": SECRET})
        bodies = [r.body for r in server.requests]

    assert summary["status"] == "completed"
    run_dir = Path(summary["run_dir"])
    assert [len(inline_images(b)) for b in bodies[:2]] == [0, 0]  # the sheets themselves
    assert len(inline_images(bodies[2])) == 2  # a panel: both sheets
    calls = _calls(run_dir)
    assert len(calls) == len(bodies) and {c["step"] for c in calls} == {"generator"}
    _no_secret_in(run_dir)
