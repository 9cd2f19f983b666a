"""Selection statistics: event counts and sums of generator weights before and after a selection.

Selectors receive a ``stats`` dict (a ``defaultdict(float)``) from the task and add to it per
chunk; the task stores it per file and merges it per dataset::

    increment_stats(events, result, stats, is_mc=self.is_mc)
"""

from __future__ import annotations

from collections.abc import MutableMapping

import awkward as ak
import numpy as np

from columnar.array_function import SelectionResult

__all__ = ["increment_stats", "merge_stats"]


def increment_stats(
    events: ak.Array,
    result: SelectionResult,
    stats: MutableMapping[str, float],
    is_mc: bool | None = True,
    weight_column: str = "genWeight",
) -> MutableMapping[str, float]:
    """Add event counts (and for MC sums of *weight_column*) before and after the selection
    and after each step (``num_events_step_<name>``)."""
    mask = np.asarray(result.event_mask(len(events)), dtype=bool)
    stats["num_events"] = stats.get("num_events", 0) + len(events)
    stats["num_events_selected"] = stats.get("num_events_selected", 0) + int(mask.sum())
    weights = None
    if is_mc:
        weights = np.asarray(events[weight_column], dtype=np.float64)
        stats["sum_mc_weight"] = stats.get("sum_mc_weight", 0.0) + float(weights.sum())
        stats["sum_mc_weight_selected"] = (stats.get("sum_mc_weight_selected", 0.0)
                                           + float(weights[mask].sum()))
    for name, step in result.steps.items():
        step = np.asarray(step, dtype=bool)
        key = f"num_events_step_{name}"
        stats[key] = stats.get(key, 0) + int(step.sum())
        if weights is not None:
            key = f"sum_mc_weight_step_{name}"
            stats[key] = stats.get(key, 0.0) + float(weights[step].sum())
    return stats


def merge_stats(*stats: MutableMapping[str, float]) -> dict[str, float]:
    """Sum several stats dicts key by key."""
    out: dict[str, float] = {}
    for s in stats:
        for key, value in s.items():
            out[key] = out.get(key, 0) + value
    return out
