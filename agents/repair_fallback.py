"""A repair the generator cannot draw becomes one it can.

Repairers choose among reprompt, reseed, inpaint and img2img without knowing which generator
will draw the result, and most generators draw all four. One that cannot (a model whose weights
have no inpainting path, say) declares it with ``unsupported_repairs`` (strategy -> why; see
``storyviz.protocols.unsupported_repairs``). Then the graph keeps the repairer's insistence and
findings but changes the strategy: a whole-panel reprompt on the same seed if that has not been
tried and is drawable, else a reseed, and the rationale says what was replaced and why, so the
audit report shows it. Nothing is asked of the generator that it would refuse mid-run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from storyviz.schemas import PanelVersion, RepairAction, RepairParameters, RepairStrategy
from storyviz.seeding import stable_seed


def drawable(
    action: RepairAction,
    unsupported: Mapping[str, str],
    history: Sequence[PanelVersion],
    generator: str,
) -> RepairAction:
    """``action`` itself when the generator can draw it, else its reprompt/reseed stand-in."""
    if action.strategy not in unsupported:
        return action
    tried = {v.repair.strategy for v in history if v.repair is not None}
    current = next((v for v in history if v.version == action.from_version), history[-1])
    latest = max(v.version for v in history)
    strategy: RepairStrategy = (
        "reprompt" if "reprompt" not in tried and "reprompt" not in unsupported else "reseed"
    )
    if strategy in unsupported:
        return action  # nothing drawable is left: the generator's own error will say why
    seed = (
        current.seed
        if strategy == "reprompt"
        else stable_seed("reseed", current.seed, action.panel_id, latest)
    )
    parameters = RepairParameters(
        seed=seed,
        emphasis=list(action.parameters.emphasis),
        attempt=action.parameters.attempt or len(tried) + 1,
    )
    why = unsupported[action.strategy]
    return action.model_copy(
        update={
            "strategy": strategy,
            "parameters": parameters,
            "rationale": f"{strategy} instead of {action.strategy} ({generator}: {why}); "
            + action.rationale,
        }
    )
