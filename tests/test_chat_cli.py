"""`storyviz chat` through its real entry point: a piped script, a resumed thread, a terminal."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import STORYVIZ, assert_one_line_error, storyviz
from conftest import MIA_STORY

pytestmark = pytest.mark.slow


def panel_hashes(run_dir: Path) -> dict[str, str]:
    return {
        image.name: hashlib.sha256(image.read_bytes()).hexdigest()
        for image in sorted((run_dir / "panels").glob("*.png"))
    }


def run_folders(stdout: str) -> list[str]:
    return re.findall(r"^Run folder: (\S+)$", stdout, re.MULTILINE)


def test_a_scripted_conversation_then_a_resumed_thread(tmp_path: Path) -> None:
    script = "\n".join(
        [
            MIA_STORY,
            "yes",
            "make panel 3 at night",
            "/frobnicate",
            "",
            "make panel 12 at night",
            "/undo",
            "/quit",
        ]
    )
    first = storyviz("chat", "--thread", "demo", "--runs-dir", "runs", cwd=tmp_path, stdin=script)
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr + first.stdout
    out = first.stdout
    assert "Say 'yes' to draw it" in out
    assert "Unknown command /frobnicate; /help lists the commands." in out
    assert "Nothing was said" in out
    assert "there is no panel 12: the plan has 8 panels (1-8)" in out
    assert "Redrawn: panel 3 (p03)." in out
    approved, edited = (tmp_path / f for f in run_folders(out))
    before, after = panel_hashes(approved), panel_hashes(edited)
    assert sorted(before) == sorted(after) and len(before) == 8
    assert [name for name in before if before[name] != after[name]] == ["p03_v1.png"]
    undone = "Undone: back to the previous plan and its panels. Run folder: "
    assert f"{undone}{approved.relative_to(tmp_path)}" in out
    assert "Bye. Resume with: storyviz chat --thread demo" in out

    resumed = storyviz(
        "chat", "--thread", "demo", "--runs-dir", "runs", cwd=tmp_path, stdin="/plan\n/runs\n"
    )
    assert resumed.returncode == 0, resumed.stderr
    text = resumed.stdout
    assert "Resuming thread demo: 'Mia and Bolt', 8 panels, 2 run(s)." in text
    assert f"Current run: {approved.relative_to(tmp_path)}" in text
    assert "home at night" not in text  # the night edit on panel 3 stayed undone
    assert text.count("home during the day") == 4  # panels 1 to 4
    assert str(edited.relative_to(tmp_path)) in text  # /runs lists both
    assert text.rstrip().endswith("Bye. Resume with: storyviz chat --thread demo")


def test_a_bad_thread_name_is_a_one_line_error(tmp_path: Path) -> None:
    proc = storyviz("chat", "--thread", "no/slashes", cwd=tmp_path, stdin="")
    assert_one_line_error(proc, "not a usable thread name")


def test_offline_chat_imports_no_torch_and_help_stays_light(tmp_path: Path) -> None:
    code = f"""
import sys
import storyviz.cli
assert "storyviz.agents.chat.session" not in sys.modules
from pathlib import Path
from storyviz.agents.chat.session import ChatSession
with ChatSession.open("t", runs_dir=Path("runs")) as chat:
    chat.send({MIA_STORY!r})
    assert chat.send("yes").kind == "render"
    assert chat.send("swap panels 2 and 3").kind == "render"
assert "torch" not in sys.modules, "torch imported"
print("ok")
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_at_a_terminal(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(
        STORYVIZ[0],
        [*STORYVIZ[1:], "chat", "--thread", "tty", "--runs-dir", "runs"],
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 160),
        env={**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1"},
    )
    child.expect("Describe your story")
    child.expect("you>")
    child.sendline("Mia finds a dog. The dog barks.")
    child.expect("Say 'yes' to draw it")
    child.sendline("/nope")
    child.expect("Unknown command /nope")
    child.sendline("/quit")
    child.expect("Bye. Resume with: storyviz chat --thread tty")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_the_readme_transcript_works_as_printed(tmp_path: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text("utf-8")
    section = readme.split("## Chat\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```text\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    assert lines[0] == "$ storyviz chat --thread mia"
    said = [line.removeprefix("you> ") for line in lines if line.startswith("you> ")]
    proc = storyviz("chat", "--thread", "mia", cwd=tmp_path, stdin="\n".join(said) + "\n")
    assert proc.returncode == 0, proc.stderr

    def normal(line: str) -> str:
        return re.sub(r"\d{8}-\d{6}-[a-z0-9-]+-[0-9a-f]{4}", "RUN", line.rstrip())

    printed = [normal(line) for line in proc.stdout.splitlines()]
    at = 0
    for expected in (normal(line) for line in lines[1:] if line != "..."):
        assert expected in printed[at:], f"not printed (in order): {expected!r}"
        at = printed.index(expected, at) + 1
    runs = re.findall(r"^Run folder: (\S+)$", proc.stdout, re.MULTILINE)
    assert f"Run folder: {runs[1]}" in proc.stdout.splitlines()[-3]  # /undo went back to run 2
