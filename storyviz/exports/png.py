"""PNG export: the composed pages, copied byte for byte into a folder.

The pages are already lossless PNGs; copying (not re-encoding) keeps them identical to what the
report shows, and numbered names keep reading order in any file browser.
"""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path
from typing import Any

from storyviz.exports.source import load_run, output_dir, write_atomic


def export_png(run_dir: Path, out: Path | None = None, **options: Any) -> list[Path]:
    """Write `<stem>_page_01.png`, ... into `out` (a folder; default run_dir/exports/png/)."""
    source = load_run(run_dir)
    folder = output_dir(source, out, "png")
    written = []
    for number, page in enumerate(source.pages, start=1):
        target = folder / f"{source.stem}_page_{number:02d}.png"
        written.append(write_atomic(target, partial(_copy, page)))
    return written


def _copy(page: Path, tmp: Path) -> None:
    shutil.copyfile(page, tmp)
