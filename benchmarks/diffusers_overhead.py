"""What storyviz's diffusers generator costs on top of calling the pipeline directly.

    python benchmarks/diffusers_overhead.py [--panels 6] [--steps 4] [--size 128] [--repeat 3]
                                            [--model PATH_OR_ID] [--threads 1]
                                            [--no-prompt-cache]

Plans examples/mia.txt with the offline planner, builds the panel requests the way the graph does
(``panel_request``), and renders them through ``DiffusersGenerator`` (built from a
``diffusers:FOLDER?steps=S&size=W&layout=off`` backend string by the registry: regional prompts
off, so both loops draw the same images; their own cost is measured apart, as ``regions_ratio``,
the seconds with ``layout=regions`` over the seconds without). In the same process, the same
images go through a bare diffusers loop on the same loaded pipeline object: same prompts, negative
prompts, seeds (CPU generators), steps, guidance and sizes. Both are warmed first; each panel is
timed both ways back to back, alternating which goes first.

The model defaults to the tiny random SD-1.5-style pipeline of the tests (built in a temp folder):
a render takes well under a second on a CPU, so any per-call cost storyviz adds shows up large.

Prints JSON; exits 1 when the overhead ratio (storyviz seconds / bare seconds, summed over the
rounds) exceeds 1.10. Both loops draw each panel back to back, so other load on the machine
falls on both alike; ``max_pixel_diff`` 0 shows they drew the same images.
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
STORY = ROOT / "examples" / "mia.txt"
TARGET = 1.10


def tiny_model(folder: Path) -> str:
    """The tests' tiny pipeline, saved to ``folder`` (the tests folder holds its builder)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from tiny_diffusers import save_tiny_pipeline

    return str(save_tiny_pipeline(folder / "tiny-sd"))


def panel_requests(count: int, size: int) -> list[Any]:
    """``count`` panel requests of the demo story, as the graph's ``dispatch_renders`` does."""
    from storyviz.agents.planner.rules.offline import OfflinePlanner
    from storyviz.agents.render_requests import panel_request, panel_seed
    from storyviz.schemas import StoryRequest

    plan = OfflinePlanner().plan(StoryRequest(story=STORY.read_text(), panels=count, seed=0))
    return [
        panel_request(
            plan,
            panel.id,
            seed=panel_seed(0, panel.id),
            version=1,
            long_side=size,
            references={},
        )
        for panel in plan.panels[:count]
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--panels", type=int, default=6)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--size", type=int, default=128, help="long side of each panel, px")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds")
    parser.add_argument("--model", default=None, help="hub id or folder (default: tiny pipeline)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's own)")
    parser.add_argument(
        "--no-prompt-cache",
        action="store_true",
        help="storyviz sends prompts as text, as the bare loop does (isolates the cache's gain)",
    )
    args = parser.parse_args()

    import diffusers
    import torch
    import transformers

    from storyviz import registry
    from storyviz.generators.diffusers.backend import DiffusersGenerator

    # Long story prompts exceed CLIP's 77 tokens; the truncation warning on every call (in both
    # loops) would bury the JSON. One thread by default: steadier timings on a shared machine.
    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or tiny_model(Path(tmp))
        backend = f"diffusers:{model}?steps={args.steps}&size={args.size}"
        generator = registry.build("generator", f"{backend}&layout=off")
        regional = registry.build("generator", f"{backend}&layout=regions")  # same loaded pipe
        assert isinstance(generator, DiffusersGenerator)
        generator.cache_prompts = not args.no_prompt_cache
        requests = panel_requests(args.panels, args.size)
        pipe = generator.text2img
        guidance = generator.settings.guidance
        negative = generator.settings.negative

        def via_storyviz(r: Any) -> np.ndarray:
            return np.asarray(generator.render(r).image)

        def bare(r: Any) -> np.ndarray:
            image = pipe(
                prompt=r.prompt,
                negative_prompt=r.negative_prompt if negative else None,
                num_inference_steps=args.steps,
                guidance_scale=guidance,
                width=r.width,  # long side == --size: the render size as well
                height=r.height,
                generator=torch.Generator("cpu").manual_seed(r.seed),
            ).images[0]
            return np.asarray(image)

        # Warm-up, and a check that both loops draw the same images.
        diff = max(
            int(np.abs(via_storyviz(r).astype(int) - bare(r).astype(int)).max()) for r in requests
        )

        # Panel by panel, alternating which goes first: a slowdown from another process on the
        # machine lands on both sides alike instead of on whichever round it happened in.
        def with_regions(r: Any) -> np.ndarray:
            return np.asarray(regional.render(r).image)

        with_regions(requests[0])
        times: dict[str, list[float]] = {"storyviz": [], "bare": [], "regions": []}
        runs = {"storyviz": via_storyviz, "bare": bare, "regions": with_regions}
        for _ in range(args.repeat):
            totals = {"storyviz": 0.0, "bare": 0.0, "regions": 0.0}
            for index, r in enumerate(requests):
                pair = ("storyviz", "bare") if index % 2 == 0 else ("bare", "storyviz")
                order = (*pair, "regions")
                for name in order:
                    started = time.perf_counter()
                    runs[name](r)
                    totals[name] += time.perf_counter() - started
            for name, seconds in totals.items():
                times[name].append(seconds)

    mean = {name: sum(values) / len(values) for name, values in times.items()}
    ratio = mean["storyviz"] / mean["bare"]
    per_round = [a / b for a, b in zip(times["storyviz"], times["bare"], strict=True)]
    result = {
        "model": args.model or "tiny random SD-1.5-style pipeline",
        "panels": len(requests),
        "steps": args.steps,
        "guidance": guidance,
        "size": args.size,
        "render_sizes": sorted({(r.width, r.height) for r in requests}),
        "device": generator.device,
        "dtype": generator.dtype,
        "torch_threads": torch.get_num_threads(),
        "prompt_cache": not args.no_prompt_cache,
        "repeat": args.repeat,
        "storyviz_s": round(mean["storyviz"], 4),  # mean seconds for the N panels
        "bare_s": round(mean["bare"], 4),
        "overhead_ratio": round(ratio, 4),
        "regions_s": round(mean["regions"], 4),
        "regions_ratio": round(mean["regions"] / mean["storyviz"], 4),  # cost of layout=regions
        "round_ratios": [round(v, 4) for v in per_round],
        "rounds": {name: [round(v, 4) for v in values] for name, values in times.items()},
        "max_pixel_diff": diff,  # 0 or 1 (rounding): both loops drew the same images
        "target": TARGET,
        "ok": ratio <= TARGET,
    }
    print(json.dumps(result, indent=2))
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
