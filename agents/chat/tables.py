"""A plan as table data a person reads: characters with their looks, panels in reading order.

Plain lists of strings, no terminal codes, so the terminal (rich) and a web page can each draw
the same rows. Panels are numbered as the user refers to them ("panel 3" is row 3).
"""

from __future__ import annotations

from typing import Any

from storyviz.schemas import StoryPlan


def plan_table(plan: StoryPlan, marked: list[str] | None = None) -> dict[str, Any]:
    """`marked` panel ids (changed or added by the last edit) are flagged in their row."""
    names = {c.id: c.name for c in plan.characters}
    marks = set(marked or [])
    return {
        "title": plan.title,
        "style": plan.style,
        "pages": len(plan.pages),
        "characters": [
            {
                "name": c.name,
                "looks": c.description,
                "colours": ", ".join(
                    f"{part} {colour}" for part, colour in c.attributes.colors.items()
                ),
            }
            for c in plan.characters
        ],
        "panels": [
            {
                "n": str(n),
                "id": p.id,
                "shot": p.shot,
                "scene": p.scene or p.setting,
                "cast": ", ".join(names[m.character_id] for m in p.cast) or "-",
                "caption": p.caption or "",
                "dialogue": " / ".join(
                    f"{names.get(line.speaker_id or '', 'narrator')}: {line.text}"
                    for line in p.dialogue
                ),
                "marked": p.id in marks,
            }
            for n, p in enumerate(plan.panels, start=1)
        ],
    }


def plan_text(table: dict[str, Any]) -> str:
    """The same table as plain text lines, for logs and terminals without rich."""
    lines = [f"{table['title']} ({table['style']}, {table['pages']} page(s))"]
    lines += [f"  {c['name']}: {c['looks']}" for c in table["characters"]]
    for p in table["panels"]:
        words = [p["caption"], p["dialogue"]]
        said = " | ".join(w for w in words if w)
        mark = "*" if p["marked"] else " "
        lines.append(f"{mark}{p['n']:>2} {p['id']} {p['shot']:<17} {p['cast']:<14} {said}")
    return "\n".join(lines)
