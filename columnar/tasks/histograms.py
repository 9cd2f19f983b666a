"""cf.CreateHistograms and cf.MergeHistograms: fill one histogram per variable from the reduced
events and the producers' columns, then merge them per dataset."""

from __future__ import annotations

from collections import OrderedDict

from columnar.columns import resolve_columns
from columnar.hist import create_hist, fill_hist, merge_hists, split_variable_name, variable_columns
from columnar.io import open_source
from columnar.tasks.base import ColumnarTaskError, DatasetShiftTask, DatasetTask, join_names
from columnar.tasks.chunks import alias_columns, make_reader, shift_aliases, with_aliases
from columnar.tasks.mixins import (
    HistProducerMixin,
    ProducersMixin,
    ShiftSourcesMixin,
    VariablesMixin,
)
from columnar.tasks.production import ProduceColumns
from columnar.tasks.reduction import MergedEventsWorkflow, MergeReducedEvents, ReductionParamsMixin
from columnar.tasks.targets import (  # noqa: F401 (dump_pickle: importable from here as before)
    dump_pickle,
    dump_pickle_target,
    load_pickle,
    localized_inputs,
)


class HistogramParamsMixin(ProducersMixin, HistProducerMixin, VariablesMixin,
                           ReductionParamsMixin):
    """Parameters of everything up to the histograms."""

    @classmethod
    def histogram_shifts(cls, params: dict) -> tuple[set[str], set[str]]:
        local = cls.hist_producer_shifts(params)
        red_local, red_upstream = cls.reduction_shifts(params)
        return local, cls.producers_shifts(params) | red_local | red_upstream


class CreateHistograms(HistogramParamsMixin, MergedEventsWorkflow):
    """Fill the histograms of the requested variables for one merged file of reduced events,
    overlaid with the columns of the requested producers.

    Axes: category (every category an event is in), process, shift, variable(s). Outputs are
    one pickle per variable, so adding a variable fills only that one.
    """

    run_taf_attr = "hist_producer_inst"
    shares_pass = True

    @classmethod
    def get_known_shifts(cls, params: dict) -> tuple[set[str], set[str]]:
        return cls.histogram_shifts(params)

    def workflow_requires(self) -> dict:
        reqs = super().workflow_requires()
        reqs["events"] = MergeReducedEvents.req(self)
        reqs["producers"] = [ProduceColumns.req(self, producer=p,
                                                sibling_producers=self.producers)
                             for p in self.producers]
        return reqs

    def pass_requires(self) -> dict:
        reqs = {
            "events": MergeReducedEvents.req(self, branch=self.branch),
            "producers": [ProduceColumns.req(self, producer=p, branch=self.branch,
                                             sibling_producers=self.producers)
                          for p in self.producers],
        }
        taf_reqs = self.hist_producer_inst.run_requires(self)
        if taf_reqs:
            reqs["taf_reqs"] = taf_reqs
        return reqs

    def output(self) -> dict:
        return {v: self.local_target(f"hist_{v}_{self.branch}.pickle") for v in self.variables}

    def _variables(self, name: str) -> list:
        return [self.config_inst.get_variable(v) for v in split_variable_name(name)]

    def check_columns(self, paths: list[str], names: list[str]) -> None:
        available = [r for p in paths for r in open_source(p).routes]
        for name in names:
            for variable in self._variables(name):
                missing = [c for c in variable_columns(variable)
                           if not resolve_columns([c], available)]
                if missing:
                    raise ColumnarTaskError(
                        f"variable '{variable.name}' reads column(s) {', '.join(missing)} that "
                        f"neither the producers ({', '.join(self.producers) or 'none'}) produce "
                        f"nor reduction keeps (config entry keep_columns['cf.ReduceEvents'])")
        if not resolve_columns(["category_ids"], available):
            raise ColumnarTaskError(
                "no producer writes 'category_ids'; add a producer that does (e.g. one using "
                f"the category_ids producer) to --producers ({', '.join(self.producers)})")

    def run(self) -> None:
        """Fill the missing histograms of this branch and, as the leader of a pass, of the other
        shifts that read the same inputs (e.g. nominal and the weight shifts), in one read."""
        members = self.pass_members()
        if not members:
            self.skip_if_complete(f"the pass of shift '{self.pass_group()[0].shift}'")
            return
        todo = {task: [v for v, target in task.output().items() if not target.exists()]
                for task in members}
        inputs = self.input()
        with localized_inputs([inputs["events"], *inputs["producers"]]) as paths:
            self.check_columns(paths, sorted({v for names in todo.values() for v in names}))
            hists = self._fill(inputs, paths, todo)
        for task, task_hists in hists.items():
            outputs = task.output()
            for name, h in task_hists.items():
                dump_pickle_target(h, outputs[name])

    def _fill(self, inputs: dict, paths: list[str], todo: dict) -> dict:
        hist_producer = self.hist_producer_inst
        hist_producer.run_setup(self, inputs.get("taf_reqs", {}))
        columns = {"category_ids"} | hist_producer.used_column_specs
        for task, names in todo.items():
            columns |= alias_columns(shift_aliases(task))
            for name in names:
                for variable in self._variables(name):
                    columns |= variable_columns(variable)
        hists = {task: {name: create_hist(self._variables(name)) for name in names}
                 for task, names in todo.items()}
        process_id = self.dataset_inst.processes.get_first().id
        with make_reader(self, paths, columns, f"histograms {self.dataset}") as reader:
            for chunk in reader:
                for task, task_hists in hists.items():
                    events, weight = task.hist_producer_inst(
                        with_aliases(chunk.events, shift_aliases(task)))
                    for name, h in task_hists.items():
                        fill_hist(h, events, self._variables(name), weight,
                                  category_ids=events.category_ids, process_id=process_id,
                                  shift=task.shift)
        hist_producer.run_teardown(self)
        return hists


