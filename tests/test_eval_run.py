"""`storyviz eval` on a run folder whose images are known, so every number is computable by
hand; the VLM judge against the fake OpenAI server; the CLI's table and one-line errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, storyviz
from fakes.openai_server import FakeOpenAIServer, message_text
from PIL import Image

from storyviz.cli_eval import evaluate, print_tables
from storyviz.colors import rgb_to_lab
from storyviz.layouts import pages_for, paginate
from storyviz.run_store import RunStore
from storyviz.schemas import (
    AuditLog,
    CastMember,
    CharacterAttributes,
    CharacterSheet,
    PanelSpec,
    PanelVersion,
    StoryPlan,
    StoryRequest,
)

RED, BLUE = (200, 30, 30), (20, 60, 230)
MIA = CharacterSheet(
    id="mia",
    name="Mia",
    description="a girl in a red raincoat",
    attributes=CharacterAttributes(outfit="raincoat", colors={"outfit": "red"}),
)


def make_run(runs: Path) -> str:
    """p1 shows the reference itself, p2 a blue figure, p3 nobody; p2's newer v2 file (red)
    is not current and must be ignored."""
    run = RunStore(runs).create(StoryRequest(story="Mia walks."), {})
    whole = [CastMember(character_id="mia", box=(0.0, 0.0, 1.0, 1.0))]
    panels = [
        PanelSpec(id="p1", beat="Mia.", cast=whole),
        PanelSpec(id="p2", beat="Mia again.", cast=whole),
        PanelSpec(id="p3", beat="The empty street.", shot="wide"),
    ]
    plan = StoryPlan(title="t", style="s", characters=[MIA], panels=panels,
                     pages=pages_for(panels, paginate(3)))  # fmt: skip
    run.write_model("plan.json", plan)
    colours = {("p1", 1): RED, ("p2", 1): BLUE, ("p2", 2): RED, ("p3", 1): RED}
    for (pid, version), colour in colours.items():
        run.save_panel(pid, version, Image.new("RGB", (96, 96), colour))
    run.save_reference("mia", Image.new("RGB", (64, 64), RED))
    versions = {
        pid: [
            PanelVersion(
                panel_id=pid,
                version=1,
                path=f"panels/{pid}_v1.png",
                seed=0,
                prompt="",
                backend="test",
            )
        ]  # fmt: skip
        for pid in ("p1", "p2", "p3")
    }
    current = {"p1": 1, "p2": 1, "p3": 1}
    references = {"mia": "references/mia.png"}
    log = AuditLog(
        threshold=0.8, max_rounds=1, versions=versions, current=current, references=references
    )
    run.write_model("audit.json", log)
    return run.run_id


def _grid(rgb: tuple[int, int, int]) -> np.ndarray:
    lab = rgb_to_lab(rgb)
    return np.array([lab[0] / 100, (lab[1] + 128) / 256, (lab[2] + 128) / 256])


def test_every_metric_of_a_run_with_known_images(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    run_id = make_run(runs)
    (result,) = evaluate([run_id], runs)
    assert json.loads((runs / run_id / "eval.json").read_text()) == result
    assert result["embedder"] == "pixel" and result["judge"] is None
    assert result["detector"] == "colour presence (offline auditor)"
    # Red and blue fall into different histogram bins (cosine 0); a solid image's grid is one
    # Lab colour repeated, so the grid cosine is the cosine of the two scaled Lab colours.
    red, blue = _grid(RED), _grid(BLUE)
    c = 0.5 * float(red @ blue / np.linalg.norm(red) / np.linalg.norm(blue))
    panels, summary = result["panels"], result["summary"]
    assert panels["p1"]["characters"]["mia"]["identity_cross"] == pytest.approx(1.0, abs=1e-4)
    assert panels["p2"]["characters"]["mia"]["identity_cross"] == pytest.approx(c, abs=2e-3)
    assert summary["identity_cross"] == pytest.approx((1 + c) / 2, abs=2e-3)
    assert summary["identity_self"] == pytest.approx(c, abs=2e-3)
    assert result["characters"]["mia"] == {"identity_self": summary["identity_self"], "panels": 2}
    assert summary["style"] == pytest.approx((1 + 2 * c) / 3, abs=2e-3)
    copy_p2 = 1 - (180 + 30 + 200) / 3 / 255
    assert panels["p1"]["characters"]["mia"]["copy_paste"] == 1.0
    assert panels["p2"]["characters"]["mia"]["copy_paste"] == pytest.approx(copy_p2, abs=1e-3)
    assert summary["copy_paste"] == pytest.approx((1 + copy_p2) / 2, abs=1e-3)
    assert summary["near_copies"] == 1
    # The colour auditor finds the red-coated Mia in p1 and misses her in the blue p2.
    assert [(panels[p]["detected"], panels[p]["expected"]) for p in panels] == [
        (1, 1), (0, 1), (0, 0)
    ]  # fmt: skip
    assert panels["p2"]["onstage"] == pytest.approx(100 * math.exp(-1), abs=1e-3)
    assert summary["onstage"] == pytest.approx((200 + 100 * math.exp(-1)) / 3, abs=1e-3)
    assert summary["panels"] == 3 and panels["p2"]["version"] == 1


def test_the_judge_scores_each_panel_and_a_failed_answer_counts_as_no_verdict(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"
    run_id = make_run(runs)

    def answer(body: dict[str, Any]) -> Any:
        if "panel p2" in message_text(body):
            return "this is not JSON"
        return {"scene": 3, "camera": 4, "actions": 2, "note": ""}

    with FakeOpenAIServer() as server:
        server.respond_with(answer)
        (result,) = evaluate([run_id], runs, judge=f"vlm:{server.backend('judge')}")
        asked = {p for r in server.requests for p in ("p1", "p2", "p3") if f"panel {p}" in
                 message_text(r.body)}  # fmt: skip
    assert asked == {"p1", "p2", "p3"}
    assert result["panels"]["p2"]["alignment"] is None
    assert result["panels"]["p1"]["alignment"]["camera"] == 4
    assert result["summary"]["alignment"] == {"scene": 3.0, "camera": 4.0, "actions": 2.0}
    assert result["judge"].startswith("vlm:openai-compat:")


def test_runs_side_by_side_in_one_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs = tmp_path / "runs"
    first, second = make_run(runs), make_run(runs)
    print_tables(evaluate([first, second], runs))
    out = capsys.readouterr().out
    assert "embedder: pixel" in out and "copy-paste guard" in out
    assert out.count("near-copies") == 1  # one summary table, no per-panel table


def test_a_detector_counts_the_figures(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from tiny_vision import tiny_owl

    runs = tmp_path / "runs"
    run_id = make_run(runs)
    owl = tiny_owl(tmp_path / "owl")
    (result,) = evaluate([run_id], runs, detector=str(owl))
    assert result["detector"] == f"owl:{owl}"
    assert all(isinstance(p["detected"], int) for p in result["panels"].values())


@pytest.mark.slow
def test_the_cli_prints_the_table_without_torch_and_errors_in_one_line(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    run_id = make_run(runs)
    proc = storyviz("eval", run_id, "--runs-dir", str(runs))
    assert proc.returncode == 0, proc.stderr
    assert "identity vs reference" in proc.stdout and "p2" in proc.stdout
    assert_one_line_error(storyviz("eval", "nope", "--runs-dir", str(runs)), "no run 'nope'")
    assert_one_line_error(
        storyviz("eval", run_id, "--runs-dir", str(runs), "--embedder", "sift:x"),
        "unknown embedder 'sift'",
    )
    script = (
        "import sys; from storyviz.cli_eval import evaluate; "
        f"evaluate([{run_id!r}], __import__('pathlib').Path({str(runs)!r})); "
        "print('torch' in sys.modules)"
    )
    check = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert check.stdout.strip() == "False", check.stderr


def test_a_model_embedder_is_named_beside_its_numbers(tmp_path: Path) -> None:
    pytest.importorskip("open_clip")
    from tiny_vision import tiny_clip

    runs = tmp_path / "runs"
    run_id = make_run(runs)
    clip = tiny_clip(tmp_path / "clip")
    (result,) = evaluate([run_id], runs, embedder=f"clip:{clip}")
    assert result["embedder"] == f"clip:{clip}"
    # p1's crop is the reference's colour and shape at another size: one input to the model
    assert result["panels"]["p1"]["characters"]["mia"]["identity_cross"] == pytest.approx(1.0)
    assert result["panels"]["p2"]["characters"]["mia"]["identity_cross"] < 1.0
