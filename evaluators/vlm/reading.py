"""Reading a model's answer against the call it answers: which panel is which, who is who.

Models echo labels loosely ("panel p03 v1", "P03") and name characters by name ("Mia") as often
as by id, so both are resolved leniently; what still names nothing of the call is a *problem*.
Problems are fed back to the model once; whatever remains is dropped with a note, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from storyviz.evaluators.vlm.batches import Batch
from storyviz.evaluators.vlm.prompt import panel_label
from storyviz.evaluators.vlm.schema import AuditAnswer, PanelVerdict
from storyviz.protocols import AuditItem

NEEDS_CHARACTER = frozenset({"attribute", "identity", "missing"})
"""Finding kinds that mean nothing without a character of the panel's cast."""


def _key(text: str) -> str:
    return " ".join(text.strip().strip("\"'").lower().split())


def cast_ids(item: AuditItem) -> list[str]:
    """The expected characters that have a sheet, once each, in cast order."""
    sheets = {sheet.id for sheet in item.characters}
    return list(dict.fromkeys(m.character_id for m in item.panel.cast if m.character_id in sheets))


def character_resolver(item: AuditItem) -> dict[str, str]:
    """Lower-cased id or name -> sheet id, for the panel's expected cast."""
    expected = set(cast_ids(item))
    lookup: dict[str, str] = {}
    for sheet in item.characters:
        if sheet.id in expected:
            lookup.setdefault(_key(sheet.name), sheet.id)
    for sheet in item.characters:
        if sheet.id in expected:
            lookup[_key(sheet.id)] = sheet.id  # an id wins over a name that spells the same
    return lookup


def resolve_character(resolver: dict[str, str], raw: str | None) -> str | None:
    return None if raw is None else resolver.get(_key(raw))


@dataclass
class Reading:
    """An answer sorted by the call's panels, with what it got wrong."""

    verdicts: dict[str, PanelVerdict] = field(default_factory=dict)
    panel_problems: list[str] = field(default_factory=list)
    character_problems: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Everything worth feeding back to the model: unknown panel ids, then characters."""
        return self.panel_problems + self.character_problems


def read_answer(answer: AuditAnswer, batch: Batch) -> Reading:
    """Verdicts keyed by the call's panel ids; unknown panel or character ids become problems."""
    items = {item.panel.id: item for item in batch.items}
    aliases: dict[str, str] = {}
    for item in batch.items:
        own, version = item.panel.id, item.version
        for alias in (own, f"panel {own}", panel_label(own, version), f"{own} v{version}"):
            aliases[_key(alias)] = own
    reading = Reading()
    unmatched: list[PanelVerdict] = []
    for verdict in answer.panels:
        if (pid := aliases.get(_key(verdict.panel_id))) is None:
            unmatched.append(verdict)
            continue
        if pid in reading.verdicts:  # two entries for one panel: keep all their findings
            earlier = reading.verdicts[pid]
            verdict = earlier.model_copy(
                update={"findings": [*earlier.findings, *verdict.findings]}
            )
        reading.verdicts[pid] = verdict
    if len(items) == 1 and not reading.verdicts and len(unmatched) == 1:
        # One panel asked about, one verdict given: it can only be about that panel.
        (only,) = items
        reading.notes.append(
            f"the answer called panel {only} {unmatched[0].panel_id!r}; taken as {only}"
        )
        reading.verdicts[only] = unmatched.pop().model_copy(update={"panel_id": only})
    known = ", ".join(items)
    reading.panel_problems = [
        f"panel id {v.panel_id!r} is not one of the panels shown ({known})" for v in unmatched
    ]
    for pid, verdict in reading.verdicts.items():
        reading.character_problems += _character_problems(items[pid], verdict)
    reading.missing = [pid for pid in items if pid not in reading.verdicts]
    return reading


def _character_problems(item: AuditItem, verdict: PanelVerdict) -> list[str]:
    resolver = character_resolver(item)
    expected = ", ".join(cast_ids(item)) or "nobody"
    problems = []
    for finding in verdict.findings:
        if finding.kind == "extra" or resolve_character(resolver, finding.character_id):
            continue
        if finding.character_id is None:
            if finding.kind in NEEDS_CHARACTER:
                problems.append(
                    f"panel {item.panel.id}: a {finding.kind!r} finding must give the "
                    f"character_id (one of: {expected})"
                )
            continue
        problems.append(
            f"panel {item.panel.id}: character id {finding.character_id!r} is not in this "
            f"panel's cast (expected: {expected})"
        )
    return problems
