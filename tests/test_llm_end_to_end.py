"""A whole run with a model as planner, auditor and repairer: the real CLI, the real openai SDK,
and a fake OpenAI-compatible server on 127.0.0.1 that answers from what it is asked."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from cli_helpers import assert_one_line_error, last_json, storyviz
from fakes.openai_server import FakeOpenAIServer, image_urls, message_text, schema_name
from llm_answers import panel_answer

pytestmark = pytest.mark.slow

SECRET = "sk-test-SECRET-4242"
STORY = (
    "Mia, a girl with red hair and a yellow raincoat, finds a silver robot dog named Bolt. "
    '"Are you lost?" Mia asks. Bolt beeps. They walk home in the rain.'
)
EVIDENCE = "the hair of the girl in the middle is clearly blue, not red"


def _bible() -> dict[str, Any]:
    return {
        "title": "Mia finds Bolt",
        "characters": [
            {
                "name": "Mia",
                "role": "main",
                "description": "a girl with red hair and a yellow raincoat",
                "species": "human",
                "age": "child",
                "hair": "red hair",
                "eyes": "",
                "skin": "",
                "outfit": "yellow raincoat",
                "accessories": [],
                "colours": [
                    {"part": "hair", "colour": "red"},
                    {"part": "outfit", "colour": "yellow"},
                ],
            },
            {
                "name": "Bolt",
                "role": "main",
                "description": "a small silver robot dog",
                "species": "robot dog",
                "age": "",
                "hair": "",
                "eyes": "",
                "skin": "silver plating",
                "outfit": "",
                "accessories": [],
                "colours": [{"part": "fur", "colour": "silver"}],
            },
        ],
    }


def _panels() -> dict[str, Any]:
    return {
        "panels": [
            panel_answer("Mia finds Bolt under a bench.", ["Mia", "Bolt"]),
            panel_answer(
                "Mia asks if he is lost.",
                ["Mia", "Bolt"],
                {"speaker": "Mia", "text": "Are you lost?", "kind": "speech"},
            ),
            panel_answer("They walk home in the rain.", ["Mia", "Bolt"]),
        ]
    }


def _audit(body: dict[str, Any]) -> dict[str, Any]:
    """Panel p02's first version has blue hair; everything else is on model."""
    labels = sorted(set(re.findall(r"panel (p\d+) v(\d+)", message_text(body))))
    verdicts = []
    for panel_id, version in labels:
        findings = []
        if (panel_id, version) == ("p02", "1"):
            findings.append(
                {
                    "character_id": "mia",
                    "kind": "attribute",
                    "attribute": "hair",
                    "severity": "major",
                    "expected": "red",
                    "observed": "blue",
                    "region": [0.15, 0.35, 0.4, 0.5],
                    "evidence": EVIDENCE,
                    "suggestion": "restore her red hair",
                }
            )
        verdicts.append({"panel_id": panel_id, "findings": findings})
    return {"panels": verdicts}


def _repair() -> dict[str, Any]:
    return {
        "strategy": "reprompt",
        "emphasis": ["Mia's red hair", "Mia's yellow raincoat"],
        "strength": None,
        "finding_ids": None,
        "rationale": "restate Mia's red hair so the redraw keeps the sheet",
    }


def _respond(body: dict[str, Any]) -> Any:
    name = schema_name(body)
    if name == "CharacterBible":
        return _bible()
    if name == "PanelsAnswer":
        return _panels()
    if name == "AuditAnswer":
        return _audit(body)
    if name == "RepairAnswer":
        return _repair()
    raise AssertionError(f"unexpected schema {name!r}")


def _env() -> dict[str, str]:
    return {**os.environ, "OPENAI_API_KEY": SECRET}


