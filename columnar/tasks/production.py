"""cf.ProduceColumns: run one producer on the merged reduced events, store only its columns."""

from __future__ import annotations

import law

from columnar.columns import resolve_columns
from columnar.io import ParquetSource, ParquetWriter, select_columns
from columnar.tasks.base import ColumnarTaskError
from columnar.tasks.chunks import (
    alias_columns,
    make_reader,
    produced_routes,
    shift_aliases,
    with_aliases,
)
from columnar.tasks.mixins import ProducerMixin
from columnar.tasks.reduction import MergedEventsWorkflow, MergeReducedEvents
from columnar.tasks.targets import localized_input, localized_output


class ProduceColumns(ProducerMixin, MergedEventsWorkflow):
    """Run the producer on each merged file of reduced events; write the columns it produces.

    Producers read the reduced events only; a column that reduction dropped is an error that
    names the producer, the column and the config entry to change.
    """

    run_taf_attr = "producer_inst"

    @classmethod
    def get_known_shifts(cls, params: dict) -> tuple[set[str], set[str]]:
        _, upstream = super().get_known_shifts(params)
        return cls.producer_shifts(params), upstream

    def workflow_requires(self) -> dict:
        reqs = super().workflow_requires()
        reqs["events"] = MergeReducedEvents.req(self)
        return reqs

    def requires(self) -> dict:
        reqs = {"events": MergeReducedEvents.req(self, branch=self.branch)}
        taf_reqs = self.producer_inst.run_requires(self)
        if taf_reqs:
            reqs["taf_reqs"] = taf_reqs
        return reqs

    def output(self) -> law.LocalFileTarget:
        return self.local_target(f"columns_{self.branch}.parquet")

    def check_inputs(self, path: str) -> None:
        """Every column the producer reads (and does not produce itself) must be in the
        reduced events."""
        producer = self.producer_inst
        available = ParquetSource(path).routes
        produced = producer.produced_column_specs
        missing = sorted(spec for spec in producer.used_column_specs - produced
                         if not resolve_columns([spec], available))
        if missing:
            raise ColumnarTaskError(
                f"producer '{self.producer}' uses column(s) {', '.join(missing)} that are not in "
                f"the reduced events of dataset '{self.dataset}' ({path}); keep them in "
                f"reduction by adding them to the config entry keep_columns['cf.ReduceEvents'] "
                f"of config '{self.config}' (columnar.config.set_keep_columns)")

    def run(self) -> None:
        inputs = self.input()
        with localized_input(inputs["events"]) as path:
            self.check_inputs(path)
            producer = self.producer_inst
            producer.run_setup(self, inputs.get("taf_reqs", {}))
            aliases = shift_aliases(self)
            columns = producer.used_column_specs | alias_columns(aliases)
            with make_reader(self, [path], columns, f"produce {self.producer}") as reader, \
                    localized_output(self.output()) as out_path, \
                    ParquetWriter(out_path) as writer:
                for chunk in reader:
                    events = producer(with_aliases(chunk.events, aliases))
                    writer.write(select_columns(events, produced_routes(events, [producer])))
        producer.run_teardown(self)
