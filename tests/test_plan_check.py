"""A plan read back against its story: contradictions become plan findings before round 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import MIA_STORY

from storyviz.agents.planner.plan_check import check_plan, corrections, story_characters
from storyviz.agents.planner.rules.offline import OfflinePlanner
from storyviz.schemas import StoryPlan, StoryRequest

STORY = (
    "Admiral Kate, a stout woman with a grey scarf and a blue coat, walks along the pier. "
    "Ben the cook, a tall man with a white apron, waves from the galley. "
    '"Dinner is ready," Ben calls. Kate smiles and climbs aboard.'
)


@pytest.fixture(scope="module")
def plan() -> StoryPlan:
    return OfflinePlanner().plan(StoryRequest(story=STORY, panels=3))


def test_the_story_is_read_for_names_and_stated_colours() -> None:
    found = {c.name: c for c in story_characters(STORY)}
    assert {"Kate", "Ben"} <= {n.split()[-1] for n in found}
    kate = next(c for n, c in found.items() if n.endswith("Kate"))
    assert kate.colours.get("outfit") == "blue" and kate.colours.get("accessory") == "grey"


def test_the_offline_plan_of_a_story_matches_it(plan: StoryPlan) -> None:
    assert check_plan(STORY, plan) == []
    mia = OfflinePlanner().plan(StoryRequest(story=MIA_STORY, panels=4))
    assert check_plan(MIA_STORY, mia) == []


def test_each_way_a_plan_can_contradict_its_story(plan: StoryPlan) -> None:
    kate = next(c for c in plan.characters if c.name.endswith("Kate"))
    ben = next(c for c in plan.characters if c.name.endswith("Ben"))
    wrong_colours = dict(kate.attributes.colors, outfit="red")
    wrong_colours.pop("accessory", None)
    kate_wrong = kate.model_copy(
        update={"attributes": kate.attributes.model_copy(update={"colors": wrong_colours})}
    )
    stranger = kate.model_copy(update={"id": "zed", "name": "Zed"})
    panels = [
        p.model_copy(update={"cast": [m for m in p.cast if m.character_id != ben.id]})
        for p in plan.panels
    ]
    emptied = panels[0].model_copy(update={"cast": [], "beat": "Kate walks along the pier."})
    broken = plan.model_copy(
        update={
            "characters": [kate_wrong, stranger],
            "panels": [emptied, *panels[1:]],
        }
    )
    found = check_plan(STORY, broken)
    kinds = [(f.kind, f.character, f.part, f.expected, f.observed) for f in found]
    assert ("colour", kate.name, "outfit", "blue", "red") in kinds
    assert ("colour", kate.name, "accessory", "grey", None) in kinds
    assert any(k[0] == "missing_character" and k[1].endswith("Ben") for k in kinds)
    assert ("unused_character", "Zed", None, None, None) in kinds
    empty = next(f for f in found if f.kind == "empty_cast")
    assert empty.panel_id == plan.panels[0].id and empty.character_id == kate.id
    assert [f.id for f in found] == [f"plan-{n:02d}" for n in range(1, len(found) + 1)]
    lines = corrections(found)
    assert len(lines) == len(found)
    assert any("'outfit'" in line and "'blue'" in line and "'red'" in line for line in lines)
    assert any(line.startswith("Add a character sheet for") for line in lines)


def test_a_run_records_its_plan_check_and_the_report_shows_it(tmp_path: Path) -> None:
    from storyviz.agents.runner import start_run
    from storyviz.config import load_settings

    settings = load_settings(runs_dir=tmp_path / "runs")
    outcome = start_run(settings, StoryRequest(story=STORY, panels=2))
    audit = json.loads((outcome.run_dir / "audit.json").read_text())
    assert audit["plan_checked"] is True and audit["plan_findings"] == []
    events = [
        json.loads(line) for line in (outcome.run_dir / "events.jsonl").read_text().splitlines()
    ]
    checked = [e for e in events if e["event"] == "plan_checked"]
    assert len(checked) == 1 and checked[0]["detail"]["findings"] == 0
    report = (outcome.run_dir / "report.html").read_text()
    assert "The plan matches the story: no finding." in report


def test_a_given_plan_is_drawn_unchecked_and_the_report_says_so(
    tmp_path: Path, plan: StoryPlan
) -> None:
    from storyviz.agents.runner import RunSeed, start_run
    from storyviz.config import load_settings

    settings = load_settings(runs_dir=tmp_path / "runs")
    outcome = start_run(settings, StoryRequest(story=STORY), seed=RunSeed(plan=plan))
    audit = json.loads((outcome.run_dir / "audit.json").read_text())
    assert audit["plan_checked"] is False and audit["plan_findings"] == []
    assert (
        "Not checked: this run drew a plan it was given"
        in (outcome.run_dir / "report.html").read_text()
    )
