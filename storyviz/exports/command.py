"""What `storyviz export` and `storyviz run --export` do, behind their thin typer commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storyviz.exports import export_run, exporter


def export_by_id(
    run_id: str, fmt: str, runs_dir: Path, out: Path | None = None, **options: Any
) -> list[Path]:
    """Export the run `run_id` in `runs_dir`; options given as None keep the format's defaults.

    The format is checked before the run is opened, so a typo is reported as such.
    """
    from storyviz.run_store import RunStore

    exporter(fmt)
    run = RunStore(runs_dir).open(run_id)
    given = {key: value for key, value in options.items() if value is not None}
    return export_run(run.dir, fmt, out, **given)


def export_finished(run_dir: Path, formats: list[str]) -> list[Path]:
    """`run --export`: each format into the run's exports/ folder, with its defaults."""
    written: list[Path] = []
    for fmt in formats:
        written += export_run(run_dir, fmt)
    return written
