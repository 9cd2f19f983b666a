"""cf.SelectEvents and cf.MergeSelectionStats: run the selector per input file and collect its
statistics per dataset."""

from __future__ import annotations

import contextlib

import law
import luigi

from columnar.io import read_runs_stats
from columnar.selectors.stats import merge_stats
from columnar.tasks.base import DatasetShiftTask, DatasetWorkflow
from columnar.tasks.calibration import CalibrateEvents
from columnar.tasks.chunks import (
    alias_columns,
    make_reader,
    open_writer,
    select_chunk,
    shift_aliases,
    with_aliases,
)
from columnar.tasks.external import GetDatasetLFNs
from columnar.tasks.mixins import CalibratorsMixin, SelectorMixin
from columnar.tasks.targets import localized_input


class SelectEvents(CalibratorsMixin, SelectorMixin, DatasetWorkflow):
    """Run the selector on NanoAOD and calibrator columns, overlaid.

    Per file it writes the selection result (event and step masks, object indices), the
    columns the selector produces, and the statistics (event counts, sums of generator weights;
    for simulation also the ``Runs`` bookkeeping of the file).
    """

    run_taf_attr = "selector_inst"

    @classmethod
    def get_known_shifts(cls, params: dict) -> tuple[set[str], set[str]]:
        return cls.selector_shifts(params), cls.calibrators_shifts(params)

    def _calibration_reqs(self, branch: int | None = None) -> list:
        kwargs = {} if branch is None else {"branch": branch}
        return [CalibrateEvents.req(self, calibrator=c, **kwargs) for c in self.calibrators]

    def workflow_requires(self) -> dict:
        reqs = super().workflow_requires()
        reqs["lfns"] = GetDatasetLFNs.req(self)
        reqs["calibrations"] = self._calibration_reqs(branch=-1)
        return reqs

    def requires(self) -> dict:
        reqs = {"lfns": GetDatasetLFNs.req(self), "calibrations": self._calibration_reqs(
            branch=self.branch)}
        taf_reqs = self.selector_inst.run_requires(self)
        if taf_reqs:
            reqs["taf_reqs"] = taf_reqs
        return reqs

    def output(self) -> dict:
        outputs = {
            "results": self.local_target(f"results_{self.branch}.parquet"),
            "stats": self.local_target(f"stats_{self.branch}.json"),
        }
        if self.selector_inst.produced_column_specs:
            outputs["columns"] = self.local_target(f"columns_{self.branch}.parquet")
        return outputs

    def run(self) -> None:
        if self.skip_if_complete("the pass of cf.ReduceEvents"):
            return
        inputs = self.input()
        path = inputs["lfns"].load(formatter="json")["files"][self.branch]
        selector = self.selector_inst
        selector.run_setup(self, inputs.get("taf_reqs", {}))
        is_mc = self.dataset_inst.is_mc
        aliases = shift_aliases(self)
        columns = selector.used_column_specs | alias_columns(aliases)
        if is_mc:
            columns.add("genWeight")
        stats: dict[str, float] = {}
        outputs = self.output()
        with contextlib.ExitStack() as stack:
            calib_paths = [stack.enter_context(localized_input(inp))
                           for inp in inputs["calibrations"]]
            reader = stack.enter_context(
                make_reader(self, [path, *calib_paths], columns, f"select {path}"))
            results_writer = open_writer(stack, outputs["results"])
            columns_writer = (open_writer(stack, outputs["columns"])
                              if "columns" in outputs else None)
            for chunk in reader:
                select_chunk(selector, with_aliases(chunk.events, aliases), stats, is_mc,
                             results_writer, columns_writer)
        selector.run_teardown(self)
        if is_mc:
            stats.update(read_runs_stats([path]))
        outputs["stats"].dump(stats, formatter="json", indent=1)


class MergeSelectionStats(CalibratorsMixin, SelectorMixin, DatasetShiftTask):
    """Sum the selection statistics of all files of a dataset."""

    light_run = True

    reducer = luigi.Parameter(
        default="",
        significant=False,
        description="(internal) set when the statistics are needed on the way to reduced events "
                    "of this reducer: then they come from the pass of cf.ReduceEvents, which "
                    "writes the outputs of cf.SelectEvents, instead of cf.SelectEvents itself",
    )

    @classmethod
    def get_known_shifts(cls, params: dict) -> tuple[set[str], set[str]]:
        local, upstream = SelectEvents.get_known_shifts(params)
        return set(), local | upstream

    def requires(self) -> law.Task:
        if self.reducer:
            return self.req_task("cf.ReduceEvents", reducer=self.reducer)
        return SelectEvents.req(self)

    def output(self) -> law.LocalFileTarget:
        return self.local_target("stats.json")

    def run(self) -> None:
        collection = SelectEvents.req(self).output()["collection"]
        stats = merge_stats(*(inp["stats"].load(formatter="json")
                              for inp in collection.targets.values()))
        self.output().dump(stats, formatter="json", indent=1)
        self.publish_message(
            f"dataset '{self.dataset}': {int(stats.get('num_events', 0))} events, "
            f"{int(stats.get('num_events_selected', 0))} selected")
