"""Tiny random vision models built in code, saved to a folder and loaded back by path through
exactly the code that loads a real checkpoint (open_clip's local-dir layout; transformers'
save_pretrained folders). Random weights say nothing about semantics; they exercise the
plumbing: loading, preprocessing, batching, crops, thresholds, findings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

TINY_CLIP = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1},
}


def tiny_clip(folder: Path) -> Path:
    """An open_clip model in the ``local-dir`` layout: open_clip_config.json + weights."""
    import open_clip

    torch.manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    model = open_clip.CLIP(**TINY_CLIP)
    config = {"model_cfg": TINY_CLIP, "preprocess_cfg": {"mean": [0.5] * 3, "std": [0.5] * 3}}
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    torch.save(model.state_dict(), folder / "open_clip_pytorch_model.bin")
    return folder


def tiny_dino(folder: Path) -> Path:
    from transformers import BitImageProcessor, Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    config = Dinov2Config(
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        image_size=32,
        patch_size=8,
    )
    Dinov2Model(config).save_pretrained(folder)
    BitImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}, do_center_crop=True
    ).save_pretrained(folder)
    return folder


def _tokenizer() -> Any:
    """A CLIP BPE tokenizer in memory whose start token is not id 0: OWL treats a query whose
    first id is 0 as padding."""
    from transformers import CLIPTokenizer

    specials = ["<pad>", "<|startoftext|>", "<|endoftext|>", "<unk>"]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    tokens = specials + letters + [f"{c}</w>" for c in letters]
    vocab = {token: index for index, token in enumerate(tokens)}
    return CLIPTokenizer(
        vocab=vocab,
        merges=[],
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<|startoftext|>",
        eos_token="<|endoftext|>",
        model_max_length=16,
    )


def tiny_owl(folder: Path) -> Path:
    """An OWLv2 detector and its processor (image processor + tokenizer)."""
    from transformers import (
        Owlv2Config,
        Owlv2ForObjectDetection,
        Owlv2ImageProcessor,
        Owlv2Processor,
    )

    torch.manual_seed(0)
    tokenizer = _tokenizer()
    config = Owlv2Config(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 16,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    model = Owlv2ForObjectDetection(config)
    with torch.no_grad():  # boxes = the model's own per-patch prior boxes, not random slivers
        model.box_head.dense2.weight.zero_()
        model.box_head.dense2.bias.zero_()
    model.save_pretrained(folder)
    processor = Owlv2Processor(
        image_processor=Owlv2ImageProcessor(size={"height": 32, "width": 32}), tokenizer=tokenizer
    )
    processor.save_pretrained(folder)
    return folder
