"""Where a repair should redraw: the region the addressed findings point at.

Both repairers inpaint "only what drifted", so both need the same answer to where that is: the
regions the auditor gave, and a character's cast box where a finding names the character but no
region (the colour auditor measures inside the box; a VLM may say only "Mia's hair is blue").
"""

from __future__ import annotations

from collections.abc import Sequence

from storyviz.geometry import Box, rounded, union
from storyviz.schemas import PanelAudit, StoryPlan


def finding_region(plan: StoryPlan, audit: PanelAudit, finding_ids: Sequence[str]) -> Box | None:
    """The union of the addressed findings' regions, a cast box standing in where one is absent."""
    boxes: dict[str, Box] = {}
    for member in plan.panel(audit.panel_id).cast:
        boxes.setdefault(member.character_id, member.box)
    wanted = set(finding_ids)
    regions = []
    for finding in audit.findings:
        if finding.id not in wanted:
            continue
        cast_box = boxes.get(finding.character_id or "")
        if finding.region is not None:
            regions.append(finding.region)
        elif cast_box is not None:
            regions.append(cast_box)
    return rounded(union(regions)) if regions else None


def cast_region(plan: StoryPlan, panel_id: str, character_ids: Sequence[str]) -> Box | None:
    """The union of these characters' cast boxes: the whole figure, not the patch that drifted.

    An inpainting model needs the figure's context to redraw a part that fits it (a 10-pixel hair
    patch comes back as a smear), and the mask's feathered edge needs room inside the region."""
    wanted = set(character_ids)
    boxes = [m.box for m in plan.panel(panel_id).cast if m.character_id in wanted]
    return rounded(union(boxes)) if boxes else None
