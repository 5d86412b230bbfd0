"""The Consistency Index, defined once.

    CI = (1 / N) * sum over the N panels of score(current version of the panel)

A panel's score is in 0..1 and comes from the auditor. Every auditor uses one convention (see
docs/consistency.md): the mean over expected characters of 1 - the worst severity weight of that
character's findings, a missing character scoring 0; the measuring auditors (clip:, dino:) turn
an identity similarity below their threshold into such a finding, and a chain ``A+B`` takes the
score of the last stage that saw the panel (docs/evaluation.md). CI is therefore in 0..1, and
1 means no auditor found any drift in any current panel. A panel is flagged for repair when its
score is below the run's threshold; the loop stops when none is flagged, when the round limit is
reached, or when every flagged panel has used its attempts.
"""

from __future__ import annotations

from collections.abc import Mapping


def consistency_index(panel_scores: Mapping[str, float]) -> float:
    """Mean panel score; an empty story (no panels) is trivially consistent."""
    if not panel_scores:
        return 1.0
    return round(sum(panel_scores.values()) / len(panel_scores), 4)


def flagged_panels(panel_scores: Mapping[str, float], threshold: float) -> list[str]:
    """Panels whose score is below the threshold, in plan order (the mapping's order)."""
    return [pid for pid, score in panel_scores.items() if score < threshold]
