"""Plots of columnar histograms: stacked variables with data, 2-D maps, shift comparisons."""

from columnar.plotting.style import save_figure, style_context, use_style
from columnar.plotting.variables import (
    plot_file_name,
    plot_shifted_variable_1d,
    plot_variable_1d,
    plot_variable_2d,
)

__all__ = [
    "plot_variable_1d",
    "plot_variable_2d",
    "plot_shifted_variable_1d",
    "plot_file_name",
    "save_figure",
    "style_context",
    "use_style",
]
