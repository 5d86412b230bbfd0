"""One writer at a time for a run folder or a chat thread, enforced by the operating system.

The lock is ``flock`` on a small file that also holds the writer's pid, for the message a second
writer gets. The kernel drops the lock when its holder exits however it exits (SIGKILL and power
loss included), so a dead writer never leaves a stale lock behind: the pid in the file is only
ever read while the lock is held. Descriptors are not inherited by child processes (Python opens
them close-on-exec), so a subprocess never keeps a run locked after its parent died.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from storyviz.errors import WriterBusyError


class WriterLock:
    """An exclusive, non-blocking lock on ``path``; ``what`` names the thing for the message
    ("run 2026…-mia-ab12", "chat thread mia")."""

    def __init__(self, path: Path, what: str) -> None:
        self.path = Path(path)
        self.what = what
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> WriterLock:
        """Take the lock or fail at once, naming the process that holds it."""
        if self._fd is not None:
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise WriterBusyError(self._busy_message(holder_pid(self.path))) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        os.close(fd)  # closing the last descriptor drops the flock

    def check_free(self) -> None:
        """Fail, naming the holder, if another writer holds the lock right now (for readers
        that must not take a half-written folder as finished)."""
        if self._fd is None:
            pid = holder_pid(self.path)
            if pid is not None:
                raise WriterBusyError(self._busy_message(pid))

    def _busy_message(self, pid: int | None) -> str:
        who = f"process {pid}" if pid else "another process"
        return f"{self.what} is being written by {who}; wait for it to finish or stop it"

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def holder_pid(path: Path) -> int | None:
    """The pid of the live process holding the lock on ``path``, or None when nobody does
    (a missing file, or a file left by a writer that has exited)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.read(fd, 32).decode("ascii", "ignore").strip()
            return int(text) if text.isdigit() else 0  # held, by a writer not yet named
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
