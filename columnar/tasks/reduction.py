"""cf.ReduceEvents, cf.MergeReductionStats and cf.MergeReducedEvents: keep the selected events
and objects with the columns the analysis needs, then merge them into files of a target size."""

from __future__ import annotations

import law
import luigi

from columnar import settings
from columnar.config import get_keep_columns
from columnar.io import (
    merge_parquet_files,
    parquet_num_rows,
)
from columnar.tasks.base import DatasetShiftTask, DatasetWorkflow
from columnar.tasks.calibration import CalibrateEvents
from columnar.tasks.external import GetDatasetLFNs
from columnar.tasks.mixins import CalibratorsMixin, ReducerMixin, SelectorMixin
from columnar.tasks.reduction_pass import run_reduction_pass
from columnar.tasks.selection import SelectEvents
from columnar.tasks.targets import (
    file_sizes,
    localized_input,
    localized_inputs,
    localized_output,
)


class ReductionParamsMixin(CalibratorsMixin, SelectorMixin, ReducerMixin):
    """Parameters of everything up to the reduced events."""

    @classmethod
    def reduction_shifts(cls, params: dict) -> tuple[set[str], set[str]]:
        local = cls.reducer_shifts(params)
        sel_local, sel_upstream = SelectEvents.get_known_shifts(params)
        return local, sel_local | sel_upstream


class ReduceEvents(ReductionParamsMixin, DatasetWorkflow):
    """Apply the event mask and object indices of the selection to NanoAOD, calibrator and
    selector columns, and keep the columns of the config entry ``keep_columns['cf.ReduceEvents']``
    plus everything the calibrators and the selector produced.

    Under a shift, the shift's aliases are applied before reduction, so the reduced events hold
    the varied values (e.g. ``Jet.pt`` scaled for ``jec_up``).

    One read per file: the calibrators and the selector run in the same pass where their
    outputs (of :class:`CalibrateEvents`, :class:`SelectEvents`) do not exist yet, and they are
    written there; and the shifts requested together (``nominal``, ``jec_up``, ``jec_down``, ...)
    that read the same inputs are reduced from the same chunks, by the first of them
    (:mod:`columnar.tasks.reduction_pass`).
    """

    run_taf_attr = "reducer_inst"
    shares_pass = True
    # before cf.CalibrateEvents and cf.SelectEvents, which then find their outputs written
    priority = 10

    @classmethod
    def get_known_shifts(cls, params: dict) -> tuple[set[str], set[str]]:
        return cls.reduction_shifts(params)

    def calibration_tasks(self, branch: int | None = None) -> list[CalibrateEvents]:
        branch = self.branch if branch is None else branch
        return [CalibrateEvents.req(self, calibrator=c, branch=branch) for c in self.calibrators]

    def selection_task(self, branch: int | None = None) -> SelectEvents:
        return SelectEvents.req(self, branch=self.branch if branch is None else branch)

    def _upstream_taf_reqs(self, branch: int | None = None) -> dict:
        """What the calibrators, the selector and the reducer of the pass require."""
        reqs = {}
        for task in self.calibration_tasks(branch):
            taf_reqs = task.calibrator_inst.run_requires(task)
            if taf_reqs:
                reqs[f"calibrator_{task.calibrator}"] = taf_reqs
        selection = self.selection_task(branch)
        for key, taf, task in [("selector", selection.selector_inst, selection),
                               ("reducer", self.reducer_inst, self)]:
            taf_reqs = taf.run_requires(task)
            if taf_reqs:
                reqs[key] = taf_reqs
        return reqs

    def workflow_requires(self) -> dict:
        reqs = super().workflow_requires()
        reqs["lfns"] = GetDatasetLFNs.req(self)
        reqs["upstream_taf_reqs"] = self._upstream_taf_reqs(branch=-1)
        return reqs

    def pass_requires(self) -> dict:
        reqs = {"lfns": GetDatasetLFNs.req(self)}
        taf_reqs = self._upstream_taf_reqs()
        if taf_reqs:
            reqs["taf_reqs"] = taf_reqs
        return reqs

    def pass_key(self) -> frozenset[str]:
        # the calibrations the pass reads or writes must be the same for all its shifts
        return super().pass_key() | {t.task_id for t in self.calibration_tasks()}

    def output(self) -> law.LocalFileTarget:
        return self.local_target(f"events_{self.branch}.parquet")

    def keep_specs(self) -> set[str]:
        specs = set(get_keep_columns(self.config_inst, "cf.ReduceEvents"))
        for taf in [*self.calibrator_insts, self.selector_inst, self.reducer_inst]:
            specs |= taf.produced_column_specs
        return specs

    def run(self) -> None:
        members = self.pass_members()
        if not members:
            self.skip_if_complete(f"the pass of shift '{self.pass_group()[0].shift}'")
            return
        run_reduction_pass(self, members)


