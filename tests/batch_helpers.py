"""Shared by the batch tests: story files, watching a batch folder from another thread, and
the checks that a story's run drew nothing twice."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from storyviz.batch.folder import BatchFolder, StoryState

STORIES = {
    "mia": "Mia finds a small dog in the rain. She takes it home. They sleep by the fire.",
    "tom": "Tom builds a red kite. The wind takes it over the hill. He runs after it.",
    "ana": "Ana bakes bread for her grandmother. They eat it together in the garden.",
}


def story_files(folder: Path, names: list[str] | None = None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name in names or list(STORIES):
        path = folder / f"{name}.txt"
        path.write_text(STORIES[name], encoding="utf-8")
        files.append(path)
    return files


def renders_per_version(run_dir: Path) -> Counter[tuple[str, int]]:
    """How often each panel version was drawn by the generator (recovered ones not counted)."""
    counts: Counter[tuple[str, int]] = Counter()
    for line in (run_dir / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["event"] in ("rendered", "repaired"):
            counts[(event["panel_id"], event["version"])] += 1
    return counts


def panel_files(run_dir: Path) -> dict[str, int]:
    """Each panel image with its modification time (ns): unchanged means not drawn again."""
    return {p.name: p.stat().st_mtime_ns for p in (run_dir / "panels").glob("*.png")}


def watch(
    folder: Path, condition: Callable[[StoryState], bool], act: Callable[[StoryState], None]
) -> threading.Thread:
    """In a thread: wait until some story's state meets ``condition``, then ``act`` on it."""

    def loop() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (folder / "manifest.json").is_file():
                for state in BatchFolder(folder).states():
                    if condition(state):
                        act(state)
                        return
            time.sleep(0.05)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def drawing(state: StoryState, at_least: int = 1) -> bool:
    """A story whose run has drawn ``at_least`` panels and is still running."""
    if state.status != "running" or not state.run_dir:
        return False
    return len(list((Path(state.run_dir) / "panels").glob("*.png"))) >= at_least
