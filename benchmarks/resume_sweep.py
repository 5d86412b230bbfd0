"""How many finished drawings a resume draws again, killing a real run at every point.

    python benchmarks/resume_sweep.py [--panels 12] [--delay 0.5] [--repairs]

Runs the demo story once unbroken, then once per kill point: a `storyviz run` with
`sketch?delay=D` is killed with SIGKILL after k `rendered` events (k = 1 .. N-1), then
`storyviz resume` finishes it; likewise after each character reference but the last. With
`--repairs` it also kills `sketch?drift=0.5` runs after j `repaired` events, inside the
audit/repair loop. Prints one row per kill point: what had been
drawn when the kill landed, what the resume drew, how many of those were redraws (drawn before
the kill and again after it: the target is 0), how many versions the resume took from the run
folder instead, and whether the final panels and pages equal the unbroken run's byte for byte.
Exits non-zero if any trial redrew or differed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from kill_sweep import STORYVIZ, after_count, events, final_files, trial  # noqa: E402

STORY = ROOT / "examples" / "mia.txt"


def unbroken(args: list[str], runs_dir: Path) -> tuple[dict[str, bytes], dict[str, int]]:
    """An uninterrupted run's final files, and how many drawings of each kind it made."""
    subprocess.run(
        [*STORYVIZ, "run", *args, "--runs-dir", str(runs_dir), "-q"],
        check=True,
        capture_output=True,
    )
    (run_dir,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    made: dict[str, int] = {}
    for event in events(run_dir):
        made[event["event"]] = made.get(event["event"], 0) + 1
    return final_files(run_dir), made


def sweep(
    generator: str,
    kind: str,
    points: range,
    args: list[str],
    work: Path,
    reference: dict[str, bytes],
) -> bool:
    ok = True
    print(f"\n{generator}: kill after k `{kind}` events, then `storyviz resume`")
    print("| k | drawn at kill | drawn by resume | redraws | recovered | final files identical |")
    print("|---|---|---|---|---|---|")
    for k in points:
        result = trial(
            [*args, "--generator", generator], work / f"{kind}-{k}", after_count(kind, k)
        )
        same = final_files(result.run_dir) == reference
        at_kill = ", ".join(f"{n} {kind}" for kind, n in sorted(result.at_kill.items()))
        print(
            f"| {k} | {at_kill} | {result.drawn_by_resume} | {result.redraws} | "
            f"{result.recovered} | {'yes' if same else 'NO'} |",
            flush=True,
        )
        ok = ok and result.redraws == 0 and same and result.resume_status == "completed"
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panels", type=int, default=12)
    parser.add_argument("--delay", type=float, default=0.5, help="seconds per sketch drawing")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repairs", action="store_true", help="also kill inside repair rounds")
    opts = parser.parse_args()
    args = ["--file", str(STORY), "--panels", str(opts.panels), "--seed", str(opts.seed)]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plain, made = unbroken([*args, "--generator", "sketch"], work / "unbroken")
        slow = f"sketch?delay={opts.delay}"
        for kind in ("reference", "rendered"):  # every point but the last of each kind
            ok &= sweep(slow, kind, range(1, made[kind]), args, work, plain)
        if opts.repairs:
            drift = "sketch?drift=0.5"
            drifted, made = unbroken([*args, "--generator", drift], work / "unbroken-drift")
            ok &= sweep(f"{drift}&delay={opts.delay}", "repaired",
                        range(1, made.get("repaired", 0)), args, work, drifted)  # fmt: skip
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
