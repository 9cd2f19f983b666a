"""cf.ProduceColumns: run one producer on the merged reduced events, store only its columns."""

from __future__ import annotations

import contextlib

import law

from columnar.columns import resolve_columns
from columnar.io import ParquetSource
from columnar.tasks.base import ColumnarTaskError
from columnar.tasks.chunks import (
    alias_columns,
    make_reader,
    open_writer,
    produced_columns,
    shift_aliases,
    taf_inputs,
    with_aliases,
)
from columnar.tasks.mixins import ProducerMixin
from columnar.tasks.reduction import MergedEventsWorkflow, MergeReducedEvents
from columnar.tasks.targets import localized_input


class ProduceColumns(ProducerMixin, MergedEventsWorkflow):
    """Run the producer on each merged file of reduced events; write the columns it produces.

    Producers read the reduced events only; a column that reduction dropped is an error that
    names the producer, the column and the config entry to change. The producers requested
    together (``--producers`` of the task that reads their columns) run in one pass over each
    file, led by the first of them.
    """

    run_taf_attr = "producer_inst"
    shares_pass = True

    sibling_producers = law.CSVParameter(
        default=(),
        significant=False,
        description="(internal) the producers requested together with this one; they run in "
                    "one pass over the reduced events",
    )

    exclude_params_index = {"sibling_producers"}

    @classmethod
    def get_known_shifts(cls, params: dict) -> tuple[set[str], set[str]]:
        _, upstream = super().get_known_shifts(params)
        return cls.producer_shifts(params), upstream

    def workflow_requires(self) -> dict:
        reqs = super().workflow_requires()
        reqs["events"] = MergeReducedEvents.req(self)
        return reqs

    def pass_requires(self) -> dict:
        reqs = {"events": MergeReducedEvents.req(self, branch=self.branch)}
        taf_reqs = self.producer_inst.run_requires(self)
        if taf_reqs:
            reqs["taf_reqs"] = taf_reqs
        return reqs

    def pass_key(self) -> frozenset[str]:
        # producers with the same reduced events share a pass (their own requirements differ)
        return frozenset([MergeReducedEvents.req(self, branch=self.branch).task_id])

    def pass_candidates(self) -> list[law.Task]:
        if len(self.sibling_producers) < 2:
            return []
        return [self.req(self, producer=p) for p in self.sibling_producers]

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
        members = self.pass_members()
        if not members:
            self.skip_if_complete(f"the pass of producer '{self.pass_group()[0].producer}'")
            return
        with localized_input(self.input()["events"]) as path, contextlib.ExitStack() as stack:
            columns: set[str] = set()
            writers = []
            for task in members:
                task.check_inputs(path)
                task.producer_inst.run_setup(task, taf_inputs(task.producer_inst, task))
                columns |= task.producer_inst.used_column_specs | alias_columns(
                    shift_aliases(task))
                writers.append(open_writer(stack, task.output()))
            label = f"produce {','.join(task.producer for task in members)}"
            with make_reader(self, [path], columns, label) as reader:
                for chunk in reader:
                    for task, writer in zip(members, writers):
                        producer = task.producer_inst
                        events = producer(with_aliases(chunk.events, shift_aliases(task)))
                        writer.write(produced_columns(events, producer))
        for task in members:
            task.producer_inst.run_teardown(task)
