"""Drawing helpers of the plots: figures, bands, points, axis ranges, labels and legends."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from columnar.plotting import style
from columnar.plotting.hists import (
    _Component,
)

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


