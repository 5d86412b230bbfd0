"""What DSD's two ways of drawing a multi-character panel do, on the tiny model.

    python benchmarks/dsd_cast.py [--size 64] [--steps 4] [--seeds 4]

DSD conditions on one subject. ``cast=principal`` conditions on the largest cast box's sheet and
leaves the others to the prompt; ``cast=collage`` tiles every sheet into the condition square.
For a two-character panel (the principal in a large box, a second character in a small one),
each mode draws the panel with each character's sheet swapped for another colour, and reports
the mean pixel change (0..255) each swap causes: how much of each character the condition
carries. Also the seconds per panel. Tiny random weights measure the mechanics (what reaches the
model, what it costs), not how a real DSD checkpoint draws a collage it was not trained on.
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

COLOURS = {"red": (200, 40, 40), "blue": (40, 60, 200), "green": (40, 160, 60)}


def _sheets(folder: Path) -> dict[str, str]:
    from PIL import Image

    paths = {}
    for name, colour in COLOURS.items():
        sheet = Image.new("RGB", (48, 64), (235, 235, 230))
        sheet.paste(Image.new("RGB", (20, 48), colour), (14, 8))
        path = folder / f"{name}.png"
        sheet.save(path)
        paths[name] = str(path)
    return paths


def _request(sheets: dict[str, str], principal: str, second: str, seed: int, size: int) -> Any:
    from storyviz.schemas import CastMember, CharacterSheet, PanelSpec, RenderRequest

    boxes = {"mia": (0.05, 0.1, 0.65, 1.0), "bolt": (0.7, 0.55, 0.95, 0.95)}
    return RenderRequest(
        target_id="p01",
        prompt="a comic panel of a girl with red hair and a small robot dog in the rain street",
        width=size,
        height=size,
        seed=seed,
        panel=PanelSpec(
            id="p01", beat="x", cast=[CastMember(character_id=c, box=b) for c, b in boxes.items()]
        ),
        characters=[
            CharacterSheet(id=c, name=c, description="", reference_prompt="", seed=1) for c in boxes
        ],
        references={"mia": sheets[principal], "bolt": sheets[second]},
    )


def _draw(generator: Any, request: Any, seconds: list[float]) -> np.ndarray:
    started = time.perf_counter()
    image = generator.render(request).image
    seconds.append(time.perf_counter() - started)
    return np.asarray(image, dtype=np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=64, help="DSD's square side (multiple of 16)")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()

    import diffusers
    import torch

    diffusers.utils.logging.set_verbosity_error()
    torch.set_num_threads(1)
    from seed_bench.dsd import build_tiny

    from storyviz import registry

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        backend = build_tiny(folder / "dsd")
        sheets = _sheets(folder)
        for cast in ("principal", "collage"):
            generator = registry.build(
                "generator", f"{backend}&size={args.size}&steps={args.steps}&cast={cast}"
            )
            changes: dict[str, list[float]] = {"principal_swap": [], "second_swap": []}
            seconds: list[float] = []
            for seed in range(args.seeds):
                drawn = {
                    pair: _draw(generator, _request(sheets, *pair, seed, args.size), seconds)
                    for pair in (("red", "blue"), ("green", "blue"), ("red", "green"))
                }
                base = drawn["red", "blue"]
                changes["principal_swap"].append(
                    float(np.abs(base - drawn["green", "blue"]).mean())
                )
                changes["second_swap"].append(float(np.abs(base - drawn["red", "green"]).mean()))
            results.append(
                {
                    "cast": cast,
                    "principal_swap_change": round(float(np.mean(changes["principal_swap"])), 3),
                    "second_swap_change": round(float(np.mean(changes["second_swap"])), 3),
                    "s_per_panel": round(float(np.mean(seconds)), 4),
                }
            )
    print(json.dumps({"size": args.size, "steps": args.steps, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
