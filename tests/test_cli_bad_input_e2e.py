"""Bad and hostile input through the real entry point, a representative few of
tests/test_cli_bad_input.py: one line on stderr, nothing written, and nothing a story says
reaches the terminal as an escape sequence or control character."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, last_json, storyviz

pytestmark = pytest.mark.slow

# retitles the window, colours, clears the screen, rings the bell, rubs out text (8-bit CSI too)
EVIL = "\x1b]0;PWNED\x07Mia \x1b[31mfinds\x1b[0m a \x9b31mdog\x08\x08\x00\x07. \x1b[2JBolt barks."
UNSAFE = ("\x1b", "\x07", "\x9b", "\x08", "\x00", "\r")


def assert_clean(proc: subprocess.CompletedProcess[str]) -> None:
    for text in (proc.stdout, proc.stderr):
        for unsafe in UNSAFE:
            assert unsafe not in text, (unsafe, text)


def test_undecodable_stdin_is_one_line_and_leaves_no_run(tmp_path: Path) -> None:
    runs = tmp_path / "r"
    data = b"Mia finds a dog.\xff\xfe"
    proc = storyviz("run", "--file", "-", "--runs-dir", str(runs), stdin=data)
    assert_one_line_error(proc, "cannot read story file -: it is not UTF-8 text")
    assert not runs.exists()


def test_a_story_of_control_characters_is_empty(tmp_path: Path) -> None:
    runs = tmp_path / "r"
    proc = storyviz("run", "\x01\x02\u200b\ufeff", "--runs-dir", str(runs))
    assert_one_line_error(proc, "the story is empty")
    assert not runs.exists()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["run", "Mia", "--panels", "abc"], ["--panels", "'abc'", "(see storyviz run --help)"]),
        (["rn"], ["No such command 'rn'"]),
        (["runs", "--runs-dir", ""], ["--runs-dir", "the path is empty"]),
        (["report", "x\n"], ["'x\\n' is not a valid run id"]),
        (["chat", "--thread", "x\n"], ["not a usable thread name"]),
        (["run", "Mia\udcff"], ["argument 2", "not UTF-8 text"]),
    ],
)
def test_usage_and_name_errors_are_one_line(
    tmp_path: Path, args: list[str], fragments: list[str]
) -> None:
    assert_one_line_error(storyviz(*args, cwd=tmp_path), *fragments)
    assert list(tmp_path.iterdir()) == []


def test_hostile_story_runs_and_lists_without_escapes(tmp_path: Path) -> None:
    story = tmp_path / "story.txt"
    story.write_text(EVIL, encoding="utf-8")
    runs = str(tmp_path / "r")
    ran = storyviz("run", "--file", str(story), "--runs-dir", runs)  # progress on stderr
    assert ran.returncode == 0, ran.stderr
    assert_clean(ran)
    table = storyviz("runs", "--runs-dir", runs)
    assert "Mia finds a dog. Bolt barks." in table.stdout and "PWNED" not in table.stdout
    assert_clean(table)
    (row,) = last_json(storyviz("runs", "--runs-dir", runs, "--json"))
    assert row["story"] == " ".join(EVIL.split())  # JSON keeps the text, escaped
    name = EVIL.replace("\x00", "") + ".txt"  # no NUL in an argument
    missing = storyviz("run", "--file", name, "--runs-dir", runs)  # the error echoes the name
    assert_one_line_error(missing, "cannot read story file")
    assert_clean(missing)


def test_hostile_chat_is_shown_clean_and_goes_on(tmp_path: Path) -> None:
    script = EVIL.encode() + b"\nbad \xff line\n/plan\n/quit\n"
    proc = storyviz("chat", "--thread", "t", cwd=tmp_path, stdin=script)
    assert proc.returncode == 0, proc.stderr
    assert_clean(proc)
    assert "you> Mia finds a dog. Bolt barks." in proc.stdout
    assert "That message is not UTF-8 text; nothing was changed." in proc.stdout
    assert proc.stdout.count("Say 'yes' to draw it") == 2  # the plan, and again for /plan
    assert proc.stdout.rstrip().endswith("Bye. Resume with: storyviz chat --thread t")


def test_help_stays_light(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "storyviz", "--help"],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    )  # fmt: skip
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    heavy = {"torch", "rich", "pydantic", "langgraph", "numpy", "PIL"} & imported
    assert heavy == set() and "Commands" in proc.stdout