class MergeReductionStats(ReductionParamsMixin, DatasetShiftTask):
    """Plan the merging of a dataset's reduced files into groups of about a target size."""

    light_run = True

    merge_target_mb = luigi.FloatParameter(
        default=0.0,
        description="target size of merged files in MB; default from law.cfg [columnar] "
                    "merge_target_mb",
    )

    @classmethod
    def get_known_shifts(cls, params: dict) -> tuple[set[str], set[str]]:
        local, upstream = cls.reduction_shifts(params)
        return set(), local | upstream

    def requires(self) -> ReduceEvents:
        return ReduceEvents.req(self)

    def output(self) -> law.LocalFileTarget:
        return self.local_target("merging.json")

    def run(self) -> None:
        collection = self.input()["collection"]
        # one directory listing for all sizes
        sizes = file_sizes(collection.dir)
        target = (self.merge_target_mb or settings.merge_target_mb()) * 1024 ** 2
        groups: list[list[int]] = []
        current: list[int] = []
        current_size = 0
        files = []
        for branch, inp in sorted(collection.targets.items()):
            size = sizes[inp.basename]
            with localized_input(inp) as local_path:
                n_events = parquet_num_rows(local_path)
            files.append({"branch": branch, "size": size, "events": n_events})
            if current and current_size + size > target:
                groups.append(current)
                current, current_size = [], 0
            current.append(branch)
            current_size += size
        if current:
            groups.append(current)
        self.output().dump({"target_size": target, "groups": groups, "files": files},
                           formatter="json", indent=1)
        self.publish_message(f"dataset '{self.dataset}': {len(files)} reduced files -> "
                             f"{len(groups)} merged files")


class MergedEventsWorkflow(ReductionParamsMixin, DatasetWorkflow):
    """A workflow with one branch per merged file of reduced events.

    The number of merged files is known only once all files of the dataset are reduced
    (:class:`MergeReductionStats`); until then the branch map is a placeholder with one branch,
    and it is built anew when the workflow runs, after its requirements.
    """

    cache_branch_map_default = False
    reset_branch_map_before_run = True
    local_workflow_require_branches = False

    @classmethod
    def get_known_shifts(cls, params: dict) -> tuple[set[str], set[str]]:
        local, upstream = cls.reduction_shifts(params)
        return set(), local | upstream

    def workflow_requires(self) -> dict:
        reqs = super().workflow_requires()
        reqs["merging"] = MergeReductionStats.req(self)
        return reqs

    def create_branch_map(self) -> dict[int, list[int] | None]:
        merging = MergeReductionStats.req(self).output()
        if not merging.exists():
            return {0: None}
        self.cache_branch_map = True
        return dict(enumerate(merging.load(formatter="json")["groups"]))


class MergeReducedEvents(MergedEventsWorkflow):
    """Merge the reduced files of a dataset into files of about the target size (one branch per
    merged file)."""

    def requires(self) -> dict:
        return {"events": [ReduceEvents.req(self, branch=b) for b in self.branch_data],
                "merging": MergeReductionStats.req(self)}

    def output(self) -> law.LocalFileTarget:
        return self.local_target(f"events_{self.branch}.parquet")

    def run(self) -> None:
        events = self.input()["events"]
        with localized_inputs(events) as inputs, \
                localized_output(self.output()) as out_path:
            rows = merge_parquet_files(inputs, out_path)
        self.publish_message(f"merged {len(inputs)} files, {rows} events")
