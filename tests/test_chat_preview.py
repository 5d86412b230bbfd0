"""`/show` previews: inline images only in terminals that draw them, the path everywhere."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console

from storyviz.agents.chat.state import Reply
from storyviz.cli_chat import show_reply
from storyviz.cli_preview import preview, protocol


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "p03_v1.png"
    Image.effect_noise((96, 64), 60).convert("RGB").save(path)  # noisy: several kitty chunks
    return path


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TERM_PROGRAM": "iTerm.app"}, "iterm"),
        ({"TERM_PROGRAM": "WezTerm"}, "iterm"),
        ({"TERM": "xterm-kitty"}, "kitty"),
        ({"KITTY_WINDOW_ID": "1", "TERM": "xterm-256color"}, "kitty"),
        ({"TERM": "xterm-256color"}, None),
        ({}, None),
    ],
)
def test_protocol_from_the_terminal_variables(env: dict[str, str], expected: str | None) -> None:
    assert protocol(env) == expected


def test_iterm_sequence_carries_the_file(image: Path) -> None:
    text = preview(image, "iterm")
    m = re.fullmatch(r"\x1b\]1337;File=([^:]*):([A-Za-z0-9+/=]+)\x07\n", text)
    assert m is not None
    assert f"size={image.stat().st_size}" in m.group(1) and "inline=1" in m.group(1)
    assert base64.b64decode(m.group(2)) == image.read_bytes()


def test_kitty_sequence_is_chunked_and_carries_the_file(image: Path) -> None:
    parts = re.findall(r"\x1b_G([^;]*);([A-Za-z0-9+/=]*)\x1b\\", preview(image, "kitty"))
    assert len(parts) > 1 and all(len(payload) <= 4096 for _, payload in parts)
    assert parts[0][0].startswith("a=T,f=100,") and parts[0][0].endswith("m=1")
    assert parts[-1][0] == "m=0"
    assert base64.b64decode("".join(p for _, p in parts)) == image.read_bytes()


def test_show_reply_previews_only_at_a_capable_terminal(
    image: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reply = Reply(f"Panel 3 (p03) v1: {image}", image=str(image))
    monkeypatch.setenv("TERM_PROGRAM", "iTerm.app")
    piped = io.StringIO()
    show_reply(Console(file=piped, width=200, highlight=False), reply)
    assert piped.getvalue() == f"Panel 3 (p03) v1: {image}\n"  # not a terminal: the path alone
    tty = io.StringIO()
    show_reply(Console(file=tty, width=200, highlight=False, force_terminal=True), reply)
    assert "\x1b]1337;File=" in tty.getvalue() and str(image) in tty.getvalue()
    monkeypatch.delenv("TERM_PROGRAM")
    monkeypatch.setenv("TERM", "dumb-but-a-tty")
    plain = io.StringIO()
    show_reply(Console(file=plain, width=200, highlight=False, force_terminal=True), reply)
    assert "\x1b]1337" not in plain.getvalue() and "\x1b_G" not in plain.getvalue()
