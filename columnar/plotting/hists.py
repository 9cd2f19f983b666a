"""Reading columnar histograms for plots: selections of categories, processes and shifts,
visible bins with flow handling, and the per-process components drawn."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import hist
import numpy as np

from columnar.plotting import style

logger = logging.getLogger(__name__)

#: what happens to entries outside the visible x range: added to the first/last visible bin,
#: dropped, or dropped with a note in the plot
FLOW_MODES = ("sum", "none", "show")
#: valid keys of the per-process settings
PROCESS_SETTINGS = ("label", "color", "scale", "hidden", "unstack")
#: valid keys of the variable settings: ``rebin`` (int or new edges that are old edges),
#: ``x_min`` / ``x_max`` (visible range, snapped outwards to bin edges), ``ratio_ylim``
VARIABLE_SETTINGS = ("rebin", "x_min", "x_max", "ratio_ylim")

NOMINAL = "nominal"
_BASE_AXES = ("category", "process", "shift")


# -- reading histograms ---------------------------------------------------------------------------

def _positions(axis: Any, inst: Any) -> list[int]:
    """Positions on a category axis of the id of *inst*, or of the ids of its leaves."""
    values = list(axis)
    if inst.id in values:
        return [values.index(inst.id)]
    getter = getattr(inst, "get_leaf_processes", None) or getattr(inst, "get_leaf_categories",
                                                                    None)
    leaves = getter() if getter else []
    return [values.index(leaf.id) for leaf in leaves if leaf.id in values]


class _HistView:
    """Values and variances of a histogram, axes ordered as (category, process, shift,
    *variables), with under- and overflow bins on every variable axis."""

    def __init__(self, h: hist.Hist, var_names: Sequence[str]) -> None:
        names = list(h.axes.name)
        wanted = [*_BASE_AXES, *var_names]
        if sorted(names) != sorted(wanted):
            raise ValueError(f"histogram axes {names} do not match the expected axes {wanted}")
        values = np.asarray(h.values(flow=True), dtype=float)
        variances = h.variances(flow=True)
        variances = values.copy() if variances is None else np.asarray(variances, dtype=float)
        order = [names.index(n) for n in wanted]
        values, variances = values.transpose(order), variances.transpose(order)
        for i, name in enumerate(var_names):
            traits = h.axes[name].traits
            pad = [(0, 0)] * values.ndim
            pad[len(_BASE_AXES) + i] = (0 if traits.underflow else 1, 0 if traits.overflow else 1)
            values, variances = np.pad(values, pad), np.pad(variances, pad)
        self.h = h
        self.values = values
        self.variances = variances
        self.edges = [np.asarray(h.axes[n].edges, dtype=float) for n in var_names]
        self.shifts = list(h.axes["shift"])

    def get(self, category: Any, processes: Sequence[Any], shift: str
            ) -> tuple[np.ndarray, np.ndarray] | None:
        """Summed values and variances of the processes in the category for the shift (flow
        included), or None when the histogram holds none of them."""
        cats = _positions(self.h.axes["category"], category)
        procs = [i for p in processes for i in _positions(self.h.axes["process"], p)]
        shifts = [self.shifts.index(shift)] if shift in self.shifts else []
        if not (cats and procs and shifts):
            return None
        index = np.ix_(cats, procs, shifts)
        return self.values[index].sum(axis=(0, 1, 2)), self.variances[index].sum(axis=(0, 1, 2))

    def require_shift(self, shift: str) -> None:
        """Fail with a clear message when *shift* is missing but the histogram is not empty."""
        if shift not in self.shifts and NOMINAL in self.shifts:
            raise ValueError(f"the histogram has no shift '{shift}'; its shifts: "
                             f"{', '.join(map(str, self.shifts))}")


# -- binning and flow -----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Bins:
    """Visible bins: bin i spans the original (inner) bins ``bounds[i]`` to ``bounds[i+1]``."""

    bounds: np.ndarray
    edges: np.ndarray


def _make_bins(edges: np.ndarray, rebin: Any = None, x_min: float | None = None,
               x_max: float | None = None) -> _Bins:
    n = len(edges) - 1
    if rebin is None or (np.ndim(rebin) == 0 and int(rebin) == 1):
        bounds = np.arange(n + 1)
    elif np.ndim(rebin) == 0:
        rebin = int(rebin)
        if rebin < 1 or n % rebin:
            raise ValueError(f"cannot merge {n} bins in groups of {rebin}; use a divisor of {n} "
                             "or a list of new bin edges")
        bounds = np.arange(0, n + 1, rebin)
    else:
        bounds = []
        for edge in np.asarray(rebin, dtype=float):
            match = np.flatnonzero(np.isclose(edges, edge, rtol=1e-9, atol=1e-12))
            if not len(match):
                raise ValueError(f"new bin edge {edge:g} is not an edge of the histogram axis "
                                 f"({', '.join(f'{e:g}' for e in edges)})")
            bounds.append(int(match[0]))
        bounds = np.asarray(bounds)
        if len(bounds) < 2 or np.any(np.diff(bounds) <= 0):
            raise ValueError(f"new bin edges must be at least two increasing values, got {rebin}")
    bin_edges = edges[bounds]
    lo, hi = 0, len(bounds) - 1
    if x_min is not None:
        lo = max(int(np.searchsorted(bin_edges, x_min, side="right")) - 1, 0)
    if x_max is not None:
        hi = min(int(np.searchsorted(bin_edges, x_max, side="left")), len(bounds) - 1)
    if hi <= lo:
        raise ValueError(f"the x range [{x_min}, {x_max}] contains no bin of "
                         f"[{bin_edges[0]:g}, {bin_edges[-1]:g}]")
    bounds = bounds[lo:hi + 1]
    return _Bins(bounds=bounds, edges=edges[bounds])


def _fold(arr: np.ndarray, bins: _Bins, flow: str, axis: int = -1
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The visible bins of *arr* (which has flow bins along *axis*) and the sums below and above
    them; with flow "sum" those sums are added to the first and last visible bin."""
    arr = np.moveaxis(arr, axis, -1)
    inner = arr[..., 1:-1]
    first, last = bins.bounds[0], bins.bounds[-1]
    below = arr[..., 0] + inner[..., :first].sum(axis=-1)
    above = arr[..., -1] + inner[..., last:].sum(axis=-1)
    visible = np.add.reduceat(inner[..., :last], bins.bounds[:-1], axis=-1)
    if flow == "sum":
        visible[..., 0] += below
        visible[..., -1] += above
    return np.moveaxis(visible, -1, axis), below, above


