"""Bad backend strings through the real `storyviz` entry point: one line on stderr, exit 2, no
traceback, no run folder. The breadth of each rule is tested through `registry.build` in
test_registry.py and test_backend_numbers.py; here a few cases show the user sees it."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, storyviz

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("flag", "backend", "fragment"),
    [
        ("--generator", "SKETCH", "unknown generator backend 'SKETCH'; did you mean 'sketch'?"),
        ("--planner", " offline", "unknown planner backend ' offline'; did you mean 'offline'?"),
        ("--generator", "sketch:model", "backend 'sketch' takes no model; got 'model'"),
    ],
)
def test_a_backend_name_that_is_not_exact_is_one_line_and_leaves_no_run(
    tmp_path: Path, flag: str, backend: str, fragment: str
) -> None:
    runs = tmp_path / "runs"
    proc = storyviz("run", "Mia walks home.", flag, backend, "--runs-dir", str(runs))

    assert_one_line_error(proc, fragment)
    assert proc.returncode == 2
    assert not runs.exists() or not any(runs.iterdir())
