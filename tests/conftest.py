"""Shared fixtures: the demo story, an isolated working directory, tiny diffusers models."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


# -- tiny diffusers pipelines (tests/tiny_diffusers.py), built once per session ------------------
@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny SD 1.5-style pipeline folder for the whole session."""
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    pytest.importorskip("transformers")
    import torch
    from tiny_diffusers import save_tiny_pipeline

    # One thread: renders this small gain nothing from two, and two threads spinning against
    # other processes on a 2-core machine made the suite 5x slower (measured).
    torch.set_num_threads(1)

    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd"))


@pytest.fixture
def make_generator(tiny_model: Path) -> Callable[..., Any]:
    from storyviz.generators.diffusers.backend import DiffusersGenerator
    from storyviz.registry import parse_backend

    def make(options: str = "steps=2") -> DiffusersGenerator:
        return DiffusersGenerator(parse_backend(f"diffusers:{tiny_model}?{options}"))

    return make


# -- plugin distributions (tests/plugin_dists.py) ------------------------------------------------
@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Path]]:
    """`install(name, version, entry_points, modules)` lays a plugin distribution out in a folder
    on sys.path, where importlib.metadata finds it, and makes the registry read the plugins again;
    afterwards the folder leaves sys.path, its modules leave sys.modules, and the registry reads
    the plugins again."""
    import importlib
    import sys

    from plugin_dists import write_dist

    from storyviz import backend_plugins

    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    packages: set[str] = set()

    def install(
        name: str, version: str, entry_points: dict[str, str], modules: dict[str, str] | None = None
    ) -> Path:
        write_dist(site, name, version, entry_points, modules)
        packages.update(path.split("/")[0].removesuffix(".py") for path in modules or {})
        importlib.invalidate_caches()
        backend_plugins.forget()
        return site

    yield install
    for module in [m for m in sys.modules if m.split(".")[0] in packages]:
        del sys.modules[module]
    sys.path.remove(str(site))  # before monkeypatch's own undo, so `forget` reads without it
    importlib.invalidate_caches()
    backend_plugins.forget()