def test_a_run_with_an_openai_compatible_planner_auditor_and_repairer(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.respond_with(_respond)
        backend = server.backend("m")
        summary = last_json(
            storyviz(
                "run", STORY, "--panels", "3", "--planner", backend, "--auditor", f"vlm:{backend}",
                "--repairer", backend, "--runs-dir", str(tmp_path / "runs"), "--json",
                env=_env(),
            )
        )  # fmt: skip
        requests = [r.body for r in server.requests]

    assert summary["status"] == "completed"
    assert (summary["findings"], summary["repairs"], summary["consistency_index"]) == (1, 1, 1.0)
    run_dir = Path(summary["run_dir"])

    # what the client sent: the story, the schemas, the panel images
    planner_requests = [b for b in requests if schema_name(b) in ("CharacterBible", "PanelsAnswer")]
    assert "Are you lost?" in message_text(planner_requests[0])
    assert planner_requests[0]["response_format"]["type"] == "json_schema"
    audits = [b for b in requests if schema_name(b) == "AuditAnswer"]
    assert all(u.startswith("data:image/png;base64,") for b in audits for u in image_urls(b))
    assert len(image_urls(audits[0])) >= 3  # three panels (plus references) in one call

    # the findings, the repair and the model's costs are in the run folder and the report
    audit = json.loads((run_dir / "audit.json").read_text())
    (finding,) = audit["versions"]["p02"][0]["findings"]
    assert (finding["expected"], finding["observed"], finding["evidence"]) == (
        "red",
        "blue",
        EVIDENCE,
    )
    assert audit["versions"]["p02"][1]["repair"]["strategy"] == "reprompt"
    assert audit["current"]["p02"] == 2
    html = (run_dir / "report.html").read_text()
    assert EVIDENCE in html and "restate Mia&#39;s red hair" in html
    assert "Model calls by role" in html

    manifest = json.loads((run_dir / "manifest.json").read_text())
    by_role = manifest["costs"]["llm_by_role"]
    assert set(by_role) == {"planner", "auditor", "repairer"}
    assert by_role["planner"]["calls"] == 2 and manifest["costs"]["llm_calls"] == len(requests)
    assert {"planner_characters.j2", "audit_panels.j2", "repair_action.j2"} <= set(
        manifest["prompt_hashes"]
    )
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    calls = [e for e in events if e["event"] == "llm_call"]
    assert len(calls) == len(requests) and all(c["detail"]["input_tokens"] > 0 for c in calls)

    # the key never reaches the run folder, in any file
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_the_llm_call_budget_stops_a_run_cleanly(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.respond_with(_respond)
        backend = server.backend("m")
        runs = tmp_path / "runs"
        proc = storyviz(
            "run", STORY, "--panels", "3", "--planner", backend, "--auditor", f"vlm:{backend}",
            "--max-llm-calls", "2", "--runs-dir", str(runs), "-q", env=_env(),
        )  # fmt: skip
        assert_one_line_error(proc, "budget of 2")
        (run_dir,) = runs.iterdir()
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert manifest["status"] == "interrupted" and manifest["costs"]["llm_calls"] == 2
        assert len(list((run_dir / "panels").glob("*.png"))) == 3

        resumed = last_json(
            storyviz("resume", run_dir.name, "--runs-dir", str(runs), "--json", env=_env())
        )
    assert resumed["status"] == "completed" and resumed["findings"] == 1


def test_an_unreachable_server_is_one_line_and_the_run_says_failed(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    proc = storyviz(
        "run", STORY, "--planner", "openai-compat:http://127.0.0.1:9/v1#m?max_retries=0",
        "--runs-dir", str(runs), "-q", env=_env(),
    )  # fmt: skip
    assert_one_line_error(proc, "127.0.0.1:9")
    (run_dir,) = runs.iterdir()
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "failed"


def test_credentials_in_backend_urls_reach_no_file_of_the_run_and_no_output(
    tmp_path: Path,
) -> None:
    """Userinfo in a model URL and a secret query parameter in an option URL, in three roles:
    the manifest (config and backends), events, audit file and report show none of them."""
    hidden = "SECRET"
    proxy = f"https://{hidden}-token@proxy.example/v1?api_key={hidden}-query&size=2"
    with FakeOpenAIServer() as server:
        server.respond_with(_respond)
        url = server.base_url.replace("http://", f"http://user:{hidden}-password@")
        proc = storyviz(
            "run", STORY, "--panels", "3", "--max-rounds", "0",
            "--planner", f"openai-compat:{url}#m",
            "--auditor", f"offline+vlm:openai-compat:{url}#m",
            "--repairer", "gemini:gemini-2.5-flash?" + urlencode({"base_url": proxy}),
            "--runs-dir", str(tmp_path / "runs"), "--json",
            env={**_env(), "GEMINI_API_KEY": "gm-test-key"},
        )  # fmt: skip
    summary = last_json(proc)

    assert summary["status"] == "completed"
    assert hidden not in proc.stdout and hidden not in proc.stderr
    run_dir = Path(summary["run_dir"])
    files = [path for path in run_dir.rglob("*") if path.is_file()]
    assert {"manifest.json", "report.html", "events.jsonl", "audit.json"} <= {p.name for p in files}
    for path in files:
        assert hidden.encode() not in path.read_bytes(), path
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["backends"]["planner"].startswith("openai-compat:http://***@127.0.0.1:")
    assert "size%3D2" in manifest["config"]["repairer"]  # what is not secret stays readable


def test_a_planner_answering_a_truncated_body_is_one_line_and_the_run_says_failed(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"
    with FakeOpenAIServer() as server:
        server.garbled("truncated JSON")
        proc = storyviz(
            "run", STORY, "--planner", server.backend("m", max_retries=0),
            "--runs-dir", str(runs), "-q", env=_env(),
        )  # fmt: skip

    assert_one_line_error(proc, "answer cannot be read (JSONDecodeError")
    (run_dir,) = runs.iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "answer cannot be read" in manifest["error"]
