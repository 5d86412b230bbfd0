"""Loading a pipeline once per process, and deriving the repair pipelines from it.

A Stable Diffusion checkpoint takes seconds to minutes to load and gigabytes to hold; a comic
renders dozens of panels and repairs. So pipelines live in a module-level cache keyed by what
changes the loaded weights (model, device, dtype, offload), shared by every generator built in
the process (the graph builds one per run, a resumed run another). Inpainting and img2img
pipelines come from ``from_pipe``: new pipeline objects around the very same modules, so a
repair costs no extra memory and no extra load.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diffusers import (
    AutoPipelineForImage2Image,
    AutoPipelineForInpainting,
    AutoPipelineForText2Image,
)

from storyviz.errors import BackendError
from storyviz.generators.diffusers.device import DTYPES
from storyviz.generators.diffusers.identity import load_adapter
from storyviz.generators.diffusers.options import AdapterSource
from storyviz.generators.diffusers.prompts import PromptCache


@dataclass(frozen=True)
class LoadKey:
    model: str
    device: str
    dtype: str
    offload: str  # "none", "model", "sequential"
    adapter: AdapterSource | None = None  # an IP-Adapter changes the UNet: part of the key
    # What else a model family loads beside the pipeline (a seed model's adapter, encoders and
    # their options), as hashable values: two generators asking for the same share one load.
    extra: tuple[Any, ...] = ()
    backend: str = "diffusers"  # the backend name load errors carry


@dataclass
class Loaded:
    """A text-to-image pipeline and the repair pipelines derived from it, made on first use."""

    key: LoadKey
    text2img: Any
    # The family's own modules loaded with the pipeline (resamplers, image encoders, ...); None
    # for a plain diffusers pipeline.
    parts: Any = None
    # A pipeline (its scheduler above all, and its fast tokenizer's truncation settings) keeps
    # per-call state, and the derived pipelines share those modules; the graph renders several
    # panels at once, so calls and prompt encodings take turns on this lock.
    render_lock: threading.Lock = field(default_factory=threading.Lock)
    # Prompt embeddings depend on the text encoder only, which the derived pipelines share too.
    prompts: PromptCache = field(default_factory=PromptCache)
    _derived: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def derived(self, task: str) -> Any:
        """``"inpaint"`` or ``"img2img"``: a pipeline sharing every module with ``text2img``."""
        with self._lock:
            if task not in self._derived:
                auto = {"inpaint": AutoPipelineForInpainting, "img2img": AutoPipelineForImage2Image}
                try:
                    pipe = auto[task].from_pipe(self.text2img)
                except (ValueError, KeyError, AttributeError) as exc:
                    name = type(self.text2img).__name__
                    raise BackendError(
                        f"backend '{self.key.backend}': {name} has no {task} variant "
                        f"({one_line(exc)})"
                    ) from None
                quiet(pipe)
                self._derived[task] = pipe
            return self._derived[task]


_CACHE: dict[LoadKey, Loaded] = {}
_CACHE_LOCK = threading.Lock()
_LOADS = [0]  # models loaded from disk in this process (a batch's render actors report it)


def load_count() -> int:
    """How many pipelines this process has loaded from disk (cache hits not counted)."""
    return _LOADS[0]


def cached(key: LoadKey) -> Loaded | None:
    return _CACHE.get(key)


def clear_cache() -> None:
    """Forget every loaded pipeline (tests; a long-lived server switching models)."""
    with _CACHE_LOCK:
        _CACHE.clear()


Builder = Callable[[LoadKey], tuple[Any, Any]]
"""Loads what a key names: the text-to-image pipeline (placed on its device) and its parts."""


def load(key: LoadKey, build: Builder | None = None) -> Loaded:
    """The pipeline for this key, loading it on the first call in the process only.

    ``build`` loads a model family other than diffusers' own pipelines (the seed models); by
    default the key's model is loaded with ``AutoPipelineForText2Image``."""
    with _CACHE_LOCK:  # held during the load: two threads asking at once load it once
        if key not in _CACHE:
            pipe, parts = (build or _plain)(key)
            _CACHE[key] = Loaded(key, pipe, parts)
            _LOADS[0] += 1
        return _CACHE[key]


def _plain(key: LoadKey) -> tuple[Any, Any]:
    return _load_text2img(key), None


def is_local(model: str) -> bool:
    """A path rather than a hub id: absolute, or starting with ``.`` or ``~``."""
    return model.startswith(("/", ".", "~")) or Path(model).is_absolute()


def _load_text2img(key: LoadKey) -> Any:
    source = key.model
    if is_local(source):
        folder = Path(source).expanduser()
        if not (folder / "model_index.json").is_file():
            raise BackendError(
                f"backend 'diffusers': {folder} is not a diffusers model folder "
                "(no model_index.json there)"
            )
        source = str(folder)
    try:
        pipe = AutoPipelineForText2Image.from_pretrained(source, dtype=DTYPES[key.dtype])
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        raise BackendError(
            f"backend 'diffusers': cannot load {key.model!r}: {one_line(exc)}"
        ) from None
    if key.adapter is not None:  # before placement, so offload hooks cover the image encoder
        load_adapter(pipe, key.adapter)
    place(pipe, key)
    quiet(pipe)
    return pipe


def place(pipe: Any, key: LoadKey) -> None:
    """Move to the device, or let accelerate's hooks move modules there as they are needed."""
    try:
        if key.offload == "model":
            pipe.enable_model_cpu_offload(device=key.device)
        elif key.offload == "sequential":
            pipe.enable_sequential_cpu_offload(device=key.device)
        else:
            pipe.to(key.device)
    except (ImportError, RuntimeError, ValueError) as exc:
        raise BackendError(
            f"backend '{key.backend}': cannot place the model on {key.device} "
            f"(offload={key.offload}): {one_line(exc)}"
        ) from None


def quiet(pipe: Any) -> None:
    """No tqdm bars: storyviz reports progress itself, and bars garble its display."""
    if hasattr(pipe, "set_progress_bar_config"):
        pipe.set_progress_bar_config(disable=True)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
