"""Chained auditors: a measuring stage on every panel, the VLM only on what it flags, counted on
a fake OpenAI-compatible server speaking the real wire format."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fakes.openai_server import FakeOpenAIServer, message_text
from PIL import Image

from storyviz.errors import BackendError
from storyviz.evaluators.composite import CompositeAuditor, calls_saved
from storyviz.metering import CallMeter
from storyviz.protocols import AuditItem
from storyviz.registry import build, parse_backend
from storyviz.schemas import CastMember, CharacterSheet, PanelSpec

pytest.importorskip("open_clip")
from tiny_vision import tiny_clip  # noqa: E402

MIA = CharacterSheet(id="mia", name="Mia", description="a girl in a red coat")


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_clip(tmp_path_factory.mktemp("models") / "clip")


def _panel_file(path: Path, colour: tuple[int, int, int]) -> Path:
    Image.new("RGB", (48, 48), colour).save(path)
    return path


def _items(tmp_path: Path) -> list[AuditItem]:
    """p1 and p3 show the reference itself (similarity 1.0); p2 shows someone else."""
    reference = _panel_file(tmp_path / "ref.png", (200, 30, 30))
    colours = {"p1": (200, 30, 30), "p2": (20, 60, 230), "p3": (200, 30, 30)}
    return [
        AuditItem(
            panel=PanelSpec(
                id=pid, beat="Mia", cast=[CastMember(character_id="mia", box=(0, 0, 1, 1))]
            ),
            version=1,
            image_path=_panel_file(tmp_path / f"{pid}.png", colour),
            characters=[MIA],
            references={"mia": reference},
        )
        for pid, colour in colours.items()
    ]


def _panels_in(body: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(re.findall(r"panel (\S+) v\d+", message_text(body))))


def _verdicts(findings: list[dict[str, Any]]) -> Any:
    def respond(body: dict[str, Any]) -> dict[str, Any]:
        return {"panels": [{"panel_id": pid, "findings": findings} for pid in _panels_in(body)]}

    return respond


def test_the_vlm_is_asked_only_about_flagged_panels(clip_dir: Path, tmp_path: Path) -> None:
    coat = {
        "character_id": "mia",
        "kind": "attribute",
        "attribute": "outfit",
        "severity": "major",
        "expected": "red coat",
        "observed": "blue coat",
        "evidence": "her coat is blue",
    }
    with FakeOpenAIServer() as server:
        server.respond_with(_verdicts([coat]))
        text = f"clip:{clip_dir}?threshold=1.0+vlm:{server.backend('vision')}?batch=1"
        auditor = build("auditor", text)
        assert isinstance(auditor, CompositeAuditor)
        meter = CallMeter()
        auditor.bind_meter(meter, "auditor")
        p1, p2, p3 = auditor.audit(_items(tmp_path))
        asked = [_panels_in(r.body) for r in server.requests]
    assert asked == [["p2"]]  # one call, for the one flagged panel
    assert meter.per_role["auditor"].calls == 1
    assert p1.findings == [] and p3.findings == [] and p1.score == p3.score == 1.0
    assert [f.kind for f in p2.findings] == ["identity", "attribute"]
    assert [f.id for f in p2.findings] == ["p2-v1-f1", "p2-v1-f2"]
    assert p2.findings[0].auditor.startswith("clip:") and p2.findings[1].auditor.startswith("vlm:")
    assert p2.score == 0.4  # the judge's verdict: a major finding, 1 - 0.6
    assert p2.auditor == auditor.spec == text
    (stage,) = auditor.rounds[-1]["stages"]
    assert stage["asked"] == ["p2"] and stage["calls"] == 1 and stage["calls_saved"] == 2
    assert auditor.vlm_calls_saved == 2
    assert auditor.round_summary() == {
        "vlm_calls_saved": 2,
        "escalated": {auditor.stages[1].spec: ["p2"]},
    }


def test_a_judge_that_clears_a_flagged_panel_sets_its_score(clip_dir: Path, tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.respond_with(_verdicts([]))
        auditor = build("auditor", f"clip:{clip_dir}?threshold=1.0+vlm:{server.backend('v')}")
        _, p2, _ = auditor.audit(_items(tmp_path))
        assert len(server.requests) == 1
    assert [f.kind for f in p2.findings] == ["identity"]  # the measurement stays on record
    assert p2.score == 1.0


def test_nothing_flagged_means_no_model_call(clip_dir: Path, tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        auditor = build("auditor", f"clip:{clip_dir}?threshold=0+vlm:{server.backend('v')}")
        audits = auditor.audit(_items(tmp_path))
        assert server.requests == []
    assert all(a.score == 1.0 for a in audits)
    assert auditor.rounds[-1]["vlm_calls_saved"] == 1  # ceil(3 / 4) - 0


def test_chains_parse_and_print_back_with_secrets_hidden() -> None:
    text = "clip:ViT-B-32?threshold=0.3+vlm:openai:gpt-4.1-mini?api_key=sk-x"
    spec = parse_backend(text)
    assert (spec.name, spec.model, dict(spec.options)) == ("clip", "ViT-B-32", {"threshold": "0.3"})
    assert [s.name for s in spec.chain] == ["vlm"]
    assert str(spec) == text
    assert (
        spec.redacted() == "clip:ViT-B-32?threshold=0.3+vlm:openai:gpt-4.1-mini?api_key=%2A%2A%2A"
    )
    assert parse_backend("diffusers:/models/a+b").model == "/models/a+b"  # no auditor after '+'
    assert [s.model for s in parse_backend("dino:/m/x+offline").chain] == [None]


@pytest.mark.parametrize(
    ("role", "text", "fragment"),
    [
        ("generator", "sketch+offline", "only auditors compose"),
        ("auditor", "offline+nosuch:x", "invalid backend name 'offline+nosuch'"),
        ("auditor", "offline+vlm", "needs a model, e.g. vlm:openai:"),
    ],
)
def test_bad_chains_are_one_line_errors(role: Any, text: str, fragment: str) -> None:
    with pytest.raises(BackendError) as error:
        build(role, text)
    assert fragment in str(error.value)


def test_calls_saved_counts_batches() -> None:
    assert calls_saved(10, 3, 4) == 3 - 1
    assert calls_saved(10, 0, 1) == 10
    assert calls_saved(4, 4, 4) == 0
