"""Seeded runs: a given plan is not planned again, given references and carried panels are kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_graph import ScriptedAuditor, ScriptedGenerator, ScriptedPlanner

from storyviz.agents.repairer import RuleRepairer
from storyviz.agents.runner import Backends, CarriedVersion, RunSeed, start_run
from storyviz.config import load_settings
from storyviz.errors import StoryvizError
from storyviz.registry import parse_backend
from storyviz.schemas import PanelVersion, StoryPlan, StoryRequest


class RefusingPlanner:
    spec = "refusing"

    def plan(self, request: StoryRequest) -> StoryPlan:
        raise AssertionError("a seeded run must not plan")


def _backends(planner: object, auditor: ScriptedAuditor) -> tuple[Backends, ScriptedGenerator]:
    generator = ScriptedGenerator()
    backends = Backends(
        planner=planner,  # type: ignore[arg-type]
        generator=generator,
        auditor=auditor,
        repairer=RuleRepairer(parse_backend("offline")),
    )
    return backends, generator


@pytest.fixture
def first_run(tmp_path: Path) -> Path:
    backends, _ = _backends(ScriptedPlanner(), ScriptedAuditor({}))
    settings = load_settings(runs_dir=tmp_path / "runs")
    return start_run(settings, StoryRequest(story="Mia walks."), backends=backends).run_dir


def _versions(run_dir: Path) -> dict[str, list[dict]]:
    return json.loads((run_dir / "audit.json").read_text())["versions"]


def test_a_seeded_run_renders_only_what_it_was_not_given(tmp_path: Path, first_run: Path) -> None:
    plan = StoryPlan.model_validate_json((first_run / "plan.json").read_text())
    old = _versions(first_run)
    kept = {
        pid: [CarriedVersion(first_run / v["path"], PanelVersion.model_validate(v))]
        for pid, v in ((pid, old[pid][0]) for pid in ("p01", "p03"))
    }
    seed = RunSeed(plan=plan, references={"mia": first_run / "references/mia.png"}, panels=kept)
    auditor = ScriptedAuditor({})
    backends, generator = _backends(RefusingPlanner(), auditor)
    settings = load_settings(runs_dir=tmp_path / "runs")
    result = start_run(settings, StoryRequest(story="Mia walks."), seed=seed, backends=backends)

    assert result.status == "completed"
    assert generator.calls == [("panel", "p02", 1)]  # no reference, no carried panel redrawn
    assert auditor.rounds == [[("p02", 1)]]  # carried versions kept their scores
    new = _versions(result.run_dir)
    for pid in ("p01", "p03"):
        assert (result.run_dir / new[pid][0]["path"]).read_bytes() == (
            first_run / old[pid][0]["path"]
        ).read_bytes()
        assert new[pid][0]["score"] == old[pid][0]["score"]
    assert (result.run_dir / "references/mia.png").read_bytes() == (
        first_run / "references/mia.png"
    ).read_bytes()
    assert json.loads((result.run_dir / "plan.json").read_text()) == plan.model_dump(mode="json")
    assert (result.run_dir / "report.html").is_file()


def test_a_seed_that_carries_every_panel_still_composes_and_reports(
    tmp_path: Path, first_run: Path
) -> None:
    plan = StoryPlan.model_validate_json((first_run / "plan.json").read_text())
    old = _versions(first_run)
    unscored = {  # an unscored carried version is audited, not rendered
        pid: [
            CarriedVersion(
                first_run / vs[0]["path"],
                PanelVersion.model_validate({**vs[0], "score": None, "findings": []}),
            )
        ]
        for pid, vs in old.items()
    }
    auditor = ScriptedAuditor({})
    backends, generator = _backends(RefusingPlanner(), auditor)
    settings = load_settings(runs_dir=tmp_path / "runs")
    result = start_run(
        settings,
        StoryRequest(story="x"),
        seed=RunSeed(plan=plan, panels=unscored),
        backends=backends,
    )
    assert result.status == "completed"
    assert [c for c in generator.calls if c[0] == "panel"] == []
    assert sorted(auditor.rounds[0]) == [("p01", 1), ("p02", 1), ("p03", 1)]
    assert len(list((result.run_dir / "pages").glob("*.png"))) == 1


def test_a_seed_naming_what_the_plan_lacks_fails_before_any_folder(
    tmp_path: Path, first_run: Path
) -> None:
    plan = StoryPlan.model_validate_json((first_run / "plan.json").read_text())
    backends, _ = _backends(RefusingPlanner(), ScriptedAuditor({}))
    runs = tmp_path / "other-runs"
    settings = load_settings(runs_dir=runs)
    bad = RunSeed(plan=plan, references={"bolt": first_run / "references/mia.png"})
    with pytest.raises(StoryvizError, match="bolt"):
        start_run(settings, StoryRequest(story="x"), seed=bad, backends=backends)
    missing = RunSeed(plan=plan, references={"mia": tmp_path / "nope.png"})
    with pytest.raises(StoryvizError, match="does not exist"):
        start_run(settings, StoryRequest(story="x"), seed=missing, backends=backends)
    assert not runs.exists() or not any(runs.iterdir())
