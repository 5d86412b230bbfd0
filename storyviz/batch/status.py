"""The live status of a batch on a terminal: stories done / running / failed, panels per second.

It reads the batch folder (each story's state file and its run's panels folder), not messages
from the workers, so it shows the same thing whichever engine draws and wherever its workers
are, as long as the folder is the one they write.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from storyviz.batch.folder import BatchFolder, StoryState

_EVERY = 0.5  # seconds between reads of the folder


def panels_drawn(state: StoryState) -> int:
    """Panel versions drawn so far in the story's run (every version, repairs included)."""
    if not state.run_dir:
        return 0
    return sum(1 for _ in (Path(state.run_dir) / "panels").glob("*.png"))


class BatchStatus:
    def __init__(self, folder: BatchFolder, show: bool) -> None:
        self.folder = folder
        self.show = show
        self.began = time.monotonic()
        self._first_panels: int | None = None
        self._last = 0.0
        self._live: Any = None

    def __enter__(self) -> BatchStatus:
        if self.show:
            from rich.live import Live

            from storyviz.terminal_console import console

            self._live = Live(self._table(), console=console(stderr=True), refresh_per_second=2)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._table())
            self._live.__exit__(None, None, None)

    def tick(self) -> None:
        if self._live is None or time.monotonic() - self._last < _EVERY:
            return
        self._last = time.monotonic()
        self._live.update(self._table())

    def counts(self) -> tuple[Counter[str], int]:
        states = self.folder.states()
        return Counter(s.status for s in states), sum(panels_drawn(s) for s in states)

    def _table(self) -> Any:
        from rich.table import Table

        counts, panels = self.counts()
        if self._first_panels is None:
            self._first_panels = panels  # a resumed batch's earlier panels are not this rate
        elapsed = max(time.monotonic() - self.began, 1e-6)
        rate = (panels - self._first_panels) / elapsed
        table = Table(title=f"batch {self.folder.batch_id}", show_header=True)
        for column in ("done", "running", "failed", "pending", "panels", "panels/s", "elapsed"):
            table.add_column(column, justify="right")
        table.add_row(
            str(counts["completed"]),
            str(counts["running"]),
            str(counts["failed"]),
            str(counts["pending"] + counts["interrupted"]),
            str(panels),
            f"{rate:.2f}",
            f"{elapsed:.0f} s",
        )
        return table
