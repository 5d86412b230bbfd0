"""What a batch gains over drawing stories one after another, and what Ray costs over local.

    python benchmarks/batch.py [--scenario sketch|tiny|all] [--stories N] [--workers 2]
                               [--panels 6] [--engines sequential,local,ray]
                               [--generator SPEC] [--repeats N] [--json-out FILE]

Each engine runs in a fresh child process over the same story files, and the parent samples
the resident memory of that child and everything it started (worker processes, Ray's own
processes and actors) every 50 ms:

- ``sequential``: one `start_run` per story in one process, the call ``storyviz run`` makes.
- ``local``: ``storyviz batch --engine local --workers W`` (new_batch + run_batch).
- ``ray``: ``--engine ray`` on a local Ray instance started with ``num_cpus`` = the machine's
  cores and a custom resource ``render_slot`` = W standing in for W GPUs, so W render actors
  serve every story (``--actor-resource render_slot``).

Scenarios:

- ``sketch`` (default 20 stories): the offline sketch renderer. Target: ``local`` at least 1.6x
  the sequential stories per minute.
- ``tiny`` (default 6 stories): the tiny random diffusers pipeline (tests/tiny_diffusers.py,
  loaded through ``diffusers:<folder>``). Targets: Ray's seconds per panel at most 1.10x
  local's while drawing (from the first drawing of the batch to its last event, so start-up
  is left out: Ray's own processes, actors and model loads, or the local workers' spawn and
  loads; the ratio with start-up is printed too), and Ray's model loads equal to its actors.

``--generator`` replaces the scenario's generator (a real model on a GPU machine: the Ray engine
then puts one actor on each GPU, up to ``--workers``).

``--repeats N`` runs each engine N times, interleaved (each round in another order), and keeps
each engine's median run: on a small machine one run's time drifts by more than the difference
being measured.

Every child uses one BLAS/OpenMP thread (Ray gives its workers that by default; the others are
set to match), so the engines split the cores the same way. Prints JSON; exits 1 when a target
is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

SPEEDUP_TARGET = 1.6  # local over sequential, sketch renderer
RAY_OVERHEAD_TARGET = 1.10  # ray over local, seconds per panel, tiny diffusers

PEOPLE = ["Mia", "Tom", "Ana", "Leo", "Zoe", "Sam", "Ivy", "Max", "Eva", "Ben"]
PLOTS = [
    "{a} finds a small dog in the rain. {a} takes it home. They sleep by the fire.",
    "{a} builds a red kite with {b}. The wind takes it over the hill. They run after it.",
    "{a} bakes bread for {b}. They eat it together in the garden at sunset.",
    "{a} loses a silver key in the park. {b} helps search under every bench. They find it.",
]


def write_stories(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for index in range(count):
        a, b = PEOPLE[index % len(PEOPLE)], PEOPLE[(index + 3) % len(PEOPLE)]
        text = PLOTS[index % len(PLOTS)].format(a=a, b=b)
        path = folder / f"story{index:02d}.txt"
        path.write_text(text, encoding="utf-8")
        files.append(path)
    return files


# -- the child: one engine over the story files ---------------------------------------------------


def child(args: argparse.Namespace) -> dict[str, Any]:
    from storyviz.config import load_settings

    files = sorted(Path(args.stories_dir).glob("*.txt"))
    settings = load_settings(
        runs_dir=Path(args.runs_dir), generator=args.generator, panels=args.panels
    )
    began = time.monotonic()
    if args.child == "sequential":
        result = _sequential(settings, files)
    else:
        result = _batch(settings, files, args)
    result["wall_s"] = round(time.monotonic() - began, 3)
    return result


def _sequential(settings: Any, files: list[Path]) -> dict[str, Any]:
    from storyviz.agents.runner import start_run
    from storyviz.protocols import model_loads

    began, cpu_began = time.monotonic(), time.process_time()
    panels = completed = 0
    for path in files:
        outcome = start_run(settings, settings.story_request(path.read_text(encoding="utf-8")))
        completed += outcome.status == "completed"
        panels += _drawn(Path(outcome.run_dir))
    seconds = time.monotonic() - began
    # a run draws panels and makes its report's pictures in threads: the cores one run keeps
    # busy bound what running two at once can add
    cores = (time.process_time() - cpu_began) / seconds
    from storyviz import registry

    loads = model_loads(registry.build("generator", settings.generator))  # the process's count
    return {"seconds": round(seconds, 3), "completed": completed, "panels": panels,
            "model_loads": loads, "cores_busy": round(cores, 2)}  # fmt: skip


def _batch(settings: Any, files: list[Path], args: argparse.Namespace) -> dict[str, Any]:
    from storyviz.batch.runner import run_batch
    from storyviz.cli_batch import Sources, jobs_for, new_batch

    engine: Any
    if args.child == "local":
        from storyviz.batch.local_engine import LocalEngine

        engine = LocalEngine(args.workers)
    else:
        import ray

        from storyviz.batch.ray_engine import RayEngine

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(
            num_cpus=os.cpu_count(),
            resources={"render_slot": args.workers},
            include_dashboard=False,
            log_to_driver=False,
        )
        gpus = int(ray.cluster_resources().get("GPU", 0))
        if gpus:  # real GPUs: one actor on each, as `storyviz batch --engine ray` does
            engine = RayEngine(actors=min(args.workers, gpus), actor_resource="GPU")
        else:
            engine = RayEngine(actors=args.workers, actor_resource="render_slot")
    sources = Sources(files, None, "full", None, "en", "storyviz", None)
    folder = new_batch(settings, jobs_for(sources), engine, sources)
    outcome = run_batch(folder, settings, engine, show=False)
    summary = outcome.summary
    return {
        "seconds": summary["seconds"],
        "completed": summary["counts"]["completed"],
        "panels": summary["panels_drawn"],
        "model_loads": summary["model_loads"],
        "actors": len(summary["engine_stats"].get("actors", [])) if args.child == "ray" else None,
        "actor_busy_s": [a.get("busy_s") for a in summary["engine_stats"].get("actors", [])]
        if args.child == "ray"
        else None,
    }


def _drawn(run_dir: Path) -> int:
    drawn = 0
    for line in (run_dir / "events.jsonl").read_text().splitlines():
        drawn += json.loads(line)["event"] in ("rendered", "repaired")
    return drawn


# -- the parent: each engine in a fresh process, memory sampled ---------------------------------


def drawing_seconds(runs: Path) -> float:
    """From the first drawing (a reference sheet or panel) of any run to the last event of any:
    the batch's time without its start-up (worker processes, Ray, actors, model loads)."""
    from datetime import datetime

    first: datetime | None = None
    last: datetime | None = None
    for events in runs.glob("*/events.jsonl"):
        for line in events.read_text().splitlines():
            event = json.loads(line)
            at = datetime.fromisoformat(event["ts"])
            last = at if last is None else max(last, at)
            if event["event"] in ("reference", "rendered") and (first is None or at < first):
                first = at
    return 0.0 if first is None or last is None else (last - first).total_seconds()


