"""Stable seeds derived from a run seed and names.

Python's hash() of a string changes between processes, which would make a resumed run draw
differently from an uninterrupted one; these seeds are the same in every process.
"""

from __future__ import annotations

import hashlib


def stable_seed(*parts: object) -> int:
    """A 32-bit seed from any printable parts, identical across processes and machines."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=4).digest(), "big")
