"""What a batch draws: one job per story, from story text files or a ViStoryBench dataset.

A job is plain data (it crosses to worker processes and Ray nodes) that names its source by
path; a worker reads the story itself, so a batch manifest stays small and a resumed batch reads
the same files again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from storyviz.errors import InputError

MAX_STORY_BYTES = 1_000_000


class StoryJob(BaseModel):
    """One story of a batch: ``key`` names it in the batch (unique, a file-name-safe word),
    ``kind`` says how to read ``path``."""

    key: str
    kind: Literal["text", "vistorybench"]
    path: str
    lang: str = "en"


def text_jobs(files: Sequence[Path]) -> list[StoryJob]:
    """A job per story text file, keyed by the file's stem (``-2``, ``-3`` for repeats)."""
    if not files:
        raise InputError("name story files (storyviz batch stories/*.txt) or give --vistorybench")
    jobs: list[StoryJob] = []
    taken: set[str] = set()
    for file in files:
        path = Path(file)
        if not path.is_file():
            raise InputError(f"no story file at {path}")
        if path.stat().st_size > MAX_STORY_BYTES:
            raise InputError(f"story file {path} is over {MAX_STORY_BYTES // 1000} kB")
        key = _unique(_key(path.stem), taken)
        jobs.append(StoryJob(key=key, kind="text", path=str(path.resolve())))
    return jobs


def vistorybench_jobs(
    root: Path, split: str, stories: Sequence[str] | None, lang: str
) -> list[StoryJob]:
    """A job per ViStoryBench story of the split, keyed by its number."""
    from storyviz.vistorybench_dataset import story_folders

    if lang not in ("en", "ch"):
        raise InputError(f"--lang must be en or ch, not {lang!r}")
    folders = story_folders(root, split, stories)
    return [
        StoryJob(key=f.name, kind="vistorybench", path=str((f / "story.json").resolve()), lang=lang)
        for f in folders
    ]


def read_story_text(job: StoryJob) -> str:
    try:
        return Path(job.path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"story file {job.path} is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"cannot read story file {job.path}: {exc.strerror or exc}") from None


def _key(stem: str) -> str:
    key = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")[:60]
    return key or "story"


def _unique(key: str, taken: set[str]) -> str:
    candidate, n = key, 1
    while candidate in taken:
        n += 1
        candidate = f"{key}-{n}"
    taken.add(candidate)
    return candidate