class MergeHistograms(HistogramParamsMixin, DatasetShiftTask):
    """Merge the histograms of all files of a dataset, one file per variable."""

    light_run = True

    @classmethod
    def get_known_shifts(cls, params: dict) -> tuple[set[str], set[str]]:
        local, upstream = cls.histogram_shifts(params)
        return set(), local | upstream

    def requires(self) -> CreateHistograms:
        return CreateHistograms.req(self)

    def output(self) -> dict:
        return {v: self.local_target(f"hist_{v}.pickle") for v in self.variables}

    def run(self) -> None:
        branches = self.input()["collection"].targets
        for name, target in self.output().items():
            if target.exists():
                continue
            hists = [load_pickle(outputs[name]) for outputs in branches.values()]
            dump_pickle_target(merge_hists(hists), target)


class MergeShiftedHistograms(ShiftSourcesMixin, HistogramParamsMixin, DatasetTask):
    """Nominal histograms plus those of the up/down shifts of ``--shift-sources`` of a dataset,
    in one histogram per variable (shift axis: nominal, <source>_up, <source>_down, ...).

    A shift that neither the dataset's tasks nor anything upstream implement (always so for
    data) resolves to the nominal task, whose histogram is used for that shift.
    """

    light_run = True

    def requires(self) -> dict:
        # the per-file tasks of shifts that read the same inputs run as one pass
        shifts = tuple(self.shift_names)
        return {shift: MergeHistograms.req(self, shift=shift, sibling_shifts=shifts)
                for shift in shifts}

    def output(self) -> dict:
        return {v: self.local_target(f"hist_{v}.pickle") for v in self.variables}

    def store_parts(self) -> OrderedDict:
        parts = super().store_parts()
        parts["shift_sources"] = join_names("shifts", list(self.shift_sources))
        return parts

    def run(self) -> None:
        inputs = self.input()
        requirements = self.requires()
        for name, target in self.output().items():
            hists = []
            for shift in self.shift_names:
                h = load_pickle(inputs[shift][name])
                hists.append(relabel_shift(h, requirements[shift].shift, shift))
            dump_pickle_target(merge_hists(hists), target)


def relabel_shift(h, source: str, target: str):
    """The content of shift *source* of *h*, as a histogram whose only shift is *target*."""
    import hist

    axes = [ax if ax.name != "shift" else hist.axis.StrCategory([target], growth=True,
                                                                name="shift", label=ax.label)
            for ax in h.axes]
    out = hist.Hist(*axes, storage=hist.storage.Weight())
    shifts = list(h.axes["shift"])
    if source in shifts:
        axis = [ax.name for ax in h.axes].index("shift")
        index = shifts.index(source)
        selection = (slice(None),) * axis + (slice(index, index + 1),)
        out.view(flow=True)[...] = h.view(flow=True)[selection]
    return out