# -- components -----------------------------------------------------------------------------------

@dataclass
class _Component:
    """What is drawn for one process (or the sum of all data processes)."""

    name: str
    label: str
    color: Any
    processes: list = field(default_factory=list)
    values: np.ndarray | None = None
    variances: np.ndarray | None = None
    below: float = 0.0
    above: float = 0.0
    scale: float = 1.0
    unstack: bool = False

    def normalized(self) -> _Component:
        values, variances = _normalize(self.values, self.variances)
        return replace(self, values=values, variances=variances)


def _normalize(values: np.ndarray, variances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale to unit sum (unchanged when the sum is not positive)."""
    total = values.sum()
    if total <= 0:
        return values, variances
    return values / total, variances / total**2


def _check_settings(settings: Mapping | None, valid: Sequence[str], what: str) -> dict:
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(valid))
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(unknown)}; valid: {', '.join(valid)}")
    return settings


def _check_choice(value: str, valid: Sequence[str], what: str) -> str:
    if value not in valid:
        raise ValueError(f"invalid {what} '{value}'; valid: {', '.join(valid)}")
    return value


def _is_data(process: Any) -> bool:
    return bool(getattr(process, "is_data", False))


def _components(view: _HistView, bins: _Bins, flow: str, category: Any,
                processes: Sequence[Any], settings: Mapping[str, Mapping] | None
                ) -> tuple[_Component | None, list[_Component]]:
    """The data component (sum of all data processes) and one component per MC process, for
    the nominal shift; processes missing in the histogram or hidden are left out."""
    settings = settings or {}
    data: _Component | None = None
    mc: list[_Component] = []
    for index, process in enumerate(processes):
        proc_settings = _check_settings(settings.get(process.name), PROCESS_SETTINGS,
                                        f"setting(s) of process '{process.name}'")
        if proc_settings.get("hidden"):
            continue
        yields = view.get(category, [process], NOMINAL)
        if yields is None:
            logger.info("process '%s' is not in the histogram, skipped", process.name)
            continue
        scale = 1.0 if _is_data(process) else float(proc_settings.get("scale", 1.0))
        values, below, above = _fold(yields[0], bins, flow)
        variances = _fold(yields[1], bins, flow)[0]
        comp = _Component(
            name=process.name, processes=[process], values=values * scale,
            variances=variances * scale**2, below=float(below) * scale,
            above=float(above) * scale, scale=scale, unstack=bool(proc_settings.get("unstack")),
            label=style.process_label(process, {**proc_settings, "scale": scale}),
            color=style.process_color(process, index, proc_settings),
        )
        if not _is_data(process):
            mc.append(comp)
        elif data is None:
            data = comp
        else:
            data = replace(data, name="data", label="Data", processes=data.processes + [process],
                           values=data.values + comp.values,
                           variances=data.variances + comp.variances,
                           below=data.below + comp.below, above=data.above + comp.above)
    return data, mc


def _shifted_total(view: _HistView, bins: _Bins, flow: str, category: Any,
                   components: Sequence[_Component], shift: str) -> np.ndarray:
    """Sum of the (scaled) components for *shift* in the visible bins."""
    total = np.zeros(len(bins.edges) - 1)
    for comp in components:
        yields = view.get(category, comp.processes, shift)
        if yields is not None:
            total = total + _fold(yields[0], bins, flow)[0] * comp.scale
    return total


def _syst_envelope(nominal: np.ndarray, ups: Sequence[np.ndarray], downs: Sequence[np.ndarray]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Downward and upward systematic uncertainty (both >= 0) per bin: for every source, the
    largest downward and upward deviation of its up/down variation, added in quadrature."""
    low2, high2 = np.zeros_like(nominal), np.zeros_like(nominal)
    for up, down in zip(ups, downs):
        deltas = np.stack([up - nominal, down - nominal])
        high2 += np.clip(deltas.max(axis=0), 0, None) ** 2
        low2 += np.clip(-deltas.min(axis=0), 0, None) ** 2
    return np.sqrt(low2), np.sqrt(high2)


