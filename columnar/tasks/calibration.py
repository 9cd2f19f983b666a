"""cf.CalibrateEvents: run one calibrator per input file, store only its columns."""

from __future__ import annotations

import law

from columnar.io import ParquetWriter
from columnar.tasks.base import DatasetWorkflow
from columnar.tasks.chunks import (
    alias_columns,
    make_reader,
    produced_columns,
    shift_aliases,
    with_aliases,
)
from columnar.tasks.external import GetDatasetLFNs
from columnar.tasks.mixins import CalibratorMixin
from columnar.tasks.targets import localized_output


class CalibrateEvents(CalibratorMixin, DatasetWorkflow):
    """Run the calibrator on the NanoAOD columns it uses; write the columns it produces."""

    run_taf_attr = "calibrator_inst"

    @classmethod
    def get_known_shifts(cls, params: dict) -> tuple[set[str], set[str]]:
        local, _ = GetDatasetLFNs.get_known_shifts(params)
        return cls.calibrator_shifts(params), local

    def workflow_requires(self) -> dict:
        reqs = super().workflow_requires()
        reqs["lfns"] = GetDatasetLFNs.req(self)
        return reqs

    def requires(self) -> dict:
        reqs = {"lfns": GetDatasetLFNs.req(self)}
        taf_reqs = self.calibrator_inst.run_requires(self)
        if taf_reqs:
            reqs["taf_reqs"] = taf_reqs
        return reqs

    def output(self) -> law.LocalFileTarget:
        return self.local_target(f"calib_{self.branch}.parquet")

    def run(self) -> None:
        if self.skip_if_complete("the pass of cf.ReduceEvents"):
            return
        inputs = self.input()
        path = inputs["lfns"].load(formatter="json")["files"][self.branch]
        calibrator = self.calibrator_inst
        calibrator.run_setup(self, inputs.get("taf_reqs", {}))
        aliases = shift_aliases(self)
        columns = calibrator.used_column_specs | alias_columns(aliases)
        with make_reader(self, [path], columns, f"calibrate {path}") as reader, \
                localized_output(self.output()) as out_path, ParquetWriter(out_path) as writer:
            for chunk in reader:
                events = calibrator(with_aliases(chunk.events, aliases))
                writer.write(produced_columns(events, calibrator))
        calibrator.run_teardown(self)
