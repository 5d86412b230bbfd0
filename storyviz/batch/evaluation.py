"""`storyviz eval --batch A [B ...]`: every completed story of each batch scored, one table per
batch (a row per story, the mean below) and, for several batches, their means side by side.

The columns carry the benchmark's metric names (ViStoryBench's ``bench_run.py`` results), so a
table reads against published ones; the numbers are storyviz's measures of the same things
(``storyviz eval``: its embedder and detector, not necessarily the benchmark's models), which
docs/eval.md describes. A batch's scores are written to its folder as ``eval.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from storyviz.batch.folder import BatchFolder, write_json_atomic
from storyviz.errors import InputError

METRICS: tuple[tuple[str, str], ...] = (
    ("cids_cross_mean", "identity_cross"),
    ("cids_self_mean", "identity_self"),
    ("self_csd", "style"),
    ("occm", "onstage"),
    ("copy_paste_score", "copy_paste"),
    ("scene", "alignment.scene"),
    ("camera", "alignment.camera"),
    ("character_action", "alignment.actions"),
)
"""The benchmark's name for each of storyviz's eval summary keys."""

EVAL_FILE = "eval.json"


def evaluate_batches(
    batch_ids: Sequence[str], runs_dir: Path, **tools: Any
) -> list[dict[str, Any]]:
    from storyviz.cli_eval import evaluate

    if not batch_ids:
        raise InputError("name at least one batch: storyviz eval --batch BATCH_ID [BATCH_ID...]")
    folders = [BatchFolder.open(runs_dir, b) for b in batch_ids]  # all known before any model loads
    results = []
    for folder in folders:
        every = folder.states()
        states = [s for s in every if s.status == "completed" and s.run_id]
        if not states:
            raise InputError(f"batch {folder.batch_id} has no completed story to evaluate")
        runs = evaluate([s.run_id for s in states if s.run_id], runs_dir, **tools)
        stories = {s.key: _scores(r["summary"]) for s, r in zip(states, runs, strict=True)}
        result = {
            "batch_id": folder.batch_id,
            "embedder": runs[0]["embedder"],
            "stories": stories,
            "mean": _mean(list(stories.values())),
            "skipped": [s.key for s in every if s.status != "completed"],
        }
        write_json_atomic(folder.root / EVAL_FILE, result)
        results.append(result)
    return results


def _scores(summary: dict[str, Any]) -> dict[str, float | None]:
    from storyviz.cli_eval import _lookup

    found = {}
    for name, key in METRICS:
        value = _lookup(summary, key)
        found[name] = float(value) if isinstance(value, (int, float)) else None
    return found


def _mean(rows: list[dict[str, float | None]]) -> dict[str, float | None]:
    mean: dict[str, float | None] = {}
    for name, _ in METRICS:
        values = [r[name] for r in rows if r.get(name) is not None]
        mean[name] = sum(v for v in values if v is not None) / len(values) if values else None
    return mean


def print_batch_tables(results: Sequence[dict[str, Any]]) -> None:
    from rich.table import Table

    from storyviz.cli_eval import _cell
    from storyviz.terminal_console import console as clean_console

    console = clean_console()
    shown = [n for n, _ in METRICS if any(r["mean"][n] is not None for r in results)]
    for result in results:
        table = Table(title=f"batch {result['batch_id']} (embedder: {result['embedder']})")
        table.add_column("story")
        for name in shown:
            table.add_column(name, justify="right")
        for key, scores in result["stories"].items():
            table.add_row(key, *(_cell(scores[n]) for n in shown))
        table.add_row("mean", *(_cell(result["mean"][n]) for n in shown), end_section=True)
        console.print(table)
        if result["skipped"]:
            console.print(f"not evaluated (not completed): {', '.join(result['skipped'])}")
    if len(results) > 1:
        table = Table(title="batch means")
        table.add_column("metric")
        for result in results:
            table.add_column(result["batch_id"], justify="right")
        for name in shown:
            table.add_row(name, *(_cell(r["mean"][name]) for r in results))
        console.print(table)
