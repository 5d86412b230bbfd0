"""Importing large libraries without paying for the garbage collector twice.

Importing LangGraph creates tens of thousands of long-lived objects. With the cyclic GC running,
those allocations trigger collections during the import, every later collection scans them
again, and interpreter exit scans them once more (0.4 s of a 3 s offline run, measured here).
Pausing the GC for the import and freezing what it created avoids all three; the objects are
module-level and live for the whole process anyway.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def bulk_import() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.freeze()
