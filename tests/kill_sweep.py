"""Killing a real `storyviz run` with SIGKILL at a chosen point, resuming it, and counting what
the resume drew again.

Shared by tests/test_resume.py (a short sweep in CI) and benchmarks/resume_sweep.py (the full
table). A drawing is a ``reference``, ``rendered`` or ``repaired`` event: the run writes it only
after the image is saved, so a drawing whose event was written before the kill and is written
again after the ``resumed`` event is a redraw, the waste the resume must never cause.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STORYVIZ = [sys.executable, "-m", "storyviz"]
DRAWINGS = ("reference", "rendered", "repaired")

Event = dict[str, Any]
StopWhen = Callable[[list[Event]], bool]


def events(run_dir: Path) -> list[Event]:
    """events.jsonl as written so far; a line cut short by the kill is skipped."""
    path = run_dir / "events.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def drawing_key(event: Event) -> tuple[str, str, int] | None:
    if event.get("event") not in DRAWINGS:
        return None
    target = event.get("panel_id") or event.get("detail", {}).get("character", "")
    return (event["event"], str(target), int(event.get("version") or 0))


def after_count(kind: str, k: int) -> StopWhen:
    """Stop once ``k`` events of ``kind`` (e.g. ``rendered``) are in the log."""
    return lambda log: sum(e.get("event") == kind for e in log) >= k


def final_files(run_dir: Path) -> dict[str, bytes]:
    """The current version of every panel and every page, by name: what a reader of the comic
    sees, to compare an interrupted run with an unbroken one byte for byte."""
    audit = json.loads((run_dir / "audit.json").read_text(encoding="utf-8"))
    files = {}
    for pid, number in audit["current"].items():
        path = next(v["path"] for v in audit["versions"][pid] if v["version"] == number)
        files[pid] = (run_dir / path).read_bytes()
    for page in sorted((run_dir / "pages").glob("*.png")):
        files[page.name] = page.read_bytes()
    return files


@dataclass
class Trial:
    run_dir: Path
    at_kill: dict[str, int]  # drawings per kind in the log when the kill landed
    redraws: int  # drawings done before the kill and done again by the resume
    drawn_by_resume: int
    recovered: int  # versions the resume took from the run folder instead of drawing
    resume_status: str


def kill_run(
    args: list[str],
    runs_dir: Path,
    stop: StopWhen,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> Path:
    """Start ``storyviz run ARGS --runs-dir RUNS_DIR`` and SIGKILL it once ``stop`` holds for its
    event log. Returns the run folder; fails if the run finished first."""
    proc = subprocess.Popen(
        [*STORYVIZ, "run", *args, "--runs-dir", str(runs_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    try:
        return wait_for(runs_dir, stop, proc, timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        if proc.stderr:
            proc.stderr.close()


def wait_for(
    runs_dir: Path,
    stop: StopWhen,
    proc: subprocess.Popen[Any] | None = None,
    *,
    timeout: float = 60.0,
) -> Path:
    """The (only) run folder in ``runs_dir`` once ``stop`` holds for its event log; fails if
    ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dirs = [p for p in runs_dir.iterdir() if p.is_dir()] if runs_dir.exists() else []
        if dirs and stop(events(dirs[0])):
            return dirs[0]
        if proc is not None and proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            err = err.decode() if isinstance(err, bytes) else err
            raise AssertionError(f"the process ended before the awaited point: {err.strip()}")
        time.sleep(0.005)
    raise AssertionError("the run never reached the awaited point")


def resume(run_dir: Path, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    proc = subprocess.run(
        [
            *STORYVIZ,
            "resume",
            run_dir.name,
            "--runs-dir",
            str(run_dir.parent),
            "--json",
            "-q",
            *extra,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        raise AssertionError(f"resume failed ({proc.returncode}): {proc.stderr.strip()}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def count(run_dir: Path, before: list[Event], status: str) -> Trial:
    """What the resume did, judged from the log written before and after the kill."""
    log = events(run_dir)
    done = {key for e in before if (key := drawing_key(e))}
    at_kill: dict[str, int] = {}
    for kind, _, _ in done:
        at_kill[kind] = at_kill.get(kind, 0) + 1
    resumes = [i for i, e in enumerate(log) if e.get("event") == "resumed"]
    after = log[resumes[-1] :] if resumes else []  # none: the kill landed after the run ended
    drawn = [key for e in after if (key := drawing_key(e))]
    return Trial(
        run_dir=run_dir,
        at_kill=at_kill,
        redraws=sum(key in done for key in drawn),
        drawn_by_resume=len(drawn),
        recovered=sum(e.get("event") == "recovered" for e in after),
        resume_status=status,
    )


def trial(
    args: list[str],
    runs_dir: Path,
    stop: StopWhen,
    *,
    env: dict[str, str] | None = None,
    resume_args: tuple[str, ...] = (),
) -> Trial:
    """Kill a run at ``stop``, resume it, and count what the resume drew again."""
    run_dir = kill_run(args, runs_dir, stop, env=env)
    before = events(run_dir)
    result = resume(run_dir, *resume_args, env=env)
    return count(run_dir, before, result["status"])
