"""A run killed with SIGKILL at any point resumes without drawing again what it had drawn, and
ends byte for byte like an unbroken run; one process writes a run at a time.

The kill sweep runs real subprocesses (tests/kill_sweep.py); benchmarks/resume_sweep.py runs the
same sweep over 12 panels and prints the table.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_helpers import STORYVIZ, last_json, storyviz
from kill_sweep import after_count, events, final_files, kill_run, resume, trial, wait_for

pytestmark = pytest.mark.slow

PANELS = 6
DRIFT = "sketch?drift=0.5"


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import MIA_STORY

    path = tmp_path_factory.mktemp("story") / "story.txt"
    path.write_text(MIA_STORY)
    return path


def _args(story: Path) -> list[str]:
    return ["--file", str(story), "--panels", str(PANELS), "--seed", "11"]


@pytest.fixture(scope="module")
def unbroken(story: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """The final files and summary of unbroken runs, without and with drift."""
    out = {}
    for generator in ("sketch", DRIFT):
        runs = tmp_path_factory.mktemp("unbroken")
        summary = last_json(
            storyviz("run", *_args(story), "--generator", generator, "--runs-dir", str(runs),
                     "--json", "-q")
        )  # fmt: skip
        out[generator] = {"summary": summary, "files": final_files(Path(summary["run_dir"]))}
    return out


@pytest.mark.parametrize(
    ("generator", "kind", "k"),
    [("sketch?delay=0.3", "reference", 1)]
    + [("sketch?delay=0.3", "rendered", k) for k in range(1, PANELS)]
    + [(f"{DRIFT}&delay=0.3", "repaired", k) for k in (1, 2)],
)
def test_a_kill_at_any_point_redraws_nothing(
    story: Path, unbroken: dict[str, dict], tmp_path: Path, generator: str, kind: str, k: int
) -> None:
    result = trial([*_args(story), "--generator", generator], tmp_path / "runs",
                   after_count(kind, k))  # fmt: skip
    assert result.at_kill.get(kind, 0) >= k
    assert result.resume_status == "completed"
    assert result.redraws == 0, f"the resume drew again {result.redraws} finished drawing(s)"
    expected = unbroken[DRIFT if "drift" in generator else "sketch"]
    assert final_files(result.run_dir) == expected["files"]
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    for key in ("panels", "consistency_index", "rounds", "findings", "repairs"):
        assert manifest[key] == expected["summary"][key], key


def test_a_killed_run_lists_as_interrupted_and_resumes_once(story: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    run_dir = kill_run([*_args(story), "--generator", "sketch?delay=0.3"], runs,
                       after_count("rendered", 2))  # fmt: skip
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "running"  # what it was doing when it died
    listed = last_json(storyviz("runs", "--runs-dir", str(runs), "--json"))
    assert listed[0]["status"] == "interrupted"

    leftover = run_dir / "panels" / ".p09_v1.png.4242.1.tmp"  # a write the kill cut short
    leftover.write_bytes(b"\x89PNG half")
    assert resume(run_dir)["status"] == "completed"
    assert not leftover.exists()
    assert not list(run_dir.rglob(".*.tmp"))

    again = last_json(storyviz("resume", run_dir.name, "--runs-dir", str(runs), "--json", "-q"))
    assert again["status"] == "completed"
    assert sum(e["event"] == "resumed" for e in events(run_dir)) == 1


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([*STORYVIZ, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip


def _refused_naming(proc: subprocess.CompletedProcess[str], pid: int) -> None:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"process {pid}" in lines[0] and "Traceback" not in proc.stderr


def test_one_writer_per_run(story: Path, tmp_path: Path) -> None:
    """A resume of a run being drawn, or a second resume, is refused at once naming the
    writer's pid; the writer's SIGKILL frees the run (no stale lock)."""
    runs = tmp_path / "runs"
    slow = "sketch?delay=1.5"  # seconds of drawing left after each wait: room for the checks
    first = _start(["run", *_args(story), "--generator", slow, "--runs-dir", str(runs), "-q"])
    try:
        run_dir = wait_for(runs, after_count("reference", 1), first)
        t0 = time.monotonic()
        busy = storyviz("resume", run_dir.name, "--runs-dir", str(runs))
        assert time.monotonic() - t0 < 20  # refused, not waited for
        _refused_naming(busy, first.pid)
        listed = last_json(storyviz("runs", "--runs-dir", str(runs), "--json"))
        assert listed[0]["status"] == "running"  # its writer holds the lock
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()

    resumer = _start(["resume", run_dir.name, "--runs-dir", str(runs), "--generator", slow,
                      "-q"])  # fmt: skip
    try:
        wait_for(runs, after_count("resumed", 1), resumer)
        _refused_naming(storyviz("resume", run_dir.name, "--runs-dir", str(runs)), resumer.pid)
    finally:
        resumer.send_signal(signal.SIGKILL)
        resumer.wait()
    assert sum(e["event"] == "resumed" for e in events(run_dir)) == 1

    done = last_json(storyviz("resume", run_dir.name, "--runs-dir", str(runs), "--json", "-q"))
    assert done["status"] == "completed"
    log = events(run_dir)
    assert sum(e["event"] == "resumed" for e in log) == 2
    assert sum(e["event"] == "rendered" for e in log) == PANELS  # each panel drawn once
    assert os.path.exists(run_dir / ".writer.lock")  # the lock file stays; its flock does not
