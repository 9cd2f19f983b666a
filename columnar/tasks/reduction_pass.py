"""The pass of cf.ReduceEvents over one input file: calibrate, select and reduce the events of
several shifts from a single read of NanoAOD.

Outputs of cf.CalibrateEvents and cf.SelectEvents that do not exist yet are written along the
way (to their own places, so those tasks are complete afterwards); existing ones are read
instead of computed. Each shift of the pass gets its aliases applied to the same in-memory
chunk, so e.g. ``nominal``, ``jec_up`` and ``jec_down`` decompress the file once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import awkward as ak
import law

from columnar.columns import get_ak_routes, overlay, resolve_columns
from columnar.io import ChunkedReader, ParquetSource, ParquetWriter, read_runs_stats, select_columns
from columnar.tasks.chunks import (
    alias_columns,
    make_reader,
    open_writer,
    produced_columns,
    select_chunk,
    shift_aliases,
    taf_inputs,
    with_aliases,
)
from columnar.tasks.targets import localized_input


@dataclass
class Calibration:
    """A calibrator whose columns the pass computes and writes (the columns of calibrations
    that exist are read with the NanoAOD file instead)."""

    task: law.Task
    writer: ParquetWriter

    def __call__(self, events: ak.Array) -> ak.Array:
        taf = self.task.calibrator_inst
        produced = produced_columns(taf(with_aliases(events, shift_aliases(self.task))), taf)
        self.writer.write(produced)
        return overlay(events, produced)


@dataclass
class Member:
    """One shift of the pass: its ReduceEvents task and the selection it needs."""

    task: law.Task
    selection: law.Task
    writer: ParquetWriter
    # computed selection: writers and statistics
    results_writer: ParquetWriter | None = None
    columns_writer: ParquetWriter | None = None
    stats: dict[str, float] | None = None
    # existing selection: chunk iterators of its results (and columns)
    results: Iterator | None = None
    columns: Iterator | None = None
    keep: list[str] = field(default_factory=list)

    @property
    def aliases(self) -> dict[str, str]:
        return shift_aliases(self.task)

    def __call__(self, events: ak.Array) -> None:
        events = with_aliases(events, self.aliases)
        if self.stats is not None:
            events, selection = select_chunk(
                self.selection.selector_inst, events, self.stats,
                self.task.dataset_inst.is_mc, self.results_writer, self.columns_writer)
        else:
            selection = next(self.results).events
            if self.columns is not None:
                events = overlay(events, next(self.columns).events)
        events = self.task.reducer_inst(events, selection=selection)
        self.writer.write(select_columns(events, resolve_columns(self.keep,
                                                                 get_ak_routes(events))))


def run_reduction_pass(leader: law.Task, tasks: list[law.Task]) -> None:
    """Calibrate, select and reduce the input file of *leader* for all *tasks* (ReduceEvents
    branches of the same file and calibrators, one per shift) in one read."""
    path = leader.input()["lfns"].load(formatter="json")["files"][leader.branch]
    is_mc = leader.dataset_inst.is_mc
    set_up: list[tuple[Any, law.Task]] = []

    def setup(taf, task: law.Task) -> None:
        if all(taf is not t for t, _ in set_up):
            taf.run_setup(task, taf_inputs(taf, task))
            set_up.append((taf, task))

    with contextlib.ExitStack() as stack:
        def local(target) -> str:
            return stack.enter_context(localized_input(target))

        aligned: list[ChunkedReader] = []

        def chunks(target) -> Iterator:
            reader = stack.enter_context(ChunkedReader(
                [ParquetSource(local(target))], ["*"], chunk_size=leader.effective_chunk_size))
            aligned.append(reader)
            return iter(reader)

        sources = [path]
        columns: set[str] = set()
        calibrations = []
        for task in leader.calibration_tasks():
            if task.complete():
                sources.append(local(task.output()))
                continue
            setup(task.calibrator_inst, task)
            columns |= task.calibrator_inst.used_column_specs | alias_columns(
                shift_aliases(task))
            calibrations.append(Calibration(task, open_writer(stack, task.output())))

        members = []
        for task in tasks:
            selection = task.selection_task()
            member = Member(task, selection, open_writer(stack, task.output()),
                            keep=sorted(task.keep_specs()))
            sel_outputs = selection.output()
            if selection.complete():
                member.results = chunks(sel_outputs["results"])
                if "columns" in sel_outputs:
                    member.columns = chunks(sel_outputs["columns"])
            else:
                setup(selection.selector_inst, selection)
                member.stats = {}
                member.results_writer = open_writer(stack, sel_outputs["results"])
                if "columns" in sel_outputs:
                    member.columns_writer = open_writer(stack, sel_outputs["columns"])
                columns |= selection.selector_inst.used_column_specs
                if is_mc:
                    columns.add("genWeight")
            setup(task.reducer_inst, task)
            columns |= set(member.keep) | task.reducer_inst.used_column_specs | alias_columns(
                member.aliases)
            members.append(member)

        reader = stack.enter_context(make_reader(leader, sources, columns, f"reduce {path}"))
        for other in aligned:
            if other.num_events != reader.num_events:
                raise ValueError(f"selection output {other.sources[0].path} has "
                                 f"{other.num_events} events, the input {path} has "
                                 f"{reader.num_events}")
        for chunk in reader:
            events = chunk.events
            for calibrate in calibrations:
                events = calibrate(events)
            for member in members:
                member(events)

        # before the parquet files appear: a complete reduction implies complete selections
        computed = [m for m in members if m.stats is not None]
        runs_stats = read_runs_stats([path]) if is_mc and computed else {}
        for member in computed:
            member.stats.update(runs_stats)
            member.selection.output()["stats"].dump(member.stats, formatter="json", indent=1)

    for taf, task in set_up:
        taf.run_teardown(task)
