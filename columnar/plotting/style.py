"""Plot style: the matplotlib/mplhep style, colours, labels and writing figures to files.

Plots are drawn and saved inside :func:`style_context`, so importing this module changes no
global matplotlib state; call :func:`use_style` to make the style global (e.g. in a notebook).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import mplhep
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

__all__ = [
    "EXP_NAME",
    "EXP_TEXT",
    "STYLE",
    "PALETTE",
    "SHIFT_COLORS",
    "style_context",
    "use_style",
    "process_label",
    "process_color",
    "lumi_text",
    "add_exp_label",
    "add_info_text",
    "events_title",
    "save_figure",
]

#: experiment name and secondary text of the label above the axes
EXP_NAME = "columnar"
EXP_TEXT = "Private work"

#: the CMS-like mplhep style (TeX Gyre Heros, 10x10 inch figures) with a few adjustments
STYLE: dict[str, Any] = {
    **mplhep.style.CMS,
    "legend.fontsize": 20,
    "legend.labelspacing": 0.35,
    "legend.handletextpad": 0.5,
    "legend.columnspacing": 1.0,
    "axes.formatter.limits": (-2, 5),
    "axes.formatter.use_mathtext": True,
    "hatch.linewidth": 0.8,
    "savefig.transparent": False,
    "pdf.fonttype": 42,
}

#: colours for processes without a colour (the 10-colour palette recommended by CMS)
PALETTE = (
    "#3f90da", "#ffa90e", "#bd1f01", "#94a4a2", "#832db6",
    "#a96b59", "#e76300", "#b9ac70", "#717581", "#92dadd",
)

#: line colours of the nominal, up and down variations
SHIFT_COLORS = {"nominal": "black", "up": "#e42536", "down": "#3f90da"}

#: font size of the texts inside the axes (category, notes) and of the label above the axes
INFO_FONTSIZE = 20
NOTE_FONTSIZE = 16
LABEL_FONTSIZE = 21


def style_context() -> contextlib.AbstractContextManager:
    """A context in which matplotlib uses :data:`STYLE`."""
    return plt.style.context(STYLE)


def use_style() -> None:
    """Make :data:`STYLE` the global matplotlib style."""
    plt.style.use(STYLE)


def process_label(process: Any, settings: Mapping[str, Any] | None = None) -> str:
    """Legend label of a process: ``settings["label"]`` or the process label, with a
    ``x<scale>`` suffix when ``settings["scale"]`` is not 1."""
    settings = settings or {}
    label = settings.get("label") or getattr(process, "label", None) or process.name
    scale = settings.get("scale", 1.0)
    if scale != 1.0:
        label = rf"{label} $\times${scale:g}"
    return label


def process_color(process: Any, index: int, settings: Mapping[str, Any] | None = None) -> Any:
    """Colour of a process: ``settings["color"]``, the process colour, or a palette colour
    chosen by *index* (the position of the process in the plot)."""
    settings = settings or {}
    if settings.get("color") is not None:
        return settings["color"]
    color = getattr(process, "color1", None) or getattr(process, "color", None)
    if color is not None:
        return tuple(color) if not isinstance(color, str) else color
    return PALETTE[index % len(PALETTE)]


def _format_value(value: float) -> str:
    """A number with 3 significant digits and no trailing zeros (3.378 -> 3.38, 138.0 -> 138)."""
    text = f"{value:.3g}"
    if "e" in text:
        text = f"{value:.0f}"
    return text


def lumi_text(config: Any) -> str:
    """The luminosity and energy label, e.g. ``3.38 fb$^{-1}$ (13 TeV)``, from
    ``config.x.luminosity`` (pb^-1) and ``config.campaign.ecm`` (TeV); parts missing in the
    config are left out."""
    parts = []
    lumi = config.x("luminosity", None) if hasattr(config, "x") else None
    if lumi is not None:
        lumi_pb = float(getattr(lumi, "nominal", lumi))
        if lumi_pb >= 1000.0:
            parts.append(rf"{_format_value(lumi_pb / 1000.0)} fb$^{{-1}}$")
        else:
            parts.append(rf"{_format_value(lumi_pb)} pb$^{{-1}}$")
    campaign = getattr(config, "campaign", None)
    ecm = getattr(campaign, "ecm", None)
    if ecm:
        parts.append(f"({float(ecm):g} TeV)")
    return " ".join(parts)


def add_exp_label(ax: Axes, config: Any, data: bool, fontsize: float = LABEL_FONTSIZE
                  ) -> list[Text]:
    """Write "**columnar** *Private work*" above *ax* on the left (with "Simulation" when no
    data is shown) and the luminosity label on the right.

    Drawn with plain annotations placed relative to each other at draw time (mplhep's
    ``exp_label`` renders the whole figure once to measure the text, which doubles the time
    of a plot).
    """
    text = EXP_TEXT if data else f"Simulation {EXP_TEXT}"
    pad = 0.3 * fontsize
    exp = ax.annotate(EXP_NAME, xy=(0.0, 1.0), xycoords="axes fraction", xytext=(0, pad),
                      textcoords="offset points", ha="left", va="baseline",
                      fontsize=1.3 * fontsize, fontweight="bold")
    suffix = ax.annotate(text, xy=(1.0, 1.0), xycoords=(exp, "axes fraction"),
                         xytext=(pad, pad), textcoords="offset points", ha="left",
                         va="baseline", fontsize=fontsize, fontstyle="italic")
    lumi = ax.annotate(lumi_text(config), xy=(1.0, 1.0), xycoords="axes fraction",
                       xytext=(0, pad), textcoords="offset points", ha="right", va="baseline",
                       fontsize=fontsize)
    return [exp, suffix, lumi]


def add_info_text(ax: Axes, lines: Sequence[str], x: float = 0.04, y: float = 0.95,
                  box: bool = False, fontsize: float = INFO_FONTSIZE) -> Text | None:
    """Write *lines* (category, notes) into the upper left corner of *ax*, on a white box if
    *box*."""
    lines = [line for line in lines if line]
    if not lines:
        return None
    kwargs: dict[str, Any] = {}
    if box:
        kwargs["bbox"] = {"boxstyle": "square,pad=0.4", "facecolor": "white",
                          "edgecolor": "black", "linewidth": 1.0}
    return ax.text(x, y, "\n".join(lines), transform=ax.transAxes, ha="left", va="top",
                   fontsize=fontsize, linespacing=1.3, zorder=6, **kwargs)


def events_title(edges: np.ndarray, unit: str | None, discrete: bool, shape_norm: bool) -> str:
    """y-axis title: ``Normalized entries``, ``Events``, ``Events / 20 GeV`` or ``Events / bin``."""
    if shape_norm:
        return "Normalized entries"
    widths = np.diff(np.asarray(edges, dtype=float))
    if discrete:
        return "Events"
    if len(widths) == 0 or not np.allclose(widths, widths[0], rtol=1e-6):
        return "Events / bin"
    unit_text = f" {unit}" if unit and unit not in ("1", "") else ""
    return f"Events / {widths[0]:.4g}{unit_text}"


def save_figure(fig: Figure, path: str | os.PathLike, close: bool = True) -> str:
    """Write *fig* to *path* as PDF or PNG (150 dpi) by its extension (the file appears only
    when complete), then close it unless *close* is False."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".pdf", ".png"):
        raise ValueError(f"cannot save a figure as '{path}': the extension must be .pdf or .png")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with style_context():
            if ext == ".png":  # fast zlib level: encoding dominates saving otherwise
                fig.savefig(tmp, format="png", dpi=150, pil_kwargs={"compress_level": 1})
            else:
                fig.savefig(tmp, format="pdf")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
        if close:
            plt.close(fig)
    return path

