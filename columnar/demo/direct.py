"""Run the demo analysis' TAFs directly on files, without tasks or intermediate files.

This is the shortest way to see the demo at work (``python -m columnar.demo``) and what the
tests use to check the TAFs; the law tasks run the same TAFs chunk by chunk with a store.

    >>> events, stats = run_dataset(config, "tt")
    >>> yields(config, {"tt": events})
"""

from __future__ import annotations

from collections.abc import Mapping

import awkward as ak
import numpy as np
import order as od

from columnar.columns import apply_aliases, overlay
from columnar.config import get_keep_columns, get_shift_aliases
from columnar.demo.calibration import jec
from columnar.demo.config import campaign_files
from columnar.demo.production import features, weights
from columnar.demo.selection import default as default_selector
from columnar.io import read_nano, read_runs_stats
from columnar.reducers.default import default as default_reducer
from columnar.selectors.stats import increment_stats, merge_stats

__all__ = ["run_dataset", "event_weight", "yields"]


def run_dataset(
    config: od.Config,
    dataset: str,
    shift: str = "nominal",
    files: list[str] | None = None,
) -> tuple[ak.Array, dict[str, float]]:
    """Calibrate, select, reduce and produce all events of *dataset* under *shift*.

    Returns the reduced events with all produced columns and the selection stats.
    """
    dataset_inst = config.get_dataset(dataset)
    shift_inst = config.get_shift("nominal" if dataset_inst.is_data else shift)
    ctx = {"config_inst": config, "dataset_inst": dataset_inst}
    calibrator, selector, reducer = jec(**ctx), default_selector(**ctx), default_reducer(**ctx)
    producers = [features(**ctx), weights(**ctx)]
    files = files if files is not None else campaign_files(config, dataset_inst)

    columns = {str(r) for r in calibrator.used_columns | selector.used_columns}
    if dataset_inst.is_mc:
        columns.add("genWeight")
    columns |= get_keep_columns(config, "cf.ReduceEvents")
    aliases = get_shift_aliases(shift_inst)
    stats: dict[str, float] = {}
    reduced = []
    for path in files:
        events = read_nano(path, columns)
        events = overlay(events, calibrator(events))
        if aliases:
            events = apply_aliases(events, aliases)
        events, result = selector(events)
        increment_stats(events, result, stats, is_mc=dataset_inst.is_mc)
        reduced.append(reducer(events, selection=result.to_ak(len(events))))
    events = ak.concatenate(reduced) if reduced else ak.Array([])

    if dataset_inst.is_mc:
        stats = merge_stats(stats, read_runs_stats(files))
    for producer in producers:
        producer.run_setup(None, {"selection_stats": stats})
        events = producer(events)
    return events, stats


def event_weight(events: ak.Array, is_mc: bool) -> np.ndarray:
    """The event weight of the demo's histograms: normalization * b-tag * muon (1 for data)."""
    if not is_mc:
        return np.ones(len(events))
    return np.asarray(events.normalization_weight * events.btag_weight * events.muon_weight,
                      dtype=np.float64)


def yields(config: od.Config, events: Mapping[str, ak.Array]) -> dict[str, dict[str, float]]:
    """Weighted yields ``{dataset: {category: yield}}`` of reduced, produced events."""
    out: dict[str, dict[str, float]] = {}
    for name, evs in events.items():
        weight = event_weight(evs, config.get_dataset(name).is_mc)
        out[name] = {}
        for cat in config.categories:
            in_cat = np.asarray(ak.any(evs.category_ids == cat.id, axis=1), dtype=bool)
            out[name][cat.name] = float(weight[in_cat].sum())
    return out
