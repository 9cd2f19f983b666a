"""The chunk loop shared by the per-file tasks: read aligned sources, apply the shift's
aliases, call TAFs, write parquet (which appears only when the branch succeeds)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, MutableMapping, Sequence

import awkward as ak
import luigi

from columnar.array_function import TaskArrayFunction
from columnar.columns import Route, apply_aliases, get_ak_routes, resolve_columns
from columnar.config import get_shift_aliases
from columnar.io import (
    ChunkedReader,
    ParquetSource,
    ParquetWriter,
    RootSource,
    open_source,
    select_columns,
)
from columnar.selectors.stats import increment_stats
from columnar.tasks.targets import localized_output

logger = logging.getLogger("columnar.tasks")


def shift_aliases(task) -> dict[str, str]:
    """Column aliases of the task's shift (empty for nominal)."""
    if task.shift == "nominal":
        return {}
    return get_shift_aliases(task.shift_inst)


def alias_columns(aliases: dict[str, str]) -> set[str]:
    """Columns needed to apply *aliases* (their sources)."""
    return set(aliases.values())


def open_sources(paths: Sequence[str]) -> list[RootSource | ParquetSource]:
    return [open_source(p) for p in paths]


def with_aliases(events: ak.Array, aliases: dict[str, str]) -> ak.Array:
    """Apply *aliases* whose sources are present (others cannot matter for this task)."""
    if not aliases:
        return events
    present = {t: s for t, s in aliases.items()
               if resolve_columns([s], get_ak_routes(events))}
    return apply_aliases(events, present) if present else events


def produced_routes(events: ak.Array, tafs: Iterable[TaskArrayFunction]) -> list[Route]:
    """Routes of *events* declared as produced by *tafs* (patterns resolved)."""
    specs: set[str] = set()
    for taf in tafs:
        specs |= taf.produced_column_specs
    return resolve_columns(sorted(specs), get_ak_routes(events))


def produced_columns(events: ak.Array, taf: TaskArrayFunction) -> ak.Array:
    """Only the columns of *events* that *taf* declares as produced."""
    return select_columns(events, produced_routes(events, [taf]))


def open_writer(stack: contextlib.ExitStack, target) -> ParquetWriter:
    """A parquet writer of *target* that lives as long as *stack* (the file appears when the
    stack closes without an exception)."""
    return stack.enter_context(ParquetWriter(stack.enter_context(localized_output(target))))


def select_chunk(
    selector: TaskArrayFunction,
    events: ak.Array,
    stats: MutableMapping[str, float],
    is_mc: bool,
    results_writer: ParquetWriter,
    columns_writer: ParquetWriter | None = None,
) -> tuple[ak.Array, ak.Array]:
    """Run *selector* on a chunk, add to the selection *stats*, write the selection result
    (and the selector's columns); return the events and the result as an array."""
    events, result = selector(events, stats=stats)
    increment_stats(events, result, stats, is_mc=is_mc)
    selection = result.to_ak(len(events))
    results_writer.write(selection)
    if columns_writer is not None:
        columns_writer.write(produced_columns(events, selector))
    return events, selection


def used_specs(tafs: Iterable[TaskArrayFunction]) -> set[str]:
    specs: set[str] = set()
    for taf in tafs:
        specs |= taf.used_column_specs
    return specs


def taf_inputs(taf: TaskArrayFunction, task) -> dict:
    """The outputs of what the TAF requires for *task* (its setup hook's ``inputs``)."""
    return luigi.task.getpaths(taf.run_requires(task))


def make_reader(task, paths: Sequence[str], columns: Iterable[str], label: str) -> ChunkedReader:
    return ChunkedReader(open_sources(paths), columns, chunk_size=task.effective_chunk_size,
                         progress=task.progress_callback(label))
