"""PDF export: one PDF page per comic page, at a real paper size, pixels untouched.

img2pdf embeds a PNG's compressed pixel data as it is (no re-encoding, no JPEG), so the PDF
shows exactly the composed page; each image is fitted into the paper without cropping. Title,
author and the story as subject go into the document info; right-to-left runs also set the
viewer's reading direction (/ViewerPreferences /Direction /R2L), so two-page spreads in a PDF
reader come out in manga order.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from storyviz.errors import InputError
from storyviz.exports.paper import paper_points
from storyviz.exports.source import RunSource, load_run, output_path, write_atomic

SUBJECT_CHARS = 2_000


def export_pdf(
    run_dir: Path, out: Path | None = None, *, page_size: str | None = None, **options: Any
) -> list[Path]:
    """Write `<run id>.pdf` (or `out`); `page_size` defaults to the size the run was composed at."""
    source = load_run(run_dir)
    size = paper_points(page_size or source.plan.page_size)
    data = pdf_bytes(source, size)
    target = output_path(source, out, ".pdf")
    return [write_atomic(target, lambda tmp: tmp.write_bytes(data))]


def pdf_bytes(source: RunSource, size: tuple[float, float]) -> bytes:
    import img2pdf

    layout = img2pdf.get_layout_fun(pagesize=size, fit=img2pdf.FitMode.into)
    try:
        data: bytes = img2pdf.convert(
            [str(page) for page in source.pages],
            layout_fun=layout,
            title=source.title,
            author=source.author,
            creator="storyviz",
            subject=source.summary[:SUBJECT_CHARS],
            keywords=[member.name for member in source.plan.characters],
        )
    except (img2pdf.ImageOpenError, OSError, ValueError) as exc:
        raise InputError(f"cannot make a PDF of run {source.run_id}: {exc}") from None
    if source.plan.reading_order == "rtl":
        data = _right_to_left(data)
    return data


def _right_to_left(data: bytes) -> bytes:
    """Mark the document as read right to left; the page streams are copied unchanged."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        preferences = pdf.Root.get("/ViewerPreferences", pikepdf.Dictionary())
        preferences.Direction = pikepdf.Name.R2L
        pdf.Root.ViewerPreferences = preferences
        buffer = io.BytesIO()
        pdf.save(buffer)
    return buffer.getvalue()
