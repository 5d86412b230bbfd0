"""The rule-based repairer: findings in, one repair action per flagged panel out.

First try the fix that touches only what drifted: when the findings name characters with a
cast box in the panel, inpaint those boxes (same seed, the sheet's attributes insisted on, the
character's reference conditioning the redraw where the generator takes one) and keep the rest
of the panel pixel for pixel. Findings with no character get the cheapest whole-panel fix that
keeps the composition: the same seed with a prompt that insists on the sheet (reprompt). If a
first fix was tried already, or a character is missing altogether, draw the panel again from a
new seed with the same insistence (reseed).
"""

from __future__ import annotations

from collections.abc import Sequence

from storyviz.agents.render_requests import attribute_phrases
from storyviz.agents.repair_regions import cast_region
from storyviz.registry import BackendSpec
from storyviz.schemas import PanelAudit, PanelVersion, RepairAction, RepairParameters, StoryPlan
from storyviz.seeding import stable_seed


class RuleRepairer:
    def __init__(self, spec: BackendSpec) -> None:
        spec.check_options(set())
        self.spec = spec.redacted()

    def propose(
        self,
        plan: StoryPlan,
        audit: PanelAudit,
        history: Sequence[PanelVersion],
    ) -> RepairAction:
        current = next(v for v in history if v.version == audit.version)
        latest = max(v.version for v in history)
        tried = {v.repair.strategy for v in history if v.repair is not None}
        findings = audit.findings
        characters = sorted({f.character_id for f in findings if f.character_id})

        emphasis: list[str] = []
        for cid in characters:
            try:
                sheet = plan.character(cid)
            except KeyError:
                continue
            drifted = [f.attribute for f in findings if f.character_id == cid and f.attribute]
            # the drifted parts first, then the rest of the sheet: the whole look is at stake
            emphasis += attribute_phrases(sheet, drifted)
            emphasis += [p for p in attribute_phrases(sheet) if p not in emphasis]
        if not emphasis:
            emphasis = [f"{c.name} as described" for c in plan.characters if c.id in characters]

        missing = any(f.kind == "missing" for f in findings)
        if missing or tried & {"reprompt", "inpaint"}:
            attempt = len(tried) + 1
            seed = stable_seed("reseed", current.seed, audit.panel_id, latest)
            why = "a character is missing" if missing else "a first repair did not hold the sheet"
            return RepairAction(
                panel_id=audit.panel_id,
                strategy="reseed",
                parameters=RepairParameters(seed=seed, emphasis=emphasis, attempt=attempt),
                finding_ids=[f.id for f in findings],
                rationale=f"{why}: redraw from a new seed, insisting on {', '.join(emphasis[:4])}",
                from_version=audit.version,
                to_version=latest + 1,
            )
        region = cast_region(plan, audit.panel_id, characters)
        if region is not None:
            return RepairAction(
                panel_id=audit.panel_id,
                strategy="inpaint",
                parameters=RepairParameters(
                    seed=current.seed, emphasis=emphasis, attempt=len(tried) + 1, region=region
                ),
                finding_ids=[f.id for f in findings],
                rationale=(
                    f"redraw only the drifted region {list(region)} and restate the sheet: "
                    + ", ".join(emphasis[:4])
                ),
                from_version=audit.version,
                to_version=latest + 1,
            )
        return RepairAction(
            panel_id=audit.panel_id,
            strategy="reprompt",
            parameters=RepairParameters(
                seed=current.seed, emphasis=emphasis, attempt=len(tried) + 1
            ),
            finding_ids=[f.id for f in findings],
            rationale=(
                "keep the composition (same seed) and restate the sheet: " + ", ".join(emphasis[:4])
            ),
            from_version=audit.version,
            to_version=latest + 1,
        )
