"""Exports: a finished run folder into files people read elsewhere (PDF, CBZ, webtoon, PNG).

Every format is one function `(run_dir, out, **options) -> list[Path]` named in `FORMATS` by a
lazy "module:function" string, so a format's libraries (img2pdf, zipfile, ...) load only when it
is used and another part of the project can plug a format in with one line here. Exports only
read the run folder; what they write lands atomically (temporary file, then rename).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from storyviz.errors import InputError

Exporter = Callable[..., list[Path]]
"""`(run_dir: Path, out: Path | None, **options) -> list[Path]`: the files written."""

FORMATS: dict[str, str] = {
    "pdf": "storyviz.exports.pdf:export_pdf",
    "cbz": "storyviz.exports.cbz:export_cbz",
    "webtoon": "storyviz.exports.webtoon:export_webtoon",
    "png": "storyviz.exports.png:export_png",
    "vistorybench": "storyviz.vistorybench_export:export_vistorybench",
}


def exporter(fmt: str) -> Exporter:
    """The function behind a format name; an unknown name is a one-line error listing them."""
    target = FORMATS.get(fmt.strip().lower()) if isinstance(fmt, str) else None
    if target is None:
        known = ", ".join(sorted(FORMATS))
        raise InputError(f"unknown export format {fmt!r}; choose one of: {known}")
    module_name, _, function_name = target.partition(":")
    function: Exporter = getattr(importlib.import_module(module_name), function_name)
    return function


def export_run(run_dir: Path, fmt: str, out: Path | None = None, **options: Any) -> list[Path]:
    """Export the run in `run_dir` as `fmt`; `out` defaults to `run_dir/exports/`."""
    return exporter(fmt)(Path(run_dir), None if out is None else Path(out), **options)


def parse_formats(text: str) -> list[str]:
    """'pdf,cbz' -> ['pdf', 'cbz'], each checked, duplicates dropped (for `run --export`)."""
    names: list[str] = []
    for part in text.split(","):
        name = part.strip().lower()
        if not name:
            continue
        exporter_name = FORMATS.get(name)
        if exporter_name is None:
            exporter(name)  # raises the one-line error
        if name not in names:
            names.append(name)
    return names
