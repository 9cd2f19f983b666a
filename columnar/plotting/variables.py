"""Plots of variables from columnar histograms: stacked 1-D distributions with data and a ratio
panel, 2-D maps and the effect of one shift source.

A histogram has the axes ``category`` and ``process`` (ids of order objects), ``shift`` (shift
names) and one or two variable axes named after the order variables, with flow bins::

    fig, axes = plot_variable_1d(h, config, config.get_variable("ht"), config.get_category("4j1b"),
                                 [config.get_process(p) for p in ("data", "tt", "wjets", "dy")],
                                 shift_sources=["jec", "btag"])
    save_figure(fig, plot_file_name("plot", "ht", "4j1b", ["data", "tt", "wjets", "dy"]))

A category or process whose id is not on its axis stands for the sum of its leaf categories or
processes that are. The drawn artists carry ``gid`` s so that what was drawn can be found again:
``stack:<process>``, ``line:<process>``, ``mc_total``, ``band:stat``, ``band:total``, ``data``,
``ratio:data``, ``ratio:band:stat``, ``ratio:band:total``, ``shift:<nominal|up|down>`` and
``ratio:shift:<up|down>``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import hist
import matplotlib.pyplot as plt
import numpy as np
import order as od
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from columnar.plotting import style

__all__ = [
    "FLOW_MODES",
    "PROCESS_SETTINGS",
    "VARIABLE_SETTINGS",
    "plot_variable_1d",
    "plot_variable_2d",
    "plot_shifted_variable_1d",
    "plot_file_name",
]

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


# -- drawing helpers ------------------------------------------------------------------------------

def _styled(func: Callable) -> Callable:
    """Run a plot function inside the columnar style."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with style.style_context():
            return func(*args, **kwargs)
    return wrapper


def _figure(ratio: bool) -> tuple[Figure, list[Axes]]:
    """A figure with a main axes and, if *ratio*, a ratio axes below it sharing x."""
    fig = plt.figure()
    margins = {"left": 0.15, "right": 0.96, "top": 0.94, "bottom": 0.1}
    if not ratio:
        fig.subplots_adjust(**margins)
        return fig, [fig.add_subplot(1, 1, 1)]
    grid = fig.add_gridspec(2, 1, height_ratios=(3, 1), hspace=0.06, **margins)
    ax = fig.add_subplot(grid[0])
    rax = fig.add_subplot(grid[1], sharex=ax)
    ax.tick_params(labelbottom=False)
    return fig, [ax, rax]


def _band(ax: Axes, edges: np.ndarray, low: np.ndarray, high: np.ndarray, kind: str,
          gid: str, label: str | None = None) -> Any:
    """An uncertainty band from *low* to *high*: hatched ("stat") or grey filled ("total")."""
    if kind == "stat":
        kwargs = {"facecolor": "none", "edgecolor": "#555555", "hatch": "////", "linewidth": 0}
    else:
        kwargs = {"facecolor": "#b0b0b0", "edgecolor": "none", "alpha": 0.6, "linewidth": 0}
    return ax.stairs(high, edges, baseline=low, fill=True, label=label, gid=gid, zorder=3,
                     **kwargs)


def _points(ax: Axes, edges: np.ndarray, values: np.ndarray, errors: np.ndarray, gid: str,
            label: str | None = None) -> Any:
    centers = 0.5 * (edges[1:] + edges[:-1])
    container = ax.errorbar(centers, values, yerr=errors, fmt="o", color="black", markersize=7,
                            elinewidth=1.6, capsize=0, label=label, zorder=5)
    container.lines[0].set_gid(gid)
    return container


def _renderer(fig: Figure) -> Any:
    get = getattr(fig.canvas, "get_renderer", None)
    return get() if get is not None else fig._get_renderer()


def _inside_boxes(ax: Axes, artists: Sequence[Any]) -> list[Any]:
    """Boxes (in axes fractions) of those *artists* that are drawn inside *ax*."""
    renderer = _renderer(ax.figure)
    boxes = []
    for artist in artists:
        if artist is None:
            continue
        box = artist.get_window_extent(renderer).transformed(ax.transAxes.inverted())
        if box.y0 < 1.0 and box.y1 > 0.0:
            boxes.append(box)
    return boxes


