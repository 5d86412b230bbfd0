"""The HTML report: content a person can follow, self-contained, escaped, and robust to gaps."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

from storyviz.errors import RunNotFoundError
from storyviz.report import build_report, read_run_folder, swatch
from storyviz.schemas import (
    AuditLog,
    AuditRound,
    CastMember,
    CharacterAttributes,
    CharacterSheet,
    Costs,
    DialogueLine,
    Finding,
    PageSpec,
    PanelAudit,
    PanelSpec,
    PanelVersion,
    RepairAction,
    RunEvent,
    RunManifest,
    StoryPlan,
    StoryRequest,
)

STORY = "Mia, a shy girl with red hair, finds a lost robot dog. <script>alert('x')</script> & more"


def _png(path: Path, color: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _request() -> StoryRequest:
    return StoryRequest(story=STORY, panels=2, title="Mia and the <b>Robot</b> Dog", seed=7)


def _manifest(request: StoryRequest, **changes: object) -> RunManifest:
    fields: dict[str, object] = dict(
        run_id="20260101-120000-mia-abcd",
        status="completed",
        created_at="2026-01-01T12:00:00.000+00:00",
        request=request,
        config={"threshold": 0.8, "openai_api_key": "***"},
        backends={"planner": "offline", "generator": "sketch", "auditor": "offline"},
        versions={"storyviz": "0.1.0", "pillow": "11.0.0"},
        prompt_hashes={"panel.j2": "sha256:abc123"},
        rounds=2,
        consistency_index=0.95,
        panels=2,
        findings=1,
        repairs=1,
        costs=Costs(
            llm_calls=3,
            input_tokens=1200,
            output_tokens=345,
            images=3,
            seconds={"plan": 0.12, "render": 4.5, "audit": 1.25, "repair": 2.75},
        ),
    )
    fields.update(changes)
    return RunManifest.model_validate(fields)


def _plan() -> StoryPlan:
    mia = CharacterSheet(
        id="mia",
        name="Mia",
        description="A shy girl with red hair and a yellow raincoat.",
        attributes=CharacterAttributes(
            age="child", hair="red, shoulder length", colors={"hair": "red", "outfit": "yellow"}
        ),
    )
    panels = [
        PanelSpec(
            id="p01",
            beat="Rain falls on Harbor Town.",
            setting="harbor street",
            weather="rain",
            shot="establishing",
            caption="It had rained for three days.",
            cast=[CastMember(character_id="mia", box=(0.3, 0.3, 0.6, 0.95))],
        ),
        PanelSpec(
            id="p02",
            beat="Mia finds the dog.",
            cast=[CastMember(character_id="mia", box=(0.1, 0.2, 0.5, 0.95), action="kneels")],
            dialogue=[DialogueLine(speaker_id="mia", text="Who are <you>?")],
        ),
    ]
    pages = [PageSpec(index=1, template="stack-2", panel_ids=["p01", "p02"])]
    return StoryPlan(
        title="Mia and the <b>Robot</b> Dog",
        style="storyboard sketch",
        characters=[mia],
        panels=panels,
        pages=pages,
    )


def _audit() -> AuditLog:
    hair = Finding(
        id="f-p02-hair",
        panel_id="p02",
        character_id="mia",
        kind="attribute",
        attribute="hair",
        expected="red",
        observed="blonde",
        severity="major",
        evidence="hair region mean colour is nearest to blonde (dE 41.2)",
        suggestion="repeat 'red hair' in the prompt",
        auditor="offline-color",
    )
    repair = RepairAction(
        panel_id="p02",
        strategy="reprompt",
        parameters={"emphasis": ["red hair"]},
        finding_ids=["f-p02-hair"],
        rationale="The hair colour drifted; insist on it in the prompt.",
        from_version=1,
        to_version=2,
    )
    round1 = AuditRound(
        round=1,
        audited=["p01", "p02"],
        audits={
            "p01": PanelAudit(panel_id="p01", version=1, score=1.0),
            "p02": PanelAudit(panel_id="p02", version=1, score=0.4, findings=[hair]),
        },
        consistency_index=0.7,
        panel_scores={"p01": 1.0, "p02": 0.4},
        flagged=["p02"],
        repairs=[repair],
        seconds=1.0,
    )
    round2 = AuditRound(
        round=2,
        audited=["p02"],
        audits={"p02": PanelAudit(panel_id="p02", version=2, score=0.9)},
        consistency_index=0.95,
        panel_scores={"p01": 1.0, "p02": 0.9},
        flagged=[],
        seconds=0.25,
    )

    def version(panel_id: str, number: int, score: float, **extra: object) -> PanelVersion:
        return PanelVersion.model_validate(
            dict(
                panel_id=panel_id,
                version=number,
                path=f"panels/{panel_id}_v{number}.png",
                seed=1000 + number,
                prompt=f"{panel_id} prompt v{number}",
                backend="sketch",
                score=score,
                **extra,
            )
        )

    return AuditLog(
        threshold=0.8,
        max_rounds=3,
        rounds=[round1, round2],
        versions={
            "p01": [version("p01", 1, 1.0)],
            "p02": [version("p02", 1, 0.4, findings=[hair]), version("p02", 2, 0.9, repair=repair)],
        },
        current={"p01": 1, "p02": 2},
        references={"mia": "references/mia.png"},
        consistency_index=0.95,
    )


def _events() -> str:
    events = [
        RunEvent(event="planned", step="plan", seconds=0.12),
        RunEvent(event="rendered", step="render", panel_id="p01", version=1, seconds=1.5),
        RunEvent(event="rendered", step="render", panel_id="p02", version=1, seconds=1.5),
        RunEvent(event="audited", step="audit", seconds=1.0, detail={"round": 1}),
        RunEvent(event="repaired", step="repair", panel_id="p02", version=2, seconds=2.75),
        RunEvent(event="composed", step="compose", seconds=0.3),
    ]
    return "".join(e.model_dump_json(exclude_none=True) + "\n" for e in events)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A completed two-round run: p02's hair drifted in round 1 and a reprompt fixed it."""
    run = tmp_path / "20260101-120000-mia-abcd"
    request = _request()
    _write(run / "request.json", request.model_dump_json())
    _write(run / "plan.json", _plan().model_dump_json())
    _write(run / "manifest.json", _manifest(request).model_dump_json())
    _write(run / "audit.json", _audit().model_dump_json())
    _write(run / "events.jsonl", _events())
    _png(run / "panels/p01_v1.png", (90, 130, 200))
    _png(run / "panels/p02_v1.png", (236, 206, 120))
    _png(run / "panels/p02_v2.png", (206, 38, 38))
    _png(run / "pages/page_01.png", (250, 250, 250), size=(124, 175))
    _png(run / "references/mia.png", (206, 38, 38), size=(48, 64))
    return run


