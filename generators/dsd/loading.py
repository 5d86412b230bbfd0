"""Loading DSD: FLUX.1-dev with the release's transformer and LoRA.

The release is two downloads on top of FLUX.1-dev: ``transformer/`` (a diffusers FLUX
transformer folder whose weights hold ``c_embedder`` too) and ``pytorch_lora_weights.safetensors``
(diffusers/peft keys under ``transformer.``). Each may be a local path or a hub path, and each
failure is one line naming the file. The transformer is built on the meta device from its own
config, given ``c_embedder`` (``transformer.Condition``) and loaded strictly with the tensors
assigned, so a stock FLUX transformer (no ``c_embedder``) or a truncated file is refused, and
24 GB of weights are not held twice. It replaces the base folder's transformer in
``FluxPipeline.from_pretrained``, so FLUX.1-dev's own is never read. The LoRA is loaded through
diffusers' FLUX loader and counted: every layer the file names must land on the transformer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from diffusers import FluxPipeline, FluxTransformer2DModel
from diffusers.utils import logging as diffusers_logging

from storyviz.errors import BackendError
from storyviz.generators.diffusers.device import DTYPES
from storyviz.generators.diffusers.loading import LoadKey, is_local, one_line, place, quiet
from storyviz.generators.dsd.options import NAME
from storyviz.generators.dsd.transformer import Condition
from storyviz.generators.seed_models.checkpoint import load_strict, read_state
from storyviz.generators.seed_models.sources import Source

WEIGHTS = "diffusion_pytorch_model.safetensors"
INDEX = WEIGHTS + ".index.json"


@dataclass(frozen=True)
class Extra:
    """What beside the FLUX base a load reads (the ``LoadKey``'s hashable ``extra``)."""

    transformer: Source
    lora: Source | None


@dataclass
class DSDParts:
    condition: Condition
    transformer_dir: Path
    lora_file: Path | None
    lora_layers: int


def build(key: LoadKey) -> tuple[Any, DSDParts]:
    """The ``loading.load`` builder for a key whose ``extra`` is ``(Extra,)``."""
    extra: Extra = key.extra[0]
    dtype = DTYPES[key.dtype]
    folder = _folder(extra.transformer)
    transformer, condition = _transformer(folder, dtype)
    pipe = _pipeline(key.model, transformer, dtype)
    lora_file, layers = (None, 0) if extra.lora is None else _lora(pipe, extra.lora)
    place(pipe, key)
    quiet(pipe)
    return pipe, DSDParts(condition, folder, lora_file, layers)


def _folder(source: Source) -> Path:
    local = source.local
    if local is not None:
        return local
    repo, inner = source.hub()
    try:
        from huggingface_hub import snapshot_download

        root = snapshot_download(repo, allow_patterns=[f"{inner}/*"] if inner else None)
    except Exception as exc:  # the hub client raises many kinds; each is one line here
        raise BackendError(
            f"backend '{NAME}': cannot fetch the transformer {source.text}: {one_line(exc)}"
        ) from None
    return Path(root) / inner


def _transformer(folder: Path, dtype: torch.dtype) -> tuple[Any, Condition]:
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise BackendError(
            f"backend '{NAME}': {folder} is not a transformer folder (no config.json there)"
        )
    try:
        config = FluxTransformer2DModel.load_config(str(folder))
        with torch.device("meta"):
            transformer = FluxTransformer2DModel.from_config(config)
            condition = Condition(transformer)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise BackendError(
            f"backend '{NAME}': {config_file} is not a FLUX transformer config: {one_line(exc)}"
        ) from None
    state: dict[str, Any] = {}
    for file in _weight_files(folder):
        state.update(read_state(file, NAME))
    load_strict(transformer, state, f"the transformer in {folder}", NAME, assign=True)
    if any(p.dtype != dtype for p in transformer.parameters()):
        transformer.to(dtype=dtype)
    transformer.eval()
    return transformer, condition


def _weight_files(folder: Path) -> list[Path]:
    """The one weights file, or the shards its index names."""
    index = folder / INDEX
    if index.is_file():
        try:
            names = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BackendError(f"backend '{NAME}': cannot read {index}: {one_line(exc)}") from None
        return [folder / name for name in names]
    single = folder / WEIGHTS
    if not single.is_file():
        raise BackendError(f"backend '{NAME}': {folder} has no {WEIGHTS} (nor its index)")
    return [single]


def _pipeline(model: str, transformer: Any, dtype: torch.dtype) -> Any:
    source = model
    if is_local(model):
        folder = Path(model).expanduser()
        if not (folder / "model_index.json").is_file():
            raise BackendError(
                f"backend '{NAME}': {folder} is not a diffusers model folder "
                "(no model_index.json there)"
            )
        source = str(folder)
    try:
        pipe = FluxPipeline.from_pretrained(source, transformer=transformer, dtype=dtype)
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        raise BackendError(
            f"backend '{NAME}': cannot load {model!r} as FLUX: {one_line(exc)}"
        ) from None
    if not isinstance(pipe, FluxPipeline):
        raise BackendError(f"backend '{NAME}': {model!r} is not a FLUX model")
    return pipe


def _lora(pipe: Any, source: Source) -> tuple[Path, int]:
    file = _lora_file(source)
    state = read_state(file, NAME)
    pairs = sorted(k for k in state if ".lora_A." in k or ".lora_down." in k)
    if not pairs:
        raise BackendError(f"backend '{NAME}': {file} holds no LoRA layers (no lora_A keys)")
    verbosity = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()  # "no LoRA keys for the text encoders": none shipped
    try:
        pipe.load_lora_weights(state)
    except (ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise BackendError(
            f"backend '{NAME}': {file.name} does not fit the transformer: {one_line(exc)}"
        ) from None
    finally:
        diffusers_logging.set_verbosity(verbosity)
    landed = sum(1 for module in pipe.transformer.modules() if getattr(module, "lora_A", None))
    if landed != len(pairs):
        raise BackendError(
            f"backend '{NAME}': {file.name} names {len(pairs)} LoRA layers, "
            f"{landed} of them landed on the transformer; is it DSD's LoRA?"
        )
    return file, landed


def _lora_file(source: Source) -> Path:
    local = source.local
    if local is not None:
        return local
    repo, inner = source.hub()
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(repo, inner))
    except Exception as exc:
        raise BackendError(
            f"backend '{NAME}': cannot fetch the LoRA {source.text}: {one_line(exc)}"
        ) from None
