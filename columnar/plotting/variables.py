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

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import hist
import matplotlib.pyplot as plt
import numpy as np
import order as od
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure

from columnar.plotting import style
from columnar.plotting.drawing import (
    _add_note,
    _band,
    _divide,
    _figure,
    _finish_empty,
    _flow_note,
    _label,
    _legend,
    _log_ymin,
    _points,
    _process_summary,
    _ratio_width,
    _set_ylim,
    _style_ratio_axis,
    _style_x_axis,
    _styled,
)
from columnar.plotting.hists import (
    FLOW_MODES,
    NOMINAL,
    PROCESS_SETTINGS,
    VARIABLE_SETTINGS,
    _Bins,
    _check_choice,
    _check_settings,
    _Component,
    _components,
    _fold,
    _HistView,
    _is_data,
    _make_bins,
    _normalize,
    _shifted_total,
    _syst_envelope,
)

__all__ = [
    "FLOW_MODES",
    "PROCESS_SETTINGS",
    "VARIABLE_SETTINGS",
    "plot_variable_1d",
    "plot_variable_2d",
    "plot_shifted_variable_1d",
]

logger = logging.getLogger(__name__)


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
