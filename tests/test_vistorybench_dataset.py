"""Which stories of a ViStoryBench dataset folder a batch draws: the loader's own rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from storyviz.errors import InputError
from storyviz.vistorybench_dataset import LITE, parse_story_list, story_folders


def _dataset(root: Path, names: list[str]) -> Path:
    root.mkdir(parents=True)
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / "story.json").write_text("{}")
    (root / "README").mkdir()  # not a story: its name is not a number
    (root / "notes.txt").write_text("x")
    return root


def test_stories_are_the_numbered_folders_in_numeric_order(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ViStory", ["10", "02", "01", "79", "08"])
    assert [d.name for d in story_folders(root)] == ["01", "02", "08", "10", "79"]
    assert [d.name for d in story_folders(root, "lite")] == ["01", "08", "79"]
    assert [d.name for d in story_folders(root, stories=["10", "1"])] == ["10", "01"]
    assert len(LITE) == 20 and LITE[0] == "01" and LITE[-1] == "79"


def test_bad_selections_are_one_line_errors(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ViStory", ["01", "02"])
    with pytest.raises(InputError, match="no ViStoryBench story 05 in"):
        story_folders(root, stories=["05"])
    with pytest.raises(InputError, match="no ViStoryBench story 02 in the lite split"):
        story_folders(root, "lite", stories=["02"])
    with pytest.raises(InputError, match="--split must be full or lite"):
        story_folders(root, "half")
    with pytest.raises(InputError, match="no ViStoryBench dataset folder"):
        story_folders(tmp_path / "missing")
    with pytest.raises(InputError, match="holds no ViStoryBench stories"):
        story_folders(_dataset(tmp_path / "empty", []))
    (root / "03").mkdir()
    with pytest.raises(InputError, match="03 have no story.json"):
        story_folders(root)


def test_story_lists_are_numbers(tmp_path: Path) -> None:
    assert parse_story_list("01, 05,7") == ["01", "05", "7"]
    with pytest.raises(InputError, match="not 'a1'"):
        parse_story_list("01,a1")
    with pytest.raises(InputError, match="needs story numbers"):
        parse_story_list(" , ")
