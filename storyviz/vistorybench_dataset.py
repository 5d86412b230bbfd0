"""Which ViStoryBench stories a dataset folder holds, and which of them a batch draws.

The benchmark's dataset folder (``ViStory/``) holds one folder per story, named by its number
(``01`` ... ``80``), each with ``story.json`` and ``image/<Character>/*.jpg``. Its loader
(``vistorybench/dataset_loader/dataset_load.py``, ``get_story_name_list``) lists the folders
whose names are digits, in numeric order, and its ``lite`` split is a fixed list of 20 of them;
storyviz reads the same folders the same way, so a batch over ``--split lite`` draws exactly
the stories the benchmark scores, and ``--stories 01,05`` narrows that further.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from storyviz.errors import InputError

SPLITS = ("full", "lite")
LITE = (
    "01", "08", "09", "15", "17", "19", "24", "27", "28", "29",
    "32", "41", "52", "53", "55", "57", "60", "64", "68", "79",
)  # fmt: skip
"""The benchmark's lite split (dataset_load.py, ViStoryBench/vistorybench@514cc31)."""


def story_folders(
    root: Path, split: str = "full", stories: Sequence[str] | None = None
) -> list[Path]:
    """The story folders of ``root`` in the split (numeric order), limited to ``stories``."""
    if split not in SPLITS:
        raise InputError(f"--split must be full or lite, not {split!r}")
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"no ViStoryBench dataset folder at {root}")
    numbered = sorted((d for d in root.iterdir() if d.is_dir() and d.name.isdigit()), key=_number)
    if split == "lite":
        numbered = [d for d in numbered if d.name in LITE]
    if stories:
        wanted = [_normal(s) for s in stories]
        by_number = {_number(d): d for d in numbered}
        missing = [s for s in wanted if int(s) not in by_number]
        if missing:
            where = f"the {split} split of {root}" if split == "lite" else str(root)
            raise InputError(f"no ViStoryBench story {', '.join(missing)} in {where}")
        numbered = [by_number[int(s)] for s in dict.fromkeys(wanted)]
    without = [d.name for d in numbered if not (d / "story.json").is_file()]
    if without:
        raise InputError(f"{root}: story folder(s) {', '.join(without)} have no story.json")
    if not numbered:
        raise InputError(f"{root} holds no ViStoryBench stories (folders named 01, 02, ...)")
    return numbered


def parse_story_list(text: str) -> list[str]:
    """``"01,05, 7"`` -> ``["01", "05", "7"]``; one-line errors for anything else."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise InputError("--stories needs story numbers, e.g. --stories 01,05")
    for item in items:
        _normal(item)
    return items


def _normal(item: str) -> str:
    text = item.strip()
    if not text.isdigit():
        raise InputError(f"--stories takes story numbers such as 01 or 5, not {item!r}")
    return text


def _number(folder: Path) -> int:
    return int(folder.name)
