"""The chunk loop shared by the per-file tasks: read aligned sources, apply the shift's
aliases, call TAFs, write parquet (which appears only when the branch succeeds)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import awkward as ak
import luigi

from columnar.array_function import TaskArrayFunction
from columnar.columns import Route, apply_aliases, get_ak_routes, resolve_columns
from columnar.config import get_shift_aliases
from columnar.io import ChunkedReader, ParquetSource, RootSource, open_source

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
