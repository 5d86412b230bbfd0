"""``storyviz export RUN_ID --format vistorybench``: a run's panels where ViStoryBench's own
loader finds a method's results.

The benchmark's reader (``vistorybench/dataset_loader/read_outputs.py``, ``load_outputs``) walks::

    <outputs>/<method>/<mode>/<language>/<YYYYMMDD-HHMMSS>/<story_id>/shots/<name>_<N>.png

parsing the story folder's name as an integer and ``N`` (the file name's last ``_`` field) as
the shot's ``index`` in story.json, which is how its metrics pair an image with its shot. The
export writes exactly that under ``--out`` (default ``<run>/exports/vistorybench``), so pointing
``bench_run.py --outputs_path`` at it scores the run without renaming anything:

- ``<method>/<mode>/<en|ch>/<stamp>/<story_id>/shots/shot_<NN>.png``: method ``storyviz``, mode
  ``base`` (options), the run's language, its start time (the run id's head), the story number
  from the title a ``--vistorybench`` run records (or ``story_id``); ``NN`` is the shot index,
  which a ``--vistorybench`` run keeps as the panel id (``p07`` is shot 7);
- ``image_outputs/shot_<NN>.png``: the same images in one flat folder, the per-story layout
  most method repositories write.

A run that is not a numbered ViStoryBench story (no ``story_id`` given, a title not starting with
the number) is refused in one line: the loader cannot read a story folder named otherwise.
Options: ``method``, ``mode``, ``story_id``, ``image_format`` (``png``, default, or ``jpg``),
``stamp`` (a batch's one ``YYYYMMDD-HHMMSS`` for all its stories, instead of the run's own) and
``flat`` (``false``: no ``image_outputs/`` copy, which stories sharing one ``--out`` would
overwrite in each other).
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path
from typing import Any

from storyviz.errors import InputError
from storyviz.exports.source import load_run, output_dir, write_atomic

_STAMP = re.compile(r"^(\d{8}-\d{6})-")
_PANEL_NUMBER = re.compile(r"p(\d+)")


def export_vistorybench(run_dir: Path, out: Path | None = None, **options: Any) -> list[Path]:
    source = load_run(run_dir)
    image_format = str(options.get("image_format") or "png").lower().lstrip(".")
    if image_format not in ("jpg", "png"):
        raise InputError(f"vistorybench export writes jpg or png, not {image_format!r}")
    language = "ch" if source.plan.language.startswith("zh") else "en"
    method = _name(options.get("method") or "storyviz", "method")
    mode = _name(options.get("mode") or "base", "mode")
    story_id = str(options.get("story_id") or _story_id(source.plan.title) or "")
    if not story_id.isdigit():
        raise InputError(
            f"run {source.run_id} is not a numbered ViStoryBench story (its title "
            f"{source.plan.title!r} does not start with the story's number): the benchmark "
            "reads story folders named by number only; run it with --vistorybench"
        )
    match = _STAMP.match(source.run_id)
    stamp = match.group(1) if match else source.manifest.created_at[:19].replace(":", "")
    if options.get("stamp"):
        stamp = str(options["stamp"])
        if not re.fullmatch(r"\d{8}-\d{6}", stamp):
            raise InputError(f"vistorybench export: stamp {stamp!r} is not YYYYMMDD-HHMMSS")
    flat_copy = str(options.get("flat", True)).lower() not in ("false", "0", "no")
    root = output_dir(source, out, "vistorybench")
    folder = root / method / mode / language / stamp / story_id / "shots"
    flat = root / "image_outputs"
    numbers = shot_numbers([p.id for p in source.plan.panels])
    written = []
    for number, panel in zip(numbers, source.plan.panels, strict=True):
        image = source.panels.get(panel.id)
        if image is None:
            raise InputError(f"run {source.run_id} has no image for panel {panel.id}")
        target = folder / f"shot_{number:02d}.{image_format}"
        written.append(write_atomic(target, partial(_convert, image, image_format)))
        if flat_copy:
            written.append(
                write_atomic(flat / f"shot_{number:02d}.png", partial(_convert, image, "png"))
            )
    return written


def shot_numbers(panel_ids: list[str]) -> list[int]:
    """The shot index of each panel: its id's number (``p07`` -> 7) when every id has a distinct
    one, as a ``--vistorybench`` run's do; else the panel's position from 1."""
    matches = [_PANEL_NUMBER.fullmatch(pid) for pid in panel_ids]
    numbers = [int(m.group(1)) for m in matches if m]
    if len(numbers) == len(panel_ids) and len(set(numbers)) == len(numbers):
        return numbers
    return list(range(1, len(panel_ids) + 1))


def _name(value: Any, what: str) -> str:
    text = str(value).strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", text):
        raise InputError(f"vistorybench export: {what} {text!r} must be one folder name")
    return text


def _story_id(title: str) -> str | None:
    """'01: Children's Picture Books' or '01' (a --vistorybench run's title) -> '01'."""
    head = title.partition(":")[0].strip()
    return head if re.fullmatch(r"\d+", head) else None  # ViStoryBench numbers its stories


def _convert(image: Path, image_format: str, tmp: Path) -> None:
    from PIL import Image

    with Image.open(image) as opened:
        rgb = opened.convert("RGB")
    if image_format == "jpg":
        rgb.save(tmp, format="JPEG", quality=95)
    else:
        rgb.save(tmp, format="PNG")
