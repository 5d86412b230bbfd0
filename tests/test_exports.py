"""Exports opened with real readers: pypdf for the PDF, comicapi for the CBZ, Pillow for strips."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from storyviz.agents.runner import start_run
from storyviz.config import load_settings
from storyviz.errors import InputError
from storyviz.exports import FORMATS, export_run, parse_formats
from storyviz.exports.paper import paper_points
from storyviz.exports.source import write_atomic
from storyviz.schemas import StoryPlan, StoryRequest

pypdf = pytest.importorskip("pypdf")
pikepdf = pytest.importorskip("pikepdf")
comicarchive = pytest.importorskip("comicapi.comicarchive")

STORY = (
    "Captain Rosa, with grey hair and a blue coat, sails into the harbour at dawn. "
    '"Drop the anchor!" she yells. The boy Kim runs along the deck. "Aye, captain!" Kim answers. '
    'A cat named Pepper jumps onto the rail. "Meow," says Pepper. Rosa laughs. At dusk the '
    'lanterns glow on the water. "Tomorrow we sail north," Rosa whispers.'
)
POINTS_A4 = (595.276, 841.890)
POINTS_B5 = (515.906, 728.504)
# The ComicInfo 2.0 schema's element sequence (the part a storyviz export uses), in order.
COMIC_INFO_ORDER = [
    "Title",
    "Summary",
    "Notes",
    "Writer",
    "PageCount",
    "LanguageISO",
    "Manga",
    "Characters",
    "Pages",
]


def _make_run(root: Path, order: str, page_size: str) -> Path:
    settings = load_settings(runs_dir=root, reading_order=order, page_size=page_size)
    request = StoryRequest(story=STORY, panels=7, reading_order=order, page_size=page_size)
    outcome = start_run(settings, request)
    assert outcome.status == "completed"
    return Path(outcome.run_dir)


@pytest.fixture(scope="module")
def ltr_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make_run(tmp_path_factory.mktemp("runs"), "ltr", "A4")


@pytest.fixture(scope="module")
def rtl_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make_run(tmp_path_factory.mktemp("runs"), "rtl", "B5")


def _pages(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "pages").glob("page_*.png"))


def _plan(run_dir: Path) -> StoryPlan:
    return StoryPlan.model_validate_json((run_dir / "plan.json").read_text("utf-8"))


def _png_pixel_data(path: Path) -> bytes:
    """The concatenated IDAT chunks of a PNG: its zlib-compressed, filtered pixel rows."""
    data, position, found = path.read_bytes(), 8, b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        if data[position + 4 : position + 8] == b"IDAT":
            found += data[position + 8 : position + 8 + length]
        position += 12 + length
    return found


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


# -- PDF ------------------------------------------------------------------------------------------


def test_pdf_has_one_a4_page_per_comic_page_with_the_pixels_unchanged(ltr_run: Path) -> None:
    pages = _pages(ltr_run)
    assert len(pages) >= 2  # seven panels make more than one page
    [pdf_path] = export_run(ltr_run, "pdf")
    assert pdf_path == ltr_run / "exports" / f"{ltr_run.name}.pdf"
    reader = pypdf.PdfReader(pdf_path)
    assert len(reader.pages) == len(pages)
    for pdf_page in reader.pages:
        box = pdf_page.mediabox
        assert (float(box.width), float(box.height)) == pytest.approx(POINTS_A4, abs=0.01)
    # Each page's image stream is the page PNG's compressed pixel data byte for byte, in page
    # order: nothing was re-encoded (the manga test decodes a page and compares pixels).
    with pikepdf.open(pdf_path) as pdf:
        assert len(pdf.pages) == len(pages)
        for pdf_page, png in zip(pdf.pages, pages, strict=True):
            [image] = pdf_page.get_images().values()
            assert image.Filter == "/FlateDecode" and image.DecodeParms.Predictor == 15
            assert image.read_raw_bytes() == _png_pixel_data(png)
    metadata = reader.metadata
    assert metadata.title == _plan(ltr_run).title
    assert metadata.author == "storyviz"
    assert metadata.subject.startswith("Captain Rosa, with grey hair")
    assert "/ViewerPreferences" not in reader.trailer["/Root"]


def test_pdf_of_a_manga_run_is_b5_and_read_right_to_left(rtl_run: Path, tmp_path: Path) -> None:
    [pdf_path] = export_run(rtl_run, "pdf", tmp_path / "manga.pdf")
    assert pdf_path == tmp_path / "manga.pdf"
    reader = pypdf.PdfReader(pdf_path)
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(POINTS_B5, abs=0.01)
    assert reader.trailer["/Root"]["/ViewerPreferences"]["/Direction"] == "/R2L"
    with pikepdf.open(pdf_path) as pdf, Image.open(_pages(rtl_run)[0]) as original:
        [image] = pdf.pages[0].get_images().values()
        decoded = pikepdf.PdfImage(image).as_pil_image()  # qpdf decodes the stream
        assert np.array_equal(_pixels(decoded), _pixels(original))  # lossless


def test_pdf_paper_can_be_chosen(ltr_run: Path, tmp_path: Path) -> None:
    [letter] = export_run(ltr_run, "pdf", tmp_path, page_size="Letter")
    assert letter == tmp_path / f"{ltr_run.name}.pdf"  # a folder gets the default name
    box = pypdf.PdfReader(letter).pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx((612.0, 792.0), abs=0.01)
    assert paper_points("148x210mm") == pytest.approx((419.53, 595.28), abs=0.01)
    assert paper_points("8.5 x 11 in") == pytest.approx((612.0, 792.0))
    for bad in ("B7", "10x10", "0x5in", "900x900in"):
        with pytest.raises(InputError, match="page size"):
            paper_points(bad)


# -- CBZ ------------------------------------------------------------------------------------------


def _comic_info(cbz: Path) -> ET.Element:
    with zipfile.ZipFile(cbz) as archive:
        return ET.fromstring(archive.read("ComicInfo.xml"))


def test_cbz_holds_the_pages_in_order_and_comic_info_readers_accept(ltr_run: Path) -> None:
    [cbz] = export_run(ltr_run, "cbz", author="A. Writer")
    pages = _pages(ltr_run)
    with zipfile.ZipFile(cbz) as archive:
        names = archive.namelist()
        images = [name for name in names if name.endswith(".png")]
        assert images == [f"page_{i:03d}.png" for i in range(1, len(pages) + 1)]
        for name, page in zip(images, pages, strict=True):
            assert archive.read(name) == page.read_bytes()
    assert "ComicInfo.xml" in names

    archive = comicarchive.ComicArchive(cbz)
    assert archive.seems_to_be_a_comic_archive()
    assert archive.get_number_of_pages() == len(pages)
    assert archive.get_page_name_list() == images
    metadata = archive.read_cix()
    plan = _plan(ltr_run)
    assert metadata.title == plan.title
    assert metadata.manga == "No"
    assert metadata.page_count == len(pages)
    assert metadata.comments.startswith("Captain Rosa")  # ComicInfo's Summary
    assert {c.strip() for c in metadata.characters.split(",")} == {c.name for c in plan.characters}
    assert [credit["person"] for credit in metadata.credits] == ["A. Writer"]
    assert len(metadata.pages) == len(pages)

    info = _comic_info(cbz)
    tags = [child.tag for child in info]
    assert tags == [tag for tag in COMIC_INFO_ORDER if tag in tags]  # the schema's sequence
    entries = info.findall("Pages/Page")
    with Image.open(pages[0]) as first:
        assert entries[0].attrib["ImageWidth"] == str(first.width)
        assert entries[0].attrib["ImageHeight"] == str(first.height)
    assert [e.attrib["Image"] for e in entries] == [str(i) for i in range(len(pages))]
    assert [e.attrib.get("Type") for e in entries] == ["FrontCover"] + [None] * (len(pages) - 1)


def test_cbz_of_a_manga_run_says_right_to_left(rtl_run: Path) -> None:
    [cbz] = export_run(rtl_run, "cbz")
    assert comicarchive.ComicArchive(cbz).read_cix().manga == "YesAndRightToLeft"
    assert _comic_info(cbz).findtext("Manga") == "YesAndRightToLeft"


# -- webtoon and png ----------------------------------------------------------------------------


def _panel_images(run_dir: Path, width: int) -> list[np.ndarray]:
    plan, audit = _plan(run_dir), json.loads((run_dir / "audit.json").read_text("utf-8"))
    scaled = []
    for page in plan.pages:
        for panel_id in page.panel_ids:
            with Image.open(run_dir / f"panels/{panel_id}_v{audit['current'][panel_id]}.png") as im:
                height = round(im.height * width / im.width)
                scaled.append(_pixels(im.resize((width, height), Image.Resampling.LANCZOS)))
    return scaled


def test_webtoon_stacks_every_panel_in_reading_order(rtl_run: Path, tmp_path: Path) -> None:
    [strip_path] = export_run(rtl_run, "webtoon", tmp_path, width=480, gutter=30)
    panels = _panel_images(rtl_run, 480)
    with Image.open(strip_path) as strip_image:
        strip = _pixels(strip_image)
    assert strip.shape[1] == 480
    assert strip.shape[0] == 30 + sum(panel.shape[0] + 30 for panel in panels)
    top = 30
    for index, panel in enumerate(panels):
        window = strip[top : top + panel.shape[0]].astype(int)
        distances = [
            np.abs(window - other.astype(int)).mean() if other.shape == panel.shape else 1e9
            for other in panels
        ]
        assert int(np.argmin(distances)) == index  # this panel, lettered, not another one
        assert (strip[top - 30 : top] == 255).all()  # a white gutter above it
        top += panel.shape[0] + 30


def test_a_tall_webtoon_is_split_between_panels(ltr_run: Path, tmp_path: Path) -> None:
    parts = export_run(ltr_run, "webtoon", tmp_path, width=400, max_height=1000)
    assert len(parts) > 1
    heights = [panel.shape[0] for panel in _panel_images(ltr_run, 400)]
    sizes = []
    for part in parts:
        with Image.open(part) as image:
            sizes.append(image.size)
    assert all(width == 400 and height <= 1000 for width, height in sizes)
    gutter = 48  # the default
    assert sum(h for _, h in sizes) == sum(heights) + gutter * (len(heights) + len(parts))
    assert export_run(ltr_run, "webtoon", tmp_path, width=400) == [parts[0]]
    assert sorted(tmp_path.glob("*.png")) == [parts[0]]  # the longer export's extra parts go


def test_png_export_copies_the_pages_in_order(ltr_run: Path, tmp_path: Path) -> None:
    written = export_run(ltr_run, "png", tmp_path / "pages")
    pages = _pages(ltr_run)
    assert [p.name for p in written] == [
        f"{ltr_run.name}_page_{i:02d}.png" for i in range(1, len(pages) + 1)
    ]
    assert [p.read_bytes() for p in written] == [p.read_bytes() for p in pages]


# -- refusals and atomic writes -------------------------------------------------------------------


def test_unknown_formats_are_one_line_errors_listing_the_known_ones(ltr_run: Path) -> None:
    with pytest.raises(InputError, match=r"unknown export format 'docx'; choose one of: .*cbz"):
        export_run(ltr_run, "docx")
    assert parse_formats(" PDF, cbz,pdf ") == ["pdf", "cbz"]
    with pytest.raises(InputError, match="'epub'"):
        parse_formats("pdf,epub")
    assert {"pdf", "cbz", "webtoon", "png"} <= set(FORMATS)


def _copy_run(run_dir: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(run_dir, target, ignore=shutil.ignore_patterns("exports", "*.sqlite"))
    return target


def test_unfinished_or_pageless_runs_are_refused(ltr_run: Path, tmp_path: Path) -> None:
    running = _copy_run(ltr_run, tmp_path / "running")
    manifest = json.loads((running / "manifest.json").read_text("utf-8"))
    manifest["status"] = "running"
    (running / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(InputError, match="is running, not completed"):
        export_run(running, "pdf")
    pageless = _copy_run(ltr_run, tmp_path / "pageless")
    for page in (pageless / "pages").glob("*.png"):
        page.unlink()
    with pytest.raises(InputError, match="has no composed pages"):
        export_run(pageless, "cbz")
    with pytest.raises(InputError, match="is not a run folder"):
        export_run(tmp_path, "pdf")
    assert not list(tmp_path.rglob("*.pdf")) and not list(tmp_path.rglob("*.cbz"))


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(tmp_path: Path) -> None:
    def half_then_fail(tmp: Path) -> None:
        tmp.write_bytes(b"%PDF-1.3 half")
        raise OSError(28, "No space left on device")

    target = tmp_path / "out.pdf"
    with pytest.raises(InputError, match="No space left on device"):
        write_atomic(target, half_then_fail)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file.txt").write_text("")  # a file where a folder should be
    with pytest.raises(InputError, match="cannot write to"):
        write_atomic(tmp_path / "file.txt" / "x.pdf", lambda tmp: None)
