"""CBZ export: the pages in a zip, in reading order, with a ComicInfo.xml comic readers read.

ComicInfo.xml follows the ComicInfo 2.0 schema (Anansi Project), whose elements are an ordered
sequence, so they are written in schema order: title, summary (the story), notes, writer,
page count, language, manga direction (YesAndRightToLeft for rtl runs, so readers flip the
right way), characters, and one Page entry per image (index, size, FrontCover for the first).
Pages are stored uncompressed: PNG data does not shrink, and readers seek faster.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from PIL import Image

from storyviz.exports.source import RunSource, load_run, output_path, write_atomic

COMIC_INFO = "ComicInfo.xml"


def page_name(number: int, count: int) -> str:
    """Zero-padded so every reader's name sort is the reading order."""
    return f"page_{number:0{max(3, len(str(count)))}d}.png"


def export_cbz(
    run_dir: Path, out: Path | None = None, *, author: str | None = None, **options: Any
) -> list[Path]:
    """Write `<run id>.cbz` (or `out`)."""
    source = load_run(run_dir)
    target = output_path(source, out, ".cbz")
    count = len(source.pages)
    xml = comic_info(source, author=author)

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w") as archive:
            for number, page in enumerate(source.pages, start=1):
                archive.write(page, page_name(number, count), compress_type=zipfile.ZIP_STORED)
            archive.writestr(COMIC_INFO, xml, compress_type=zipfile.ZIP_DEFLATED)

    return [write_atomic(target, write)]


def comic_info(source: RunSource, author: str | None = None) -> bytes:
    """ComicInfo.xml for the run, UTF-8 with a declaration."""
    root = ET.Element("ComicInfo")
    plan = source.plan

    def add(tag: str, text: str | int | None) -> None:
        if text is not None and str(text).strip():
            ET.SubElement(root, tag).text = str(text)

    add("Title", source.title)
    add("Summary", source.summary)
    add("Notes", f"Made with storyviz from run {source.run_id}.")
    add("Writer", author or source.author)
    add("PageCount", len(source.pages))
    language = plan.language if plan.language not in ("", "auto") else None
    add("LanguageISO", language)
    add("Manga", "YesAndRightToLeft" if plan.reading_order == "rtl" else "No")
    add("Characters", ", ".join(member.name for member in plan.characters))
    pages = ET.SubElement(root, "Pages")
    for index, path in enumerate(source.pages):
        with Image.open(path) as image:
            width, height = image.size
        attributes = {
            "Image": str(index),
            "ImageSize": str(path.stat().st_size),
            "ImageWidth": str(width),
            "ImageHeight": str(height),
        }
        if index == 0:
            attributes["Type"] = "FrontCover"
        ET.SubElement(pages, "Page", attributes)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
