"""``storyviz export RUN_ID --format vistorybench``: a run's panels where ViStoryBench's
evaluation scripts look for a method's results.

ViStoryBench reads generated images from (its README, "Output Structure")::

    outputs/<method_name>/<dataset_name>/<story_id>/<timestamp>/shot_XX.jpg

so the export writes, under ``--out`` (default ``<run>/exports/vistorybench``), two views of
the same panels, one image per panel in plan (shot) order, numbered from 01 as the story's shot
indices are:

- ``image_outputs/shot_01.png, shot_02.png, ...``: one story's images in one flat folder, the
  per-story layout earlier ViStoryBench scripts and most method repos use (and what storyviz's
  issue asked for);
- ``storyviz/ViStory_<lang>/<story_id>/<YYYYMMDD-HHMMSS>/shot_01.jpg, ...``: the tree the
  current benchmark's loader walks, to copy or link under its ``outputs/``.

The flat folder is always PNG (lossless); the tree follows ``image_format``. The timestamp
is the run's creation time (the start of its run id). Options: ``method``, ``dataset``,
``story_id`` (default: the story number a ``--vistorybench`` run recorded in its title, else
the run id) and ``image_format`` (``jpg``, as the benchmark documents, or ``png``).
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path
from typing import Any

from storyviz.errors import InputError
from storyviz.exports.source import load_run, output_dir, write_atomic

_STAMP = re.compile(r"^(\d{8}-\d{6})-")


def export_vistorybench(run_dir: Path, out: Path | None = None, **options: Any) -> list[Path]:
    source = load_run(run_dir)
    image_format = str(options.get("image_format") or "jpg").lower().lstrip(".")
    if image_format not in ("jpg", "png"):
        raise InputError(f"vistorybench export writes jpg or png, not {image_format!r}")
    language = "ch" if source.plan.language.startswith("zh") else "en"
    method = str(options.get("method") or "storyviz")
    dataset = str(options.get("dataset") or f"ViStory_{language}")
    story_id = str(options.get("story_id") or _story_id(source.plan.title, source.run_id))
    match = _STAMP.match(source.run_id)
    stamp = match.group(1) if match else source.manifest.created_at[:19].replace(":", "")
    folder = output_dir(source, out, "vistorybench") / method / dataset / story_id / stamp
    flat = output_dir(source, out, "vistorybench") / "image_outputs"
    written = []
    for number, panel in enumerate(source.plan.panels, start=1):
        image = source.panels.get(panel.id)
        if image is None:
            raise InputError(f"run {source.run_id} has no image for panel {panel.id}")
        target = folder / f"shot_{number:02d}.{image_format}"
        written.append(write_atomic(target, partial(_convert, image, image_format)))
        written.append(
            write_atomic(flat / f"shot_{number:02d}.png", partial(_convert, image, "png"))
        )
    return written


def _story_id(title: str, run_id: str) -> str:
    """'01: Children's Picture Books' or '01' (a --vistorybench run's title) -> '01'."""
    head = title.partition(":")[0].strip()
    return head if re.fullmatch(r"\d+", head) else run_id  # ViStoryBench numbers its stories


def _convert(image: Path, image_format: str, tmp: Path) -> None:
    from PIL import Image

    with Image.open(image) as opened:
        rgb = opened.convert("RGB")
    if image_format == "jpg":
        rgb.save(tmp, format="JPEG", quality=95)
    else:
        rgb.save(tmp, format="PNG")
