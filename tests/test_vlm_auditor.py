"""The VLM auditor against a scripted in-process chat model and real sketch renders."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from fakes.chat_model import Answer, ScriptedChat
from pydantic import BaseModel

from storyviz.errors import BackendError, ProviderError, RefusalError
from storyviz.evaluators.vlm.auditor import VLMAuditor
from storyviz.metering import CallMeter
from storyviz.prompts import load
from storyviz.protocols import AuditItem, Auditor
from storyviz.providers.base import ChatMessage
from storyviz.registry import build
from storyviz.schemas import (
    CastMember,
    CharacterAttributes,
    CharacterSheet,
    PanelSpec,
    RenderRequest,
)

# --- the fake chat model -------------------------------------------------------------------------


def FakeChat(answers: Sequence[Answer] = (), **options: Any) -> ScriptedChat:  # noqa: N802
    return ScriptedChat(answers, spec="fake:vision", model="vision", **options)


def clean_for_every_panel(
    messages: Sequence[ChatMessage], schema: type[BaseModel], purpose: str
) -> Answer:
    """Answers 'nothing wrong' for every panel image of the request."""
    labels = [image.label for m in messages for image in m.images]
    ids = [re.match(r"panel (\S+) v\d+", label) for label in labels]
    return {"panels": [{"panel_id": m.group(1), "findings": []} for m in ids if m]}


# --- sheets, panels, renders ---------------------------------------------------------------------

MIA = CharacterSheet(
    id="mia",
    name="Mia",
    description="a shy girl with red hair and a yellow raincoat",
    attributes=CharacterAttributes(
        age="child", hair="long hair", outfit="raincoat", colors={"hair": "red", "outfit": "yellow"}
    ),
)
BOLT = CharacterSheet(
    id="bolt",
    name="Bolt",
    description="a lost robot dog",
    attributes=CharacterAttributes(species="robot dog", colors={"fur": "silver", "eyes": "cyan"}),
)
MIA_BOX = (0.08, 0.25, 0.45, 0.95)
BOLT_BOX = (0.5, 0.55, 0.92, 0.92)
DUO = [CastMember(character_id="mia", box=MIA_BOX), CastMember(character_id="bolt", box=BOLT_BOX)]
SOLO = [CastMember(character_id="mia", box=(0.3, 0.2, 0.7, 0.95))]


def panel(pid: str, cast: list[CastMember] = DUO) -> PanelSpec:
    return PanelSpec(id=pid, beat=f"Mia and Bolt, beat {pid}.", setting="a rainy street", cast=cast)


def render(tmp_path: Path, request: RenderRequest) -> Path:
    result = build("generator", "sketch").render(request)
    path = tmp_path / f"{request.kind}_{request.target_id}_v{request.version}.png"
    result.image.save(path)
    return path


@pytest.fixture
def references(tmp_path: Path) -> dict[str, Path]:
    return {
        s.id: render(
            tmp_path,
            RenderRequest(kind="reference", target_id=s.id, prompt=s.name, characters=[s]),
        )
        for s in (MIA, BOLT)
    }


@pytest.fixture
def make_item(tmp_path: Path, references: dict[str, Path]) -> Callable[..., AuditItem]:
    def make(pid: str, cast: list[CastMember] = DUO, version: int = 1) -> AuditItem:
        spec = panel(pid, cast)
        sheets = [s for s in (MIA, BOLT) if any(m.character_id == s.id for m in cast)]
        request = RenderRequest(
            target_id=pid,
            version=version,
            prompt=spec.beat,
            panel=spec,
            characters=sheets,
            width=192,
            height=192,
            seed=3,
        )
        return AuditItem(
            panel=spec,
            version=version,
            image_path=render(tmp_path, request),
            characters=sheets,
            references={s.id: references[s.id] for s in sheets},
        )

    return make


def finding(cid: str | None, kind: str, **extra: Any) -> dict[str, Any]:
    return {"character_id": cid, "kind": kind, "severity": "major", "evidence": "seen", **extra}


# --- construction --------------------------------------------------------------------------------


def test_a_model_that_cannot_read_images_is_refused_at_construction() -> None:
    with pytest.raises(BackendError, match=r"reads images.*fake:vision"):
        VLMAuditor(FakeChat(supports_images=False))
    with pytest.raises(BackendError, match="panels_per_call"):
        VLMAuditor(FakeChat(), panels_per_call=0)


def test_it_is_an_auditor_with_spec_prompts_and_meter() -> None:
    chat = FakeChat()
    auditor = VLMAuditor(chat)
    as_protocol: Auditor = auditor  # checked statically by mypy and at run time below
    assert isinstance(as_protocol, Auditor)
    assert auditor.spec == "vlm:fake:vision"
    assert auditor.calls == 0
    assert [load(name).sha256 for name in auditor.prompt_names()]  # loadable, hashable
    meter = CallMeter()
    auditor.bind_meter(meter, "auditor")
    assert chat.bound == (meter, "auditor")


# --- what is sent --------------------------------------------------------------------------------


def test_panels_and_references_are_attached_labelled_and_described(make_item: Any) -> None:
    items = [make_item("p1"), make_item("p2", SOLO)]
    chat = FakeChat(responder=clean_for_every_panel)
    audits = VLMAuditor(chat).audit(items)

    assert [a.score for a in audits] == [1.0, 1.0]
    (call,) = chat.calls
    system, user = call.messages
    assert system.role == "system" and not system.images
    # references once per call, first; then the panels in order
    assert call.images == ["reference mia", "reference bolt", "panel p1 v1", "panel p2 v1"]
    sent = {image.label: image for image in user.images}
    assert sent["panel p1 v1"].data == items[0].image_path.read_bytes()
    assert sent["reference mia"].data == items[0].references["mia"].read_bytes()
    assert all(image.mime == "image/png" for image in user.images)
    text = user.text
    assert 'id "mia": Mia, a shy girl with red hair and a yellow raincoat' in text
    assert "colours: hair red, outfit yellow" in text and "age: child" in text
    assert "colours: fur silver, eyes cyan" in text and "species: robot dog" in text
    assert 'Panel "p1" (image "panel p1 v1")' in text
    assert "medium, left of the panel (37% wide, 70% tall), box [0.08, 0.25, 0.45, 0.95]" in text
    assert "3. panel p1 v1" in text
    assert call.purpose == "audit p1,p2"


def test_without_references_only_panels_are_sent(make_item: Any) -> None:
    chat = FakeChat(responder=clean_for_every_panel)
    VLMAuditor(chat, with_references=False).audit([make_item("p1")])
    assert chat.calls[0].images == ["panel p1 v1"]
    assert "no reference images" in chat.calls[0].text


def test_six_panels_four_per_call_take_two_calls(make_item: Any) -> None:
    items = [make_item(f"p{n}") for n in range(1, 7)]
    chat = FakeChat(responder=clean_for_every_panel)
    auditor = VLMAuditor(chat, panels_per_call=4)
    audits = auditor.audit(items)

    assert auditor.calls == 2 == len(chat.calls)
    assert [a.panel_id for a in audits] == [f"p{n}" for n in range(1, 7)]
    assert [c.purpose for c in chat.calls] == ["audit p1,p2,p3,p4", "audit p5,p6"]
    assert chat.calls[1].images == ["reference mia", "reference bolt", "panel p5 v1", "panel p6 v1"]
    assert all(a.score == 1.0 and a.character_scores == {"mia": 1.0, "bolt": 1.0} for a in audits)


def test_the_model_image_limit_counts_references(make_item: Any) -> None:
    items = [make_item(f"p{n}") for n in range(1, 4)]
    chat = FakeChat(responder=clean_for_every_panel, max_images_per_call=3)
    auditor = VLMAuditor(chat, panels_per_call=4)
    auditor.audit(items)
    assert auditor.calls == 3  # two references + one panel fill each call
    assert all(len(c.images) <= 3 for c in chat.calls)

    tight = FakeChat(responder=clean_for_every_panel, max_images_per_call=2)
    trimmed = VLMAuditor(tight)
    trimmed.audit(items[:1])
    assert tight.calls[0].images == ["reference mia", "panel p1 v1"]
    assert any("bolt" in note and "left out" in note for note in trimmed.notes)


def test_two_versions_of_one_panel_never_share_a_call(make_item: Any) -> None:
    chat = FakeChat(responder=clean_for_every_panel)
    audits = VLMAuditor(chat).audit([make_item("p1"), make_item("p1", version=2)])
    assert len(chat.calls) == 2
    assert [(a.panel_id, a.version) for a in audits] == [("p1", 1), ("p1", 2)]


# --- findings and scores -------------------------------------------------------------------------


def test_findings_are_mapped_with_their_details_and_scored(make_item: Any) -> None:
    hair = finding(
        "mia",
        "attribute",
        attribute="hair",
        severity="critical",
        expected="red",
        observed="blue",
        region=[0.1, 0.2, 0.4, 0.35],
        evidence="the girl on the left has short blue hair",
        suggestion="give Mia her red hair back",
    )
    eyes = finding("Bolt", "attribute", attribute="eyes", severity="minor", evidence="dim eyes")
    chat = FakeChat([{"panels": [{"panel_id": "p1", "findings": [hair, eyes]}]}])
    (audit,) = VLMAuditor(chat).audit([make_item("p1")])

    first, second = audit.findings
    assert first.id == "p1-v1-f1" and second.id == "p1-v1-f2"
    assert (first.character_id, first.kind, first.attribute) == ("mia", "attribute", "hair")
    assert (first.expected, first.observed, first.severity) == ("red", "blue", "critical")
    assert first.region == (0.1, 0.2, 0.4, 0.35)
    assert first.evidence == "the girl on the left has short blue hair"
    assert first.suggestion == "give Mia her red hair back"
    assert first.auditor == "vlm:fake:vision"
    # a name resolves to the id; what the model leaves out comes from the sheet
    assert second.character_id == "bolt" and second.expected == "cyan"
    assert second.region is None and second.suggestion == "restore Bolt's cyan eyes"
    assert audit.character_scores == {"mia": 0.0, "bolt": 0.75}
    assert audit.score == 0.375
    assert audit.auditor == "vlm:fake:vision"


def test_a_missing_character_scores_zero_and_gets_its_cast_box(make_item: Any) -> None:
    gone = finding("bolt", "missing", severity="major", evidence="no dog anywhere")
    chat = FakeChat([{"panels": [{"panel_id": "p1", "findings": [gone]}]}])
    (audit,) = VLMAuditor(chat).audit([make_item("p1")])
    (f,) = audit.findings
    assert f.kind == "missing" and f.severity == "critical" and f.observed == "absent"
    assert f.region == BOLT_BOX
    assert audit.character_scores == {"mia": 1.0, "bolt": 0.0}
    assert audit.score == 0.5


def test_extra_figures_cost_a_penalty_not_a_character_score(make_item: Any) -> None:
    twin = finding("mia", "extra", severity="critical", evidence="a second red-haired girl")
    stranger = finding("stranger", "extra", severity="minor", evidence="a man with an umbrella")
    chat = FakeChat([{"panels": [{"panel_id": "p1", "findings": [twin, stranger]}]}])
    auditor = VLMAuditor(chat)
    (audit,) = auditor.audit([make_item("p1")])

    assert [f.character_id for f in audit.findings] == ["mia", None]
    assert audit.character_scores == {"mia": 1.0, "bolt": 1.0}
    assert audit.score == round(1.0 - 0.5 * 1.0 - 0.5 * 0.25, 4)  # 0.375
    assert auditor.calls == 1  # an unknown extra figure is no problem worth a retry
    assert any("stranger" in note for note in auditor.notes)


def test_odd_regions_are_clamped_or_dropped_with_a_note(make_item: Any) -> None:
    near = finding("mia", "attribute", attribute="outfit", region=[-0.01, 0.3, 0.5, 1.01])
    pixels = finding("mia", "attribute", attribute="hair", region=[40, 50, 200, 120])
    chat = FakeChat([{"panels": [{"panel_id": "p1", "findings": [near, pixels]}]}])
    auditor = VLMAuditor(chat)
    (audit,) = auditor.audit([make_item("p1")])
    assert [f.region for f in audit.findings] == [(0.0, 0.3, 0.5, 1.0), None]
    assert any("not normalised" in note for note in auditor.notes)


def test_a_broken_image_seen_by_the_model_caps_the_panel(make_item: Any) -> None:
    melted = finding(None, "artifact", severity="critical", evidence="the figures are fused")
    chat = FakeChat([{"panels": [{"panel_id": "p1", "findings": [melted]}]}])
    (audit,) = VLMAuditor(chat).audit([make_item("p1")])
    assert audit.character_scores == {"mia": 1.0, "bolt": 1.0}
    assert audit.score == 0.0 and audit.findings[0].character_id is None


# --- answers that do not fit the call ------------------------------------------------------------


def test_loose_labels_and_names_are_resolved_without_a_retry(make_item: Any) -> None:
    answer = {
        "panels": [
            {"panel_id": "panel p1 v1", "findings": [finding("MIA", "identity")]},
            {"panel_id": "P2", "findings": []},
        ]
    }
    chat = FakeChat([answer])
    audits = VLMAuditor(chat).audit([make_item("p1"), make_item("p2")])
    assert len(chat.calls) == 1
    assert audits[0].findings[0].character_id == "mia"
    assert audits[0].character_scores["mia"] == 0.4 and audits[1].score == 1.0


def test_a_lone_panel_answered_under_another_name_is_that_panel(make_item: Any) -> None:
    chat = FakeChat([{"panels": [{"panel_id": "first panel", "findings": []}]}])
    auditor = VLMAuditor(chat)
    (audit,) = auditor.audit([make_item("p1")])
    assert auditor.calls == 1 and audit.score == 1.0
    assert any("'first panel'; taken as p1" in note for note in auditor.notes)


def test_unknown_ids_are_fed_back_once_then_dropped(make_item: Any) -> None:
    ghost = finding("ghost", "attribute", attribute="hair", evidence="a ghost")
    real = finding("mia", "attribute", attribute="outfit", severity="minor", evidence="orange coat")
    first = {
        "panels": [
            {"panel_id": "p1", "findings": [ghost]},
            {"panel_id": "p9", "findings": []},
        ]
    }
    retry = {"panels": [{"panel_id": "p1", "findings": [ghost, real]}]}
    alone = {"panels": [{"panel_id": "p2", "findings": []}]}
    chat = FakeChat([first, retry, alone])
    auditor = VLMAuditor(chat)
    audits = auditor.audit([make_item("p1"), make_item("p2")])

    assert auditor.calls == 3
    followup = chat.calls[1].messages
    assert followup[-2].role == "assistant" and json.loads(followup[-2].text) == first
    problems = followup[-1].text
    assert "'ghost'" in problems and "'p9'" in problems and "no verdict for panel p2" in problems
    assert chat.calls[1].purpose == "audit p1,p2 (retry)"
    # still unknown after the retry: dropped, with a note; p2 asked about alone
    assert [f.attribute for f in audits[0].findings] == ["outfit"]
    assert any("ghost" in note for note in auditor.notes)
    assert chat.calls[2].images == ["reference mia", "reference bolt", "panel p2 v1"]
    assert audits[1].score == 1.0 and audits[1].findings == []


def test_a_panel_left_out_is_asked_alone_then_reported_without_a_verdict(make_item: Any) -> None:
    chat = FakeChat(
        [
            {"panels": [{"panel_id": "p1", "findings": []}]},
            {"panels": []},
        ]
    )
    auditor = VLMAuditor(chat)
    clean, unknown = auditor.audit([make_item("p1"), make_item("p2")])

    assert auditor.calls == 2 and chat.calls[1].purpose == "audit p2"
    assert clean.score == 1.0
    (f,) = unknown.findings
    assert f.kind == "artifact" and f.severity == "major" and "no verdict" in f.evidence
    assert f.id == "p2-v1-f1" and f.character_id is None
    assert unknown.score == 0.4 and unknown.character_scores == {}


def test_an_unusable_answer_is_sent_back_with_its_problems(make_item: Any) -> None:
    chat = FakeChat(["this is not json", {"panels": [{"panel_id": "p1", "findings": []}]}])
    (audit,) = VLMAuditor(chat).audit([make_item("p1")])
    assert audit.score == 1.0
    followup = chat.calls[1].messages
    assert followup[-2].role == "assistant" and followup[-2].text == "this is not json"
    assert "could not be used" in followup[-1].text and "Invalid JSON" in followup[-1].text


def test_a_lone_panel_with_two_unusable_answers_gets_no_verdict(make_item: Any) -> None:
    chat = FakeChat(['{"panels": "none"}', "still not json"])
    auditor = VLMAuditor(chat)
    (audit,) = auditor.audit([make_item("p1")])
    assert auditor.calls == 2
    assert audit.findings[0].kind == "artifact" and "unusable answer" in audit.findings[0].evidence
    assert audit.score == 0.4


# --- refusals, provider failures, broken files ---------------------------------------------------


def test_a_refused_panel_is_a_minor_artifact_not_a_crash(make_item: Any) -> None:
    chat = FakeChat([RefusalError("I can't help with that")])
    (audit,) = VLMAuditor(chat).audit([make_item("p1")])
    (f,) = audit.findings
    assert f.kind == "artifact" and f.severity == "minor"
    assert "refused" in f.evidence and "I can't help with that" in f.evidence
    assert audit.score == 0.75 and len(chat.calls) == 1


def test_a_refused_shared_call_is_retried_panel_by_panel(make_item: Any) -> None:
    chat = FakeChat(
        [
            RefusalError("no"),
            {"panels": [{"panel_id": "p1", "findings": []}]},
            RefusalError("not this one"),
        ]
    )
    first, second = VLMAuditor(chat).audit([make_item("p1"), make_item("p2")])
    assert [c.purpose for c in chat.calls] == ["audit p1,p2", "audit p1", "audit p2"]
    assert first.score == 1.0
    assert second.findings[0].kind == "artifact" and "not this one" in second.findings[0].evidence


def test_a_provider_failure_propagates(make_item: Any) -> None:
    chat = FakeChat([ProviderError("HTTP 503 after 3 retries")])
    with pytest.raises(ProviderError, match="503"):
        VLMAuditor(chat).audit([make_item("p1")])


def test_an_unreadable_image_costs_no_call(make_item: Any, tmp_path: Path) -> None:
    broken = make_item("p1")
    broken.image_path.write_bytes(b"\x89PNG half written")
    chat = FakeChat(responder=clean_for_every_panel)
    bad, good = VLMAuditor(chat).audit([broken, make_item("p2")])
    assert bad.score == 0.0 and bad.findings[0].severity == "critical"
    assert "cannot be read" in bad.findings[0].evidence
    assert [c.images[-1] for c in chat.calls] == ["panel p2 v1"]
    assert good.score == 1.0
