"""Hostile input to the commands, in process through typer's CliRunner: nothing a story or a
path says reaches the terminal as an escape sequence or control character.

tests/test_cli_bad_input_e2e.py runs a representative few through the real entry point."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from storyviz.cli import _Progress, app
from storyviz.cli_eval import print_tables
from storyviz.run_store import RunStore
from storyviz.schemas import RunEvent, StoryRequest

# retitles the window, colours, clears the screen, rings the bell, rubs out text (8-bit CSI too)
HOSTILE = "\x1b]0;PWNED\x07Mia \x1b[31mfinds\x1b[0m a \x9b31mdog\x08\x08\x00\x07. \x1b[2JBolt."
UNSAFE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # C0 but newline, DEL, C1


def invoke(*args: str, stdin: bytes | str | None = None, **env: str) -> Any:
    result = CliRunner().invoke(app, list(args), input=stdin, env=env or None)
    assert not isinstance(result.exception, AssertionError), result.exception
    return result


def test_runs_table_is_clean_and_json_keeps_the_story(tmp_path: Path) -> None:
    RunStore(tmp_path / "runs").create(StoryRequest(story=HOSTILE), {})
    table = invoke("runs")
    assert table.exit_code == 0 and "Mia finds a dog. Bolt." in table.stdout
    assert not UNSAFE.search(table.output) and "PWNED" not in table.stdout
    (row,) = json.loads(invoke("runs", "--json").stdout)
    assert row["story"] == " ".join(HOSTILE.split())  # JSON escapes what the table drops


def test_printed_paths_are_clean(tmp_path: Path) -> None:
    runs = tmp_path / "r\x1b]0;PWNED\x07\x9b2J"  # a runs folder named by someone hostile
    run = RunStore(runs).create(StoryRequest(story="Mia walks."), {})
    for args in (["report", run.run_id], ["runs"]):
        result = invoke(*args, "--runs-dir", str(runs))
        assert result.exit_code == 0 and run.run_id in result.stdout
        assert not UNSAFE.search(result.output) and "PWNED" not in result.output


def test_progress_lines_and_eval_tables_are_clean(capsys: pytest.CaptureFixture[str]) -> None:
    events = [
        RunEvent(event="planned", seconds=0.1, detail={"title": HOSTILE, "panels": 1}),
        RunEvent(event="reference", seconds=0.1, detail={"character": HOSTILE}),
        RunEvent(event="warning", detail={"message": HOSTILE}),
    ]
    with _Progress() as progress:
        for event in events:
            progress(event)
    result = {"run_id": HOSTILE, "embedder": HOSTILE, "detector": HOSTILE, "judge": None}
    print_tables([{**result, "summary": {}, "panels": {}}])
    captured = capsys.readouterr()
    assert "Mia finds a dog" in captured.err and "Mia finds a dog" in captured.out
    for text in (captured.out, captured.err):
        assert not UNSAFE.search(text) and "\x1b" not in text, repr(text)
