"""What storyviz's seed-model generators cost on top of calling the same modules directly.

    python benchmarks/seed_models_overhead.py [--backend msdiffusion|diffsensei|dsd|all]
                                              [--panels 6] [--steps 4] [--size 128]
                                              [--repeat 3] [--threads 1]

For each backend: tiny random weights are written in the released file layout
(``benchmarks/seed_bench/<backend>.py``, ``build_tiny``) and loaded through the public backend
string; the demo story (examples/mia.txt, two characters) is planned offline, each character's
reference sheet drawn, and the panel requests built as the graph builds them. Every panel then
goes through the storyviz generator (``render``) and through the backend's bare loop
(``bare_render``: the very modules the generator loaded, called directly with the same prompt,
image tokens, seed, steps and size), back to back, alternating which goes first, after a warm-up
that also checks both draw the same pixels.

Prints JSON; exits 1 when a backend's overhead ratio (storyviz seconds / bare seconds, summed
over the rounds) exceeds 1.05, or the two loops drew different images.
"""

from __future__ import annotations

import argparse
import importlib
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

BACKENDS = ("msdiffusion", "diffsensei", "dsd")
TARGET = 1.05
PIXEL_TOLERANCE = 1e-5  # float pixels in 0..1: the same image, up to summation order


def demo_requests(generator: Any, count: int, size: int, folder: Path) -> list[Any]:
    """The demo story's first ``count`` panel requests, with references drawn by ``generator``."""
    from storyviz.agents.planner.rules.offline import OfflinePlanner
    from storyviz.agents.render_requests import panel_request, panel_seed, reference_request
    from storyviz.schemas import StoryRequest

    story = (ROOT / "examples" / "mia.txt").read_text()
    plan = OfflinePlanner().plan(StoryRequest(story=story, panels=count, seed=0))
    references = {}
    for sheet in plan.characters:
        path = folder / f"{sheet.id}.png"
        generator.render(reference_request(plan, sheet, size)).image.save(path)
        references[sheet.id] = str(path)
    return [
        panel_request(
            plan,
            panel.id,
            seed=panel_seed(0, panel.id),
            version=1,
            long_side=size,
            references=references,
        )
        for panel in plan.panels[:count]
    ]


def measure(name: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from storyviz import registry

    bench = importlib.import_module(f"seed_bench.{name}")
    backend = bench.build_tiny(folder / name)
    sep = "&" if "?" in backend else "?"
    generator = registry.build("generator", f"{backend}{sep}steps={args.steps}&size={args.size}")
    requests = demo_requests(generator, args.panels, args.size, folder)

    def via_storyviz(r: Any) -> np.ndarray:
        return np.asarray(generator.render(r).image)

    def bare(r: Any) -> np.ndarray:
        return np.asarray(bench.bare_render(generator, r))

    # Warm-up and the check that both loops draw the same picture: storyviz's float pixels
    # before they become 8-bit are what ``bare_render`` returns.
    diff = 0.0
    for r in requests:
        mine = np.asarray(generator.render(r).image, dtype=np.float32) / 255.0
        theirs = np.asarray(bench.bare_render(generator, r), dtype=np.float32)
        theirs = np.asarray(_to_image(theirs, r.width, r.height), dtype=np.float32) / 255.0
        diff = max(diff, float(np.abs(mine - theirs).max()))
    times: dict[str, list[float]] = {"storyviz": [], "bare": []}
    runs = {"storyviz": via_storyviz, "bare": bare}
    for _ in range(args.repeat):
        totals = {"storyviz": 0.0, "bare": 0.0}
        for index, r in enumerate(requests):
            for side in ("storyviz", "bare") if index % 2 == 0 else ("bare", "storyviz"):
                started = time.perf_counter()
                runs[side](r)
                totals[side] += time.perf_counter() - started
        for side, seconds in totals.items():
            times[side].append(seconds)
    mean = {side: sum(values) / len(values) for side, values in times.items()}
    ratio = mean["storyviz"] / mean["bare"]
    return {
        "backend": name,
        "panels": len(requests),
        "subjects": sorted({len(r.panel.cast) for r in requests if r.panel}),
        "render_sizes": sorted({(r.width, r.height) for r in requests}),
        "steps": args.steps,
        "device": generator.device,
        "dtype": generator.dtype,
        "storyviz_s": round(mean["storyviz"], 4),
        "bare_s": round(mean["bare"], 4),
        "overhead_ratio": round(ratio, 4),
        "round_ratios": [
            round(a / b, 4) for a, b in zip(times["storyviz"], times["bare"], strict=True)
        ],
        "max_pixel_diff": round(diff, 6),  # 1/255 at most: the same image after 8-bit rounding
        "target": TARGET,
        "ok": ratio <= TARGET and diff <= 1.5 / 255,
    }


def _to_image(pixels: np.ndarray, width: int, height: int) -> Any:
    """The bare loop's float pixels as storyviz saves them (8-bit, fitted to the request)."""
    from storyviz.generators.diffusers.outputs import fit, to_pil

    return fit(to_pil(pixels), width, height)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=(*BACKENDS, "all"), default="all")
    parser.add_argument("--panels", type=int, default=6)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--size", type=int, default=128, help="long side of each panel, px")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's own)")
    args = parser.parse_args()

    import diffusers
    import torch
    import transformers

    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    names = BACKENDS if args.backend == "all" else (args.backend,)
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure(name, args, Path(tmp)) for name in names]
    print(json.dumps({"torch_threads": torch.get_num_threads(), "results": results}, indent=2))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
