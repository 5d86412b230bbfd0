"""`storyviz eval RUN_ID...`: measure runs with ViStoryBench-style metrics, write each run's
eval.json, print one table with the runs side by side.

The logic lives in storyviz.evaluators.eval_run; this module builds the measuring tools once
(models load once for all runs), writes the files and draws the tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from storyviz.errors import InputError
from storyviz.run_store import RunStore

_ROWS: tuple[tuple[str, str], ...] = (
    ("panels", "panels evaluated"),
    ("identity_cross", "identity vs reference (cross)"),
    ("identity_self", "identity across panels (self)"),
    ("style", "style similarity across panels"),
    ("onstage", "onstage count match (0-100)"),
    ("copy_paste", "copy-paste guard (1 = pixel copy)"),
    ("near_copies", "near-copies of a reference"),
)


def evaluate(
    run_ids: Sequence[str],
    runs_dir: Path,
    *,
    embedder: str | None = None,
    detector: str | None = None,
    judge: str | None = None,
) -> list[dict[str, Any]]:
    """Evaluate each run and write its eval.json; returns what was written, in order."""
    from storyviz.evaluators.eval_run import EVAL_FILE, evaluate_run
    from storyviz.evaluators.identity.embed import build_embedder

    if not run_ids:
        raise InputError("name at least one run: storyviz eval RUN_ID [RUN_ID...]")
    store = RunStore(runs_dir)
    runs = [store.open(run_id) for run_id in run_ids]  # unknown ids fail before any model loads
    tools: dict[str, Any] = {"embedder": build_embedder(embedder)}
    if detector:
        from storyviz.evaluators.detector_owl import OwlDetector

        tools["detector"] = OwlDetector(detector)
    if judge:
        from storyviz.evaluators.eval_judge import build_judge

        tools["judge"] = build_judge(judge)
    results = []
    for run in runs:
        result = evaluate_run(run.dir, **tools)
        run.write_json(EVAL_FILE, result)
        results.append(result)
    return results


def print_tables(results: Sequence[dict[str, Any]]) -> None:
    """The summary with one column per run; for a single run, its panels too."""
    from rich.table import Table

    from storyviz.terminal_console import console as clean_console

    console = clean_console()
    first = results[0]
    table = Table(
        title=f"storyviz eval — embedder: {first['embedder']}, detector: {first['detector']}"
    )
    table.add_column("metric")
    for result in results:
        table.add_column(result["run_id"], justify="right")
    rows = list(_ROWS)
    if any(r["judge"] for r in results):
        rows += [
            (f"alignment.{a}", f"prompt alignment: {a} (0-4)")
            for a in ("scene", "camera", "actions")
        ]
    for key, label in rows:
        table.add_row(label, *(_cell(_lookup(r["summary"], key)) for r in results))
    if len({r["embedder"] for r in results}) > 1:
        table.add_row("embedder", *(r["embedder"] for r in results))
    console.print(table)
    if len(results) == 1:
        console.print(_panel_table(first))


def _panel_table(result: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(title=f"{result['run_id']}: per panel ({result['embedder']})")
    for name in ("panel", "v", "cross", "copy-paste", "D/E", "onstage"):
        table.add_column(name, justify="left" if name == "panel" else "right")
    judged = bool(result["judge"])
    if judged:
        table.add_column("scene/camera/actions", justify="right")
    for pid, row in result["panels"].items():
        characters = row["characters"].values()
        crosses = [c["identity_cross"] for c in characters if "identity_cross" in c]
        copies = [c["copy_paste"] for c in characters if "copy_paste" in c]
        cells = [
            pid,
            str(row["version"]),
            _cell(sum(crosses) / len(crosses) if crosses else None),
            _cell(max(copies) if copies else None),
            f"{row['detected']}/{row['expected']}",
            _cell(row["onstage"]),
        ]
        if judged:
            verdict = row.get("alignment")
            cells.append(
                "no verdict" if verdict is None
                else f"{verdict['scene']}/{verdict['camera']}/{verdict['actions']}"
            )  # fmt: skip
        table.add_row(*cells)
    return table


def _lookup(summary: dict[str, Any], key: str) -> Any:
    value: Any = summary
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
