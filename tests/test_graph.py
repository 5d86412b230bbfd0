"""The graph with scripted backends: exactly the flagged panel is repaired and re-audited."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image

from storyviz.agents.repairer import RuleRepairer
from storyviz.agents.runner import Backends, start_run
from storyviz.config import load_settings
from storyviz.protocols import AuditItem, RenderResult, Reseed
from storyviz.registry import parse_backend
from storyviz.schemas import (
    CastMember,
    CharacterAttributes,
    CharacterSheet,
    Finding,
    PageSpec,
    PanelAudit,
    PanelSpec,
    RenderRequest,
    StoryPlan,
    StoryRequest,
)


class ScriptedPlanner:
    spec = "scripted"

    def plan(self, request: StoryRequest) -> StoryPlan:
        mia = CharacterSheet(
            id="mia",
            name="Mia",
            description="a girl with red hair",
            attributes=CharacterAttributes(
                hair="red hair", colors={"hair": "red", "outfit": "yellow"}
            ),
        )
        panels = [
            PanelSpec(
                id=f"p0{i}",
                beat=f"beat {i}",
                setting="street",
                cast=[CastMember(character_id="mia", box=(0.3, 0.2, 0.7, 0.95))],
            )
            for i in (1, 2, 3)
        ]
        return StoryPlan(
            title="t",
            style=request.style,
            characters=[mia],
            panels=panels,
            pages=[PageSpec(index=1, template="wide-top-3", panel_ids=["p01", "p02", "p03"])],
        )


class ScriptedGenerator:
    spec = "scripted-gen"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    def render(self, request: RenderRequest) -> RenderResult:
        self.calls.append((request.kind, request.target_id, request.version))
        colour = (40 * request.version, 100, 150)
        return RenderResult(
            Image.new("RGB", (request.width, request.height), colour), info={"scripted": True}
        )


class ScriptedAuditor:
    """Scores each (panel, version) from a script; anything unscripted is perfect."""

    spec = "scripted-audit"

    def __init__(self, script: dict[tuple[str, int], float]) -> None:
        self.script = script
        self.rounds: list[list[tuple[str, int]]] = []

    def audit(self, items: Sequence[AuditItem]) -> list[PanelAudit]:
        self.rounds.append([(i.panel.id, i.version) for i in items])
        out = []
        for item in items:
            assert item.image_path.is_file()
            score = self.script.get((item.panel.id, item.version), 1.0)
            findings = []
            if score < 1.0:
                findings.append(
                    Finding(
                        id=f"{item.panel.id}-v{item.version}-f1",
                        panel_id=item.panel.id,
                        character_id="mia",
                        kind="attribute",
                        attribute="hair",
                        expected="red",
                        observed="blue",
                        severity="major",
                        evidence="scripted",
                        auditor=self.spec,
                    )
                )
            out.append(
                PanelAudit(
                    panel_id=item.panel.id,
                    version=item.version,
                    score=score,
                    character_scores={"mia": score},
                    findings=findings,
                )
            )
        return out


def _run(tmp_path: Path, script: dict[tuple[str, int], float], **limits: object):
    generator, auditor = ScriptedGenerator(), ScriptedAuditor(script)
    backends = Backends(
        planner=ScriptedPlanner(),
        generator=generator,
        auditor=auditor,
        repairer=RuleRepairer(parse_backend("offline")),
    )
    settings = load_settings(runs_dir=tmp_path / "runs", **limits)
    result = start_run(settings, StoryRequest(story="Mia walks."), backends=backends)
    return result, generator, auditor


def test_exactly_one_flagged_panel_is_repaired_once_and_only_it_is_reaudited(
    tmp_path: Path,
) -> None:
    result, generator, auditor = _run(tmp_path, {("p02", 1): 0.4})
    panel_calls = [c for c in generator.calls if c[0] == "panel"]
    assert sorted(panel_calls) == [
        ("panel", "p01", 1),
        ("panel", "p02", 1),
        ("panel", "p02", 2),
        ("panel", "p03", 1),
    ]
    assert [c for c in generator.calls if c[0] == "reference"] == [("reference", "mia", 1)]
    assert auditor.rounds == [[("p01", 1), ("p02", 1), ("p03", 1)], [("p02", 2)]]
    assert result.status == "completed"
    assert (result.rounds, result.repairs, result.findings) == (1, 1, 1)
    assert result.consistency_index == 1.0

    audit = json.loads((result.run_dir / "audit.json").read_text())
    assert [r["consistency_index"] for r in audit["rounds"]] == [pytest.approx(0.8), 1.0]
    assert audit["rounds"][0]["flagged"] == ["p02"]
    (repair,) = audit["rounds"][0]["repairs"]
    assert repair["strategy"] == "inpaint" and repair["finding_ids"] == ["p02-v1-f1"]
    assert repair["parameters"]["region"] == [0.3, 0.2, 0.7, 0.95]  # Mia's cast box
    assert audit["current"] == {"p01": 1, "p02": 2, "p03": 1}
    assert audit["versions"]["p02"][1]["repair"]["strategy"] == "inpaint"
    assert (result.run_dir / "masks" / "p02_v2.png").is_file()
    assert any("red hair" in e for e in audit["versions"]["p02"][1]["parameters"]["emphasis"])
    for name in (
        "request.json",
        "plan.json",
        "manifest.json",
        "events.jsonl",
        "report.html",
        "pages/page_01.png",
    ):
        assert (result.run_dir / name).is_file(), name
    assert (result.run_dir / "panels" / "p02_v2.png").is_file()


def test_a_repair_that_scores_worse_never_becomes_current(tmp_path: Path) -> None:
    result, generator, auditor = _run(
        tmp_path, {("p02", 1): 0.6, ("p02", 2): 0.3, ("p02", 3): 0.5}, max_attempts=2
    )
    audit = json.loads((result.run_dir / "audit.json").read_text())
    assert audit["current"]["p02"] == 1  # v1 (0.6) beats v2 (0.3) and v3 (0.5)
    strategies = [v["repair"]["strategy"] for v in audit["versions"]["p02"] if v["repair"]]
    assert strategies == ["inpaint", "reseed"]
    assert audit["versions"]["p02"][2]["seed"] != audit["versions"]["p02"][0]["seed"]
    assert result.repairs == 2  # bounded by max_attempts
    assert auditor.rounds[1:] == [[("p02", 2)], [("p02", 3)]]
    assert result.consistency_index == pytest.approx((1 + 0.6 + 1) / 3, abs=1e-3)


def test_round_limit_bounds_the_loop(tmp_path: Path) -> None:
    always_bad = {(p, v): 0.2 for p in ("p01", "p02", "p03") for v in range(1, 10)}
    result, _, auditor = _run(tmp_path, always_bad, max_rounds=0)
    assert len(auditor.rounds) == 1 and result.repairs == 0 and result.status == "completed"
    result, _, auditor = _run(tmp_path, always_bad, max_rounds=2, max_attempts=5)
    assert len(auditor.rounds) == 3 and result.repairs == 6


def test_a_failing_backend_marks_the_run_failed_and_keeps_what_was_made(tmp_path: Path) -> None:
    class Exploding(ScriptedAuditor):
        def audit(self, items: Sequence[AuditItem]) -> list[PanelAudit]:
            raise RuntimeError("auditor fell over")

    backends = Backends(
        planner=ScriptedPlanner(),
        generator=ScriptedGenerator(),
        auditor=Exploding({}),
        repairer=RuleRepairer(parse_backend("offline")),
    )
    settings = load_settings(runs_dir=tmp_path / "runs")
    with pytest.raises(RuntimeError, match="fell over"):
        start_run(settings, StoryRequest(story="Mia walks."), backends=backends)
    (run_dir,) = (tmp_path / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "auditor fell over" in manifest["error"]
    assert len(list((run_dir / "panels").glob("*.png"))) == 3
    assert (run_dir / "report.html").is_file()


class MeteredAuditor(ScriptedAuditor):
    """Counts one model call per audited panel, as a model-backed auditor would."""

    def bind_meter(self, meter, role: str) -> None:  # type: ignore[no-untyped-def]
        self.meter, self.role = meter, role

    def audit(self, items: Sequence[AuditItem]) -> list[PanelAudit]:
        from storyviz.metering import LLMCall

        for item in items:
            self.meter.reserve(self.role)
            self.meter.record(
                LLMCall(
                    role=self.role,
                    backend="fake:vlm",
                    model="vlm-1",
                    purpose=f"audit {item.panel.id}",
                    seconds=0.01,
                    input_tokens=100,
                    output_tokens=20,
                )
            )
        return super().audit(items)


def test_model_calls_are_events_and_costs_per_role(tmp_path: Path) -> None:
    backends = Backends(
        planner=ScriptedPlanner(),
        generator=ScriptedGenerator(),
        auditor=MeteredAuditor({("p02", 1): 0.4}),
        repairer=RuleRepairer(parse_backend("offline")),
    )
    result = start_run(
        load_settings(runs_dir=tmp_path / "runs"),
        StoryRequest(story="Mia walks."),
        backends=backends,
    )
    events = [
        json.loads(line) for line in (result.run_dir / "events.jsonl").read_text().splitlines()
    ]
    calls = [e for e in events if e["event"] == "llm_call"]
    assert len(calls) == 4 and {c["step"] for c in calls} == {"auditor"}
    assert calls[0]["detail"]["model"] == "vlm-1" and calls[0]["detail"]["purpose"] == "audit p01"
    costs = json.loads((result.run_dir / "manifest.json").read_text())["costs"]
    assert (costs["llm_calls"], costs["input_tokens"], costs["output_tokens"]) == (4, 400, 80)
    assert costs["llm_by_role"]["auditor"]["calls"] == 4


def test_the_llm_call_budget_stops_the_run_cleanly_and_resume_finishes_it(tmp_path: Path) -> None:
    from storyviz.agents.runner import resume_run
    from storyviz.errors import BudgetExceededError

    def backends() -> Backends:
        return Backends(
            planner=ScriptedPlanner(),
            generator=ScriptedGenerator(),
            auditor=MeteredAuditor({}),
            repairer=RuleRepairer(parse_backend("offline")),
        )

    settings = load_settings(runs_dir=tmp_path / "runs", max_llm_calls=2)
    with pytest.raises(BudgetExceededError, match="budget of 2"):
        start_run(settings, StoryRequest(story="Mia walks."), backends=backends())
    (run_dir,) = (tmp_path / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and "--max-llm-calls" in manifest["error"]
    assert manifest["costs"]["llm_calls"] == 2
    assert len(list((run_dir / "panels").glob("*.png"))) == 3  # the renders are kept
    done = resume_run(load_settings(runs_dir=tmp_path / "runs"), run_dir.name, backends=backends())
    assert done.status == "completed"
    assert json.loads((run_dir / "manifest.json").read_text())["costs"]["llm_calls"] == 5


class InpaintingRepairer:
    """Always asks to inpaint Mia's hair region, as a model-backed repairer may."""

    spec = "scripted-repairer"

    def propose(self, plan, audit, history):  # type: ignore[no-untyped-def]
        from storyviz.schemas import RepairAction

        return RepairAction(
            panel_id=audit.panel_id,
            strategy="inpaint",
            parameters={"seed": history[0].seed, "emphasis": ["Mia's red hair"],
                        "region": [0.3, 0.2, 0.7, 0.4], "strength": 0.7},
            finding_ids=[f.id for f in audit.findings],
        )  # fmt: skip


