"""Turning a model's verdict on one panel into Findings, and the findings for no verdict at all.

The model's words are kept as evidence; what it leaves out is filled from the sheet where the
sheet knows better (the expected value, the cast box of a missing character), so the repairer
always has something to restore. A finding that names no character of the cast is dropped here
(the reading already reported it as a problem), and a box that is not a normalised box is
dropped with a note rather than stretched into one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from storyviz.evaluators.panel_audits import unreadable_finding as panel_unreadable
from storyviz.evaluators.vlm.reading import NEEDS_CHARACTER, character_resolver, resolve_character
from storyviz.evaluators.vlm.schema import ObservedFinding, PanelVerdict
from storyviz.geometry import Box, as_box, clamp, rounded
from storyviz.protocols import AuditItem
from storyviz.schemas import CharacterSheet, Finding, Severity

BOX_TOLERANCE = 0.02
"""Coordinates this far outside 0..1 are rounding and get clamped; further out, the box is not
normalised (pixels, per-mille) and is dropped."""


@dataclass
class Mapped:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def verdict_findings(
    item: AuditItem, verdict: PanelVerdict, ids: Iterator[str], auditor: str
) -> Mapped:
    """One Finding per usable observed finding, in the model's order."""
    resolver = character_resolver(item)
    sheets = {sheet.id: sheet for sheet in item.characters}
    boxes: dict[str, Box] = {}
    for member in item.panel.cast:
        boxes.setdefault(member.character_id, member.box)
    mapped = Mapped()
    pid = item.panel.id
    for seen in verdict.findings:
        cid = resolve_character(resolver, seen.character_id)
        if cid is None and seen.character_id is not None:
            if seen.kind != "extra":
                mapped.notes.append(
                    f"panel {pid}: dropped a {seen.kind} finding about unknown character "
                    f"{seen.character_id!r}"
                )
                continue
            mapped.notes.append(
                f"panel {pid}: extra figure {seen.character_id!r} is not in the cast; "
                "kept without a character"
            )
        if cid is None and seen.kind in NEEDS_CHARACTER:
            mapped.notes.append(f"panel {pid}: dropped a {seen.kind} finding naming no character")
            continue
        region, note = _region(seen.region)
        if note:
            mapped.notes.append(f"panel {pid}: {note}")
        sheet = sheets.get(cid) if cid else None
        if seen.kind == "missing" and region is None and cid in boxes:
            region = boxes[cid]
        mapped.findings.append(_finding(next(ids), pid, seen, cid, sheet, region, auditor))
    return mapped


def _finding(
    finding_id: str,
    panel_id: str,
    seen: ObservedFinding,
    cid: str | None,
    sheet: CharacterSheet | None,
    region: Box | None,
    auditor: str,
) -> Finding:
    expected = seen.expected or _sheet_value(sheet, seen.attribute)
    # A character who is not there scores 0 whatever severity the model chose.
    severity: Severity = "critical" if seen.kind == "missing" else seen.severity
    return Finding(
        id=finding_id,
        panel_id=panel_id,
        character_id=cid,
        kind=seen.kind,
        attribute=seen.attribute,
        expected=expected,
        observed=seen.observed or ("absent" if seen.kind == "missing" else None),
        severity=severity,
        region=region,
        evidence=seen.evidence.strip() or "(the auditor gave no evidence)",
        suggestion=seen.suggestion or _suggestion(seen, sheet, expected),
        auditor=auditor,
    )


def _sheet_value(sheet: CharacterSheet | None, attribute: str | None) -> str | None:
    """What the sheet says about an attribute: its colour word, else its description of it."""
    if sheet is None or attribute is None:
        return None
    a = sheet.attributes
    colour = a.colors.get(attribute)
    described = {
        "hair": a.hair,
        "eyes": a.eyes,
        "skin": a.skin,
        "outfit": a.outfit,
        "species": a.species,
        "age": a.age,
        "accessory": ", ".join(a.accessories) or None,
        "colors": ", ".join(f"{p} {c}" for p, c in a.colors.items()) or None,
    }.get(attribute)
    if colour and described and colour.lower() not in described.lower():
        return f"{colour} {described}"
    return described or colour


def _suggestion(seen: ObservedFinding, sheet: CharacterSheet | None, expected: str | None) -> str:
    name = sheet.name if sheet else "the character"
    if seen.kind == "missing":
        return f"draw {name} in the cast box"
    if seen.kind == "extra":
        return "remove the extra figure"
    if seen.kind == "identity":
        return f"draw {name} as the sheet describes"
    if seen.kind == "attribute" and expected:
        part = seen.attribute or ""
        return f"restore {name}'s {expected if part in expected else f'{expected} {part}'}"
    return "render the panel again"


def _region(raw: list[float] | None) -> tuple[Box | None, str | None]:
    """A normalised box, or None with the reason it was not one."""
    if raw is None:
        return None, None
    if len(raw) != 4:
        return None, f"dropped a region with {len(raw)} numbers"
    lo, hi = -BOX_TOLERANCE, 1.0 + BOX_TOLERANCE
    if not all(lo <= v <= hi for v in raw):
        return None, f"dropped region {raw}: not normalised to 0..1"
    box = rounded(clamp(as_box(raw)))
    if box[2] - box[0] < 0.01 or box[3] - box[1] < 0.01:
        return None, f"dropped region {raw}: empty or inverted"
    return box, None


def no_verdict_finding(finding_id: str, item: AuditItem, reason: str, auditor: str) -> Finding:
    """The auditor could not judge the panel: said so, so it is never taken as a clean 1.0."""
    return Finding(
        id=finding_id,
        panel_id=item.panel.id,
        kind="artifact",
        severity="major",
        evidence=f"the auditor gave no verdict on this panel: {reason}",
        suggestion="render the panel again so it can be audited",
        auditor=auditor,
    )


def refusal_finding(finding_id: str, item: AuditItem, reason: str, auditor: str) -> Finding:
    return Finding(
        id=finding_id,
        panel_id=item.panel.id,
        kind="artifact",
        severity="minor",
        evidence=f"the model refused to audit this panel: {reason}",
        suggestion="render the panel again; if the refusal repeats, check its content",
        auditor=auditor,
    )


def unreadable_finding(finding_id: str, item: AuditItem, reason: str, auditor: str) -> Finding:
    """The shared unreadable-panel finding, in the shape the VLM auditor's finding makers take."""
    return panel_unreadable(finding_id, item.panel.id, reason, auditor)
