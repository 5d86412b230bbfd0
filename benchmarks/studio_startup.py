"""How long from `storyviz studio` to a page a person can type into, on this machine.

    python benchmarks/studio_startup.py [--repeats 5] [--target 3.0] [--floor] [--json-out FILE]

Each repeat starts the command in a fresh process on a free port (offline backends, an empty
runs directory) and, from the moment it is started, polls the port; as soon as it answers, a
headless Chromium (Debian's, through Playwright, started before the clock) loads the page and
waits until the story box is visible and editable. Printed: the time to the first HTTP answer
and to the usable page, per repeat and as the median; exits 1 when the median usable time is
over the target (3 s by the issue). Chromium's own start is not counted: a person's browser is
already open. ``--floor`` also times, in turn with each repeat, a bare Gradio page holding only
the story box: what Gradio alone costs on this machine, below which no studio built on it can go.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from studio_browser import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

FLOOR_PAGE = """
import sys
import gradio as gr
with gr.Blocks() as page:
    gr.Textbox(elem_id="story", lines=8)
page.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), quiet=True, ssr_mode=False)
"""
"""Gradio's own floor: a page with nothing but the story box, served the way the studio is."""


def one(browser: object, runs: Path, floor: bool = False) -> tuple[float, float]:
    import os
    import signal
    import subprocess

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STORYVIZ_", "GRADIO_"))}
    if floor:
        env["GRADIO_ANALYTICS_ENABLED"] = "False"
        command = [sys.executable, "-c", FLOOR_PAGE, str(port)]
    else:
        command = [sys.executable, "-m", "storyviz", "studio", "--port", str(port),
                   "--runs-dir", str(runs)]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=1):
                    break
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit("the studio exited before it answered") from None
                time.sleep(0.02)
        answered = time.perf_counter() - start
        page = browser.new_page()  # type: ignore[attr-defined]
        page.goto(url)
        page.locator("#story textarea").wait_for(state="visible")
        assert page.locator("#story textarea").is_editable()
        usable = time.perf_counter() - start
        page.close()
        return answered, usable
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--target", type=float, default=3.0)
    parser.add_argument("--json-out", type=Path)
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time a bare Gradio page with only the story box, in turn with the studio",
    )
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be 1 or more, got {args.repeats}")
    from playwright.sync_api import sync_playwright

    answered, usable, floor = [], [], []
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for n in range(args.repeats):
            a, u = one(browser, Path(tmp) / f"runs{n}")
            answered.append(a)
            usable.append(u)
            line = f"repeat {n + 1}: first answer {a:.2f} s, usable page {u:.2f} s"
            if args.floor:
                floor.append(one(browser, Path(tmp), floor=True)[1])
                line += f"; bare Gradio page {floor[-1]:.2f} s"
            print(line)
        browser.close()
    result = {
        "repeats": args.repeats,
        "first_answer_s": round(statistics.median(answered), 3),
        "usable_s": round(statistics.median(usable), 3),
        "usable_each_s": [round(u, 3) for u in usable],
        "target_s": args.target,
    }
    if floor:
        result["bare_gradio_usable_s"] = round(statistics.median(floor), 3)
    met = result["usable_s"] <= args.target
    print(
        f"median: first answer {result['first_answer_s']:.2f} s, usable page "
        f"{result['usable_s']:.2f} s (target {args.target:.1f} s: {'met' if met else 'MISSED'})"
    )
    if floor:
        print(f"median bare Gradio page (one textbox): {result['bare_gradio_usable_s']:.2f} s")
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
