"""Shared fixtures: the demo story and an isolated working directory per test."""

from __future__ import annotations

from pathlib import Path

import pytest

MIA_STORY = (
    "A shy girl named Mia, with red hair and a yellow raincoat, walks home from school in the "
    'rain. She finds a small silver robot dog shivering under a bench. "Are you lost?" Mia asks. '
    "The robot dog wags its tail and beeps. She names him Bolt. Together they run through the "
    "puddles of the evening street. At home, Mia dries Bolt with a towel in the kitchen. "
    '"You can stay with me," she whispers. '
    "That night, Bolt's eyes glow softly as Mia falls asleep."
)


@pytest.fixture
def mia_story() -> str:
    return MIA_STORY


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's storyviz.toml or STORYVIZ_* variables."""
    monkeypatch.chdir(tmp_path)
    import os

    for key in list(os.environ):
        if key.startswith("STORYVIZ_"):
            monkeypatch.delenv(key)
