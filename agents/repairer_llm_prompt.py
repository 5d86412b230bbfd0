"""The messages asking a language model for one repair: the panel, the sheets, the findings and
what earlier versions tried and scored.

Wording lives in ``prompts/repair_system.txt`` and ``prompts/repair_action.j2``; this module only
shapes the data. The history matters most: it is how the model avoids repeating a strategy
that already failed on the panel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storyviz.prompts import load
from storyviz.providers.base import ChatMessage
from storyviz.schemas import PanelAudit, PanelVersion, StoryPlan

SYSTEM_PROMPT = "repair_system.txt"
ACTION_PROMPT = "repair_action.j2"
PROMPT_CHARS = 400
"""Earlier prompts are cut to this length: the model needs their gist, not every word."""


def history_rows(history: Sequence[PanelVersion], current: int) -> list[dict[str, Any]]:
    rows = []
    for v in sorted(history, key=lambda v: v.version):
        kinds = [f.attribute or f.kind for f in v.findings]
        prompt = v.prompt if len(v.prompt) <= PROMPT_CHARS else v.prompt[:PROMPT_CHARS] + "..."
        rows.append(
            {
                "version": v.version,
                "current": v.version == current,
                "strategy": v.repair.strategy if v.repair else "first render",
                "seed": v.seed,
                "score": "not audited" if v.score is None else f"{v.score:.2f}",
                "findings": (
                    f"{len(kinds)} findings ({', '.join(kinds)})" if kinds else "no findings"
                ),
                "emphasis": list(v.parameters.get("emphasis") or []),
                "prompt": prompt,
            }
        )
    return rows


def repair_messages(
    plan: StoryPlan, audit: PanelAudit, history: Sequence[PanelVersion]
) -> list[ChatMessage]:
    return [
        ChatMessage(role="system", text=load(SYSTEM_PROMPT).text.strip()),
        ChatMessage(role="user", text=render(ACTION_PROMPT, **_values(plan, audit, history))),
    ]


def problems_message(audit: PanelAudit, problems: Sequence[str]) -> ChatMessage:
    values = {**_empty(), "finding_ids": [f.id for f in audit.findings], "problems": problems}
    return ChatMessage(role="user", text=render(ACTION_PROMPT, **values))


def _values(plan: StoryPlan, audit: PanelAudit, history: Sequence[PanelVersion]) -> dict[str, Any]:
    panel = plan.panel(audit.panel_id)
    sheets = {c.id: c for c in plan.characters}
    cast = [
        {"sheet": sheets[m.character_id], "member": m}
        for m in panel.cast
        if m.character_id in sheets
    ]
    tried = [v.repair.strategy for v in sorted(history, key=lambda v: v.version) if v.repair]
    return {
        "panel": panel,
        "cast": cast,
        "findings": audit.findings,
        "version": audit.version,
        "history": history_rows(history, audit.version),
        "strategies_tried": list(dict.fromkeys(tried)),
        "finding_ids": [f.id for f in audit.findings],
        "problems": [],
    }


def _empty() -> dict[str, Any]:
    return {
        "panel": None,
        "cast": [],
        "findings": [],
        "version": 0,
        "history": [],
        "strategies_tried": [],
    }


def render(name: str, **values: Any) -> str:
    return load(name).render_lines(**values)
