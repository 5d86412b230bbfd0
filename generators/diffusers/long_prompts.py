"""Prompts past CLIP's 77 tokens, encoded in full instead of cut.

SD-1.5 and SDXL read text through CLIP encoders with 77 positions; their pipelines truncate
anything longer and only log it. A panel prompt names every cast member with their sheet's
looks, so on a three-character panel (or a ViStoryBench story's long descriptions) the last
character's colours fall past the cut, and the auditor later blames the drawing for it.

Long prompts are therefore encoded in windows of 75 tokens, each wrapped in its own begin/end
markers and padded to 77, and the windows' embeddings concatenated on the sequence axis (the
UNet's cross-attention takes any length): the scheme compel implements and A1111 popularised.
compel does the windowing (splitting at sentence, then phrase, then word ends) and the encoder
passes; it is called with one plain fragment of weight 1, so none of its prompt syntax applies
to storyviz's text ("(red hair)" is literal). Prompts that fit keep the pipeline's own
``encode_prompt``: short prompts render the very same pixels as before.

SDXL's pooled embedding stays that of the first 77 tokens, as the stock pipeline computes it;
the negative prompt is padded with empty windows to the positive's length (and the other way
round), and an absent SDXL negative is zeros, as ``force_zeros_for_empty_prompt`` makes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from compel import Compel, ReturnedEmbeddingsType
from compel.prompt_parser import FlattenedPrompt, Fragment


@dataclass(frozen=True)
class TokenCount:
    """A prompt's length in the model's own tokens (without begin/end markers) and the most one
    encoder window holds; ``windows`` is how many 77-token windows encoding it in full takes."""

    tokens: int
    budget: int

    @property
    def fits(self) -> bool:
        return self.tokens <= self.budget

    @property
    def windows(self) -> int:
        return max(1, -(-self.tokens // self.budget))

    def record(self) -> dict[str, int]:
        return {"tokens": self.tokens, "budget": self.budget, "windows": self.windows}


def tokenizers(pipe: Any) -> list[Any]:
    """The pipeline's tokenizers (SDXL has two CLIP ones; FLUX a CLIP and a T5 one)."""
    return [t for t in (getattr(pipe, "tokenizer", None), getattr(pipe, "tokenizer_2", None)) if t]


def count(pipe: Any, text: str, readers: list[Any] | None = None) -> TokenCount:
    """``text``'s length for the longest-reading of ``readers`` (default: every tokenizer of
    the pipeline), against each one's window less its begin/end markers."""
    counts = [TokenCount(len(_ids(t, text)), _budget(t)) for t in (readers or tokenizers(pipe))]
    return max(counts, key=lambda c: (c.tokens - c.budget, c.tokens))


def cut_text(reader: Any, text: str, budget: int | None = None) -> str:
    """The words of ``text`` past ``reader``'s window (empty when it fits): what a pipeline
    that truncates never sees."""
    ids = _ids(reader, text)
    limit = _budget(reader) if budget is None else budget
    return str(reader.decode(ids[limit:])).strip() if len(ids) > limit else ""


def _ids(reader: Any, text: str) -> list[int]:
    return list(reader(text, add_special_tokens=False, verbose=False).input_ids)


def _budget(reader: Any) -> int:
    return int(reader.model_max_length) - int(reader.num_special_tokens_to_add())


def encode(
    pipe: Any, kind: str, prompt: str, negative: str | None, cfg: bool, device: Any
) -> dict[str, Any]:
    """The call's embeddings for prompts of any length, in ``encode_prompt``'s key layout."""
    if kind == "sdxl":
        return _encode_sdxl(pipe, prompt, negative, cfg, device)
    compel = _compel(pipe.tokenizer, pipe.text_encoder, device, pooled=False, penultimate=False)
    positive = _windows(compel, prompt)
    result: dict[str, Any] = {"prompt_embeds": positive, "negative_prompt_embeds": None}
    if cfg:  # the SD pipelines' own rule: no negative means the empty prompt
        negative_embeds = _windows(compel, negative or "")
        positive, negative_embeds = compel.pad_conditioning_tensors_to_same_length(
            [positive, negative_embeds]
        )
        result.update(prompt_embeds=positive, negative_prompt_embeds=negative_embeds)
    return _cast(result, pipe.text_encoder)


