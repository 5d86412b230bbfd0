"""`storyviz export` and `storyviz run --export` through the real entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, last_json, storyviz

STORY = 'Mia finds a robot dog in the rain. "Are you lost?" Mia asks. The dog beeps.'


@pytest.mark.slow
def test_run_exports_and_export_command_and_its_errors(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    proc = storyviz(
        "run", STORY, "--runs-dir", str(runs), "--export", "pdf,cbz", "--json", cwd=tmp_path
    )
    outcome = last_json(proc)
    run_dir = Path(outcome["run_dir"])
    run_id = outcome["run_id"]
    exported = sorted(p.name for p in (run_dir / "exports").iterdir())
    assert exported == [f"{run_id}.cbz", f"{run_id}.pdf"]
    assert f"exported:   {run_dir / 'exports' / (run_id + '.pdf')}" in proc.stderr  # --json

    out = tmp_path / "book.pdf"
    proc = storyviz("export", run_id, "--format", "pdf", "--out", str(out), "--runs-dir", str(runs))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out) and out.read_bytes().startswith(b"%PDF-")

    webtoon = storyviz("export", run_id, "-F", "webtoon", "--width", "360", "--runs-dir", str(runs))
    assert webtoon.returncode == 0, webtoon.stderr
    assert Path(webtoon.stdout.strip()).parent == run_dir / "exports" / "webtoon"

    bad = [
        (("export", "no-such-run"), "no run 'no-such-run'"),
        (("export", run_id, "--format", "epub"), "unknown export format 'epub'"),
        (("export", run_id, "--page-size", "A9"), "unknown page size 'A9'"),
        (("export", run_id, "--out", "/proc/storyviz/book.pdf"), "cannot write"),
        (("run", STORY, "--export", "pdf,docx"), "choose one of: cbz, pdf, png"),
    ]
    for args, fragment in bad:
        assert_one_line_error(storyviz(*args, "--runs-dir", str(runs), cwd=tmp_path), fragment)
    assert len(list(runs.iterdir())) == 1  # the bad --export failed before starting a run


@pytest.mark.slow
def test_exporting_imports_no_torch(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from storyviz.cli import main\n"
        f"sys.argv = ['storyviz', 'run', {STORY!r}, '--runs-dir', {str(tmp_path)!r}, '-q',"
        " '--export', 'pdf,cbz,webtoon,png']\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("exported:") >= 4
