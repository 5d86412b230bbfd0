"""Answers a planning model gives, as the fake servers send them (the planner's answer schema)."""

from __future__ import annotations

from typing import Any

BOXES = [(0.1, 0.35, 0.45, 0.95), (0.55, 0.6, 0.9, 0.95)]
"""Where the first and second cast member of a panel stand."""


def panel_answer(
    beat: str,
    cast: list[str],
    line: dict[str, str] | None = None,
    *,
    panel_id: str | None = None,
) -> dict[str, Any]:
    """One panel on an evening street in the rain; `panel_id` as an edit answer gives it back."""
    panel: dict[str, Any] = {
        "beat": beat,
        "scene": beat,
        "setting": "street",
        "time_of_day": "evening",
        "weather": "rain",
        "shot": "medium",
        "cast": [
            {
                "character": name,
                "box": dict(zip(("x0", "y0", "x1", "y1"), BOXES[i], strict=True)),
                "action": "",
                "expression": "",
            }
            for i, name in enumerate(cast)
        ],
        "caption": beat,
        "dialogue": [line] if line else [],
    }
    if panel_id is not None:
        panel["id"] = panel_id
    return panel
