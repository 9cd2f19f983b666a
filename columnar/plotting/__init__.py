"""Plots of columnar histograms: stacked variables with data, 2-D maps, shift comparisons.

The plot functions (and matplotlib) are imported on first use, so that tasks can name their
plot files without the import cost.
"""

from __future__ import annotations

import importlib
from typing import Any

from columnar.plotting.names import plot_file_name

_LAZY = {
    "plot_variable_1d": "columnar.plotting.variables",
    "plot_variable_2d": "columnar.plotting.variables",
    "plot_shifted_variable_1d": "columnar.plotting.variables",
    "save_figure": "columnar.plotting.style",
    "style_context": "columnar.plotting.style",
    "use_style": "columnar.plotting.style",
}

__all__ = ["plot_file_name", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'columnar.plotting' has no attribute '{name}'")