def _set_ylim(ax: Axes, edges: np.ndarray, top: np.ndarray, log: bool, avoid: Sequence[Any],
              ymin: float | None = None) -> None:
    """Set the y range so that the content (*top* per bin) stays below the *avoid* artists
    (legend, texts) wherever they overlap in x."""
    top = np.nan_to_num(np.asarray(top, dtype=float), nan=0.0, posinf=0.0)
    vmax = float(top.max()) if top.size else 0.0
    xlo, xhi = edges[0], edges[-1]
    limits = []  # (highest content under an artist, axes fraction it must stay below)
    for box in _inside_boxes(ax, avoid):
        x0, x1 = xlo + box.x0 * (xhi - xlo), xlo + box.x1 * (xhi - xlo)
        covered = (edges[1:] > x0) & (edges[:-1] < x1)
        if covered.any():
            limits.append((float(top[covered].max()), max(box.y0 - 0.03, 0.25)))
    if log:
        ymin = ymin or 0.1
        lmin = np.log10(ymin)
        lmax = np.log10(max(vmax, ymin * 10)) + 0.1 * (np.log10(max(vmax, ymin * 10)) - lmin)
        for value, frac in limits:
            if value > ymin:
                lmax = max(lmax, lmin + (np.log10(value) - lmin) / frac)
        ax.set_ylim(ymin, 10**lmax)
        ax.set_yscale("log")
        ax.set_ylim(ymin, 10**lmax)
    else:
        ymax = vmax * 1.1
        for value, frac in limits:
            ymax = max(ymax, value / frac)
        ax.set_ylim(0.0, ymax if ymax > 0 else 1.0)
        _scale_y_ticks(ax)


def _scale_y_ticks(ax: Axes) -> None:
    """For a linear axis with large or small numbers, divide the tick labels by a power of ten
    and state it in the axis title (instead of an offset text above the axes)."""
    ymax = ax.get_ylim()[1]
    if ymax <= 0 or 1e-2 <= ymax < 1e5:
        return
    power = int(np.floor(np.log10(ymax)))
    if ymax / 10**power < 2:
        power -= 1  # ticks 0, 2, 4, ... rather than 0, 0.2, 0.4, ...
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 10**power:g}"))
    ax.set_ylabel(rf"{ax.get_ylabel()} ($\times 10^{{{power}}}$)")


def _log_ymin(arrays: Sequence[np.ndarray]) -> float:
    """A lower y limit for log scale: a decade below the smallest positive content, at most
    seven decades below the largest."""
    values = np.concatenate([np.ravel(a) for a in arrays if a is not None] or [np.zeros(0)])
    values = values[np.isfinite(values) & (values > 0)]
    if not values.size:
        return 0.1
    low = max(values.min() * 0.5, values.max() * 1e-7)
    return float(10 ** np.floor(np.log10(low)))


def _ratio_width(ratios: Sequence[np.ndarray], widths: Sequence[float]) -> float:
    """The smallest of *widths* such that 1 +- width contains the ratios."""
    values = np.concatenate([np.ravel(r) for r in ratios] or [np.zeros(0)])
    values = values[np.isfinite(values)]
    need = float(np.abs(values - 1.0).max()) if values.size else 0.0
    return next((w for w in widths if need <= 0.9 * w), widths[-1])


def _style_ratio_axis(rax: Axes, ylabel: str, width: float | None = None,
                      ylim: tuple[float, float] | None = None) -> None:
    """Dashed line at 1, y range *ylim* or 1 +- *width* (with ticks at 1 and 1 +- width, which
    keep clear of the tick labels of the main axes) and the title."""
    rax.axhline(1.0, color="black", linestyle="--", linewidth=1.2, zorder=4)
    rax.set_ylabel(ylabel, loc="center")
    if ylim is not None:
        rax.set_ylim(*ylim)
        return
    rax.set_ylim(max(1.0 - 1.2 * width, 0.0), 1.0 + 1.2 * width)
    step = width / 2 if width >= 1 else width
    ticks = 1.0 + step * np.arange(-np.floor(width / step), np.floor(width / step) + 1)
    rax.set_yticks(ticks[ticks >= -1e-9])


