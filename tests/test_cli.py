"""The CLI end to end through its real entry point, on the offline default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, last_json, storyviz

pytestmark = pytest.mark.slow

EXPECTED_FILES = (
    "request.json",
    "plan.json",
    "manifest.json",
    "audit.json",
    "events.jsonl",
    "report.html",
)


def test_help_lists_the_commands_without_heavy_imports() -> None:
    proc = storyviz("--help")
    assert proc.returncode == 0
    for command in ("run", "resume", "runs", "report"):
        assert command in proc.stdout
    code = (
        "import sys; sys.argv = ['storyviz', '--help']\n"
        "from storyviz.cli import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "print([m for m in ('torch', 'langgraph', 'pydantic', 'PIL', 'numpy') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_offline_run_writes_a_complete_run_folder(tmp_path: Path, mia_story: str) -> None:
    story = tmp_path / "story.txt"
    story.write_text(mia_story)
    summary = last_json(
        storyviz(
            "run",
            "--file",
            str(story),
            "--panels",
            "6",
            "--runs-dir",
            str(tmp_path / "r"),
            "--json",
        )
    )
    assert {
        "run_id",
        "run_dir",
        "status",
        "panels",
        "consistency_index",
        "rounds",
        "findings",
        "repairs",
    } <= set(summary)
    assert summary["status"] == "completed" and summary["panels"] == 6
    run_dir = Path(summary["run_dir"])
    for name in EXPECTED_FILES:
        assert (run_dir / name).is_file(), name
    assert sorted(p.name for p in (run_dir / "panels").glob("*_v1.png")) == [
        f"p0{i}_v1.png" for i in range(1, 7)
    ]
    assert list((run_dir / "pages").glob("page_*.png"))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert set(manifest["backends"]) == {"planner", "generator", "auditor", "repairer"}
    assert "panel.j2" in manifest["prompt_hashes"] and manifest["versions"]["python"]
    assert manifest["costs"]["seconds"]["render"] > 0
    events = [
        json.loads(line)["event"] for line in (run_dir / "events.jsonl").read_text().splitlines()
    ]
    for event in ("planned", "reference", "rendered", "audited", "composed", "reported"):
        assert event in events
    html = (run_dir / "report.html").read_text()
    assert "http://" not in html and "https://" not in html


def test_an_offline_run_never_imports_torch(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        f"sys.argv = ['storyviz', 'run', 'Mia walks.', '-q', '--runs-dir', {str(tmp_path)!r}]\n"
        "from storyviz.cli import app\n"
        "try:\n    app()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert len(list(tmp_path.iterdir())) == 1


def test_drift_demo_shows_findings_repairs_and_recovers(tmp_path: Path, mia_story: str) -> None:
    summary = last_json(
        storyviz(
            "run",
            mia_story,
            "--panels",
            "6",
            "--generator",
            "sketch?drift=0.5",
            "--runs-dir",
            str(tmp_path / "r"),
            "--json",
        )
    )
    assert summary["findings"] >= 1 and summary["repairs"] >= 1
    assert summary["consistency_index"] >= 0.8
    run_dir = Path(summary["run_dir"])
    audit = json.loads((run_dir / "audit.json").read_text())
    first = audit["rounds"][0]
    assert first["flagged"] and first["repairs"]
    repaired = first["repairs"][0]["panel_id"]
    versions = audit["versions"][repaired]
    assert len(versions) >= 2 and (run_dir / versions[1]["path"]).is_file()
    assert audit["current"][repaired] >= 2
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert any(e["event"] == "repaired" and e["panel_id"] == repaired for e in events)
    html = (run_dir / "report.html").read_text()
    assert first["repairs"][0]["strategy"] in html
    finding = versions[0]["findings"][0]
    assert finding["evidence"].split(",")[0] in html or finding["expected"] in html


def test_story_from_stdin_and_runs_listing_and_report_path(tmp_path: Path, mia_story: str) -> None:
    runs = str(tmp_path / "r")
    summary = last_json(
        storyviz("run", "--file", "-", "--runs-dir", runs, "--json", "-q", stdin=mia_story)
    )
    listed = last_json(storyviz("runs", "--runs-dir", runs, "--json"))
    assert [r["run_id"] for r in listed] == [summary["run_id"]]
    assert listed[0]["status"] == "completed"
    table = storyviz("runs", "--runs-dir", runs)
    assert summary["run_id"] in table.stdout
    report = storyviz("report", summary["run_id"], "--runs-dir", runs)
    assert report.returncode == 0 and Path(report.stdout.strip()).is_file()


def test_settings_from_toml_and_environment(tmp_path: Path) -> None:
    (tmp_path / "storyviz.toml").write_text('runs_dir = "from-toml"\nmax_rounds = 0\n')
    env = {**os.environ, "STORYVIZ_SEED": "9"}
    summary = last_json(storyviz("run", "Mia walks home.", "--json", "-q", cwd=tmp_path, env=env))
    assert Path(summary["run_dir"]).parent.name == "from-toml"
    manifest = json.loads((Path(summary["run_dir"]) / "manifest.json").read_text())
    assert manifest["config"]["max_rounds"] == 0 and manifest["request"]["seed"] == 9


def _run_dirs(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if p.is_dir()] if root.exists() else []


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["run", ""], ["empty"]),
        (["run", "   \n  "], ["empty"]),
        (["run", "Mia walks.", "--panels", "0"], ["panels must be between 1 and 60"]),
        (["run", "Mia walks.", "--panels", "10000"], ["panels must be between 1 and 60"]),
        (
            ["run", "Mia walks.", "--generator", "dalle-9000"],
            ["unknown generator backend", "sketch"],
        ),
        (["run", "Mia walks.", "--planner", "sketch?x"], []),
        (["run", "Mia walks.", "--generator", "sketch?drift=2"], ["drift"]),
        (["run", "--file", "does-not-exist.txt"], ["cannot read story file", "No such file"]),
        (["run"], ["no story given"]),
        (["run", "Mia walks.", "--max-rounds", "-3"], ["max_rounds"]),
        (["run", "Mia walks.", "--reading-order", "up"], ["reading_order"]),
        (["resume", "no-such-run"], ["no run 'no-such-run'"]),
        (["report", "no-such-run"], ["no run"]),
    ],
)
def test_bad_input_is_one_line_and_leaves_no_run(
    tmp_path: Path, args: list[str], fragments: list[str]
) -> None:
    runs = tmp_path / "r"
    proc = storyviz(*args, "--runs-dir", str(runs))
    assert_one_line_error(proc, *fragments)
    assert _run_dirs(runs) == []


def test_huge_story_file_and_unreadable_and_binary_files(tmp_path: Path) -> None:
    runs = tmp_path / "r"
    huge = tmp_path / "huge.txt"
    huge.write_text("Mia walks. " * 20_000)
    assert_one_line_error(
        storyviz("run", "--file", str(huge), "--runs-dir", str(runs)), "the limit is 50,000"
    )
    binary = tmp_path / "story.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 10)
    assert_one_line_error(
        storyviz("run", "--file", str(binary), "--runs-dir", str(runs)), "not UTF-8"
    )
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.txt"
        locked.write_text("Mia walks.")
        locked.chmod(0)
        assert_one_line_error(
            storyviz("run", "--file", str(locked), "--runs-dir", str(runs)), "cannot read"
        )
    assert _run_dirs(runs) == []


def test_unwritable_runs_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    proc = storyviz("run", "Mia walks.", "--runs-dir", str(blocker / "runs"))
    assert_one_line_error(proc, "cannot write to the runs directory")


def test_resume_keeps_the_runs_own_backends(tmp_path: Path, mia_story: str) -> None:
    runs = str(tmp_path / "r")
    summary = last_json(
        storyviz("run", mia_story, "--generator", "sketch?drift=0.5", "--runs-dir", runs, "--json")
    )
    run_dir = Path(summary["run_dir"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["status"] = "interrupted"  # as if it had been cut off
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    last_json(storyviz("resume", summary["run_id"], "--runs-dir", runs, "--json"))
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    (resumed,) = [e for e in events if e["event"] == "resumed"]
    assert resumed["detail"]["backends"] == manifest["backends"]
    assert resumed["detail"]["backends"]["generator"] == "sketch?drift=0.5"
