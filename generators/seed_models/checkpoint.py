"""Reading a released checkpoint and loading it into modules built from its own shapes.

The releases ship torch pickles (``ms_adapter.bin``, DiffSensei's ``pytorch_model.bin``) or
safetensors files. Pickles are read with ``weights_only=True``: tensors and plain containers
only, never arbitrary objects, so a hostile file cannot run code. Loading is strict, and a key
the module lacks or a missing one is one line naming it: a checkpoint for another model, or a
truncated one, must not half-load and draw noise.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from storyviz.errors import BackendError

SAFETENSORS = (".safetensors",)


def read_state(file: Path, backend: str) -> dict[str, Any]:
    """The top-level mapping stored in ``file`` (a pickle or safetensors), on the CPU."""
    if not file.is_file():
        raise BackendError(f"backend '{backend}': missing checkpoint file {file}")
    try:
        if file.suffix in SAFETENSORS:
            from safetensors.torch import load_file

            return dict(load_file(str(file), device="cpu"))
        loaded = torch.load(file, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise BackendError(f"backend '{backend}': cannot read {file}: {text}") from None
    if not isinstance(loaded, Mapping):
        raise BackendError(
            f"backend '{backend}': {file} holds a {type(loaded).__name__}, not a state dict"
        )
    return dict(loaded)


def part(state: Mapping[str, Any], key: str, file: Path, backend: str) -> Any:
    """``state[key]``, or one line saying the checkpoint has no such part."""
    if key not in state:
        found = ", ".join(sorted(map(str, state))[:6]) or "nothing"
        raise BackendError(
            f"backend '{backend}': {file} has no {key!r} (found {found}); "
            "is it the right checkpoint?"
        )
    return state[key]


def tensor(state: Mapping[str, Any], key: str, what: str, backend: str) -> torch.Tensor:
    """A tensor the module is sized from; one line if it is absent."""
    value = state.get(key)
    if not isinstance(value, torch.Tensor):
        raise BackendError(f"backend '{backend}': {what} has no tensor {key!r}")
    return value


def load_strict(
    module: torch.nn.Module,
    state: Mapping[str, Any],
    what: str,
    backend: str,
    *,
    assign: bool = False,
) -> None:
    """``module.load_state_dict(state, strict=True)`` with a one-line error naming the first
    missing, unexpected or misshapen key; ``assign`` takes the tensors themselves (a module
    built on the meta device, so a multi-GB model is not held twice)."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing key {missing[0]!r}" + _more(missing))
        if unexpected:
            parts.append(f"unexpected key {unexpected[0]!r}" + _more(unexpected))
        raise BackendError(f"backend '{backend}': {what} does not fit: {'; '.join(parts)}")
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise BackendError(f"backend '{backend}': {what}: {key!r} is not a tensor")
        if tuple(value.shape) != tuple(expected[key].shape):
            raise BackendError(
                f"backend '{backend}': {what}: {key!r} has shape {tuple(value.shape)}, "
                f"the model expects {tuple(expected[key].shape)}"
            )
    module.load_state_dict(dict(state), strict=True, assign=assign)


def _more(keys: list[str]) -> str:
    return f" (and {len(keys) - 1} more)" if len(keys) > 1 else ""
