"""cf.PlotVariables1D and cf.PlotVariables2D: plots of the merged histograms of several datasets.

Plot options on the command line::

    law run cf.PlotVariables1D --version v1 --variables ht --categories 4j1b \\
        --yscale log --process-settings tt:scale=2,dy:hidden --variable-settings ht:rebin=2
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

import law
import luigi

from columnar.hist import merge_hists, split_variable_name
from columnar.tasks.base import ColumnarTaskError, ConfigTask, join_names
from columnar.tasks.histograms import (
    HistogramParamsMixin,
    MergeHistograms,
    MergeShiftedHistograms,
)
from columnar.tasks.mixins import (
    CategoriesMixin,
    DatasetsMixin,
    ProcessesMixin,
    ShiftSourcesMixin,
)
from columnar.tasks.targets import load_pickle, localized_output


def parse_settings(items: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``("tt:scale=2:label=ttbar", "dy:hidden")`` -> ``{"tt": {"scale": 2.0, "label": "ttbar"},
    "dy": {"hidden": True}}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        name, *pairs = item.split(":")
        settings: dict[str, Any] = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep:
                settings[key] = True
                continue
            try:
                settings[key] = int(value) if value.lstrip("-").isdigit() else float(value)
            except ValueError:
                settings[key] = value
        out[name] = settings
    return out


class PlotBase(DatasetsMixin, ProcessesMixin, CategoriesMixin, HistogramParamsMixin, ConfigTask):
    """Common parameters and inputs of the plot tasks."""

    preload_modules = ("matplotlib.pyplot", "mplhep", "columnar.plotting.variables")

    file_types = law.CSVParameter(default=("png",),
                                  description="file types of the plots: png (default), pdf or "
                                              "both (png,pdf)")
    shape_norm = luigi.BoolParameter(default=False,
                                     description="normalise each process to unit area")
    process_settings = law.CSVParameter(
        default=(),
        description="per-process plot settings, e.g. tt:scale=2:label=ttbar,dy:hidden",
    )
    variable_settings = law.CSVParameter(
        default=(),
        description="per-variable plot settings, e.g. ht:rebin=2:x_max=400",
    )

    exclude_params_req_get = {"file_types", "shape_norm", "process_settings",
                              "variable_settings", "yscale", "zscale"}

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().resolve_param_values(params)
        for ext in params.get("file_types") or ():
            if ext not in ("png", "pdf"):
                raise ColumnarTaskError(f"unknown file type '{ext}'; valid: png, pdf")
        return params

    def store_parts(self) -> OrderedDict:
        parts = super().store_parts()
        parts["datasets"] = join_names("datasets", list(self.datasets))
        return parts

    def requires(self) -> dict:
        return {d: MergeHistograms.req(self, dataset=d, shift="nominal") for d in self.datasets}

    def merged_hist(self, variable: str, inputs: dict | None = None):
        """The histogram of *variable* summed over all datasets."""
        inputs = self.input() if inputs is None else inputs
        return merge_hists([load_pickle(inputs[dataset][variable]) for dataset in self.datasets])

    def plot_options(self) -> list[str]:
        """Parts of the file name for the plot options that change what a plot shows."""
        options = []
        if getattr(self, "yscale", "") == "log" or getattr(self, "zscale", "") == "log":
            options.append("log")
        if self.shape_norm:
            options.append("norm")
        settings = ",".join(self.process_settings) + "|" + ",".join(self.variable_settings)
        if settings != "|":
            options.append("set_" + hashlib.sha1(settings.encode()).hexdigest()[:8])
        return options

    def plot_target(self, kind: str, variable: str, category: str, ext: str,
                    shift_sources: tuple = ()) -> law.LocalFileTarget:
        from columnar.plotting import plot_file_name

        name = plot_file_name(kind, variable, category, self.processes,
                              shift_sources=shift_sources, ext=ext)
        stem = name[:-len(ext) - 1]
        return self.local_target("__".join([stem, *self.plot_options()]) + f".{ext}")

    def run(self) -> None:
        self.make_plots()
        n_files = len(law.util.flatten(self.output()))
        self.publish_message(f"{n_files} plots in {self.local_path()}")

    def make_plots(self) -> None:
        raise NotImplementedError

    def save(self, fig, targets: dict) -> None:
        from columnar.plotting import save_figure

        for target in targets.values():
            with localized_output(target) as path:
                save_figure(fig, path, close=False)
            self.publish_message(f"plot: {target.basename}")
        import matplotlib.pyplot as plt

        plt.close(fig)


class PlotVariables1D(ShiftSourcesMixin, PlotBase):
    """Stacked MC by process, data as points, ratio panel, uncertainty band, per variable and
    category; with ``--shift-sources`` the band includes their systematic uncertainties."""

    yscale = luigi.ChoiceParameter(choices=["", "linear", "log"], default="",
                                   description="y axis scale; default: linear")

    shift_sources_from_config = False

    def requires(self) -> dict:
        if not self.shift_sources:
            return super().requires()
        return {d: MergeShiftedHistograms.req(self, dataset=d) for d in self.datasets}

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().resolve_param_values(params)
        two_d = [v for v in params["variables"] if "-" in v]
        if two_d:
            raise ColumnarTaskError(f"cf.PlotVariables1D plots 1-D variables; use "
                                    f"cf.PlotVariables2D for {', '.join(two_d)}")
        return params

    def output(self) -> dict:
        return {v: {c: {ext: self.plot_target("plot", v, c, ext, self.shift_sources)
                        for ext in self.file_types}
                    for c in self.categories} for v in self.variables}

    def make_plots(self) -> None:
        from columnar.plotting import plot_variable_1d

        inputs = self.input()
        process_settings = parse_settings(self.process_settings)
        variable_settings = parse_settings(self.variable_settings)
        for variable, per_category in self.output().items():
            h = self.merged_hist(variable, inputs)
            for category, targets in per_category.items():
                fig, _ = plot_variable_1d(
                    h, self.config_inst, self.config_inst.get_variable(variable),
                    self.config_inst.get_category(category), self.process_insts,
                    shift_sources=self.shift_sources, shape_norm=self.shape_norm,
                    yscale=self.yscale or None, process_settings=process_settings,
                    variable_settings=variable_settings.get(variable),
                )
                self.save(fig, targets)


class PlotShiftedVariables1D(ShiftSourcesMixin, PlotBase):
    """The MC sum for nominal and the up/down shifts of each source, with the ratio to nominal
    (one plot per variable, category and source)."""

    yscale = luigi.ChoiceParameter(choices=["", "linear", "log"], default="",
                                   description="y axis scale; default: linear")

    def requires(self) -> dict:
        return {d: MergeShiftedHistograms.req(self, dataset=d) for d in self.datasets}

    def output(self) -> dict:
        return {v: {c: {s: {ext: self.plot_target("shifted", v, c, ext, (s,))
                            for ext in self.file_types}
                        for s in self.shift_sources}
                    for c in self.categories} for v in self.variables}

    def make_plots(self) -> None:
        from columnar.plotting import plot_shifted_variable_1d

        inputs = self.input()
        mc_processes = [p for p in self.process_insts if not p.is_data]
        for variable, per_category in self.output().items():
            h = self.merged_hist(variable, inputs)
            for category, per_source in per_category.items():
                for source, targets in per_source.items():
                    fig, _ = plot_shifted_variable_1d(
                        h, self.config_inst, self.config_inst.get_variable(variable),
                        self.config_inst.get_category(category), mc_processes, source,
                        shape_norm=self.shape_norm, yscale=self.yscale or None)
                    self.save(fig, targets)


class PlotVariables2D(PlotBase):
    """The MC sum (or the given processes) of 2-D variables (``--variables ht-m_bjj``) with a
    colour bar."""

    zscale = luigi.ChoiceParameter(choices=["linear", "log"], default="linear",
                                   description="colour scale")

    #: default variables from the config entry for 2-D variables
    variables_default_key = "variables_2d"

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().resolve_param_values(params)
        one_d = [v for v in params["variables"] if "-" not in v]
        if one_d:
            raise ColumnarTaskError(f"cf.PlotVariables2D plots 2-D variables of the form a-b; "
                                    f"got {', '.join(one_d)}")
        return params

    def output(self) -> dict:
        return {v: {c: {ext: self.plot_target("plot2d", v, c, ext) for ext in self.file_types}
                    for c in self.categories} for v in self.variables}

    def make_plots(self) -> None:
        from columnar.plotting import plot_variable_2d

        inputs = self.input()
        mc_processes = [p for p in self.process_insts if not p.is_data]
        for variable, per_category in self.output().items():
            h = self.merged_hist(variable, inputs)
            variables = [self.config_inst.get_variable(v) for v in split_variable_name(variable)]
            for category, targets in per_category.items():
                fig, _ = plot_variable_2d(h, self.config_inst, variables,
                                          self.config_inst.get_category(category), mc_processes,
                                          zscale=self.zscale, shape_norm=self.shape_norm)
                self.save(fig, targets)


__all__ = ["PlotVariables1D", "PlotShiftedVariables1D", "PlotVariables2D", "parse_settings"]