def _text(html: str) -> str:
    """The visible text, tags stripped, whitespace collapsed: what a reader sees."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_report_shows_findings_repairs_versions_rounds_and_timings(run_dir: Path) -> None:
    html = build_report(run_dir)
    text = _text(html)

    assert "expected" in text and "red" in text and "blonde" in text
    assert "hair region mean colour is nearest to blonde" in text
    assert "reprompt" in text
    assert "The hair colour drifted; insist on it in the prompt." in text
    assert "→ v2 (score 0.900)" in text
    assert 'href="panels/p02_v1.png"' in html and 'href="panels/p02_v2.png"' in html
    assert "v1" in text and "v2" in text and "current" in text
    for value in ("0.700", "0.950", "0.800"):  # CI per round and the threshold
        assert value in text
    assert "<svg" in html and "<polyline" in html
    for label in ("render", "4.50 s", "repair", "2.75 s", "1200", "345"):
        assert label in text
    assert "sha256:abc123" in text and "openai_api_key" in text and "***" in text
    assert swatch("red") in html and swatch("blonde") in html  # colour swatches for the finding


def test_report_sections_are_in_reading_order(run_dir: Path) -> None:
    html = build_report(run_dir)
    order = ['id="story"', 'id="pages"', 'id="characters"', 'id="consistency"']
    order += ['id="panels"', 'id="costs"', 'id="provenance"']
    positions = [html.index(marker) for marker in order]
    assert positions == sorted(positions)


def test_report_is_self_contained(run_dir: Path) -> None:
    html = build_report(run_dir)
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", html)
    assert references, "expected images and links"
    for reference in references:
        assert not re.match(r"^[a-z]+://|^//", reference, re.IGNORECASE), reference
        assert reference.startswith(("data:image/", "#", "panels/", "pages/", "references/"))
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()
    assert "url(" not in html  # no CSS-fetched resources either
    thumbnails = re.findall(r'src="data:image/(?:png|jpeg);base64,', html)
    assert len(thumbnails) == 5  # page, reference, p01 v1, p02 v1, p02 v2


def test_thumbnails_are_downscaled(run_dir: Path) -> None:
    _png(run_dir / "panels/p01_v1.png", (90, 130, 200), size=(1600, 900))
    html = build_report(run_dir)
    sizes = re.findall(r'width="(\d+)" height="(\d+)" alt="panel p01 version 1"', html)
    assert sizes == [("360", "203")]  # 900 * 360 / 1600, rounded


def test_user_text_is_escaped(run_dir: Path) -> None:
    html = build_report(run_dir)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more" in html
    assert "<b>Robot</b>" not in html and "&lt;b&gt;Robot&lt;/b&gt;" in html
    assert "Who are &lt;you&gt;?" in html


def test_failed_run_with_only_request_and_manifest(tmp_path: Path) -> None:
    run = tmp_path / "failed-run"
    request = _request()
    _write(run / "request.json", request.model_dump_json())
    manifest = _manifest(
        request,
        status="failed",
        rounds=0,
        consistency_index=None,
        panels=0,
        findings=0,
        repairs=0,
        error="BackendError: backend 'openai:gpt-4.1-mini' needs OPENAI_API_KEY",
    )
    _write(run / "manifest.json", manifest.model_dump_json())

    html = build_report(run)
    text = _text(html)
    assert "failed" in text
    assert "needs OPENAI_API_KEY" in text
    assert "plan.json is missing" in text and "audit.json is missing" in text
    assert "No pages were composed" in text
    assert "finds a lost robot dog" in text


def test_malformed_audit_is_a_notice_not_a_crash(run_dir: Path) -> None:
    (run_dir / "audit.json").write_text('{"threshold": 0.8, "rounds": [', encoding="utf-8")
    (run_dir / "events.jsonl").write_text(_events() + '{"event": \n', encoding="utf-8")
    html = build_report(run_dir)
    text = _text(html)
    assert "audit.json is malformed" in text
    assert "events.jsonl is malformed: 1 line(s) could not be read" in text
    assert 'href="panels/p02_v2.png"' in html  # versions still found on disk
    assert "No audit rounds were recorded" in text


def test_audit_of_the_wrong_shape_is_malformed(run_dir: Path) -> None:
    (run_dir / "audit.json").write_text(json.dumps({"threshold": "high"}), encoding="utf-8")
    folder = read_run_folder(run_dir)
    assert folder.audit is None
    assert [(n.file, n.problem) for n in folder.notices] == [("audit.json", "malformed")]


def test_empty_folder_and_missing_folder(tmp_path: Path) -> None:
    html = build_report(tmp_path)
    assert "manifest.json</code> is missing" in html
    with pytest.raises(RunNotFoundError):
        build_report(tmp_path / "nope")


def test_paths_outside_the_run_are_not_read_or_linked(run_dir: Path, tmp_path: Path) -> None:
    audit = _audit()
    secret = tmp_path / "secret.png"
    _png(secret, (1, 2, 3))
    audit.versions["p01"][0].path = "../secret.png"
    audit.references["mia"] = "https://example.com/mia.png"
    (run_dir / "audit.json").write_text(audit.model_dump_json(), encoding="utf-8")
    html = build_report(run_dir)
    links = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", html)
    assert not [link for link in links if link.startswith(("http", "..", "/"))]
    assert "image ../secret.png is missing" in html
    assert "No reference image (https://example.com/mia.png)" in html  # named, never fetched


def test_assigned_colour_is_shown_as_assigned_not_as_the_storys(run_dir: Path) -> None:
    plan = _plan()
    mia = plan.characters[0]
    attributes = mia.attributes.model_copy(
        update={"outfit": "yellow clothes", "assigned_colors": ["outfit"]}
    )
    plan = plan.model_copy(
        update={"characters": [mia.model_copy(update={"attributes": attributes})]}
    )
    _write(run_dir / "plan.json", plan.model_dump_json())
    text = _text(build_report(run_dir))
    assert "outfit colour yellow (assigned, not in the story)" in text
    assert "yellow clothes (assigned, not in the story)" in text
    assert "hair colour red (assigned" not in text


def test_plan_without_assigned_colours_still_loads() -> None:
    old = _plan().model_dump()
    old["characters"][0]["attributes"].pop("assigned_colors")
    assert StoryPlan.model_validate(old).characters[0].attributes.assigned_colors == []
