"""Where a pipeline runs and in which precision.

fp16 halves memory and doubles speed on GPUs but produces NaNs or black images on CPUs (many
CPU kernels have no fp16 path), and FLUX was trained in bf16, where fp16 overflows. So: cuda
gets fp16 (bf16 for FLUX), Apple's mps gets fp16, the CPU fp32; options override both.
"""

from __future__ import annotations

import torch

from storyviz.errors import BackendError

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}


def available_device() -> str:
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def choose_device(requested: str | None, backend: str = "diffusers") -> str:
    """The requested device if it exists here, else the best one available."""
    if requested is None:
        return available_device()
    if requested == "cuda" and not torch.cuda.is_available():
        raise BackendError(
            f"backend '{backend}': device=cuda was asked for but CUDA is not available"
        )
    if requested == "mps" and available_device() != "mps":
        raise BackendError(
            f"backend '{backend}': device=mps was asked for but MPS is not available"
        )
    return requested


def choose_dtype(device: str, requested: str | None, family: str) -> str:
    """A dtype name from ``DTYPES``: the requested one, else the device's (and family's) best."""
    if requested is not None:
        return requested
    if device == "cuda":
        return "bfloat16" if family == "flux" else "float16"
    if device == "mps":
        return "float16"
    return "float32"
