"""What the torch-backed embedders and detectors share: a device choice and a once-per-process
model cache. Only modules that already import torch import this one."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import torch

from storyviz.errors import BackendError
from storyviz.registry import BackendSpec

T = TypeVar("T")

_CACHE: dict[Hashable, Any] = {}
_LOCK = threading.Lock()


def device_for(spec: BackendSpec) -> str:
    """``?device=auto`` (default: CUDA when present, else CPU), ``cpu``, ``cuda``, ``cuda:1``."""
    wanted = spec.options.get("device", "auto").strip().lower()
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise BackendError(f"backend {spec.name!r}: device={wanted} but no CUDA device is present")
    if wanted != "cpu" and not wanted.startswith("cuda"):
        raise BackendError(f"backend {spec.name!r}: device must be auto, cpu or cuda[:N]")
    return wanted


def cached(key: Hashable, load: Callable[[], T]) -> T:
    """`load()` once per process per key: weights take seconds to load and memory to hold, and
    a run audits every round with the same model (and `storyviz eval` many runs)."""
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = load()
        value: T = _CACHE[key]
        return value
