"""Text-prompt embeddings, encoded once and reused.

A story repeats itself: the negative prompt is the same for every panel, a repair re-renders a
panel's prompt, a reseed after a broken output runs the very same prompt again. Encoding costs a
text-encoder pass (two for SDXL, twice more with classifier-free guidance) per call; on a real
checkpoint that is a few percent of a turbo render and pure waste when it repeats. So the SD-1.5
and SDXL families (text-to-image, img2img and inpaint: one ``encode_prompt`` signature per family)
get their ``prompt_embeds`` from a small LRU cache kept next to the loaded pipeline, shared by
every generator and derived pipeline on those weights. Other pipelines (FLUX, ...) take plain
prompts: their encoders differ, and a wrong guess would change pixels.

The pipeline's own call does exactly what ``encode_prompt`` here does (same arguments, no LoRA
scale, no clip skip), so the pixels are the same with and without the cache; the tests check it.
Prompts longer than the CLIP window are encoded in full by ``long_prompts`` instead, cache or
not: the pipelines themselves would cut them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from diffusers import (
    StableDiffusionImg2ImgPipeline,
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLInpaintPipeline,
    StableDiffusionXLPipeline,
)

from storyviz.generators.diffusers import long_prompts

SIZE = 64  # a 6-page comic has a few dozen distinct prompts; SDXL entries are ~0.6 MB each in fp16

_SD = (StableDiffusionPipeline, StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline)
_SDXL = (
    StableDiffusionXLPipeline,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLInpaintPipeline,
)

# (prompt, negative prompt or None, classifier-free guidance, device, dtype)
Key = tuple[str, str | None, bool, str, str]


def family(pipe: Any) -> str | None:
    """``"sd"``, ``"sdxl"``, or None for pipelines whose prompts are passed as text."""
    if isinstance(pipe, _SDXL):
        return "sdxl"
    if isinstance(pipe, _SD):
        return "sd"
    return None


class PromptCache:
    """An LRU of ``encode_prompt`` results for one loaded model (``size`` 0 disables it)."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self.encodes = 0  # encoder runs so far: how the tests (and curious users) see it work
        self._entries: OrderedDict[Key, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def embeds(
        self, pipe: Any, prompt: str, negative: str | None, guidance: float
    ) -> dict[str, Any] | None:
        """Call arguments replacing ``prompt``/``negative_prompt``, or None: pass them as text.

        Call under ``torch.inference_mode()`` and the loaded pipeline's render lock (the
        tokenizer's settings are shared state). Negatives are encoded whenever guidance > 1, the
        condition every SD/SDXL pipeline uses for classifier-free guidance (an LCM UNet that
        skips guidance anyway just ignores them)."""
        kind = family(pipe)
        if kind is None or self.size <= 0:
            return None
        cfg = guidance > 1.0
        device = pipe._execution_device  # where the pipeline puts its tensors, offload included
        dtype = pipe.text_encoder.dtype if pipe.text_encoder is not None else None
        key: Key = (prompt, negative, cfg, str(device), str(dtype))
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return dict(found)
        found = encode(pipe, prompt, negative, guidance)
        assert found is not None  # family(pipe) is known
        with self._lock:
            self.encodes += 1
            self._entries[key] = found
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return dict(found)


def needs_embeds(pipe: Any, prompt: str, negative: str | None) -> bool:
    """Whether passing the text would have the pipeline cut it: SD/SDXL with a prompt or
    negative past the CLIP window."""
    if family(pipe) is None:
        return False
    return any(not long_prompts.count(pipe, t).fits for t in (prompt, negative) if t)


def encode(pipe: Any, prompt: str, negative: str | None, guidance: float) -> dict[str, Any] | None:
    """Uncached embeddings (see ``PromptCache.embeds``): the stock encoder for prompts that fit,
    windows for longer ones; None for pipelines that take text."""
    kind = family(pipe)
    if kind is None:
        return None
    cfg = guidance > 1.0
    device = pipe._execution_device
    if needs_embeds(pipe, prompt, negative):
        return long_prompts.encode(pipe, kind, prompt, negative, cfg, device)
    return _encode(pipe, kind, prompt, negative, cfg, device)


def _encode(
    pipe: Any, kind: str, prompt: str, negative: str | None, cfg: bool, device: Any
) -> dict[str, Any]:
    if kind == "sdxl":
        positive, negative_embeds, pooled, negative_pooled = pipe.encode_prompt(
            prompt,
            device=device,
            num_images_per_prompt=1,
            do_classifier_free_guidance=cfg,
            negative_prompt=negative,
        )
        return {
            "prompt_embeds": positive,
            "negative_prompt_embeds": negative_embeds,
            "pooled_prompt_embeds": pooled,
            "negative_pooled_prompt_embeds": negative_pooled,
        }
    positive, negative_embeds = pipe.encode_prompt(
        prompt,
        device,
        1,
        cfg,
        negative_prompt=negative,
    )
    return {"prompt_embeds": positive, "negative_prompt_embeds": negative_embeds}
