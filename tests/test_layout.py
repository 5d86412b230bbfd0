"""The repository's layout is the one its tools see: the role folders live at the top level and
appear inside ``storyviz/`` (as symbolic links) under the names they are imported by, so mypy and
import-linter check every module as ``storyviz.…``; nothing first-party may resolve to ``Any``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROLE_FOLDERS = ("agents", "generators", "evaluators", "prompts")


@pytest.mark.parametrize("folder", ROLE_FOLDERS)
def test_each_role_folder_is_seen_inside_the_package_under_its_import_name(folder: str) -> None:
    link = ROOT / "storyviz" / folder
    assert link.is_symlink(), f"storyviz/{folder} must link to the top-level {folder}/"
    assert link.resolve() == (ROOT / folder).resolve()
    import importlib

    module = importlib.import_module(f"storyviz.{folder}")
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().parent == (ROOT / folder).resolve()


def test_mypy_hides_no_first_party_module() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert "ignore_missing_imports" not in config, "only named third-party packages may be Any"
    assert config["files"] == ["storyviz"]
    for override in config.get("overrides", []):
        modules = (
            override["module"] if isinstance(override["module"], list) else [override["module"]]
        )
        assert not any(m.split(".")[0] == "storyviz" for m in modules), modules


def test_every_package_folder_is_installed() -> None:
    """A package folder missing from pyproject's list works in an editable install and is
    silently left out of a wheel."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = dict(config["package-dir"])
    assert sorted(listed) == sorted(config["packages"])
    found = {"storyviz": "storyviz"}
    for top in ("storyviz", *ROLE_FOLDERS):
        for init in sorted((ROOT / top).rglob("__init__.py")):
            folder = init.parent.relative_to(ROOT)
            if (
                folder.parts[0] == "storyviz"
                and len(folder.parts) > 1
                and (folder.parts[1] in ROLE_FOLDERS)
            ):
                continue  # the links to the role folders, seen from the other side
            name = ".".join(folder.parts)
            found[name if top == "storyviz" else f"storyviz.{name}"] = folder.as_posix()
    assert listed == found
