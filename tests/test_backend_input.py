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


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--generator", "sketch?delay=1e308"), "delay must be within 0..3600, got 1e308"),
        (
            ("--planner", "openai-compat:http://127.0.0.1:9/v1#m?timeout=nan"),
            "option timeout='nan' is not a finite number",
        ),
        (
            ("--planner", "openai-compat:http://127.0.0.1:9/v1#m?temperature=inf"),
            "option temperature='inf' is not a finite number",
        ),
        (("--threshold", "nan"), "threshold: Input should be a finite number"),
    ],
)
def test_a_number_that_is_not_finite_or_out_of_range_is_one_line_and_leaves_no_run(
    tmp_path: Path, args: tuple[str, ...], fragment: str
) -> None:
    runs = tmp_path / "runs"
    proc = storyviz("run", "Mia walks home.", *args, "--runs-dir", str(runs))

    assert_one_line_error(proc, fragment)
    assert proc.returncode == 2
    assert not runs.exists() or not any(runs.iterdir())
