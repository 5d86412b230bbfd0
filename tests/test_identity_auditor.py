"""The measuring identity auditors (clip:, dino:) on tiny random models loaded by path."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from storyviz.errors import BackendError
from storyviz.evaluators.identity.auditor import IdentityAuditor, severity_for
from storyviz.protocols import AuditItem, Auditor
from storyviz.registry import build
from storyviz.schemas import CastMember, CharacterSheet, PanelSpec

pytest.importorskip("open_clip")
from tiny_vision import tiny_clip, tiny_dino, tiny_owl  # noqa: E402

MIA = CharacterSheet(id="mia", name="Mia", description="a girl in a red coat")
WHOLE = (0.0, 0.0, 1.0, 1.0)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {
        "clip": tiny_clip(root / "clip"),
        "dino": tiny_dino(root / "dino"),
        "owl": tiny_owl(root / "owl"),
    }


def _image(path: Path, colour: tuple[int, int, int], stripe: bool = False) -> Path:
    image = Image.new("RGB", (64, 64), colour)
    if stripe:
        image.paste((250, 250, 250), (0, 20, 64, 40))
    image.save(path)
    return path


def _item(pid: str, image: Path, reference: Path | None, box: tuple = WHOLE) -> AuditItem:
    panel = PanelSpec(id=pid, beat="Mia", cast=[CastMember(character_id="mia", box=box)])
    refs = {"mia": reference} if reference else {}
    return AuditItem(panel=panel, version=1, image_path=image, characters=[MIA], references=refs)


@pytest.mark.parametrize("kind", ["clip", "dino"])
def test_a_crop_identical_to_the_reference_passes_and_another_is_an_identity_finding(
    kind: str, models: dict[str, Path], tmp_path: Path
) -> None:
    reference = _image(tmp_path / "ref.png", (200, 30, 30))
    same = _image(tmp_path / "same.png", (200, 30, 30))
    other = _image(tmp_path / "other.png", (20, 40, 220), stripe=True)
    auditor = build("auditor", f"{kind}:{models[kind]}?threshold=1.0")
    assert isinstance(auditor, Auditor) and isinstance(auditor, IdentityAuditor)
    clean, drifted = auditor.audit([_item("p1", same, reference), _item("p2", other, reference)])
    assert clean.findings == [] and clean.score == 1.0 and clean.character_scores == {"mia": 1.0}
    (finding,) = drifted.findings
    assert finding.kind == "identity" and finding.character_id == "mia"
    assert finding.region == WHOLE and finding.id == "p2-v1-f1"
    similarity = auditor.measured[-1].similarity
    assert similarity < 1.0 and f"{similarity:.3f}" in finding.evidence
    assert finding.severity == severity_for(similarity, 1.0)
    assert drifted.score == drifted.character_scores["mia"] < 1.0


def test_severity_grows_with_the_shortfall_below_the_threshold() -> None:
    assert severity_for(0.7, 0.7) is None
    assert severity_for(0.68, 0.7) == "minor"
    assert severity_for(0.6, 0.7) == "major"
    assert severity_for(0.5, 0.7) == "critical"


def test_characters_without_a_reference_are_not_judged(
    models: dict[str, Path], tmp_path: Path
) -> None:
    auditor = build("auditor", f"clip:{models['clip']}")
    (audit,) = auditor.audit([_item("p1", _image(tmp_path / "p.png", (9, 9, 9)), None)])
    assert audit.score == 1.0 and audit.findings == [] and audit.character_scores == {}
    assert any("no reference image for mia" in note for note in auditor.notes)


def test_an_unreadable_panel_is_a_critical_artifact(
    models: dict[str, Path], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    auditor = build("auditor", f"clip:{models['clip']}")
    (audit,) = auditor.audit([_item("p1", broken, _image(tmp_path / "r.png", (1, 2, 3)))])
    assert audit.score == 0.0 and audit.findings[0].kind == "artifact"


def test_a_detector_box_replaces_the_plan_box(models: dict[str, Path], tmp_path: Path) -> None:
    reference = _image(tmp_path / "ref.png", (200, 30, 30))
    spec = f"clip:{models['clip']}?threshold=1.0&detector={models['owl']}&detector_threshold=0"
    auditor = build("auditor", spec)
    (audit,) = auditor.audit([_item("p1", _image(tmp_path / "p.png", (5, 90, 5)), reference)])
    located = auditor.measured[-1].located
    assert located.how.startswith("detector (score")
    assert audit.findings and audit.findings[0].region == located.box


def test_models_load_once_per_process(models: dict[str, Path]) -> None:
    first = build("auditor", f"clip:{models['clip']}")
    second = build("auditor", f"clip:{models['clip']}?threshold=0.2")
    assert first.embedder.model is second.embedder.model
    assert second.threshold == 0.2 and first.threshold == 0.7


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("clip", "needs a model"),
        ("clip:/no/such/folder-or-arch", "cannot load open_clip model"),
        ("dino:/no/such/folder", "cannot load DINOv2 model"),
        ("clip:ViT-B-32?colour=red", "does not take option(s) colour"),
        ("dino:x?threshold=2", "threshold must be within 0..1"),
    ],
)
def test_bad_identity_backends_are_one_line_errors(text: str, fragment: str) -> None:
    with pytest.raises(BackendError) as error:
        build("auditor", text)
    assert fragment in str(error.value) and "\n" not in str(error.value)
