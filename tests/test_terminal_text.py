"""What reaches a terminal: no escape sequence or control character from a story, a model, a
file name or a backend string, through plain output, the rich console, progress and logging."""

from __future__ import annotations

import io
import logging
import re

import pytest
from rich.console import Console
from rich.table import Table
from rich.text import Text

from storyviz.agents.chat.state import Reply
from storyviz.cli_chat import show_reply
from storyviz.terminal_console import console
from storyviz.terminal_text import clean, clean_logging

# A story line that would retitle the window, colour and clear the screen, ring the bell and
# rub out text, with an 8-bit CSI and an OSC 8 link as well.
EVIL = (
    "\x1b]0;PWNED\x07Mia \x1b[31mfinds\x1b[0m a \x9b31mdog\x08\x08\x00\x7f named [/b] Bolt."
    "\x1b[2J \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x9d0;T\x9c\x1bc"
)
# What no output may hold: C0 but newline, DEL, C1.
UNSAFE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
SGR = re.compile(r"\x1b\[[0-9;]*m")  # rich's own colours, at a terminal


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("\x1b]0;PWNED\x07Mia", "Mia"),  # OSC title, ended by BEL
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 link, ended by ST
        ("\x1b[31mred\x1b[0m", "red"),  # CSI colour
        ("a\x1b[2Jb\x1b[1;1Hc", "abc"),  # CSI clear screen, cursor home
        ("\x9b31mred", "red"),  # 8-bit CSI
        ("\x9d0;T\x9cok", "ok"),  # 8-bit OSC and ST
        ("\x1bPq#0;2\x1b\\x", "x"),  # DCS (sixel) string
        ("\x1bcreset", "reset"),  # ESC c: full terminal reset
        ("\x1b(0x", "x"),  # charset switch
        ("ding\x07", "ding"),  # BEL
        ("abc\x08\x08X", "abcX"),  # backspaces rubbing out shown text
        ("a\x00b\x7fc\x85d", "abcd"),  # NUL, DEL, NEL
        ("safe\rEVIL", "safe\nEVIL"),  # a lone CR would overwrite the line
        ("a\r\nb", "a\nb"),
        ("a\tb", "a b"),
        ("trailing\x1b", "trailing"),
        ("\x1b]0;no end\nnext", "\nnext"),  # an unended OSC stops at the line's end
        ("caf\udce9", "caf\ufffd"),  # an undecodable byte
        ("Mia 🐶 見る — e\u0301 \u200d\n", "Mia 🐶 見る — e\u0301 \u200d\n"),  # text stays
    ],
)
def test_clean_removes_sequences_and_controls(given: str, shown: str) -> None:
    assert clean(given) == shown


def test_clean_one_line_and_everything_at_once() -> None:
    assert clean("a\nb\r\n\n c\rd", multiline=False) == "a b c d"
    out = clean(EVIL)
    assert not UNSAFE.search(out) and "\x1b" not in out and "PWNED" not in out
    assert out.startswith("Mia finds a dog named [/b] Bolt.")
    assert clean(out) == out


def _terminal() -> tuple[io.StringIO, Console]:
    buffer = io.StringIO()
    return buffer, console(file=buffer, force_terminal=True, width=100)


def _only_styles(text: str) -> str:
    """What is left once rich's own colour codes are taken out: must be plain text."""
    rest = SGR.sub("", text)
    assert not UNSAFE.search(rest) and "\x1b" not in rest, repr(rest)
    return rest


def test_console_cleans_strings_tables_and_text_objects() -> None:
    buffer, out = _terminal()
    table = Table("who", "says")
    table.add_row(EVIL, EVIL)
    out.print(EVIL)
    out.print(table)
    out.print(Text.assemble((EVIL, "bold"), " after"))
    shown = _only_styles(buffer.getvalue())
    assert "[/b] Bolt." in shown and "PWNED" not in shown  # markup is not parsed either
    assert "\x1b[1m" in buffer.getvalue()  # rich's own styling still works


def test_chat_plan_tables_and_replies_are_clean() -> None:
    buffer, out = _terminal()
    row = {"n": 1, "shot": EVIL, "scene": EVIL, "cast": EVIL, "caption": EVIL, "dialogue": EVIL}
    plan = {
        "title": EVIL,
        "style": EVIL,
        "pages": 1,
        "characters": [{"name": EVIL, "looks": EVIL, "colours": EVIL}],
        "panels": [{**row, "marked": True}],
    }
    show_reply(out, Reply(EVIL, "plan", plan=plan))
    show_reply(out, Reply(EVIL, "error"))
    assert "Mia finds a dog" in _only_styles(buffer.getvalue())


def test_log_records_on_stderr_are_clean(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(logging, "lastResort", logging.lastResort)  # restored afterwards
    clean_logging()
    record = logging.makeLogRecord({"msg": "vlm note: %s", "args": (EVIL,), "levelno": 30})
    assert logging.lastResort is not None
    logging.lastResort.handle(record)  # as when no handler takes a warning (pytest's do here)
    err = capsys.readouterr().err
    assert err.startswith("vlm note: Mia finds a dog") and not UNSAFE.search(err)