def tree_rss(pid: int) -> int:
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):  # ended between the two calls
            total += process.memory_info().rss
    return total


def measure(
    engine: str, stories: Path, generator: str, args: argparse.Namespace, work: Path, repeat: int
) -> dict[str, Any]:
    runs = work / f"runs-{engine}-{repeat}"
    out = work / f"{engine}-{repeat}.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "RAY_USAGE_STATS_ENABLED": "0", "PYTHONPATH": str(ROOT / "tests")}  # fmt: skip
    command = [sys.executable, __file__, "--child", engine, "--stories-dir", str(stories),
               "--runs-dir", str(runs), "--generator", generator, "--workers", str(args.workers),
               "--panels", str(args.panels),
               "--child-out", str(out)]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=work)
    peak = [0]

    def sample() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], tree_rss(process.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    sampler.join()
    if code != 0:
        raise SystemExit(f"benchmark: the {engine} child exited {code}")
    result: dict[str, Any] = json.loads(out.read_text())
    seconds = result["seconds"]
    drawing = drawing_seconds(runs)
    result.update(
        drawing_s=round(drawing, 3),
        drawing_seconds_per_panel=round(drawing / max(result["panels"], 1), 4),
        engine=engine,
        stories_per_minute=round(result["completed"] * 60 / seconds, 2),
        seconds_per_panel=round(seconds / max(result["panels"], 1), 4),
        peak_rss_mib=round(peak[0] / 2**20, 1),
    )
    if result.get("actor_busy_s") and drawing:  # how much of the drawing window each actor drew
        result["actor_busy_share"] = [round(b / drawing, 3) for b in result["actor_busy_s"]]
    return result


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median seconds per panel while drawing, with every run's numbers."""
    ranked = sorted(runs, key=lambda r: r["drawing_seconds_per_panel"])
    chosen = dict(ranked[(len(ranked) - 1) // 2])
    if len(runs) > 1:
        chosen["repeats"] = len(runs)
        chosen["all_drawing_seconds_per_panel"] = [r["drawing_seconds_per_panel"] for r in runs]
        chosen["all_seconds_per_panel"] = [r["seconds_per_panel"] for r in runs]
    return chosen


def scenario(name: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    count = args.stories or (20 if name == "sketch" else 6)
    stories = write_stories(work / f"stories-{name}", count)[0].parent
    if args.generator:  # a real model on a GPU machine, in place of the scenario's own
        generator = args.generator
    elif name == "sketch":
        generator = "sketch"
    else:
        import torch
        from tiny_diffusers import save_tiny_pipeline

        torch.set_num_threads(1)
        model = save_tiny_pipeline(work / "tiny-sd")
        generator = f"diffusers:{model}?steps=2&size=128"
    engines = [e for e in args.engines.split(",") if e]
    runs: dict[str, list[dict[str, Any]]] = {e: [] for e in engines}
    for repeat in range(args.repeats):  # interleaved, each round in another order: drift is shared
        turn = engines[repeat % len(engines) :] + engines[: repeat % len(engines)]
        for engine in turn:
            runs[engine].append(measure(engine, stories, generator, args, work, repeat))
    results = {e: median_run(r) for e, r in runs.items()}
    checks: dict[str, Any] = {}
    if name == "sketch" and {"sequential", "local"} <= set(results):
        speedup = (
            results["local"]["stories_per_minute"] / results["sequential"]["stories_per_minute"]
        )
        checks["local_over_sequential"] = round(speedup, 3)
        checks["speedup_ok"] = speedup >= SPEEDUP_TARGET
    if name == "tiny" and {"local", "ray"} <= set(results):
        ray, local = results["ray"], results["local"]
        whole = ray["seconds_per_panel"] / local["seconds_per_panel"]
        ratio = ray["drawing_seconds_per_panel"] / local["drawing_seconds_per_panel"]
        checks["ray_over_local_per_panel_with_startup"] = round(whole, 3)
        checks["ray_over_local_per_panel"] = round(ratio, 3)
        checks["overhead_ok"] = ratio <= RAY_OVERHEAD_TARGET
        checks["ray_loads_equal_actors"] = results["ray"]["model_loads"] == results["ray"]["actors"]
    return {
        "scenario": name,
        "stories": count,
        "generator": generator.split("?")[0].replace(str(work), "<tmp>"),
        "workers": args.workers,
        "panels_per_story": args.panels,
        "cpus": os.cpu_count(),
        "results": list(results.values()),
        "checks": checks,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["sketch", "tiny", "all"], default="all")
    parser.add_argument("--stories", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--panels", type=int, default=6, help="panels per story")
    parser.add_argument("--engines", default="sequential,local,ray")
    parser.add_argument("--json-out", default=None)
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs per engine, interleaved; the median is kept"
    )
    parser.add_argument("--child", choices=["sequential", "local", "ray"], help=argparse.SUPPRESS)
    parser.add_argument("--stories-dir", help=argparse.SUPPRESS)
    parser.add_argument("--runs-dir", help=argparse.SUPPRESS)
    parser.add_argument("--generator", help="a generator in place of the scenario's own")
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be 1 or more, got {args.repeats}")
    if args.child:
        Path(args.child_out).write_text(json.dumps(child(args)))
        return 0
    names = ["sketch", "tiny"] if args.scenario == "all" else [args.scenario]
    with tempfile.TemporaryDirectory(prefix="storyviz-batch-bench-") as tmp:
        report = [scenario(name, args, Path(tmp) / name) for name in names]
    text = json.dumps(report, indent=2)
    print(text)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n")
    ok = all(
        v
        for r in report
        for k, v in r["checks"].items()
        if k.endswith("_ok") or k.startswith("ray_loads")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
