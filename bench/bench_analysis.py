"""The analysis module of the benchmark: the demo ttbar-lite analysis on a campaign chosen by
environment variables, as a user would write it (``--analysis bench.bench_analysis.analysis_inst``).

Environment variables (all optional; ``bench/run.py`` sets them):

- ``COLUMNAR_BENCH_CAMPAIGN``: directory of the synthetic campaign (default
  ``bench/.cache/campaign``); generated on first use with the settings below
- ``COLUMNAR_BENCH_EVENTS``, ``COLUMNAR_BENCH_FILES``, ``COLUMNAR_BENCH_SEED``: events per MC
  dataset, files per dataset, seed of the campaign
- ``COLUMNAR_BENCH_LUMI``: luminosity in pb^-1 of the pseudo-data and of the MC normalisation
- ``COLUMNAR_BENCH_EXTRA=1``: register the producer ``bench_st`` (``st = sum(Jet.pt) + MET.pt``)
  and add the variable ``st``; used to time the incremental case
- ``COLUMNAR_BENCH_TASKLOG=DIR``: instrumentation, not analysis. Every luigi task start, success
  and failure is appended as a JSON line to ``DIR/tasks.<pid>.jsonl`` (time, pid, family, branch,
  shift, dataset, current and peak RSS of the process), with the byte ranges of ROOT files read
  since the previous event of the same process: ``requested`` (what uproot asks its source
  for, counted at ``FSSpecSource``/``MemmapSource.chunk(s)``) and ``fetched`` (what the source
  reads from the file system after merging nearby ranges, counted at fsspec's
  ``LocalFileSystem.cat_file``).
- ``COLUMNAR_BENCH_EXPERIMENT=NAME[,NAME]``: what-if patches of ``EXPERIMENTS`` (below), to
  measure a change without editing columnar; never used for the reported numbers.
"""

from __future__ import annotations

import json
import os
import threading
import time

import awkward as ak
import numpy as np
import order as od

from columnar.columns import set_ak_column
from columnar.config import add_variable
from columnar.demo import calibration, production, selection  # noqa: F401 (register the TAFs)
from columnar.demo.config import create_config
from columnar.demo.constants import LUMI_PB
from columnar.producers import producer
from columnar.reducers import default as default_reducer  # noqa: F401

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "")
    return value if value else default


def campaign_settings() -> dict:
    """Campaign directory and generation settings from the environment."""
    return {
        "campaign_dir": os.path.abspath(_env("COLUMNAR_BENCH_CAMPAIGN",
                                             os.path.join(BENCH_DIR, ".cache", "campaign"))),
        "events": int(_env("COLUMNAR_BENCH_EVENTS", "100000")),
        "files_per_dataset": int(_env("COLUMNAR_BENCH_FILES", "2")),
        "seed": int(_env("COLUMNAR_BENCH_SEED", "42")),
        "lumi": float(_env("COLUMNAR_BENCH_LUMI", str(LUMI_PB))),
    }


# -- the extra producer of the incremental case ---------------------------------------------

EXTRA = _env("COLUMNAR_BENCH_EXTRA", "0") not in ("0", "false", "no")
EXTRA_PRODUCER = "bench_st"
EXTRA_VARIABLE = "st"

if EXTRA:
    @producer(uses={"Jet.pt", "MET.pt"}, produces={"st"})
    def bench_st(self, events: ak.Array, **kwargs) -> ak.Array:
        """Scalar sum of the selected jets' pt and the missing transverse momentum."""
        st = ak.sum(events.Jet.pt, axis=1) + events.MET.pt
        return set_ak_column(events, "st", st, value_type=np.float32)


# -- the analysis ---------------------------------------------------------------------------

def build_analysis() -> od.Analysis:
    s = campaign_settings()
    analysis = od.Analysis("ttbar_lite", 1)
    config = create_config(
        analysis, campaign_dir=s["campaign_dir"], lumi=s["lumi"],
        campaign={"events": s["events"], "files_per_dataset": s["files_per_dataset"],
                  "seed": s["seed"]},
    )
    if EXTRA:
        add_variable(config, EXTRA_VARIABLE, binning=(20, 100.0, 900.0), x_title=r"$S_T$",
                     unit="GeV")
    return analysis


analysis_inst = build_analysis()


# -- instrumentation (benchmark only) -------------------------------------------------------

