"""Column I/O: reading NanoAOD ROOT files into nested awkward records.

Only the branches behind the requested routes (and their counters) are read::

    events = read_nano("nano_0.root", ["Jet.{pt,eta}", "MET.pt", "genWeight"])
    events.Jet.pt  # var * float32
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import awkward as ak
import uproot

from columnar.columns import Route, resolve_columns

__all__ = ["nano_routes", "read_nano", "nano_to_records", "read_runs_stats"]


def nano_routes(tree: Any) -> list[Route]:
    """Routes of all data branches of a NanoAOD tree (counters like ``nJet`` are left out)."""
    keys = list(tree.keys())
    counters = {k for k in keys if k.startswith("n") and any(
        b.startswith(k[1:] + "_") for b in keys)}
    return [Route.from_nano(k) for k in keys if k not in counters]


def nano_to_records(arrays: dict[str, ak.Array]) -> ak.Array:
    """Group flat NanoAOD branch arrays (``Jet_pt``, ``MET_pt``, ``run``) into records."""
    groups: dict[str, dict[str, ak.Array]] = {}
    top: dict[str, ak.Array] = {}
    for name, arr in arrays.items():
        route = Route.from_nano(name)
        if len(route) == 1:
            top[name] = arr
        else:
            groups.setdefault(route.fields[0], {})[route.fields[1]] = arr
    fields: dict[str, ak.Array] = dict(top)
    for collection, columns in groups.items():
        fields[collection] = ak.zip(columns, depth_limit=None if _jagged(columns) else 1)
    if not fields:
        return ak.Array([])
    return ak.zip(fields, depth_limit=1)


def _jagged(columns: dict[str, ak.Array]) -> bool:
    return all(arr.ndim > 1 for arr in columns.values())


def read_nano(
    path: str,
    columns: Iterable[str],
    tree: str = "Events",
    entry_start: int | None = None,
    entry_stop: int | None = None,
) -> ak.Array:
    """Read the columns (specs with braces and wildcards) of a NanoAOD file as records."""
    with uproot.open(path) as f:
        t = f[tree]
        routes = resolve_columns(columns, nano_routes(t))
        arrays = t.arrays([r.nano_column for r in routes], entry_start=entry_start,
                          entry_stop=entry_stop, how=dict)
    return nano_to_records(arrays)


def read_runs_stats(paths: Iterable[str]) -> dict[str, float]:
    """Generator bookkeeping of NanoAOD files from their ``Runs`` trees (MC only).

    Returns ``{"num_gen_events": ..., "sum_gen_weight": ..., "sum_gen_weight2": ...}``, the
    numbers before any skim, summed over files; an empty dict when the files have none.
    """
    totals = {"num_gen_events": 0.0, "sum_gen_weight": 0.0, "sum_gen_weight2": 0.0}
    names = {"genEventCount": "num_gen_events", "genEventSumw": "sum_gen_weight",
             "genEventSumw2": "sum_gen_weight2"}
    found = False
    for path in paths:
        with uproot.open(path) as f:
            if "Runs" not in f:
                continue
            runs = f["Runs"]
            for branch, key in names.items():
                if branch in runs.keys():
                    totals[key] += float(ak.sum(runs[branch].array(library="np")))
                    found = True
    return totals if found else {}
