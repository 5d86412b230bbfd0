"""Bad input to every command, in process through typer's CliRunner (the same group class the
real entry point runs under): one line on stderr, a non-zero exit, nothing written.

tests/test_cli_bad_input_e2e.py runs a representative few through the real entry point."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from storyviz.agents.chat.session import ChatSession
from storyviz.cli import _Progress, app
from storyviz.cli_eval import print_tables
from storyviz.run_store import RunStore
from storyviz.schemas import RunEvent, StoryRequest

# every command that reads or writes runs, with what it needs besides --runs-dir
WITH_RUNS_DIR = [
    ["run", "Mia walks."],
    ["resume", "some-run"],
    ["runs"],
    ["report", "some-run"],
    ["export", "some-run"],
    ["eval", "some-run"],
    ["chat"],
]
# retitles the window, colours, clears the screen, rings the bell, rubs out text (8-bit CSI too)
HOSTILE = "\x1b]0;PWNED\x07Mia \x1b[31mfinds\x1b[0m a \x9b31mdog\x08\x08\x00\x07. \x1b[2JBolt."
UNSAFE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # C0 but newline, DEL, C1
CONTROL_STORIES = [
    "\x00",
    "\x00\x01\x02\x03",
    "\x1b",
    "\x07\x08\x7f",
    "\u200b\u200c\u200d\ufeff",
    "\u2060 \u00ad",
    "\u3164\u115f",
    "\u2800 \u2800",
    "\ufe0f\u034f",
    "\x85\x9b\x9c",
]


def invoke(*args: str, stdin: bytes | str | None = None, **env: str) -> Any:
    result = CliRunner().invoke(app, list(args), input=stdin, env=env or None)
    assert not isinstance(result.exception, AssertionError), result.exception
    return result


def assert_one_line(result: Any, *fragments: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("storyviz: error: "), lines[0]
    assert "Usage:" not in result.output and "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def nothing_written(root: Path) -> None:
    assert sorted(p.name for p in root.iterdir() if p.name != "storyviz.toml") == []


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["run", "Mia", "--panels", "abc"], ["--panels", "'abc'", "storyviz run --help"]),
        (["run", "Mia", "--panels", "1.5"], ["--panels", "'1.5'"]),
        (["run", "Mia", "--seed", "abc"], ["--seed", "'abc'"]),
        (["run", "Mia", "--threshold", "high"], ["--threshold", "'high'"]),
        (["run", "Mia", "--max-rounds", "two"], ["--max-rounds"]),
        (["run", "Mia", "--max-llm-calls", "many"], ["--max-llm-calls"]),
        (["run", "Mia", "--panels"], ["--panels", "requires an argument"]),
        (["run", "Mia", "--bogus"], ["--bogus"]),
        (["run", "Mia", "-z"], ["-z"]),
        (["run", "Mia", "walks"], ["unexpected extra argument", "walks"]),
        (["resume"], ["Missing argument", "storyviz resume --help"]),
        (["report"], ["Missing argument"]),
        (["export"], ["Missing argument"]),
        (["export", "r", "--width", "wide"], ["--width", "'wide'"]),
        (["eval"], ["Missing argument"]),
        (["runs", "extra"], ["extra"]),
        (["runs", "--json=yes"], ["--json"]),
        (["chat", "--seed", "x"], ["--seed", "storyviz chat --help"]),
        (["chat", "--panels", "many"], ["--panels"]),
        (["backends", "--all"], ["--all"]),
        (["rn"], ["No such command", "'rn'", "storyviz --help"]),
        (["--version"], ["--version"]),
    ],
)
def test_usage_errors_are_one_line(tmp_path: Path, args: list[str], fragments: list[str]) -> None:
    assert_one_line(invoke(*args), *fragments)
    nothing_written(tmp_path)


@pytest.mark.parametrize("command", WITH_RUNS_DIR, ids=lambda c: c[0])
@pytest.mark.parametrize("runs_dir", ["", "   "])
def test_an_empty_runs_dir_is_refused_by_every_command(
    tmp_path: Path, command: list[str], runs_dir: str
) -> None:
    assert_one_line(invoke(*command, "--runs-dir", runs_dir), "--runs-dir", "empty")
    nothing_written(tmp_path)


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--file", ""],
        ["run", "--vistorybench", " "],
        ["export", "some-run", "--out", ""],
    ],
)
def test_other_empty_paths_are_refused(tmp_path: Path, args: list[str]) -> None:
    assert_one_line(invoke(*args), "the path is empty")
    nothing_written(tmp_path)


@pytest.mark.parametrize("where", ["environment", "storyviz.toml"])
def test_an_empty_runs_dir_setting_is_refused(tmp_path: Path, where: str) -> None:
    env = {}
    if where == "environment":
        env["STORYVIZ_RUNS_DIR"] = ""
    else:
        (tmp_path / "storyviz.toml").write_text('runs_dir = "  "\n')
    for command in (["runs"], ["run", "Mia walks."]):
        assert_one_line(invoke(*command, **env), "runs_dir", "empty")
    nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["run", "Mia finds a dog.\udcff\udcfe"], {}),
        (["run", "Mia walks.", "--style", "ink\udce9"], {}),
        (["run", "Mia walks.", "--generator", "sketch?drift=0.\udcff"], {}),
        (["run", "Mia walks.", "--runs-dir", "r\udcff"], {}),
        (["chat", "--thread", "t\udcff"], {}),
        (["run", "Mia walks."], {"STORYVIZ_STYLE": "ink\udce9"}),
    ],
)
def test_arguments_that_are_not_utf8_are_refused(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    assert_one_line(invoke(*args, **env), "not UTF-8 text")
    nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"Mia finds a dog.\xff\xfe", "not UTF-8 text"),
        (b"\xef\xbb\xbf", "the story is empty"),  # only a byte-order mark
        (b"\xef\xbb\xbf\xe2\x80\x8b\x00\x01", "the story is empty"),
    ],
)
def test_a_story_on_stdin_is_decoded_like_a_file(
    tmp_path: Path, data: bytes, fragment: str
) -> None:
    assert_one_line(invoke("run", "--file", "-", stdin=data), fragment)
    (tmp_path / "story.txt").write_bytes(data)
    assert_one_line(invoke("run", "--file", "story.txt"), fragment)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("story", CONTROL_STORIES)
def test_a_story_of_control_or_invisible_characters_is_empty(tmp_path: Path, story: str) -> None:
    with pytest.raises(ValidationError, match="the story is empty"):
        StoryRequest(story=story)
    assert_one_line(invoke("run", story), "the story is empty")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("story", CONTROL_STORIES[:3])
def test_chat_refuses_them_too_and_goes_on(tmp_path: Path, story: str) -> None:
    with ChatSession.open("t", runs_dir=tmp_path / "runs") as chat:
        reply = chat.send(story)
        assert reply.kind == "error" and "the story is empty" in reply.text
        bad = chat.send("Mia finds a dog.\udcff")
        assert bad.kind == "error" and "not UTF-8" in bad.text
        assert chat.plan is None


def test_undecodable_text_is_refused_by_the_request_itself() -> None:
    for fields in ({"story": "Mia\udcff"}, {"story": "Mia", "style": "\udce9"}):
        with pytest.raises(ValidationError, match="not UTF-8"):
            StoryRequest(**fields)


@pytest.mark.parametrize(
    ("command", "fragment"),
    [
        (["report"], "not a valid run id"),
        (["resume"], "not a valid run id"),
        (["export"], "not a valid run id"),
        (["eval"], "not a valid run id"),
        (["chat", "--thread"], "not a usable thread name"),
    ],
)
def test_names_with_a_final_newline_are_refused(
    tmp_path: Path, command: list[str], fragment: str
) -> None:
    run = RunStore(tmp_path / "runs").create(StoryRequest(story="Mia walks."), {})
    assert_one_line(invoke(*command, run.run_id + "\n"), fragment)  # the run, not a name
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [run.run_id]


def test_error_messages_cannot_carry_escape_sequences(tmp_path: Path) -> None:
    for args in (
        ["run", "Mia", "--generator", "bad\x1b]0;PWNED\x07name"],
        ["run", "Mia", "--generator", "two\nlines\r\x9b2J"],
        ["run", "--file", "\x1b[31mred\x1b[0m\x07.txt"],
    ):
        result = invoke(*args)
        assert_one_line(result)
        for unsafe in ("\x1b", "\x07", "\x9b", "\r"):
            assert unsafe not in result.stderr, repr(result.stderr)


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