def test_an_inpaint_repair_gets_the_best_version_a_mask_and_its_strength(tmp_path: Path) -> None:
    generator = ScriptedGenerator()
    seen: list[RenderRequest] = []
    original = generator.render

    def record(request: RenderRequest) -> RenderResult:
        seen.append(request)
        return original(request)

    generator.render = record  # type: ignore[method-assign]
    backends = Backends(
        planner=ScriptedPlanner(), generator=generator, auditor=ScriptedAuditor({("p02", 1): 0.4}),
        repairer=InpaintingRepairer(),
    )  # fmt: skip
    result = start_run(
        load_settings(runs_dir=tmp_path / "runs"),
        StoryRequest(story="Mia walks."),
        backends=backends,
    )
    (repair,) = [r for r in seen if r.version == 2]
    assert repair.init_image == str(result.run_dir / "panels" / "p02_v1.png")
    assert repair.strength == 0.7
    assert repair.mask == str(result.run_dir / "masks" / "p02_v2.png")
    with Image.open(repair.mask) as mask:
        assert mask.size == (repair.width, repair.height)
        assert mask.getpixel((repair.width // 2, round(repair.height * 0.3))) == 255
        assert mask.getpixel((2, repair.height - 2)) == 0
    plain = [r for r in seen if r.version == 1 and r.kind == "panel"]
    assert all(r.init_image is None and r.mask is None for r in plain)


def test_denoising_steps_reach_listeners_but_not_the_event_log(tmp_path: Path) -> None:
    class SteppingGenerator(ScriptedGenerator):
        progress = None

        def render(self, request: RenderRequest) -> RenderResult:
            for step in (1, 2):
                if self.progress is not None:
                    self.progress(step, 2)
            return super().render(request)

    heard: list[str] = []
    backends = Backends(
        planner=ScriptedPlanner(), generator=SteppingGenerator(), auditor=ScriptedAuditor({}),
        repairer=RuleRepairer(parse_backend("offline")),
    )  # fmt: skip
    result = start_run(
        load_settings(runs_dir=tmp_path / "runs"),
        StoryRequest(story="Mia walks."),
        backends=backends,
        listener=lambda event: heard.append(event.event),
    )
    assert heard.count("denoise") == 2 * 4  # a reference and three panels, two steps each
    assert "denoise" not in (result.run_dir / "events.jsonl").read_text()


class ChainLikeAuditor(ScriptedAuditor):
    """Reports, like a chained auditor, how many model calls its measuring stage spared."""

    def round_summary(self) -> dict[str, object]:
        return {"vlm_calls_saved": len(self.rounds[-1]), "escalated": {"vlm": []}}


def test_a_chained_auditors_saved_calls_reach_events_manifest_and_report(
    tmp_path: Path,
) -> None:
    auditor = ChainLikeAuditor({("p02", 1): 0.4})
    backends = Backends(
        planner=ScriptedPlanner(),
        generator=ScriptedGenerator(),
        auditor=auditor,
        repairer=RuleRepairer(parse_backend("offline")),
    )
    settings = load_settings(runs_dir=tmp_path / "runs")
    result = start_run(settings, StoryRequest(story="Mia walks."), backends=backends)
    events = [
        json.loads(line)
        for line in (result.run_dir / "events.jsonl").read_text().splitlines()
        if '"audited"' in line
    ]
    assert [e["detail"]["vlm_calls_saved"] for e in events] == [3, 1]
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["costs"]["vlm_calls_saved"] == 4
    assert (
        "VLM calls saved by the measuring auditor" in (result.run_dir / "report.html").read_text()
    )


def test_a_resume_takes_every_finished_drawing_from_the_run_folder_even_without_a_checkpoint(
    tmp_path: Path,
) -> None:
    """The run folder, not the timing of checkpoint writes, says what is drawn: with the whole
    checkpoint lost, a resume draws nothing again (references, renders, an inpaint repair)."""
    from storyviz.agents.runner import resume_run

    def backends(generator: ScriptedGenerator) -> Backends:
        return Backends(
            planner=ScriptedPlanner(), generator=generator,
            auditor=ScriptedAuditor({("p02", 1): 0.4}), repairer=InpaintingRepairer(),
        )  # fmt: skip

    first = ScriptedGenerator()
    result = start_run(load_settings(runs_dir=tmp_path / "runs"), StoryRequest(story="Mia walks."),
                       backends=backends(first))  # fmt: skip
    assert ("panel", "p02", 2) in first.calls
    run_dir = result.run_dir
    before = {p.relative_to(run_dir): p.read_bytes() for p in run_dir.rglob("*.png")}
    (run_dir / "checkpoint.sqlite").unlink()  # as if no write had reached it before a kill
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (run_dir / "manifest.json").write_text(json.dumps({**manifest, "status": "running"}))

    again = ScriptedGenerator()
    done = resume_run(load_settings(runs_dir=tmp_path / "runs"), run_dir.name,
                      backends=backends(again))  # fmt: skip
    assert done.status == "completed"
    assert again.calls == []
    assert {p.relative_to(run_dir): p.read_bytes() for p in run_dir.rglob("*.png")} == before
    log = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    resumed_at = next(i for i, e in enumerate(log) if e["event"] == "resumed")
    taken = [(e["detail"]["kind"], e["detail"]["target"], e.get("version"))
             for e in log[resumed_at:] if e["event"] == "recovered"]  # fmt: skip
    assert sorted(taken, key=str) == sorted(
        [("reference", "mia", None), ("panel", "p01", 1), ("panel", "p02", 1),
         ("panel", "p03", 1), ("panel", "p02", 2)], key=str)  # fmt: skip
    assert json.loads((run_dir / "audit.json").read_text())["current"] == {
        "p01": 1, "p02": 2, "p03": 1}  # fmt: skip


def test_a_failure_that_quotes_a_secret_url_is_recorded_redacted(tmp_path: Path) -> None:
    class LeakyGenerator(ScriptedGenerator):
        def render(self, request: RenderRequest) -> RenderResult:
            raise RuntimeError("cannot reach http://mia:hunter2@10.0.0.9/v1?token=tok123")

    backends = Backends(
        planner=ScriptedPlanner(), generator=LeakyGenerator(), auditor=ScriptedAuditor({}),
        repairer=RuleRepairer(parse_backend("offline")),
    )  # fmt: skip
    with pytest.raises(RuntimeError):
        start_run(load_settings(runs_dir=tmp_path / "runs"), StoryRequest(story="Mia walks."),
                  backends=backends)  # fmt: skip
    (run_dir,) = (tmp_path / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "cannot reach http://" in manifest["error"]
    for path in run_dir.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".html"):
            text = path.read_text()
            assert "hunter2" not in text and "tok123" not in text, path


def test_the_graph_files_a_version_under_the_seed_the_renderer_used(tmp_path: Path) -> None:
    """A renderer that gave up on a broken output reports the seed it went on with; the graph
    records that one, not the requested one, and writes the renderer's record as it was."""

    class Reseeding(ScriptedGenerator):
        def render(self, request: RenderRequest) -> RenderResult:
            drawn = super().render(request)
            used = request.seed + 1
            info = {"seed": used, "reseeded": [{"seed": request.seed, "reason": "black"}]}
            return RenderResult(
                drawn.image, info=info, seed=used, reseeds=(Reseed(request.seed, "black"),)
            )

    backends = Backends(
        planner=ScriptedPlanner(),
        generator=Reseeding(),
        auditor=ScriptedAuditor({}),
        repairer=RuleRepairer(parse_backend("offline")),
    )
    settings = load_settings(runs_dir=tmp_path / "runs")
    result = start_run(settings, StoryRequest(story="Mia walks.", seed=5), backends=backends)
    audit = json.loads((result.run_dir / "audit.json").read_text())
    (v1,) = audit["versions"]["p01"]
    assert v1["seed"] == v1["parameters"]["seed"] != v1["parameters"]["reseeded"][0]["seed"]
    assert v1["parameters"]["reseeded"] == [{"seed": v1["seed"] - 1, "reason": "black"}]


class NoInpaintGenerator(ScriptedGenerator):
    """A generator whose model has no inpainting path, as the dsd backend declares."""

    unsupported_repairs = {"inpaint": "its weights have no inpainting path"}

    def render(self, request: RenderRequest) -> RenderResult:
        assert request.mask is None, "asked to inpaint"
        return super().render(request)


def test_a_repair_the_generator_cannot_draw_is_replaced_by_one_it_can(tmp_path: Path) -> None:
    generator = NoInpaintGenerator()
    backends = Backends(
        planner=ScriptedPlanner(), generator=generator,
        auditor=ScriptedAuditor({("p02", 1): 0.4, ("p02", 2): 0.4}),
        repairer=RuleRepairer(parse_backend("offline")),
    )  # fmt: skip
    settings = load_settings(runs_dir=tmp_path / "runs", max_rounds=2)
    result = start_run(settings, StoryRequest(story="Mia walks."), backends=backends)
    assert result.status == "completed"
    audit = json.loads((result.run_dir / "audit.json").read_text())
    repairs = [r for rnd in audit["rounds"] for r in rnd["repairs"]]
    # The offline repairer asks for an inpaint first; the graph reprompts (same seed) instead,
    # and the next round's reseed needs no stand-in.
    assert [r["strategy"] for r in repairs] == ["reprompt", "reseed"]
    assert repairs[0]["rationale"].startswith(
        "reprompt instead of inpaint (scripted-gen: its weights have no inpainting path); "
    )
    versions = audit["versions"]["p02"]
    assert versions[1]["seed"] == versions[0]["seed"]  # a reprompt keeps the composition
    assert ("panel", "p02", 3) in generator.calls


class WarningGenerator(ScriptedGenerator):
    """A renderer that could not honour part of a request (a prompt cut to its text window)."""

    def render(self, request: RenderRequest) -> RenderResult:
        drawn = super().render(request)
        said = (f"{request.kind} {request.target_id}: the prompt was cut",)
        return RenderResult(drawn.image, info=drawn.info, warnings=said)


def test_what_a_renderer_could_not_honour_becomes_warning_events(tmp_path: Path) -> None:
    backends = Backends(
        planner=ScriptedPlanner(),
        generator=WarningGenerator(),
        auditor=ScriptedAuditor({}),
        repairer=RuleRepairer(parse_backend("offline")),
    )
    settings = load_settings(runs_dir=tmp_path / "runs")
    result = start_run(settings, StoryRequest(story="Mia walks."), backends=backends)
    events = [
        json.loads(line) for line in (result.run_dir / "events.jsonl").read_text().splitlines()
    ]
    warnings = [e for e in events if e["event"] == "warning"]
    said = sorted((e["step"], e.get("panel_id") or "", e["detail"]["target"]) for e in warnings)
    assert said == [
        ("references", "", "mia"),
        ("render", "p01", "p01"),
        ("render", "p02", "p02"),
        ("render", "p03", "p03"),
    ]
    first = next(e for e in warnings if e.get("panel_id") == "p01")
    assert first["detail"]["message"] == "panel p01: the prompt was cut"
    assert first["version"] == 1