def _style_x_axis(axes: Sequence[Axes], edges: np.ndarray, variable: Any) -> None:
    """x range, title and, for discrete variables, one tick per bin."""
    axes[0].set_xlim(edges[0], edges[-1])
    axes[-1].set_xlabel(variable.get_full_x_title())
    if getattr(variable, "x_discrete", False) and len(edges) <= 31:
        centers = 0.5 * (edges[1:] + edges[:-1])
        labels = getattr(variable, "x_labels", None)
        for ax in axes:
            ax.set_xticks(centers)
            ax.tick_params(axis="x", which="minor", bottom=False, top=False)
        if labels and len(labels) == len(centers):
            axes[-1].set_xticklabels(labels)
        else:
            axes[-1].set_xticklabels([f"{c:g}" for c in centers])


def _flow_note(data: _Component | None, mc: Sequence[_Component]) -> str:
    """Text saying which fraction of the MC and data entries lies outside the visible range."""
    parts = {}
    for what, comps in (("MC", mc), ("data", [data] if data else [])):
        below, above = sum(c.below for c in comps), sum(c.above for c in comps)
        parts[what] = (below, above, below + above + sum(c.values.sum() for c in comps))
    lines = []
    for index, side in enumerate(("Below", "Above")):
        fractions = [f"{value[index] / value[2]:.1%} {what}" for what, value in parts.items()
                     if value[2] > 0 and value[index] > 0]
        if fractions:
            lines.append(f"{side} x range: {', '.join(fractions)}")
    return "\n".join(lines)


def _add_note(ax: Axes, anchor: Any, text: str) -> Any:
    """A small note below the *anchor* text."""
    if not text:
        return None
    return ax.annotate(text, xy=(0, 0), xycoords=anchor, xytext=(0, -8),
                       textcoords="offset points", ha="left", va="top",
                       fontsize=style.NOTE_FONTSIZE, color="#444444")


def _label(inst: Any) -> str:
    return getattr(inst, "label", None) or inst.name


def _process_summary(processes: Sequence[Any], max_len: int = 45) -> str:
    """Process labels joined with "+", or their number when that is too long."""
    text = " + ".join(style.process_label(p) for p in processes)
    return text if len(text) <= max_len else f"{len(processes)} processes"


def _divide(num: np.ndarray, den: np.ndarray, fill: float) -> np.ndarray:
    """num / den where den > 0, else *fill*."""
    out = np.full(np.shape(den), fill, dtype=float)
    np.divide(num, den, out=out, where=np.asarray(den) > 0)
    return out


def _legend(ax: Axes, handles: Sequence[Any], labels: Sequence[str], **kwargs: Any) -> Any:
    if not handles:
        return None
    ncols = 2 if len(handles) > 6 else 1
    return ax.legend(handles, labels, loc="upper right", ncols=ncols, **kwargs)


def _finish_empty(ax: Axes, empty: bool) -> None:
    if empty:
        ax.text(0.5, 0.5, "no entries", transform=ax.transAxes, ha="center", va="center",
                fontsize=style.INFO_FONTSIZE, color="grey")


# -- plots ----------------------------------------------------------------------------------------

