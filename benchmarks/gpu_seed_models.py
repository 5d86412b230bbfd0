"""Seconds per panel and peak GPU memory of the seed models at full size, storyviz vs bare.

    python benchmarks/gpu_seed_models.py [--backend msdiffusion|diffsensei|dsd|all] [--steps 30]
                                         [--dtype float16] [--folder /tmp/seed-full]
                                         [--sizes 1024x1024,1536x640] [--repeat 2]

Needs a CUDA GPU (about 24 GB for MS-Diffusion or DiffSensei in fp16, about 36 GB for DSD in
bf16, its default here, without offload) and disk (about 12 GB per SDXL model, 34 GB for DSD); no
download: each model is written with random weights at its released sizes, from the released
configs, in the released file layout (``benchmarks/seed_bench/<backend>.py``, ``build_full``),
then loaded through the public backend string as a user's checkpoint would be. Random weights
draw noise, but noise costs what a picture costs: the UNet, the attention and the encoders do
the same work.

For each size (default a square 1024x1024 panel and a wide 1536x640 one) and backend, one
two-character panel of the demo story is drawn through the storyviz generator and through the
backend's bare loop on the same loaded modules, ``--repeat`` times each after a warm-up, with
``torch.cuda.max_memory_allocated`` reset before each side. Prints JSON.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from seed_models_overhead import BACKENDS  # noqa: E402


def _sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for item in text.split(","):
        width, _, height = item.strip().lower().partition("x")
        sizes.append((int(width), int(height)))
    return sizes


def _panel(generator: Any, width: int, height: int, folder: Path) -> Any:
    """A two-character panel of the demo story at width x height, with drawn references."""
    from storyviz.agents.planner.rules.offline import OfflinePlanner
    from storyviz.agents.render_requests import panel_request, panel_seed, reference_request
    from storyviz.schemas import StoryRequest

    story = (ROOT / "examples" / "mia.txt").read_text()
    plan = OfflinePlanner().plan(StoryRequest(story=story, panels=6, seed=0))
    panel = max(plan.panels, key=lambda p: len(p.cast))
    references = {}
    for sheet in plan.characters:
        path = folder / f"{sheet.id}.png"
        if not path.exists():
            generator.render(reference_request(plan, sheet, 1024)).image.save(path)
        references[sheet.id] = str(path)
    request = panel_request(
        plan, panel.id, seed=panel_seed(0, panel.id), version=1, long_side=1024,
        references=references,
    )  # fmt: skip
    return request.model_copy(update={"width": width, "height": height})


def _timed(torch: Any, draw: Any, repeat: int) -> tuple[float, float]:
    """Mean seconds of ``draw()`` and the peak GPU memory it allocated, in GiB."""
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        draw()
        torch.cuda.synchronize()
        seconds.append(time.perf_counter() - started)
    return sum(seconds) / len(seconds), torch.cuda.max_memory_allocated() / 2**30


def _measure(name: str, args: argparse.Namespace, dtype: Any, folder: Path) -> list[dict[str, Any]]:
    import torch

    from storyviz import registry

    bench = importlib.import_module(f"seed_bench.{name}")
    started = time.perf_counter()
    backend = bench.build_full(folder / name, dtype)
    written = time.perf_counter() - started
    sep = "&" if "?" in backend else "?"
    text = f"{backend}{sep}steps={args.steps}&device=cuda&dtype={args.dtype}"
    started = time.perf_counter()
    generator = registry.build("generator", text)
    loaded = time.perf_counter() - started
    rows = []
    for width, height in _sizes(args.sizes):
        request = _panel(generator, width, height, folder)
        generator.render(request)  # warm-up: kernels, caches
        bench.bare_render(generator, request)
        mine, mine_peak = _timed(torch, partial(generator.render, request), args.repeat)
        bare, bare_peak = _timed(torch, partial(bench.bare_render, generator, request), args.repeat)
        rows.append(
            {
                "backend": name,
                "size": [width, height],
                "subjects": len(request.panel.cast) if request.panel else 0,
                "steps": args.steps,
                "dtype": args.dtype,
                "storyviz_s_per_panel": round(mine, 3),
                "bare_s_per_panel": round(bare, 3),
                "ratio": round(mine / bare, 4),
                "storyviz_peak_gib": round(mine_peak, 2),
                "bare_peak_gib": round(bare_peak, 2),
                "write_s": round(written, 1),
                "load_s": round(loaded, 1),
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=(*BACKENDS, "all"), default="all")
    parser.add_argument("--steps", type=int, default=30, help="the releases' default")
    parser.add_argument(
        "--dtype", default=None, choices=("float16", "bfloat16"), help="default: the model's"
    )
    parser.add_argument("--folder", default=None, help="where the weights go (default: a temp dir)")
    parser.add_argument("--sizes", default="1024x1024,1536x640")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():
        print("gpu_seed_models: no CUDA GPU here; run it on a machine with one", file=sys.stderr)
        return 2
    import diffusers
    import transformers

    from storyviz.generators.diffusers.loading import clear_cache

    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.logging.set_verbosity_error()
    names = BACKENDS if args.backend == "all" else (args.backend,)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        for name in names:
            chosen = args.dtype or ("bfloat16" if name == "dsd" else "float16")  # FLUX: bf16
            each = argparse.Namespace(**{**vars(args), "dtype": chosen})
            results += _measure(name, each, getattr(torch, chosen), Path(tmp))
            clear_cache()
            torch.cuda.empty_cache()
    print(json.dumps({"device": torch.cuda.get_device_name(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
