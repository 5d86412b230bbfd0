"""Where a seed model's files are: a local path or a hub path, checked before anything loads.

The releases ship their parts separately (a base model, an adapter file, encoder folders), and
users keep some on disk and fetch others; each option takes either form. A local path must
exist now, so a typo fails in milliseconds rather than after the base model has loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    """A file or folder: local (``local``) or on the hub (``hub()``: repo + path inside it)."""

    text: str

    @property
    def local(self) -> Path | None:
        if self.text.startswith(("/", ".", "~")):
            return Path(self.text).expanduser()
        return None

    def hub(self) -> tuple[str, str]:
        """``(owner/repo, path inside it)`` of a hub source."""
        parts = [part for part in self.text.split("/") if part]
        return "/".join(parts[:2]), "/".join(parts[2:])


def source_option(what: str, need_file: bool) -> Callable[[str], Source]:
    """An option parser for a file (``need_file``) or folder, local or on the hub."""

    def parse(text: str) -> Source:
        source = Source(text.strip())
        local = source.local
        if local is not None:
            if need_file and not local.is_file():
                raise ValueError(f"no {what} file at {local}")
            if not need_file and not local.is_dir():
                raise ValueError(f"no {what} folder at {local}")
            return source
        repo, inner = source.hub()
        if not inner and need_file:
            raise ValueError(f"expected OWNER/REPO/FILE or a local file for the {what}")
        if repo.count("/") != 1:
            raise ValueError(f"expected OWNER/REPO[/PATH] or a local path for the {what}")
        return source

    return parse