def _mc_sum(view: _HistView, bins: _Bins, flow: str, category: Any,
            stacked: Sequence[_Component], sources: Sequence[str], shape_norm: bool
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The MC sum of the stacked components, its statistical uncertainty and its total
    (stat. and syst. in quadrature) downward and upward uncertainties."""
    n = len(bins.edges) - 1
    total = sum((c.values for c in stacked), np.zeros(n))
    stat = np.sqrt(sum((c.variances for c in stacked), np.zeros(n)))
    ups, downs = [], []
    for source in sources if stacked else ():
        for shift, target in ((f"{source}_up", ups), (f"{source}_down", downs)):
            view.require_shift(shift)
            target.append(_shifted_total(view, bins, flow, category, stacked, shift))
    if shape_norm:
        total, stat2 = _normalize(total, stat**2)
        stat = np.sqrt(stat2)
        ups = [_normalize(u, u)[0] for u in ups]
        downs = [_normalize(d, d)[0] for d in downs]
    syst_low, syst_high = _syst_envelope(total, ups, downs)
    return total, stat, np.hypot(stat, syst_low), np.hypot(stat, syst_high)


def _draw_mc(ax: Axes, edges: np.ndarray, stacked: Sequence[_Component],
             lines: Sequence[_Component], total: np.ndarray, shape_norm: bool
             ) -> tuple[list, list[str]]:
    """The stack (the last listed process at the bottom) or, with *shape_norm*, one line per
    process and the MC sum; then the unstacked processes. Legend entries in listed order."""
    handles, labels = [], []
    if shape_norm:
        for comp in stacked:
            handles.append(ax.stairs(comp.values, edges, color=comp.color, linewidth=2.5,
                                     gid=f"line:{comp.name}", zorder=2))
            labels.append(comp.label)
        if len(stacked) > 1:
            handles.append(ax.stairs(total, edges, color="black", linewidth=1.5,
                                     linestyle="--", gid="mc_total", zorder=2))
            labels.append("MC total")
    else:
        bottom = np.zeros(len(edges) - 1)
        for comp in reversed(stacked):
            handles.insert(0, ax.stairs(bottom + comp.values, edges, baseline=bottom,
                                        fill=True, facecolor=comp.color, edgecolor="black",
                                        linewidth=0.6, gid=f"stack:{comp.name}", zorder=1))
            labels.insert(0, comp.label)
            bottom = bottom + comp.values
    for comp in lines:
        handles.append(ax.stairs(comp.values, edges, color=comp.color, linewidth=2.5,
                                 gid=f"line:{comp.name}", zorder=2))
        labels.append(comp.label)
    return handles, labels


def _draw_bands(ax: Axes, edges: np.ndarray, center: np.ndarray, stat: np.ndarray,
                low: np.ndarray, high: np.ndarray, with_syst: bool, prefix: str = ""
                ) -> tuple[list, list[str]]:
    """The total uncertainty band (with systematics) and the hatched statistical one."""
    handles, labels = [], []
    if with_syst:
        handles.append(_band(ax, edges, center - low, center + high, "total",
                             gid=f"{prefix}band:total"))
        labels.append(r"Stat. $\oplus$ syst. unc.")
    handles.append(_band(ax, edges, center - stat, center + stat, "stat",
                         gid=f"{prefix}band:stat"))
    labels.append("MC stat. unc.")
    return handles, labels


@_styled
def plot_variable_1d(
    h: hist.Hist,
    config_inst: od.Config,
    variable_inst: od.Variable,
    category_inst: od.Category,
    process_insts: Sequence[od.Process],
    shift_sources: Sequence[str] = (),
    shape_norm: bool = False,
    yscale: str | None = None,
    flow: str = "sum",
    process_settings: Mapping[str, Mapping] | None = None,
    variable_settings: Mapping | None = None,
) -> tuple[Figure, list[Axes]]:
    """Stacked MC processes (the first listed on top), data points, the MC statistical (and,
    with *shift_sources*, the total) uncertainty band and a data/MC ratio panel when data is
    shown; returns the figure and its axes (main, ratio).

    *process_settings* map process names to ``label``, ``color``, ``scale`` (MC only),
    ``hidden`` and ``unstack`` (drawn as a line, not part of the stack and the ratio);
    *variable_settings* take ``rebin``, ``x_min``, ``x_max`` and ``ratio_ylim``. With
    *shape_norm*, every MC process and the data are normalised to unit area and drawn as lines
    (the ratio compares data to the normalised MC sum). *flow* is one of :data:`FLOW_MODES`.
    """
    flow = _check_choice(flow, FLOW_MODES, "flow")
    yscale = _check_choice(yscale or ("log" if getattr(variable_inst, "y_log", False)
                                      else "linear"), ("linear", "log"), "yscale")
    var_settings = _check_settings(variable_settings, VARIABLE_SETTINGS, "variable setting(s)")
    view = _HistView(h, [variable_inst.name])
    bins = _make_bins(view.edges[0], var_settings.get("rebin"), var_settings.get("x_min"),
                      var_settings.get("x_max"))
    edges = bins.edges
    data, mc = _components(view, bins, flow, category_inst, process_insts, process_settings)
    note = _flow_note(data, mc) if flow == "show" else ""
    stacked = [c for c in mc if not c.unstack]
    total, stat, low, high = _mc_sum(view, bins, flow, category_inst, stacked, shift_sources,
                                     shape_norm)
    if shape_norm:
        mc = [c.normalized() for c in mc]
        stacked = [c for c in mc if not c.unstack]
        data = data.normalized() if data else None
    lines = [c for c in mc if c.unstack]
    with_syst = bool(shift_sources) and bool(stacked)

    fig, axes = _figure(ratio=data is not None and bool(stacked))
    ax = axes[0]
    handles, labels = [], []
    data_err = np.sqrt(data.variances) if data else None
    if data is not None:
        shown = (data.values != 0) | (total != 0)
        handles.append(_points(ax, edges, np.where(shown, data.values, np.nan),
                               np.where(shown, data_err, np.nan), gid="data"))
        labels.append(data.label)
    for more in (_draw_mc(ax, edges, stacked, lines, total, shape_norm),
                 _draw_bands(ax, edges, total, stat, low, high, with_syst) if stacked
                 else ([], [])):
        handles.extend(more[0])
        labels.extend(more[1])

    _style_x_axis(axes, edges, variable_inst)
    ax.set_ylabel(style.events_title(edges, getattr(variable_inst, "unit", None),
                                     getattr(variable_inst, "x_discrete", False), shape_norm))
    info_text = style.add_info_text(ax, [_label(category_inst)])
    avoid = [_legend(ax, handles, labels), info_text, _add_note(ax, info_text, note)]
    tops = [total + high, *(c.values for c in mc)]
    if data is not None:
        tops.append(data.values + data_err)
    top = np.max(np.stack(tops), axis=0)
    ymin = None
    if yscale == "log":
        ymin = _log_ymin([total, *(c.values for c in mc), data.values if data else None])
    _set_ylim(ax, edges, top, yscale == "log", avoid, ymin=ymin)
    _finish_empty(ax, not np.any(top > 0))

    if len(axes) > 1:
        rax = axes[1]
        ratio = _divide(data.values, total, np.nan)
        rel = [_divide(x, total, 0.0) for x in (stat, low, high)]
        _draw_bands(rax, edges, np.ones_like(total), *rel, with_syst, prefix="ratio:")
        _points(rax, edges, ratio, _divide(data_err, total, np.nan), gid="ratio:data")
        ratio_ylim = var_settings.get("ratio_ylim")
        if ratio_ylim is not None:
            _style_ratio_axis(rax, "Data / MC", ylim=tuple(ratio_ylim))
        else:
            _style_ratio_axis(rax, "Data / MC",
                              width=_ratio_width([ratio[data.values > 0]], (0.5, 1.0, 2.0)))
        fig.align_ylabels(axes)

    style.add_exp_label(ax, config_inst, data=any(_is_data(p) for p in process_insts))
    return fig, axes


@_styled
def plot_shifted_variable_1d(
    h: hist.Hist,
    config_inst: od.Config,
    variable_inst: od.Variable,
    category_inst: od.Category,
    process_insts: Sequence[od.Process],
    shift_source: str,
    shape_norm: bool = False,
    yscale: str | None = None,
    flow: str = "sum",
) -> tuple[Figure, list[Axes]]:
    """The MC sum of the processes for the nominal, up and down shift of *shift_source*, with
    the change of the integral (flow included) in the legend and a shifted/nominal ratio panel.
    Data processes are ignored."""
    flow = _check_choice(flow, FLOW_MODES, "flow")
    yscale = _check_choice(yscale or ("log" if getattr(variable_inst, "y_log", False)
                                      else "linear"), ("linear", "log"), "yscale")
    view = _HistView(h, [variable_inst.name])
    bins = _make_bins(view.edges[0])
    edges = bins.edges
    mc_processes = [p for p in process_insts if not _is_data(p)]
    shifts = {"nominal": NOMINAL, "up": f"{shift_source}_up", "down": f"{shift_source}_down"}
    curves, variances, integrals = {}, {}, {}
    note = ""
    for key, shift in shifts.items():
        view.require_shift(shift)
        yields = view.get(category_inst, mc_processes, shift)
        if yields is None:
            yields = (np.zeros(len(view.edges[0]) + 1),) * 2
        integrals[key] = float(yields[0].sum())
        curves[key], below, above = _fold(yields[0], bins, flow)
        variances[key] = _fold(yields[1], bins, flow)[0]
        if key == "nominal" and flow == "show":
            note = _flow_note(None, [_Component("nominal", "", None, values=curves[key],
                                                below=float(below), above=float(above))])
        if shape_norm:
            curves[key], variances[key] = _normalize(curves[key], variances[key])
    nominal = curves["nominal"]
    stat = np.sqrt(variances["nominal"])

    fig, axes = _figure(ratio=True)
    ax, rax = axes
    handles, labels = [], []
    handles.append(_band(ax, edges, nominal - stat, nominal + stat, "stat", gid="band:stat"))
    labels.append("Stat. unc.")
    for key in ("nominal", "up", "down"):
        handles.append(ax.stairs(curves[key], edges, color=style.SHIFT_COLORS[key],
                                 linewidth=2.2, gid=f"shift:{key}", zorder=4))
        if key == "nominal":
            labels.append("nominal")
        elif integrals["nominal"] > 0:
            change = 100.0 * (integrals[key] / integrals["nominal"] - 1.0)
            change_text = f"{change:+.1f}" if round(change, 1) != 0 else "\u00b10.0"
            labels.append(f"{shift_source} {key} ({change_text}%)")
        else:
            labels.append(f"{shift_source} {key}")
    handles = handles[1:] + handles[:1]
    labels = labels[1:] + labels[:1]

    _style_x_axis(axes, edges, variable_inst)
    ax.set_ylabel(style.events_title(edges, getattr(variable_inst, "unit", None),
                                     getattr(variable_inst, "x_discrete", False), shape_norm))
    info_text = style.add_info_text(ax, [_label(category_inst), _process_summary(mc_processes)])
    avoid = [_legend(ax, handles, labels), info_text, _add_note(ax, info_text, note)]
    top = np.max(np.stack([nominal + stat, curves["up"], curves["down"]]), axis=0)
    ymin = _log_ymin(list(curves.values())) if yscale == "log" else None
    _set_ylim(ax, edges, top, yscale == "log", avoid, ymin=ymin)
    _finish_empty(ax, not np.any(top > 0))

    rel_stat = _divide(stat, nominal, 0.0)
    ratios = {k: _divide(curves[k], nominal, np.nan) for k in ("up", "down")}
    _band(rax, edges, 1 - rel_stat, 1 + rel_stat, "stat", gid="ratio:band:stat")
    for key, ratio in ratios.items():
        rax.stairs(ratio, edges, color=style.SHIFT_COLORS[key], linewidth=2.2,
                   gid=f"ratio:shift:{key}", zorder=4)
    _style_ratio_axis(rax, "Shift / nom.",
                      width=_ratio_width(list(ratios.values()), (0.05, 0.1, 0.2, 0.5, 1.0)))
    fig.align_ylabels(axes)
    style.add_exp_label(ax, config_inst, data=False)
    return fig, axes


@_styled
def plot_variable_2d(
    h: hist.Hist,
    config_inst: od.Config,
    variable_insts: Sequence[od.Variable],
    category_inst: od.Category,
    process_insts: Sequence[od.Process],
    zscale: str = "linear",
    shape_norm: bool = False,
    flow: str = "sum",
) -> tuple[Figure, list[Axes]]:
    """The sum of the processes (nominal) as a colour map over two variables, with a colour
    bar (linear or log *zscale*); empty bins stay white. Returns the map and colour bar axes."""
    zscale = _check_choice(zscale, ("linear", "log"), "zscale")
    flow = _check_choice(flow, FLOW_MODES, "flow")
    if len(variable_insts) != 2:
        raise ValueError(f"plot_variable_2d needs two variables, got {len(variable_insts)}")
    view = _HistView(h, [v.name for v in variable_insts])
    bins = [_make_bins(e) for e in view.edges]
    yields = view.get(category_inst, process_insts, NOMINAL)
    if yields is None:
        values = np.zeros([len(b.edges) - 1 for b in bins])
    else:
        values = yields[0]
        for axis, b in enumerate(bins):
            values = _fold(values, b, flow, axis=axis)[0]
    if shape_norm and values.sum() > 0:
        values = values / values.sum()

    fig = plt.figure(figsize=(12.0, 10.0))
    ax = fig.add_axes((0.13, 0.1, 0.68, 0.84))
    cax = fig.add_axes((0.83, 0.1, 0.025, 0.84))
    masked = np.ma.masked_where(values.T <= 0, values.T)
    positive = values[values > 0]
    if zscale == "log":
        vmin, vmax = (positive.min(), positive.max()) if positive.size else (0.1, 1.0)
        norm = LogNorm(vmin=vmin, vmax=max(vmax, vmin * 10))
    else:
        norm = Normalize(vmin=0.0, vmax=positive.max() if positive.size else 1.0)
    mesh = ax.pcolormesh(bins[0].edges, bins[1].edges, masked, norm=norm, cmap="viridis",
                         gid="map", rasterized=True)
    cbar = fig.colorbar(mesh, cax=cax)
    cbar.set_label("Normalized entries" if shape_norm else "Events", loc="top")
    ax.set_xlabel(variable_insts[0].get_full_x_title())
    ax.set_ylabel(variable_insts[1].get_full_x_title())
    for axis, variable, b in ((ax.xaxis, variable_insts[0], bins[0]),
                              (ax.yaxis, variable_insts[1], bins[1])):
        if getattr(variable, "x_discrete", False) and len(b.edges) <= 31:
            axis.set_ticks(0.5 * (b.edges[1:] + b.edges[:-1]))
            axis.set_tick_params(which="minor", bottom=False, top=False, left=False,
                                 right=False)
    ax.set_xlim(bins[0].edges[0], bins[0].edges[-1])
    ax.set_ylim(bins[1].edges[0], bins[1].edges[-1])
    is_data = bool(process_insts) and all(_is_data(p) for p in process_insts)
    style.add_info_text(ax, [_label(category_inst), _process_summary(process_insts)], box=True)
    _finish_empty(ax, not positive.size)
    style.add_exp_label(ax, config_inst, data=is_data)
    return fig, [ax, cax]


# -- file names -----------------------------------------------------------------------------------

def _name(obj: Any) -> str:
    if isinstance(obj, (list, tuple)):
        return "-".join(_name(o) for o in obj)
    return str(getattr(obj, "name", obj))


def _join(names: Sequence[Any], max_len: int = 40) -> str:
    """Names joined with "_", shortened to ``<n>_<hash>`` when longer than *max_len*."""
    joined = "_".join(_name(n) for n in names)
    if len(joined) > max_len:
        joined = f"{len(names)}_{hashlib.sha1(joined.encode()).hexdigest()[:10]}"
    return joined


def plot_file_name(
    kind: str,
    variable: Any,
    category: Any,
    processes: Sequence[Any],
    shift_sources: Sequence[Any] = (),
    ext: str = "png",
) -> str:
    """A file name saying what a plot shows, e.g.
    ``plot__ht__cat_4j1b__proc_data_tt_wjets_dy__unc_jec_btag.png``; names or order objects are
    accepted, a pair of variables becomes ``ht-met``, long lists become ``<n>_<hash>``."""
    parts = [kind, _name(variable), f"cat_{_name(category)}", f"proc_{_join(processes)}"]
    if shift_sources:
        parts.append(f"unc_{_join(shift_sources)}")
    return "__".join(parts) + "." + ext.lstrip(".")
