"""Pages after a plan edit: every page the edit did not touch keeps its panels and its template.

A panel's render size follows its page slot, so re-paginating the whole comic after adding one
panel would change every slot and redraw every panel. Instead each kept panel stays on its page,
an added panel joins the page of the panel it follows (or precedes, at the very start), and a
page left empty disappears; only the pages that gained or lost panels get a new template. A page
that would grow beyond what a template holds is split in two.
"""

from __future__ import annotations

from collections.abc import Sequence

from storyviz.layouts import MAX_PANELS_PER_PAGE, pages_for, paginate
from storyviz.schemas import PageSpec, PanelSpec, StoryPlan


def repage(old: StoryPlan, panels: Sequence[PanelSpec], per_page: int) -> list[PageSpec]:
    """Pages for `panels` (the edited plan's, in reading order), as close to `old`'s as fits."""
    page_of = {pid: n for n, page in enumerate(old.pages) for pid in page.panel_ids}
    assigned: list[int] = []
    for k, panel in enumerate(panels):
        if panel.id in page_of:
            assigned.append(page_of[panel.id])
        elif assigned:
            assigned.append(assigned[-1])
        else:
            following = next((page_of[p.id] for p in panels[k:] if p.id in page_of), 0)
            assigned.append(following)
    counts = [assigned.count(n) for n in range(len(old.pages))]
    if panels and not any(counts):  # the old plan had no pages: lay out afresh
        counts = [len(panels)]
    sizes: list[int] = []
    for count in counts:
        if count > MAX_PANELS_PER_PAGE:
            sizes.extend(paginate(count, per_page))
        elif count:
            sizes.append(count)
    return pages_for(panels, sizes)
