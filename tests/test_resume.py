"""A run killed mid-render resumes without redoing finished panels and ends like an unbroken run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_helpers import STORYVIZ, last_json, storyviz

pytestmark = pytest.mark.slow

DRIFT = "sketch?drift=0.5"


def _events(run_dir: Path) -> list[dict]:
    path = run_dir / "events.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def _final_images(run_dir: Path) -> dict[str, bytes]:
    audit = json.loads((run_dir / "audit.json").read_text())
    images = {
        pid: (
            run_dir / next(v["path"] for v in audit["versions"][pid] if v["version"] == n)
        ).read_bytes()
        for pid, n in audit["current"].items()
    }
    for page in sorted((run_dir / "pages").glob("*.png")):
        images[page.name] = page.read_bytes()
    return images


def test_resume_after_kill_matches_an_uninterrupted_run(tmp_path: Path, mia_story: str) -> None:
    story = tmp_path / "story.txt"
    story.write_text(mia_story)
    common = ["run", "--file", str(story), "--panels", "6", "--seed", "11", "--json", "-q"]

    reference = last_json(
        storyviz(*common, "--generator", DRIFT, "--runs-dir", str(tmp_path / "a"))
    )

    runs = tmp_path / "b"
    env = {**os.environ, "STORYVIZ_MAX_CONCURRENCY": "1"}
    proc = subprocess.Popen(
        [*STORYVIZ, *common, "--generator", f"{DRIFT}&delay=0.5", "--runs-dir", str(runs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    deadline = time.monotonic() + 60
    run_dir = None
    try:
        while time.monotonic() < deadline:
            dirs = [p for p in runs.iterdir() if p.is_dir()] if runs.exists() else []
            if dirs:
                run_dir = dirs[0]
                if sum(e["event"] == "rendered" for e in _events(run_dir)) >= 2:
                    break
            assert proc.poll() is None, "the run finished before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("the run never rendered two panels")
        time.sleep(0.15)  # let the checkpoint record the renders that just finished
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert run_dir is not None
    before = {e["panel_id"] for e in _events(run_dir) if e["event"] == "rendered"}
    assert 2 <= len(before) < 6
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "running"  # what it was doing when it died
    listed = last_json(storyviz("runs", "--runs-dir", str(runs), "--json"))
    assert listed[0]["status"] == "interrupted"

    resumed = last_json(
        storyviz(
            "resume", run_dir.name, "--runs-dir", str(runs), "--generator", DRIFT, "--json", "-q"
        )
    )
    assert resumed["status"] == "completed"

    events = _events(run_dir)
    resumed_at = next(i for i, e in enumerate(events) if e["event"] == "resumed")
    after = [e for e in events[resumed_at:] if e["event"] == "rendered" and e.get("version") == 1]
    assert not {e["panel_id"] for e in after} & before, "finished panels were rendered again"
    assert len(after) == 6 - len(before)

    assert (run_dir / "plan.json").read_text() == (
        Path(reference["run_dir"]) / "plan.json"
    ).read_text()
    assert _final_images(run_dir) == _final_images(Path(reference["run_dir"]))
    for key in ("panels", "consistency_index", "rounds", "findings", "repairs"):
        assert resumed[key] == reference[key], key

    again = last_json(storyviz("resume", run_dir.name, "--runs-dir", str(runs), "--json", "-q"))
    assert again["status"] == "completed"
