"""Wall-clock targets of the offline default, measured the way a user meets them.

    python benchmarks/offline_run.py [--repeat 5]

Measures, each as the median of --repeat runs of the installed console script:
  * `storyviz --help`                         target: under 0.3 s
  * a 6-panel offline `storyviz run`          target: under 3 s
  * the same with `--generator sketch?drift=0.5` (the audit/repair loop at work)
and checks that neither --help nor the offline run imported torch (and --help not langgraph).

The project's sources are byte-compiled first, as any Python environment does on first import
(this machine sets PYTHONDONTWRITEBYTECODE, which would otherwise recompile them on every run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STORY = ROOT / "examples" / "mia.txt"
# The console script pip installed next to this interpreter (not a shell shim in front of it).
SCRIPT = Path(sys.executable).parent / "storyviz"


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return elapsed, proc


def median_of(cmd: list[str], repeat: int) -> float:
    return statistics.median(timed(cmd)[0] for _ in range(repeat))


def imported(args: list[str], modules: tuple[str, ...]) -> list[str]:
    """Which of `modules` a storyviz command imports (run in-process under a fresh interpreter)."""
    code = (
        "import sys, runpy; sys.argv = ['storyviz', *sys.argv[1:]]\n"
        "from storyviz.cli import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        f"print('\\n' + repr(sorted(m for m in {modules!r} if m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return eval(out.stdout.strip().splitlines()[-1])  # noqa: S307 - our own repr of a list


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not SCRIPT.exists():
        sys.exit(f"{SCRIPT} not found: pip install -e . first")
    import compileall

    for folder in ("storyviz", "agents", "generators", "evaluators", "prompts"):
        compileall.compile_dir(ROOT / folder, quiet=1)

    with tempfile.TemporaryDirectory() as tmp:
        runs = str(Path(tmp) / "runs")
        base = [
            str(SCRIPT),
            "run",
            "--file",
            str(STORY),
            "--panels",
            "6",
            "--runs-dir",
            runs,
            "--json",
            "-q",
        ]
        results = {
            "help_s": median_of([str(SCRIPT), "--help"], args.repeat),
            "offline_run_6_panels_s": median_of(base, args.repeat),
            "offline_run_6_panels_drift_0.5_s": median_of(
                [*base, "--generator", "sketch?drift=0.5"], args.repeat
            ),
        }
        _, proc = timed([*base, "--generator", "sketch?drift=0.5"])
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        results["drift_run"] = {
            k: summary[k] for k in ("consistency_index", "rounds", "findings", "repairs")
        }
        results["help_imports"] = imported(["--help"], ("torch", "langgraph"))
        results["run_imports"] = imported(
            ["run", "--file", str(STORY), "--runs-dir", runs, "-q"], ("torch",)
        )
    results["cpu_count"] = os.cpu_count()
    results["python"] = sys.version.split()[0]
    print(json.dumps(results, indent=2))
    ok = results["help_s"] < 0.3 and results["offline_run_6_panels_s"] < 3.0
    ok = ok and not results["help_imports"] and not results["run_imports"]
    print("targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
