"""Inline image previews for `/show`, in terminals that can draw images.

Two protocols cover most such terminals: iTerm2's (iTerm2, WezTerm) and kitty's graphics
protocol (kitty, Ghostty). Anywhere else, and whenever output is not a terminal, there is no
preview and the path alone is printed: guessing would print escape codes as garbage.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path

PREVIEW_COLUMNS = 40
_KITTY_CHUNK = 4096


def protocol(env: Mapping[str, str] | None = None) -> str | None:
    """ "iterm", "kitty" or None, from the variables these terminals set."""
    env = os.environ if env is None else env
    if env.get("TERM_PROGRAM") in ("iTerm.app", "WezTerm"):
        return "iterm"
    if env.get("TERM") == "xterm-kitty" or "KITTY_WINDOW_ID" in env:
        return "kitty"
    if env.get("TERM_PROGRAM") == "ghostty":
        return "kitty"
    return None


def preview(image: Path, kind: str, columns: int = PREVIEW_COLUMNS) -> str:
    """The escape sequence that draws `image` inline, `columns` cells wide."""
    data = image.read_bytes()
    encoded = base64.standard_b64encode(data).decode("ascii")
    if kind == "iterm":
        name = base64.standard_b64encode(image.name.encode()).decode("ascii")
        return (
            f"\x1b]1337;File=name={name};size={len(data)};width={columns};"
            f"preserveAspectRatio=1;inline=1:{encoded}\x07\n"
        )
    chunks = [encoded[i : i + _KITTY_CHUNK] for i in range(0, len(encoded), _KITTY_CHUNK)]
    parts = []
    for n, chunk in enumerate(chunks):
        more = 1 if n < len(chunks) - 1 else 0
        keys = f"a=T,f=100,c={columns},m={more}" if n == 0 else f"m={more}"
        parts.append(f"\x1b_G{keys};{chunk}\x1b\\")
    return "".join(parts) + "\n"
