"""How the studio is served: where it binds, who may use it, which files it may send.

Defaults are the safe ones: 127.0.0.1, no share link, no analytics, and files only from the
runs directory. Gradio keeps a cache of files it sends (uploads, images shown); that cache is
put inside the runs directory too, so nothing outside it is ever served. Binding another
address without --auth is allowed (a lab behind its own firewall) but warned about.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storyviz.errors import InputError

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
CACHE_DIR = ".studio-cache"  # inside the runs directory
QUICK_STEPS = 4
"""Events that do not draw (listing threads, showing a version) run this many at a time; the
drawing ones have their own limit (--concurrency)."""


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 7860
    auth: tuple[str, str] | None = None
    draw_limit: int = 1  # drawings at once, across every browser session

    def warnings(self) -> list[str]:
        if self.host not in LOCAL_HOSTS and self.auth is None:
            return [
                f"the studio listens on {self.host} without --auth: anyone who can reach this "
                "machine can use it and read its runs; add --auth USER:PASSWORD"
            ]
        return []


def parse_auth(text: str | None) -> tuple[str, str] | None:
    """'user:password' (the password may hold ':'); the password may come from the environment
    instead: --auth user with STORYVIZ_STUDIO_PASSWORD set, so it stays out of shell history."""
    if text is None:
        return None
    user, colon, password = text.partition(":")
    if not colon:
        password = os.environ.get("STORYVIZ_STUDIO_PASSWORD", "")
    if not user or not password:
        raise InputError("--auth takes USER:PASSWORD (or USER with STORYVIZ_STUDIO_PASSWORD set)")
    return user, password


def prepare_environment(runs_dir: Path) -> Path:
    """Gradio's settings that must be set before it is imported: its file cache inside the runs
    directory, no usage analytics, and the queue's default limit (set here rather than by a
    second `queue()` call, which would build Gradio's whole app once more: 0.1 s of start-up)."""
    cache = (runs_dir / CACHE_DIR).resolve()
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(cache)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["GRADIO_DEFAULT_CONCURRENCY_LIMIT"] = str(QUICK_STEPS)
    os.environ.setdefault("GRADIO_SERVER_NAME", "127.0.0.1")
    return cache


def launch_kwargs(options: ServeOptions, runs_dir: Path) -> dict[str, Any]:
    runs = str(runs_dir.resolve())
    return {
        "server_name": options.host,
        "server_port": options.port,
        "auth": options.auth,
        "share": False,
        "allowed_paths": [runs],
        "show_error": False,  # an unexpected exception is a message, never a stack trace
        "footer_links": [],
        "quiet": True,
        "ssr_mode": False,
        "pwa": False,
        "mcp_server": False,
        "inbrowser": False,
    }
