"""Histograms: creation from order variables, filling per category, merging.

Every histogram has the axes ``category`` (category ids), ``process`` (process ids), ``shift``
(shift names) and one axis per variable, with under- and overflow, and weighted storage::

    h = create_hist([config.get_variable("ht")])
    fill_hist(h, events, [ht], weight, category_ids=events.category_ids, process_id=10,
              shift="nominal")
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import awkward as ak
import numpy as np
import order as od

from columnar.columns import Route
from columnar.config import variable_values

if TYPE_CHECKING:  # hist is imported where histograms are made (not by ``law run`` start-up)
    import hist

__all__ = ["variable_axis", "create_hist", "fill_hist", "merge_hists", "variable_columns",
           "split_variable_name"]


def split_variable_name(name: str) -> list[str]:
    """Names of the variables of a (possibly multi-dimensional) variable: ``"ht-m_bjj"``."""
    return name.split("-")


def variable_axis(variable: od.Variable) -> hist.axis.AxesMixin:
    """The histogram axis of a variable, with under- and overflow."""
    import hist

    label = variable.get_full_x_title()
    if variable.even_binning:
        n, lo, hi = variable.binning
        return hist.axis.Regular(n, lo, hi, name=variable.name, label=label, underflow=True,
                                 overflow=True)
    return hist.axis.Variable(variable.bin_edges, name=variable.name, label=label,
                              underflow=True, overflow=True)


def create_hist(variables: Sequence[od.Variable]) -> hist.Hist:
    """An empty histogram with category, process and shift axes and the variables' axes."""
    import hist

    return hist.Hist(
        hist.axis.IntCategory([], growth=True, name="category", label="Category"),
        hist.axis.IntCategory([], growth=True, name="process", label="Process"),
        hist.axis.StrCategory([], growth=True, name="shift", label="Shift"),
        *(variable_axis(v) for v in variables),
        storage=hist.storage.Weight(),
    )


def variable_columns(variable: od.Variable) -> set[str]:
    """Columns a variable reads: its route expression, or ``variable.x.inputs`` for callables."""
    if callable(variable.expression):
        inputs = variable.x("inputs", None)
        if not inputs:
            raise ValueError(f"variable '{variable.name}' has a callable expression; list the "
                             "columns it reads in variable.x.inputs")
        return set(inputs)
    return {Route(variable.expression).without_index().column}


def fill_hist(
    h: hist.Hist,
    events: ak.Array,
    variables: Sequence[od.Variable],
    weight: np.ndarray,
    category_ids: ak.Array,
    process_id: int,
    shift: str,
    categories: Iterable[int] | None = None,
) -> None:
    """Fill *events* into *h*, once per category the event is in (``category_ids``, jagged).

    Jagged variable values (e.g. all jets' pt) fill one entry per object with the event weight.
    """
    values = [variable_values(v, events) for v in variables]
    weight = ak.Array(np.asarray(weight, dtype=np.float64))
    if categories is None:
        categories = sorted(set(ak.flatten(category_ids, axis=None).to_list()))
    for cat_id in categories:
        in_cat = np.asarray(ak.any(category_ids == cat_id, axis=1), dtype=bool)
        if not in_cat.any():
            continue
        cat_values = [v[in_cat] for v in values]
        cat_weight = weight[in_cat]
        if any(v.ndim > 1 for v in cat_values):
            cat_values = [ak.flatten(x) for x in ak.broadcast_arrays(*cat_values, cat_weight)]
            cat_weight, cat_values = cat_values[-1], cat_values[:-1]
        h.fill(
            category=cat_id, process=process_id, shift=shift,
            **{v.name: np.asarray(x, dtype=np.float64) for v, x in zip(variables, cat_values)},
            weight=np.asarray(cat_weight, dtype=np.float64),
        )


def merge_hists(hists: Iterable[hist.Hist]) -> hist.Hist:
    """The sum of histograms (category axes grow as needed)."""
    hists = list(hists)
    if not hists:
        raise ValueError("no histograms to merge")
    total = hists[0].copy()
    for h in hists[1:]:
        total = total + h
    return total