def _encode_sdxl(
    pipe: Any, prompt: str, negative: str | None, cfg: bool, device: Any
) -> dict[str, Any]:
    encoders = [
        (tokenizer, encoder, pooled)
        for tokenizer, encoder, pooled in (
            (pipe.tokenizer, pipe.text_encoder, False),
            (pipe.tokenizer_2, pipe.text_encoder_2, True),
        )
        if tokenizer is not None and encoder is not None
    ]
    compels = [_compel(t, e, device, pooled=p, penultimate=True) for t, e, p in encoders]
    pooler = compels[-1]  # the projection encoder (text_encoder_2) gives SDXL's pooled vector

    def embed(text: str) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = torch.cat([_windows(c, text) for c in compels], dim=-1)
        pooled = pooler.conditioning_provider.get_pooled_embeddings([text], device=device)
        return hidden, pooled

    positive, pooled = embed(prompt)
    result: dict[str, Any] = {
        "prompt_embeds": positive,
        "negative_prompt_embeds": None,
        "pooled_prompt_embeds": pooled,
        "negative_pooled_prompt_embeds": None,
    }
    if cfg:
        if negative is None and pipe.config.force_zeros_for_empty_prompt:
            negative_embeds, negative_pooled = torch.zeros_like(positive), torch.zeros_like(pooled)
        else:
            negative_embeds, negative_pooled = embed(negative or "")
            positive, negative_embeds = _pad_pair(compels, positive, negative_embeds)
        result.update(
            prompt_embeds=positive,
            negative_prompt_embeds=negative_embeds,
            negative_pooled_prompt_embeds=negative_pooled,
        )
    return _cast(result, pipe.text_encoder_2 or pipe.text_encoder)


def _compel(
    tokenizer: Any, encoder: Any, device: Any, *, pooled: bool, penultimate: bool
) -> Compel:
    """SD reads the last, normalised hidden states; SDXL the penultimate ones, unnormalised.

    compel tokenizes the whole text before windowing it, which makes transformers log that
    the sequence "will result in indexing errors": not so here, so that line is marked shown."""
    warned = getattr(tokenizer, "deprecation_warnings", None)
    if isinstance(warned, dict):
        warned["sequence-length-is-longer-than-the-specified-maximum"] = True
    kind = (
        ReturnedEmbeddingsType.PENULTIMATE_HIDDEN_STATES_NON_NORMALIZED
        if penultimate
        else ReturnedEmbeddingsType.LAST_HIDDEN_STATES_NORMALIZED
    )
    return Compel(
        tokenizer=tokenizer,
        text_encoder=encoder,
        truncate_long_prompts=False,
        returned_embeddings_type=kind,
        requires_pooled=pooled,
        device=str(device),
    )


def _windows(compel: Compel, text: str) -> torch.Tensor:
    """``text`` as one plain fragment: compel's windowing without its prompt syntax."""
    (embeds, _tokens), _options = compel.build_conditioning_tensor_for_prompt_object(
        FlattenedPrompt([Fragment(text, 1.0)])
    )
    return embeds if embeds.ndim == 3 else embeds.unsqueeze(0)


def _pad_pair(
    compels: list[Compel], positive: torch.Tensor, negative: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pads the shorter of two SDXL sequences with empty windows of both encoders."""
    if positive.shape == negative.shape:
        return positive, negative
    empty = torch.cat([c.conditioning_provider.empty_z for c in compels], dim=-1)
    padded = Compel._pad_conditioning_tensors_to_same_length([positive, negative], empty)
    return padded[0], padded[1]


def _cast(result: dict[str, Any], encoder: Any) -> dict[str, Any]:
    dtype = encoder.dtype
    return {k: v.to(dtype) if isinstance(v, torch.Tensor) else v for k, v in result.items()}
