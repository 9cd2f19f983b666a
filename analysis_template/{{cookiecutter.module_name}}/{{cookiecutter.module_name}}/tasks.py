"""Tasks of the analysis, in the law namespace ``{{ cookiecutter.short_name }}``.

Task modules are listed in law.cfg [modules]; run ``law index`` after adding a task::

    law run {{ cookiecutter.short_name }}.YieldTable --version v1

A task builds on columnar's base classes and parameter mixins, which resolve the parameters
(defaults from the config, name patterns) exactly as for columnar's own tasks, and requires
columnar's tasks with ``.req(self, ...)``, which passes the shared parameters on.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import hist
import numpy as np
from columnar.hist import merge_hists
from columnar.tasks.base import ConfigTask, join_names
from columnar.tasks.histograms import HistogramParamsMixin, MergeHistograms
from columnar.tasks.mixins import CategoriesMixin, DatasetsMixin, ProcessesMixin
from columnar.tasks.targets import load_pickle


def leaf_ids(inst: Any) -> set[int]:
    """Ids of a process or category and of its leaves (a parent stands for their sum)."""
    getter = getattr(inst, "get_leaf_processes", None) or inst.get_leaf_categories
    return {inst.id} | {leaf.id for leaf in getter()}


def yield_of(h: hist.Hist, process: Any, category: Any, shift: str = "nominal"
             ) -> tuple[float, float]:
    """Sum of weights of *process* in *category* and its statistical error, from a columnar
    histogram (axes category, process, shift, variables; flow bins included)."""
    cats = [i for i, c in enumerate(h.axes["category"]) if c in leaf_ids(category)]
    procs = [i for i, p in enumerate(h.axes["process"]) if p in leaf_ids(process)]
    shifts = [i for i, s in enumerate(h.axes["shift"]) if s == shift]
    index = np.ix_(cats, procs, shifts)
    value = h.values(flow=True)[index].sum()
    variance = h.variances(flow=True)[index].sum()
    return float(value), math.sqrt(float(variance))


class YieldTable(DatasetsMixin, ProcessesMixin, CategoriesMixin, HistogramParamsMixin,
                 ConfigTask):
    """Event yields (sums of weights with statistical errors) per process and category, and
    their total over simulation, as JSON and as a markdown table.

    They are the sums of the merged histograms of the first of ``--variables``, which must
    have one value per event (default: the first default variable of the config).
    """

    task_namespace = "{{ cookiecutter.short_name }}"

    @property
    def variable(self) -> str:
        return self.variables[0]

    def store_parts(self) -> OrderedDict:
        parts = super().store_parts()
        parts["datasets"] = join_names("datasets", list(self.datasets))
        return parts

    def requires(self) -> dict:
        return {d: MergeHistograms.req(self, dataset=d, shift="nominal",
                                       variables=(self.variable,))
                for d in self.datasets}

    def output(self) -> dict:
        name = "__".join(["yields", self.variable, join_names("cat", list(self.categories)),
                          join_names("proc", list(self.processes))])
        return {"json": self.local_target(f"{name}.json"),
                "markdown": self.local_target(f"{name}.md")}

    def run(self) -> None:
        # load_pickle reads local files and files of a remote store alike
        h = merge_hists([load_pickle(inputs[self.variable]) for inputs in self.input().values()])
        categories = [self.config_inst.get_category(c) for c in self.categories]
        processes = self.process_insts
        mc = [p for p in processes if not p.is_data]

        table: dict[str, dict[str, dict[str, float]]] = {}
        for row, procs in [*((p.name, [p]) for p in processes), ("total_mc", mc)]:
            table[row] = {}
            for cat in categories:
                value, var = 0.0, 0.0
                for p in procs:
                    v, e = yield_of(h, p, cat)
                    value, var = value + v, var + e**2
                table[row][cat.name] = {"value": value, "error": math.sqrt(var)}

        outputs = self.output()
        outputs["json"].dump({"variable": self.variable, "yields": table}, formatter="json",
                             indent=1)
        lines = ["| process | " + " | ".join(c.name for c in categories) + " |",
                 "|---|" + "---:|" * len(categories)]
        for row, per_cat in table.items():
            cells = [f"{y['value']:.1f} ± {y['error']:.1f}" for y in per_cat.values()]
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
        markdown = "\n".join(lines) + "\n"
        outputs["markdown"].dump(markdown, formatter="text")
        self.publish_message(f"yields ({self.variable}):\n{markdown}")


__all__ = ["YieldTable", "yield_of"]
