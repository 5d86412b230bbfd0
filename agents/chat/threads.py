"""Where chat threads are kept and what they may be called (light: no langgraph import, so a bad
name is refused before the session machinery loads)."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from pathlib import Path

from storyviz.errors import InputError

CHATS_DIR = "chats"
_THREAD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def new_thread_name(now: datetime | None = None) -> str:
    return f"chat-{(now or datetime.now()).strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def thread_path(runs_dir: Path, thread: str) -> Path:
    """``<runs-dir>/chats/<thread>.sqlite``; a name that could leave that folder is refused."""
    if not _THREAD.fullmatch(thread):  # match with '$' let a final newline through
        raise InputError(
            f"{thread!r} is not a usable thread name: letters, digits, '.', '_' and '-', "
            "up to 64 characters"
        )
    return Path(runs_dir) / CHATS_DIR / f"{thread}.sqlite"
