"""Per-call cost of the offline generator and auditor.

    python benchmarks/offline_backends.py

Targets: planning the demo story well under 100 ms and a 50,000-character story under 1 s; a
512x512 sketch panel well under 50 ms; auditing six 512x512 panels well under 100 ms.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from storyviz.protocols import AuditItem
from storyviz.registry import build
from storyviz.schemas import MAX_STORY_CHARS, StoryRequest


def main() -> None:
    story = (Path(__file__).resolve().parent.parent / "examples" / "mia.txt").read_text()
    planner = build("planner", "offline")
    plan = planner.plan(StoryRequest(story=story, panels=6))
    plan_ms = []
    for _ in range(5):
        t0 = time.perf_counter()
        planner.plan(StoryRequest(story=story))
        plan_ms.append((time.perf_counter() - t0) * 1000)
    long_story = ((story.strip() + " ") * 200)[:MAX_STORY_CHARS]
    t0 = time.perf_counter()
    planner.plan(StoryRequest(story=long_story, panels=60))
    long_plan_s = time.perf_counter() - t0
    from storyviz.agents.render_requests import panel_request

    generator = build("generator", "sketch")
    auditor = build("auditor", "offline")
    requests = [
        panel_request(plan, p.id, seed=1, version=1, long_side=512, references={}).model_copy(
            update={"width": 512, "height": 512}
        )
        for p in plan.panels
    ]
    generator.render(requests[0])  # warm font caches
    render_ms = []
    for _ in range(5):
        for r in requests:
            t0 = time.perf_counter()
            generator.render(r)
            render_ms.append((time.perf_counter() - t0) * 1000)

    sheets = {c.id: c for c in plan.characters}
    with tempfile.TemporaryDirectory() as tmp:
        items = []
        for r in requests:
            path = Path(tmp) / f"{r.target_id}.png"
            generator.render(r).image.save(path)
            panel = plan.panel(r.target_id)
            items.append(AuditItem(panel, 1, path, [sheets[m.character_id] for m in panel.cast]))
        auditor.audit(items)
        audit_ms = []
        for _ in range(5):
            t0 = time.perf_counter()
            auditor.audit(items)
            audit_ms.append((time.perf_counter() - t0) * 1000)

    result = {
        "plan_demo_story_ms_median": round(statistics.median(plan_ms), 1),
        "plan_50k_chars_60_panels_s": round(long_plan_s, 3),
        "sketch_panel_512_ms_median": round(statistics.median(render_ms), 1),
        "sketch_panel_512_ms_max": round(max(render_ms), 1),
        "audit_6_panels_ms_median": round(statistics.median(audit_ms), 1),
    }
    print(json.dumps(result, indent=2))
    ok = (
        result["plan_demo_story_ms_median"] < 100
        and result["plan_50k_chars_60_panels_s"] < 1.0
        and result["sketch_panel_512_ms_median"] < 50
        and result["audit_6_panels_ms_median"] < 100
    )
    print("targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
