"""Column I/O: chunked, aligned reading of ROOT and parquet sources and atomic parquet writing.

Several files describing the same events (NanoAOD + calibrator outputs + selection columns, or
reduced events + producer outputs) are read in aligned chunks and overlaid; each source is read
only for the routes it is the last provider of::

    sources = [RootSource(nano_path), ParquetSource(calib_path)]
    reader = ChunkedReader(sources, columns=["Jet.{pt,eta}", "Jet.pt_jec_up"], chunk_size=50_000)
    with ParquetWriter(out_path) as writer:
        for chunk in reader:
            writer.write(produce(chunk.events))
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from columnar import settings
from columnar.columns import Route, _form_leaves, overlay, resolve_columns

__all__ = [
    "nano_routes", "nano_to_records", "read_nano", "read_runs_stats",
    "RootSource", "ParquetSource", "open_source", "plan_reads", "Chunk", "ChunkedReader",
    "ParquetWriter", "merge_parquet_files", "parquet_num_rows", "select_columns",
    "atomic_path",
]

logger = logging.getLogger("columnar.io")


# -- NanoAOD --------------------------------------------------------------------------------------

def nano_routes(tree: Any) -> list[Route]:
    """Routes of all data branches of a NanoAOD tree (counters like ``nJet`` are left out)."""
    keys = list(tree.keys())
    prefixes = {k.split("_", 1)[0] for k in keys if "_" in k}
    counters = {k for k in keys if k.startswith("n") and k[1:] in prefixes}
    return [Route.from_nano(k) for k in keys if k not in counters]


def nano_to_records(arrays: dict[str, ak.Array], n_events: int | None = None) -> ak.Array:
    """Group flat NanoAOD branch arrays (``Jet_pt``, ``MET_pt``, ``run``) into records."""
    groups: dict[str, dict[str, ak.Array]] = {}
    fields: dict[str, ak.Array] = {}
    for name, arr in arrays.items():
        route = Route.from_nano(name)
        if len(route) == 1:
            fields[name] = arr
        else:
            groups.setdefault(route.fields[0], {})[route.fields[1]] = arr
    for collection, columns in groups.items():
        jagged = all(arr.ndim > 1 for arr in columns.values())
        fields[collection] = ak.zip(columns, depth_limit=None if jagged else 1)
    if not fields:
        return ak.Array(ak.contents.RecordArray([], [], length=n_events or 0))
    return ak.zip(fields, depth_limit=1)


def read_nano(
    path: str,
    columns: Iterable[str],
    tree: str = "Events",
    entry_start: int | None = None,
    entry_stop: int | None = None,
) -> ak.Array:
    """Read the columns (specs with braces and wildcards) of a NanoAOD file as records."""
    import uproot

    with uproot.open(path, array_cache=None) as f:
        t = f[tree]
        routes = resolve_columns(columns, nano_routes(t))
        arrays = t.arrays([r.nano_column for r in routes], entry_start=entry_start,
                          entry_stop=entry_stop, how=dict)
        n = (entry_stop or t.num_entries) - (entry_start or 0)
    return nano_to_records(arrays, n_events=n)


def read_runs_stats(paths: Iterable[str]) -> dict[str, float]:
    """Generator bookkeeping of NanoAOD files from their ``Runs`` trees (MC only).

    Returns ``{"num_gen_events": ..., "sum_gen_weight": ..., "sum_gen_weight2": ...}``, the
    numbers before any skim, summed over files; an empty dict when the files have none.
    """
    totals = {"num_gen_events": 0.0, "sum_gen_weight": 0.0, "sum_gen_weight2": 0.0}
    names = {"genEventCount": "num_gen_events", "genEventSumw": "sum_gen_weight",
             "genEventSumw2": "sum_gen_weight2"}
    import uproot

    found = False
    for path in paths:
        with uproot.open(path) as f:
            if "Runs" not in f:
                continue
            runs = f["Runs"]
            for branch, key in names.items():
                if branch in runs.keys():
                    totals[key] += float(np.sum(runs[branch].array(library="np")))
                    found = True
    return totals if found else {}


# -- sources --------------------------------------------------------------------------------------

#: attempts and first delay (s, doubled each time) for reading remote (``root://``) files
REMOTE_READ_ATTEMPTS = 3
REMOTE_RETRY_DELAY = 2.0


def is_remote(path: str) -> bool:
    """Whether *path* is a URL of another host (``root://``, ``https://``; not ``file://``)."""
    return settings.is_url(path) and not path.startswith("file://")


def with_retries(func: Callable[[], Any], path: str, what: str) -> Any:
    """Call *func*; for a remote *path*, retry transient failures a few times with a delay."""
    attempts = REMOTE_READ_ATTEMPTS if is_remote(path) else 1
    for attempt in range(1, attempts + 1):
        try:
            return func()
        except Exception as e:
            if attempt == attempts:
                raise
            delay = REMOTE_RETRY_DELAY * 2 ** (attempt - 1)
            logger.warning(f"{what} {path} failed ({type(e).__name__}: {e}); retry "
                           f"{attempt}/{attempts - 1} in {delay:.0f} s")
            time.sleep(delay)


class RootSource:
    """A NanoAOD-like ROOT tree read with uproot, only the requested branches.

    *path* is a local file or a URL (``root://host:1094//store/file.root`` through the XRootD
    bindings, ``https://...``); uproot fetches only the byte ranges of the branches read, and
    remote reads are retried on transient failures.
    """

    kind = "root"

    def __init__(self, path: str, tree: str = "Events"):
        self.path = path
        self.tree_name = tree
        import uproot  # not at module level: the start-up of every law command would pay

        try:
            # no array cache: chunks are read once, and a cache keeps them alive
            self._file = with_retries(lambda: uproot.open(path, array_cache=None), path,
                                      "opening")
            self._tree = self._file[tree]
        except Exception as e:
            raise OSError(f"cannot open tree '{tree}' in ROOT file {path}: {e}") from e
        self.routes = nano_routes(self._tree)
        self.num_events = int(self._tree.num_entries)

    def read(self, routes: Sequence[Route], start: int, stop: int) -> ak.Array:
        branches = [r.nano_column for r in routes]
        try:
            arrays = with_retries(lambda: self._tree.arrays(branches, entry_start=start,
                                                            entry_stop=stop, how=dict),
                                  self.path, "reading")
        except Exception as e:
            raise OSError(f"cannot read branches {', '.join(branches)} of {self.path}: {e}") from e
        return nano_to_records(arrays, n_events=stop - start)

    def close(self) -> None:
        self._file.close()


def _strip_unmasked(layout: ak.contents.Content, **kwargs: Any) -> ak.contents.Content | None:
    if isinstance(layout, ak.contents.UnmaskedArray):
        return ak.transform(_strip_unmasked, layout.content, highlevel=False)
    return None


def strip_unmasked(arr: ak.Array) -> ak.Array:
    """Remove option types that cannot hold a missing value (as pyarrow creates them for the
    records of a list when only some of their fields are read); no data is copied."""
    return ak.transform(_strip_unmasked, arr)


class ParquetSource:
    """A parquet file written by columnar, read with pyarrow, only the requested columns."""

    kind = "parquet"

    def __init__(self, path: str):
        self.path = path
        try:
            self._file = pq.ParquetFile(path)
            meta = ak.metadata_from_parquet(path)
        except Exception as e:
            raise OSError(f"cannot open parquet file {path}: {e}") from e
        self.routes = [Route(p) for p in _form_leaves(meta["form"], ()) if p]
        md = self._file.metadata
        self._group_starts = np.cumsum([0] + [md.row_group(i).num_rows
                                              for i in range(md.num_row_groups)])
        self.num_events = int(md.num_rows)

    def read(self, routes: Sequence[Route], start: int, stop: int) -> ak.Array:
        if stop <= start:
            groups = [0] if len(self._group_starts) > 1 else []
        else:
            first = int(np.searchsorted(self._group_starts, start, side="right") - 1)
            last = int(np.searchsorted(self._group_starts, stop, side="left"))
            groups = list(range(first, last))
        columns = [r.column for r in routes]
        try:
            arr = ak.from_parquet(self.path, columns=columns, row_groups=groups)
        except Exception as e:
            raise OSError(f"cannot read columns {', '.join(columns)} of {self.path}: {e}") from e
        offset = int(self._group_starts[groups[0]]) if groups else 0
        return strip_unmasked(arr[start - offset:stop - offset])

    def close(self) -> None:
        self._file.close()


def open_source(path: str) -> RootSource | ParquetSource:
    """A source for *path*, by its extension (``.parquet`` or ROOT otherwise)."""
    return ParquetSource(path) if path.endswith(".parquet") else RootSource(path)


def plan_reads(
    sources: Sequence[RootSource | ParquetSource],
    columns: Iterable[str],
    strict: bool = False,
) -> list[list[Route]]:
    """For each source, the routes to read from it: those that match *columns* and for which
    it is the last source providing them (later sources win, as in :func:`overlay`)."""
    columns = list(columns)
    plan: list[list[Route]] = [[] for _ in sources]
    taken: set[Route] = set()
    for i in reversed(range(len(sources))):
        for route in resolve_columns(columns, sources[i].routes):
            if route not in taken:
                plan[i].append(route)
                taken.add(route)
    if strict:
        resolve_columns(columns, list(taken), strict=True)
    return plan


# -- chunked reading ------------------------------------------------------------------------------

@dataclass
class Chunk:
    """Events of the range ``[start, stop)`` of all sources, overlaid."""

    index: int
    start: int
    stop: int
    events: ak.Array


class ChunkedReader:
    """Aligned chunks of several sources of the same events, overlaid in order.

    The next chunk is read in a background thread while the caller works on the current one.
    A source whose number of events differs from the first is an error naming both files.
    """

    def __init__(
        self,
        sources: Sequence[RootSource | ParquetSource],
        columns: Iterable[str],
        chunk_size: int = 100_000,
        progress: Callable[[int, int, float], None] | None = None,
    ):
        if not sources:
            raise ValueError("ChunkedReader needs at least one source")
        # sources without columns (e.g. of a producer skipped for data) contribute nothing
        self.sources = [sources[0]] + [src for src in sources[1:] if src.routes]
        self.num_events = self.sources[0].num_events
        for src in self.sources[1:]:
            if src.num_events != self.num_events:
                raise ValueError(
                    f"sources are not aligned: {self.sources[0].path} has {self.num_events} "
                    f"events, {src.path} has {src.num_events}")
        self.plan = plan_reads(self.sources, columns)
        self.chunk_size = max(1, int(chunk_size))
        self.progress = progress

    @property
    def num_chunks(self) -> int:
        return max(1, -(-self.num_events // self.chunk_size))

    def read(self, start: int, stop: int) -> ak.Array:
        """The overlaid events of ``[start, stop)``."""
        parts = [src.read(routes, start, stop)
                 for src, routes in zip(self.sources, self.plan) if routes]
        if not parts:
            return ak.Array(ak.contents.RecordArray([], [], length=stop - start))
        return overlay(parts[0], *parts[1:]) if len(parts) > 1 else parts[0]

    def __iter__(self) -> Iterator[Chunk]:
        bounds = [(i, i * self.chunk_size, min(self.num_events, (i + 1) * self.chunk_size))
                  for i in range(self.num_chunks)]
        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(self.read, *bounds[0][1:])
            for n, (i, start, stop) in enumerate(bounds):
                events = future.result()
                if n + 1 < len(bounds):
                    future = pool.submit(self.read, *bounds[n + 1][1:])
                yield Chunk(i, start, stop, events)
                if self.progress is not None:
                    self.progress(stop, self.num_events, time.perf_counter() - t0)

    def close(self) -> None:
        for src in self.sources:
            src.close()

    def __enter__(self) -> ChunkedReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- writing --------------------------------------------------------------------------------------

def _project(arr: ak.Array, paths: list[tuple[str, ...]]) -> ak.Array:
    """*arr* with only the fields at *paths* (relative), keeping its list structure."""
    if any(not p for p in paths):
        return arr
    fields = list(dict.fromkeys(p[0] for p in paths))
    if all(len(p) == 1 for p in paths):
        return arr[fields]
    return ak.zip({f: _project(arr[f], [p[1:] for p in paths if p[0] == f]) for f in fields},
                  depth_limit=arr.ndim)


def select_columns(events: ak.Array, routes: Iterable[Route]) -> ak.Array:
    """A new array holding only the given routes of *events* (no data is copied)."""
    paths = [Route(r).fields for r in routes]
    if not paths:
        return ak.Array(ak.contents.RecordArray([], [], length=len(events)))
    return _project(events, paths)


def atomic_path(path: str) -> str:
    """A temporary path next to *path*, moved into place with ``os.replace``."""
    directory, name = os.path.split(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    return os.path.join(directory, f".{name}.{uuid.uuid4().hex[:8]}.tmp")


class ParquetWriter:
    """Write chunks of events as row groups of one parquet file that appears only on success.

    Conversion and writing run in a background thread, so that the caller computes the next
    chunk meanwhile. Column types must agree across chunks.
    """

    def __init__(self, path: str, compression: str = "zstd", compression_level: int | None = 1):
        self.path = path
        self.tmp_path = atomic_path(path)
        self.compression = compression
        self.compression_level = compression_level
        self._writer: pq.ParquetWriter | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self._pending: concurrent.futures.Future | None = None
        self.num_rows = 0

    def _write(self, events: ak.Array) -> None:
        table = ak.to_arrow_table(events, extensionarray=False, list_to32=False)
        if self._writer is None:
            self._writer = pq.ParquetWriter(
                self.tmp_path, table.schema, compression=self.compression,
                compression_level=self.compression_level, use_dictionary=False,
                write_statistics=False)
        elif not table.schema.equals(self._writer.schema):
            try:
                table = table.cast(self._writer.schema)
            except (pa.ArrowInvalid, ValueError, TypeError, NotImplementedError) as e:
                raise TypeError(
                    f"columns of a chunk written to {self.path} differ in type from the first "
                    f"chunk:\n{table.schema}\nvs\n{self._writer.schema}") from e
        self._writer.write_table(table, row_group_size=max(1, len(table)))
        self.num_rows += len(table)

    def write(self, events: ak.Array) -> None:
        """Queue *events* for writing (a chunk becomes one row group)."""
        self._wait()
        self._pending = self._pool.submit(self._write, events)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def close(self) -> None:
        """Finish writing and move the file into place."""
        try:
            self._wait()
        finally:
            self._pool.shutdown(wait=True)
        if self._writer is None:
            raise RuntimeError(f"nothing was written to {self.path}; write at least one "
                               "(possibly empty) chunk")
        self._writer.close()
        os.replace(self.tmp_path, self.path)

    def abort(self) -> None:
        """Drop everything written so far."""
        try:
            self._wait()
        except Exception:
            pass
        self._pool.shutdown(wait=True)
        if self._writer is not None:
            self._writer.close()
        if os.path.exists(self.tmp_path):
            os.remove(self.tmp_path)

    def __enter__(self) -> ParquetWriter:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def parquet_num_rows(path: str) -> int:
    return int(pq.ParquetFile(path).metadata.num_rows)


def merge_parquet_files(inputs: Sequence[str], output: str) -> int:
    """Concatenate parquet files with the same schema into *output* (atomically), row group by
    row group, without converting to awkward. Returns the number of rows."""
    tmp = atomic_path(output)
    writer = None
    rows = 0
    try:
        for path in inputs:
            f = pq.ParquetFile(path)
            if writer is None:
                writer = pq.ParquetWriter(tmp, f.schema_arrow, compression="zstd",
                                          compression_level=1, use_dictionary=False,
                                          write_statistics=False)
            elif not f.schema_arrow.equals(writer.schema):
                raise TypeError(f"cannot merge {path}: its schema differs from {inputs[0]}")
            for i in range(f.metadata.num_row_groups):
                table = f.read_row_group(i)
                if len(table) or rows == 0:
                    writer.write_table(table)
                    rows += len(table)
        if writer is None:
            raise ValueError(f"no input files to merge into {output}")
        writer.close()
        os.replace(tmp, output)
    except BaseException:
        if writer is not None:
            writer.close()
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return rows