class _TaskLog:
    """Per-process JSON-lines log of luigi task events and of the bytes read from ROOT files."""

    def __init__(self, directory: str):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.lock = threading.Lock()
        self.ranges: dict[str, dict[str, list[tuple[int, int]]]] = {}

    def record(self, kind: str, path: str, ranges) -> None:
        path = os.path.abspath(str(path))
        with self.lock:
            per_kind = self.ranges.setdefault(kind, {})
            per_kind.setdefault(path, []).extend((int(a), int(b)) for a, b in ranges)

    def take_ranges(self) -> dict[str, dict[str, list[tuple[int, int]]]]:
        with self.lock:
            out, self.ranges = self.ranges, {}
        return out

    def emit(self, event: str, task, **extra) -> None:
        is_workflow = getattr(task, "is_workflow", None)
        record = {
            "event": event, "time": time.time(), "pid": os.getpid(),
            "family": task.task_family, "id": task.task_id,
            "branch": getattr(task, "branch", None),
            "is_workflow": bool(is_workflow()) if callable(is_workflow) else False,
            "dataset": getattr(task, "dataset", None), "shift": getattr(task, "shift", None),
            "io": self.take_ranges(), **_memory(), **extra,
        }
        path = os.path.join(self.directory, f"tasks.{os.getpid()}.jsonl")
        with open(path, "a") as f:
            f.write(json.dumps(record) + "\n")


def _memory() -> dict:
    """Current and peak resident memory of this process in MB."""
    import resource

    out = {"maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    try:
        with open("/proc/self/statm") as f:
            out["rss_mb"] = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        pass
    return out


def _install_task_log(directory: str) -> _TaskLog:
    """Count uproot's byte requests and the bytes actually fetched, and log task events."""
    import fsspec.implementations.local as fsl
    import luigi
    import uproot.source.file as usf
    import uproot.source.fsspec as usfs

    log = _TaskLog(directory)

    # what uproot asks for (before coalescing of nearby ranges), per source class
    def wrap_source(cls):
        chunk, chunks = cls.chunk, cls.chunks

        def counted_chunk(self, start, stop):
            log.record("requested", self._file_path, [(start, stop)])
            return chunk(self, start, stop)

        def counted_chunks(self, ranges, notifications):
            log.record("requested", self._file_path, ranges)
            return chunks(self, ranges, notifications)

        cls.chunk, cls.chunks = counted_chunk, counted_chunks

    wrap_source(usfs.FSSpecSource)  # uproot's default for local paths
    wrap_source(usf.MemmapSource)   # handler=uproot.MemmapSource

    # what is fetched from the file system (after coalescing): fsspec's local cat_file
    cat_file = fsl.LocalFileSystem.cat_file

    def counted_cat_file(self, path, start=None, end=None, **kwargs):
        data = cat_file(self, path, start=start, end=end, **kwargs)
        if path.endswith(".root"):
            first = start or 0
            log.record("fetched", path, [(first, first + len(data))])
        return data

    fsl.LocalFileSystem.cat_file = counted_cat_file

    @luigi.Task.event_handler(luigi.Event.START)
    def _on_start(task):
        log.emit("start", task)

    @luigi.Task.event_handler(luigi.Event.SUCCESS)
    def _on_success(task):
        log.emit("success", task)

    @luigi.Task.event_handler(luigi.Event.FAILURE)
    def _on_failure(task, exception):
        log.emit("failure", task, error=repr(exception)[:500])

    return log


#: the instrumentation of this process (None unless COLUMNAR_BENCH_TASKLOG is set)
TASK_LOG = (_install_task_log(os.environ["COLUMNAR_BENCH_TASKLOG"])
            if os.environ.get("COLUMNAR_BENCH_TASKLOG") else None)


# -- what-if experiments (benchmark only, never used for the reported numbers) -------------------

def _experiment_uproot_no_array_cache() -> None:
    """Open ROOT files without uproot's per-file array cache (default "100 MB"), to measure
    what the cache costs in memory: columnar reads every entry range once, and the cache keeps
    the arrays of a closed file alive until the garbage collector breaks the file's reference
    cycles."""
    import functools

    import uproot

    import columnar.io

    @functools.wraps(uproot.open)
    def open_without_cache(path, *args, **kwargs):
        kwargs.setdefault("array_cache", None)
        return uproot.open(path, *args, **kwargs)

    class _Uproot:
        def __getattr__(self, name):
            return open_without_cache if name == "open" else getattr(uproot, name)

    columnar.io.uproot = _Uproot()


EXPERIMENTS = {"uproot_no_array_cache": _experiment_uproot_no_array_cache}

for _name in filter(None, os.environ.get("COLUMNAR_BENCH_EXPERIMENT", "").split(",")):
    if _name not in EXPERIMENTS:
        raise ValueError(f"unknown COLUMNAR_BENCH_EXPERIMENT '{_name}'; known: "
                         f"{', '.join(EXPERIMENTS)}")
    EXPERIMENTS[_name]()
