"""Benchmark of the columnar task chain on the ttbar-lite analysis (shared/bench/ANALYSIS.md).

    python bench/run.py [--events N] [--files K] [--workers 1,2] [--quick] [--output results.json]

Measures, from an empty store each time, the full chain (all datasets, nominal and every shift,
merged histograms and the plots) with each worker count, the single-pass coffea reference
(bench/reference_processor.py) on the same files, and checks that both give the same
histograms; then the no-op re-run, the incremental case (one new producer and variable), the
peak memory at the default and at twice the input size, the bytes read from the ROOT files
versus the compressed size of the branches used, and a per-task-family time breakdown. Writes
a JSON file and prints a markdown table. See bench/README.md for the method of every number.
"""

from __future__ import annotations

import argparse
import collections
import glob
import importlib.metadata
import json
import os
import pickle
import platform
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CACHE = BENCH / ".cache"

ANALYSIS = "bench.bench_analysis.analysis_inst"
VERSION = "bench"
ANALYSIS_NAME = "ttbar_lite"

#: luminosity per MC event and dataset: the demo's 3378 pb^-1 go with ~805k data events, so
#: lumi = 3378 * N / 1e6 gives ~0.8 N data events for N events per MC dataset
LUMI_PER_MC_EVENT = 3378.0 / 1_000_000

#: default: 315k events per MC dataset (tt, dy, wjets) + ~254k data = ~1.2M events, in 2 files
#: per dataset (157k MC / 127k data events per file: every file fills whole chunks of the
#: default chunk size 100k, at 1x and at 2x input, so that doubling the input doubles the
#: number of chunks, not their size)
DEFAULT_EVENTS = 315_000
DEFAULT_FILES = 2
QUICK_EVENTS = 4_000
QUICK_FILES = 1
SEED = 42

MC_DATASETS = ("tt", "dy", "wjets")
DATASETS = MC_DATASETS + ("data",)
SHIFTS = ["nominal", "jec_up", "jec_down", "btag_up", "btag_down", "mu_up", "mu_down"]
VARIABLES = ["ht", "m_bjj", "jet1_pt", "n_jet", "met"]
EXTRA_PRODUCER, EXTRA_VARIABLE = "bench_st", "st"

FULL_ARGS = ["--categories", "4j1b", "--shift-sources", "jec,btag,mu"]
INCREMENTAL_ARGS = ["--producers", f"features,weights,{EXTRA_PRODUCER}",
                    "--variables", EXTRA_VARIABLE, "--categories", "4j1b"]
#: task families that may run again in the incremental case
INCREMENTAL_ALLOWED = {"cf.ProduceColumns", "cf.CreateHistograms", "cf.MergeHistograms",
                       "cf.PlotVariables1D"}

#: targets of the issue
TARGETS = {
    "chain_over_reference_1w": 2.0,
    "speedup_2w": 1.6,
    "incremental_fraction": 0.15,
    "noop_seconds": 2.0,
    "peak_rss_mb": 800.0,
    "rss_growth_2x": 0.20,
    "bytes_read_ratio": 1.2,
}

HIST_RTOL = 1e-6
HIST_ATOL = 1e-9


class BenchError(RuntimeError):
    """A measurement failed; the message says which and where its log is."""


# -- campaign -----------------------------------------------------------------------------------

class Campaign:
    def __init__(self, events: int, files: int, seed: int = SEED):
        self.events = int(events)
        self.files = int(files)
        self.seed = int(seed)
        self.lumi = round(LUMI_PER_MC_EVENT * self.events, 6)
        self.dir = CACHE / "campaigns" / f"mc{self.events}_files{self.files}_seed{self.seed}"
        self.manifest: dict | None = None
        self.generation_seconds = 0.0

    def ensure(self) -> dict:
        from columnar.demo.generate import ensure_campaign

        t0 = time.perf_counter()
        self.manifest = ensure_campaign(self.dir, events=self.events,
                                        files_per_dataset=self.files, seed=self.seed,
                                        lumi=self.lumi, workers=2)
        self.generation_seconds = time.perf_counter() - t0
        return self.manifest

    @property
    def input_events(self) -> int:
        return int(sum(e["events"] for e in self.manifest["datasets"].values()))

    @property
    def files_by_dataset(self) -> dict[str, list[str]]:
        return {d: [str(self.dir / f["path"]) for f in e["files"]]
                for d, e in self.manifest["datasets"].items()}

    def env(self) -> dict[str, str]:
        return {"COLUMNAR_BENCH_CAMPAIGN": str(self.dir),
                "COLUMNAR_BENCH_EVENTS": str(self.events),
                "COLUMNAR_BENCH_FILES": str(self.files),
                "COLUMNAR_BENCH_SEED": str(self.seed),
                "COLUMNAR_BENCH_LUMI": repr(self.lumi)}

    def describe(self) -> dict:
        size = sum(os.path.getsize(p) for ps in self.files_by_dataset.values() for p in ps)
        return {"dir": os.path.relpath(self.dir, REPO), "events_per_mc_dataset": self.events,
                "files_per_dataset": self.files, "seed": self.seed, "lumi_pb": self.lumi,
                "events": {d: e["events"] for d, e in self.manifest["datasets"].items()},
                "input_events": self.input_events, "megabytes": size / 1e6,
                "generation_seconds": self.generation_seconds}


# -- process monitoring -------------------------------------------------------------------------

def _pss(pid: int) -> int:
    """Proportional set size of a process in bytes (shared pages divided among their users),
    0 if unavailable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class TreeMonitor(threading.Thread):
    """Samples the RSS (and PSS) of a process and all its descendants every *interval*
    seconds. The RSS sum counts pages shared by forked processes once per process; the PSS
    sum counts them once."""

    def __init__(self, pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        import psutil

        self.psutil = psutil
        self.root = psutil.Process(pid)
        self.interval = interval
        self.stop_event = threading.Event()
        self.peak_sum = 0
        self.peak_single = 0
        self.max_procs = 0
        self.samples = 0
        self.peak_time = 0.0
        self.peak_pss = 0
        self.timeline: list[tuple[float, int]] = []  # (epoch, tree RSS), at most every 0.5 s

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except self.psutil.Error:
                break
            rss = []
            pss = 0
            for p in procs:
                try:
                    rss.append(p.memory_info().rss)
                except self.psutil.Error:
                    continue
                pss += _pss(p.pid)
            self.peak_pss = max(self.peak_pss, pss)
            if rss:
                now = time.time()
                if sum(rss) > self.peak_sum:
                    self.peak_time = now
                if not self.timeline or now - self.timeline[-1][0] >= 0.5:
                    self.timeline.append((now, sum(rss)))
                self.peak_sum = max(self.peak_sum, sum(rss))
                self.peak_single = max(self.peak_single, max(rss))
                self.max_procs = max(self.max_procs, len(rss))
                self.samples += 1
            self.stop_event.wait(self.interval)

    def stop(self) -> dict:
        self.stop_event.set()
        self.join(timeout=5)
        return {"peak_rss_tree_mb": self.peak_sum / 2**20,
                "peak_rss_single_mb": self.peak_single / 2**20,
                "peak_pss_tree_mb": self.peak_pss / 2**20,
                "max_processes": self.max_procs, "samples": self.samples,
                "peak_epoch": self.peak_time,
                "rss_timeline_mb": [(round(t, 2), round(r / 2**20, 1))
                                    for t, r in self.timeline]}


def run_command(cmd: list[str], env: dict[str, str], log_path: Path, timeout: float,
                label: str) -> dict:
    """Run *cmd* from the repository root; wall time, exit code and peak memory."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = dict(os.environ)
    full_env.update(env)
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO)] + [p for p in full_env.get("PYTHONPATH", "").split(os.pathsep) if p])
    full_env.update(python_env())
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        load = os.getloadavg()[0]
        usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        start_epoch = time.time()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        monitor = TreeMonitor(proc.pid)
        monitor.start()
        timed_out = False
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            rc = proc.wait()
        wall = time.perf_counter() - t0
        usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        memory = monitor.stop()
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    result = {"label": label, "wall_seconds": wall, "returncode": rc, "timed_out": timed_out,
              "start_epoch": start_epoch, "log": os.path.relpath(log_path, REPO),
              "cpu_seconds": cpu, "cpu_utilisation": cpu / wall if wall else None,
              "loadavg_1min_before": load, **memory}
    if timed_out:
        raise BenchError(f"{label}: timed out after {timeout:.0f} s (log: {log_path})")
    if rc != 0:
        raise BenchError(f"{label}: exit code {rc} (log: {log_path}):\n{_tail(log_path)}")
    return result


def python_env() -> dict[str, str]:
    """Environment of every measured Python process: non-interactive matplotlib, and bytecode
    caching as Python does by default (some sandboxes set PYTHONDONTWRITEBYTECODE), with the
    cache under bench/.cache so that nothing is written elsewhere."""
    return {"MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "",
            "PYTHONPYCACHEPREFIX": str(CACHE / "pycache")}


WARM_UP_IMPORTS = """
import bench.bench_analysis, bench.reference_processor
import columnar.tasks.external, columnar.tasks.calibration, columnar.tasks.selection
import columnar.tasks.reduction, columnar.tasks.production, columnar.tasks.histograms
import columnar.tasks.plotting, columnar.plotting, columnar.demo.corrections
import coffea.processor, coffea.nanoevents, correctionlib, pyarrow.parquet, matplotlib.pyplot
"""


def warm_up_bytecode() -> None:
    """Import what the measured processes import once, so that the bytecode cache exists
    before the first measurement."""
    env = dict(os.environ)
    env.update(python_env())
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["COLUMNAR_BENCH_CAMPAIGN"] = str(CACHE / "campaigns" / "warm-up-unused")
    subprocess.run([sys.executable, "-c", WARM_UP_IMPORTS], cwd=REPO, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([law_executable(), "index"], cwd=REPO, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def _kill_group(proc: subprocess.Popen) -> None:
    """Terminate the process group that *proc* leads (only what this script started)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(path: Path, lines: int = 25) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


# -- store inspection ---------------------------------------------------------------------------

def store_files(store: Path) -> dict[str, int]:
    out = {}
    for dirpath, _, names in os.walk(store):
        for name in names:
            if name.startswith("."):
                continue
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, store)] = os.stat(path).st_mtime_ns
    return out


def family_of(relpath: str) -> str:
    return relpath.split(os.sep)[1]


def check_full_chain_outputs(store: Path, label: str) -> dict:
    """The merged histograms of every dataset and shift, the merged shifted histograms and the
    plots exist (luigi exits with 0 even when a task failed)."""
    root = store / ANALYSIS_NAME
    merged = glob.glob(str(root / "cf.MergeHistograms" / "**" / "hist_*.pickle"), recursive=True)
    found = collections.defaultdict(set)
    for path in merged:
        parts = Path(path).relative_to(root / "cf.MergeHistograms").parts
        found[(parts[1], parts[2])].add(Path(path).name)  # (dataset, shift)
    expected_pairs = {(d, s) for d in MC_DATASETS for s in SHIFTS} | {("data", "nominal")}
    missing = sorted(f"{d}/{s}" for d, s in expected_pairs
                     if found.get((d, s)) != {f"hist_{v}.pickle" for v in VARIABLES})
    shifted = glob.glob(str(root / "cf.MergeShiftedHistograms" / "**" / "hist_*.pickle"),
                        recursive=True)
    plots = glob.glob(str(root / "cf.PlotVariables1D" / "**" / "plot__*"), recursive=True)
    n_expected_shifted = len(DATASETS) * len(VARIABLES)
    n_expected_plots = len(VARIABLES)  # png (the default file type), category 4j1b
    problems = []
    if missing:
        problems.append(f"merged histograms missing for {', '.join(missing)}")
    if len(shifted) != n_expected_shifted:
        problems.append(f"{len(shifted)} merged shifted histograms, expected {n_expected_shifted}")
    if len(plots) != n_expected_plots:
        problems.append(f"{len(plots)} plot files, expected {n_expected_plots}")
    if problems:
        raise BenchError(f"{label}: incomplete outputs in {store}: " + "; ".join(problems))
    return {"merged_histograms_dataset_shift": sorted(f"{d}/{s}" for d, s in found),
            "merged_shifted_histograms": len(shifted), "plots": len(plots)}


# -- task log -----------------------------------------------------------------------------------

def read_task_log(directory: Path) -> list[dict]:
    events = []
    for path in glob.glob(str(directory / "tasks.*.jsonl")):
        with open(path) as f:
            events.extend(json.loads(line) for line in f if line.strip())
    events.sort(key=lambda e: e["time"])
    return events


def _union_length(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, -np.inf
    for a, b in sorted(intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


def task_breakdown(events: list[dict], start_epoch: float, wall: float) -> dict:
    """Per task family: number of tasks, summed run time, first start and last end (relative to
    the start of ``law run``), from the luigi START/SUCCESS events of non-workflow tasks."""
    failures = [e for e in events if e["event"] == "failure"]
    open_tasks: dict[tuple, float] = {}
    start_events: dict[tuple, dict] = {}
    per_family: dict[str, dict] = {}
    intervals = []
    workflow_starts = collections.Counter()
    for e in events:
        if e["is_workflow"]:
            workflow_starts[e["family"]] += 1
            continue
        key = (e["pid"], e["id"])
        if e["event"] == "start":
            open_tasks[key] = e["time"]
            start_events[key] = e
            continue
        begin = open_tasks.pop(key, None)
        if begin is None:
            continue
        fam = per_family.setdefault(e["family"], {"tasks": 0, "seconds": 0.0,
                                                  "first_start": np.inf, "last_end": 0.0,
                                                  "max_rss_at_end_mb": 0.0,
                                                  "peak_rss_raised_mb": 0.0})
        fam["max_rss_at_end_mb"] = max(fam["max_rss_at_end_mb"], e.get("rss_mb", 0.0))
        start_event = start_events.pop(key, None)
        if start_event is not None and "maxrss_mb" in e:
            fam["peak_rss_raised_mb"] += e["maxrss_mb"] - start_event["maxrss_mb"]
        fam["tasks"] += 1
        fam["seconds"] += e["time"] - begin
        fam["first_start"] = min(fam["first_start"], begin - start_epoch)
        fam["last_end"] = max(fam["last_end"], e["time"] - start_epoch)
        intervals.append((begin, e["time"]))
    total = sum(f["seconds"] for f in per_family.values())
    single_process = len({e["pid"] for e in events}) <= 1
    for fam in per_family.values():
        fam["share_of_task_time"] = fam["seconds"] / total if total else 0.0
        if not single_process:
            # forked task processes: the raise of one process' peak says little
            fam["peak_rss_raised_mb"] = None
    busy = _union_length(intervals)
    first = min((a for a, _ in intervals), default=start_epoch) - start_epoch
    last = max((b for _, b in intervals), default=start_epoch) - start_epoch
    return {
        "families": dict(sorted(per_family.items(), key=lambda kv: -kv[1]["seconds"])),
        "task_seconds_total": total,
        "busy_seconds": busy,
        "before_first_task_seconds": first,
        "after_last_task_seconds": wall - last,
        "idle_between_tasks_seconds": (last - first) - busy,
        "workflow_task_starts": dict(workflow_starts),
        "failures": [{"family": e["family"], "id": e["id"], "error": e.get("error")}
                     for e in failures],
    }


def running_at(events: list[dict], epoch: float) -> list[str]:
    """Non-workflow tasks running at *epoch* (family dataset/shift branch)."""
    begin: dict[tuple, float] = {}
    out = []
    for e in events:
        if e["is_workflow"]:
            continue
        key = (e["pid"], e["id"])
        if e["event"] == "start":
            begin[key] = e["time"]
        elif key in begin:
            if begin.pop(key) <= epoch <= e["time"]:
                out.append(f"{e['family']} {e['dataset']}/{e['shift']} branch {e['branch']}")
    if not out:
        last = [e for e in events if e["time"] <= epoch and not e["is_workflow"]]
        if last:
            e = last[-1]
            out.append(f"(between tasks, after {e['event']} of {e['family']} "
                       f"{e['dataset']}/{e['shift']} branch {e['branch']})")
    return out


def collect_io(events: list[dict]) -> dict[str, dict[str, list[tuple[int, int]]]]:
    """Byte ranges read from each ROOT file (``requested``, ``fetched``) and the bytes fetched
    per task family (``by_family``). The ranges logged at a task's success event were read
    while it ran (with one worker, reads of the main process between tasks, e.g. existence
    checks, would go to the next task; columnar reads no ROOT file there)."""
    out: dict[str, Any] = {"requested": {}, "fetched": {}, "by_family": {}}
    for e in events:
        for kind, per_file in e.get("io", {}).items():
            for path, ranges in per_file.items():
                out.setdefault(kind, {}).setdefault(path, []).extend(map(tuple, ranges))
                if kind == "fetched":
                    out["by_family"][e["family"]] = out["by_family"].get(e["family"], 0) + sum(
                        b - a for a, b in ranges)
    return out


# -- bytes read ---------------------------------------------------------------------------------

def basket_map(path: str) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, dict]:
    """Basket byte ranges of all branches of the Events and Runs trees of a ROOT file."""
    import uproot

    names, starts, stops, owner = [], [], [], []
    compressed = {}
    with uproot.open(path) as f:
        for tree_name in ("Events", "Runs"):
            if tree_name not in f:
                continue
            tree = f[tree_name]
            for branch in tree.itervalues(recursive=True):
                name = f"{tree_name}/{branch.name}"
                n = branch.num_baskets
                seeks = np.asarray(branch.member("fBasketSeek"))[:n]
                sizes = np.asarray(branch.member("fBasketBytes"))[:n]
                idx = len(names)
                names.append(name)
                starts.append(seeks.astype(np.int64))
                stops.append((seeks + sizes).astype(np.int64))
                owner.append(np.full(n, idx))
                compressed[name] = int(branch.compressed_bytes)
    return (names, np.concatenate(starts), np.concatenate(stops), np.concatenate(owner),
            compressed)


def _overlap_by_branch(ranges: list[tuple[int, int]], bmap) -> np.ndarray:
    names, bstart, bstop, owner, _ = bmap
    out = np.zeros(len(names), dtype=np.int64)
    for a, b in ranges:
        ov = np.minimum(b, bstop) - np.maximum(a, bstart)
        ov = np.where(ov > 0, ov, 0)
        if ov.any():
            out += np.bincount(owner, weights=ov, minlength=len(names)).astype(np.int64)
    return out


def bytes_analysis(io: dict, needed_branches: dict[str, set[str]], campaign: Campaign) -> dict:
    """Bytes fetched from the ROOT files versus the compressed size of the branches used.

    A branch is *used* when uproot requested bytes of its baskets; the bytes fetched are what the
    file system returned (after uproot merged nearby ranges), including the file metadata.
    """
    per_branch: dict[str, dict[str, int]] = collections.defaultdict(
        lambda: {"compressed": 0, "fetched": 0, "requested": 0, "files_used": 0})
    total_fetched = total_requested = basket_fetched = 0
    compressed_used = compressed_needed = compressed_all = 0
    for dataset, paths in campaign.files_by_dataset.items():
        for path in paths:
            key = os.path.abspath(path)
            bmap = basket_map(path)
            names, compressed = bmap[0], bmap[4]
            fetched_ranges = io.get("fetched", {}).get(key, [])
            requested_ranges = io.get("requested", {}).get(key, [])
            fetched = _overlap_by_branch(fetched_ranges, bmap)
            requested = _overlap_by_branch(requested_ranges, bmap)
            total_fetched += sum(b - a for a, b in fetched_ranges)
            total_requested += sum(b - a for a, b in requested_ranges)
            basket_fetched += int(fetched.sum())
            for i, name in enumerate(names):
                entry = per_branch[name]
                entry["compressed"] += compressed[name]
                entry["fetched"] += int(fetched[i])
                entry["requested"] += int(requested[i])
                compressed_all += compressed[name]
                if requested[i] > 0:
                    entry["files_used"] += 1
                    compressed_used += compressed[name]
                if name.split("/", 1)[1] in needed_branches[dataset] and name.startswith(
                        "Events/"):
                    compressed_needed += compressed[name]
    used = {n: e for n, e in per_branch.items() if e["files_used"]}
    unused_fetched = sum(e["fetched"] for n, e in per_branch.items() if not e["files_used"])
    return {
        "fetched_bytes": total_fetched,
        "requested_bytes": total_requested,
        "metadata_and_other_bytes": total_fetched - basket_fetched,
        "unused_branch_bytes_fetched": unused_fetched,
        "compressed_bytes_used_branches": compressed_used,
        "compressed_bytes_needed_branches": compressed_needed,
        "compressed_bytes_all_branches": compressed_all,
        "ratio_fetched_to_used": total_fetched / compressed_used if compressed_used else None,
        "ratio_fetched_to_needed": (total_fetched / compressed_needed if compressed_needed
                                    else None),
        "fetched_bytes_by_task_family": dict(sorted(io.get("by_family", {}).items(),
                                                    key=lambda kv: -kv[1])),
        "used_branches": sorted(used),
        "reads_per_used_branch": {n: round(e["fetched"] / e["compressed"], 2)
                                  for n, e in sorted(used.items()) if e["compressed"]},
    }


def needed_branches() -> dict[str, set[str]]:
    """Branches the histograms need (those the reference processor reads)."""
    sys.path.insert(0, str(BENCH))
    try:
        import reference_processor as ref
    finally:
        sys.path.pop(0)
    return {d: set(ref.BRANCHES) | (set(ref.MC_BRANCHES) if d in MC_DATASETS else set())
            for d in DATASETS}


def compressed_size(campaign: Campaign, branches: dict[str, set[str]]) -> int:
    import uproot

    total = 0
    for dataset, paths in campaign.files_by_dataset.items():
        for path in paths:
            with uproot.open(path) as f:
                tree = f["Events"]
                total += sum(tree[b].compressed_bytes for b in branches[dataset] if b in tree)
    return total


# -- histogram comparison -----------------------------------------------------------------------

def _hist_entries(h, variable: str) -> dict[tuple, tuple[np.ndarray, np.ndarray]]:
    import hist

    out = {}
    for cat in h.axes["category"]:
        for proc in h.axes["process"]:
            for shift in h.axes["shift"]:
                sub = h[{"category": hist.loc(cat), "process": hist.loc(proc),
                         "shift": hist.loc(shift)}]
                out[(variable, int(cat), int(proc), str(shift))] = (
                    np.asarray(sub.values(flow=True), dtype=np.float64),
                    np.asarray(sub.variances(flow=True), dtype=np.float64))
    return out


def chain_histograms(store: Path) -> dict:
    entries = {}
    root = store / ANALYSIS_NAME / "cf.MergeShiftedHistograms"
    for variable in VARIABLES:
        paths = sorted(glob.glob(str(root / "**" / f"hist_{variable}.pickle"), recursive=True))
        for path in paths:
            with open(path, "rb") as f:
                entries.update(_hist_entries(pickle.load(f), variable))
    return entries


def compare_histograms(chain: dict, reference: dict) -> dict:
    """Bin-by-bin comparison of values and variances (with under- and overflow)."""
    keys = set(chain) | set(reference)
    max_rel = {"values": 0.0, "variances": 0.0}
    worst = None
    mismatches = []
    n_bins = 0
    for key in sorted(keys):
        if key not in chain or key not in reference:
            present = chain.get(key) or reference.get(key)
            if np.any(present[0] != 0):
                mismatches.append({"key": list(key), "problem": "only in " + (
                    "chain" if key in chain else "reference")})
            continue
        for i, what in enumerate(("values", "variances")):
            a, b = chain[key][i], reference[key][i]
            n_bins += a.size if i == 0 else 0
            diff = np.abs(a - b)
            scale = np.maximum(np.abs(a), np.abs(b))
            rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
            if rel.max() > max_rel[what]:
                max_rel[what] = float(rel.max())
                if what == "values":
                    worst = list(key)
            bad = diff > HIST_ATOL + HIST_RTOL * scale
            if bad.any():
                mismatches.append({"key": list(key), "what": what,
                                   "bins": np.flatnonzero(bad).tolist()[:10],
                                   "max_rel": float(rel.max())})
    return {
        "same": not mismatches,
        "histograms_compared": len(set(chain) & set(reference)),
        "bins_compared": n_bins,
        "max_rel_diff_values": max_rel["values"],
        "max_rel_diff_variances": max_rel["variances"],
        "worst_values_key": worst,
        "tolerance": {"rtol": HIST_RTOL, "atol": HIST_ATOL},
        "mismatches": mismatches[:20],
        "n_mismatches": len(mismatches),
        "variables": sorted({k[0] for k in keys}),
        "categories": sorted({k[1] for k in keys}),
        "processes": sorted({k[2] for k in keys}),
        "shifts": sorted({k[3] for k in keys}),
    }


# -- measurements -------------------------------------------------------------------------------

def law_executable() -> str:
    law = shutil.which("law") or str(Path(sys.executable).parent / "law")
    if not os.path.exists(law):
        raise BenchError("the 'law' command was not found next to the Python interpreter")
    return law


def law_run(args: list[str], workers: int) -> list[str]:
    return [law_executable(), "run", "cf.PlotVariables1D", "--version", VERSION,
            "--analysis", ANALYSIS, *args, "--workers", str(workers)]


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.timeout = args.timeout
        self.runs = CACHE / "runs"
        self.results: dict[str, Any] = {"errors": []}

    def log(self, msg: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)

    def chain_env(self, campaign: Campaign, store: Path, tasklog: Path,
                  extra: bool = False) -> dict:
        env = campaign.env()
        env.update({"COLUMNAR_STORE": str(store), "COLUMNAR_BENCH_TASKLOG": str(tasklog),
                    "COLUMNAR_BENCH_EXTRA": "1" if extra else "0",
                    "COLUMNAR_BENCH_EXPERIMENT": ",".join(self.args.experiment)})
        return env

    def full_chain(self, campaign: Campaign, workers: int, tag: str) -> dict:
        run_dir = fresh_dir(self.runs / tag)
        store, tasklog = run_dir / "store", run_dir / "tasklog"
        label = f"full chain ({tag}, {workers} worker{'s' if workers > 1 else ''})"
        self.log(f"{label}: {campaign.input_events:,} input events ...")
        res = run_command(law_run(FULL_ARGS, workers), self.chain_env(campaign, store, tasklog),
                          run_dir / "law_run.log", self.timeout, label)
        res["outputs"] = check_full_chain_outputs(store, label)
        events = read_task_log(tasklog)
        res["tasks"] = task_breakdown(events, res["start_epoch"], res["wall_seconds"])
        if res["tasks"]["failures"]:
            raise BenchError(f"{label}: failed tasks {res['tasks']['failures']}")
        res["running_at_peak_rss"] = running_at(events, res["peak_epoch"])
        res["io"] = collect_io(events)
        res["store"] = str(store)
        return self.throughput(label, res, campaign)

    def noop(self, campaign: Campaign, chain: dict, workers: int, repeats: int) -> dict:
        store = Path(chain["store"])
        before = store_files(store)
        walls = []
        for i in range(repeats):
            tasklog = fresh_dir(store.parent / f"tasklog_noop{i}")
            res = run_command(law_run(FULL_ARGS, workers),
                              self.chain_env(campaign, store, tasklog),
                              store.parent / f"law_run_noop{i}.log", self.timeout,
                              f"no-op re-run {i + 1}")
            walls.append(res["wall_seconds"])
            ran = {e["family"] for e in read_task_log(tasklog) if e["event"] == "start"}
            if ran:
                raise BenchError(f"no-op re-run ran tasks: {sorted(ran)}")
        after = store_files(store)
        if after != before:
            raise BenchError("no-op re-run changed the store")
        self.log(f"no-op re-run: {', '.join(f'{w:.2f}' for w in walls)} s")
        return {"wall_seconds": min(walls), "wall_seconds_all": walls,
                "wall_seconds_median": float(np.median(walls)), "workers": workers}

    def incremental(self, campaign: Campaign, chain: dict, workers: int) -> dict:
        store = Path(chain["store"])
        before = store_files(store)
        tasklog = fresh_dir(store.parent / "tasklog_incremental")
        label = f"incremental ({workers} worker{'s' if workers > 1 else ''})"
        res = run_command(law_run(INCREMENTAL_ARGS, workers),
                          self.chain_env(campaign, store, tasklog, extra=True),
                          store.parent / "law_run_incremental.log", self.timeout, label)
        after = store_files(store)
        new = sorted(set(after) - set(before))
        changed = sorted(p for p in before if p in after and after[p] != before[p])
        families = collections.Counter(family_of(p) for p in new)
        events = read_task_log(tasklog)
        res["tasks"] = task_breakdown(events, res["start_epoch"], res["wall_seconds"])
        ran = sorted({e["family"] for e in events if e["event"] == "start"})
        plots = [p for p in new if family_of(p) == "cf.PlotVariables1D"]
        res.update({
            "new_files_by_family": dict(families),
            "changed_files": changed,
            "families_run": ran,
            "only_allowed_families": set(families) <= INCREMENTAL_ALLOWED
            and set(ran) <= INCREMENTAL_ALLOWED and not changed,
            "plots": plots,
            "fraction_of_full_chain": res["wall_seconds"] / chain["wall_seconds"],
        })
        if not plots:
            raise BenchError(f"{label}: no plot of '{EXTRA_VARIABLE}' was made")
        self.log(f"{label}: {res['wall_seconds']:.1f} s "
                 f"({100 * res['fraction_of_full_chain']:.1f} % of the full chain), "
                 f"families run: {', '.join(ran)}")
        return res

    def reference(self, campaign: Campaign, workers: int, tag: str,
                  count_bytes: bool = False) -> dict:
        run_dir = fresh_dir(self.runs / tag)
        from columnar.demo.corrections import write_muon_sf

        sf = write_muon_sf(str(CACHE / "muon_sf.json"))
        output = run_dir / "reference.pickle"
        cmd = [sys.executable, str(BENCH / "reference_processor.py"), str(campaign.dir),
               "--lumi", repr(campaign.lumi), "--muon-sf", sf, "--workers", str(workers),
               "--output", str(output)]
        if count_bytes:
            cmd.append("--count-bytes")
        label = f"reference ({tag}, {workers} worker{'s' if workers > 1 else ''})"
        self.log(f"{label} ...")
        res = run_command(cmd, {}, run_dir / "reference.log", self.timeout, label)
        with open(output, "rb") as f:
            out = pickle.load(f)
        if out["events"] != {d: e["events"] for d, e in campaign.manifest["datasets"].items()}:
            raise BenchError(f"{label}: processed events {out['events']} differ from the "
                             "campaign")
        res["inner_timing"] = out["timing"]
        res["bytes_read"] = out.get("bytes_read")
        res["output"] = str(output)
        return self.throughput(label, res, campaign)

    def throughput(self, label: str, res: dict, campaign: Campaign) -> dict:
        """Add the input events and events/s to a timed run *res* and log them."""
        res["input_events"] = campaign.input_events
        res["events_per_second"] = campaign.input_events / res["wall_seconds"]
        self.log(f"{label}: {res['wall_seconds']:.1f} s, {res['events_per_second']:,.0f} "
                 f"events/s, peak RSS {res['peak_rss_tree_mb']:.0f} MB")
        return res

    def step(self, name: str, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except BenchError as e:
            self.log(f"FAILED {name}: {e}")
            self.results["errors"].append({"step": name, "error": str(e)})
            return None

    def run(self) -> dict:
        a = self.args
        R = self.results
        R["machine"] = machine_info()
        R["settings"] = {"quick": a.quick, "workers": a.workers, "timeout": a.timeout,
                         "repeat": a.repeat, "noop_repeats": a.noop_repeats,
                         "experiments": a.experiment,
                         "chunk_size": "law.cfg [columnar] chunk_size (default 100000)",
                         "version": VERSION}
        warm_up_bytecode()
        campaign = Campaign(a.events, a.files)
        self.log(f"campaign: {a.events:,} events per MC dataset, {a.files} files, "
                 f"lumi {campaign.lumi} pb^-1 ...")
        campaign.ensure()
        R["campaign"] = campaign.describe()
        self.log(f"campaign: {campaign.input_events:,} input events in {campaign.dir}")

        # full chain and reference, interleaved per worker count, repeated
        chain_runs: dict[int, list] = collections.defaultdict(list)
        ref_runs: dict[int, list] = collections.defaultdict(list)
        for rep in range(a.repeat):
            if a.repeat > 1:
                self.log(f"repetition {rep + 1} of {a.repeat}")
            for w in a.workers:
                c = self.step(f"chain_{w}w", self.full_chain, campaign, w, f"chain_{w}w")
                if c:
                    chain_runs[w].append(c)
                r = self.step(f"reference_{w}w", self.reference, campaign, w,
                              f"reference_{w}w", count_bytes=(w == min(a.workers)))
                if r:
                    ref_runs[w].append(r)
        chains = {w: combine_runs(chain_runs[w]) for w in a.workers if chain_runs[w]}
        refs = {w: combine_runs(ref_runs[w]) for w in a.workers if ref_runs[w]}
        R["chain"] = {str(w): _strip(c) for w, c in chains.items() if c}
        R["reference"] = {str(w): r for w, r in refs.items() if r}
        R["ratios"] = {}
        for w in a.workers:
            if chains.get(w) and refs.get(w):
                R["ratios"][f"chain_over_reference_{w}w"] = (
                    chains[w]["wall_seconds"] / refs[w]["wall_seconds"])
        w1, wmax = min(a.workers), max(a.workers)
        if wmax != w1 and chains.get(w1) and chains.get(wmax):
            R["ratios"][f"chain_speedup_{wmax}w"] = (chains[w1]["wall_seconds"]
                                                    / chains[wmax]["wall_seconds"])
        if wmax != w1 and refs.get(w1) and refs.get(wmax):
            R["ratios"][f"reference_speedup_{wmax}w"] = (refs[w1]["wall_seconds"]
                                                        / refs[wmax]["wall_seconds"])
        for w in a.workers:
            plot = chains.get(w, {}).get("tasks", {}).get("families", {}).get(
                "cf.PlotVariables1D")
            if plot and refs.get(w):
                # what the chain costs without its plot task (the reference makes no plots)
                R["ratios"][f"chain_without_plots_over_reference_{w}w"] = (
                    (chains[w]["wall_seconds"] - plot["seconds"]) / refs[w]["wall_seconds"])
        for w in a.workers:
            if chains.get(w) and refs.get(w):
                R["ratios"][f"chain_over_reference_{w}w_median"] = (
                    chains[w]["wall_seconds_median"] / refs[w]["wall_seconds_median"])
        if wmax != w1 and chains.get(w1) and chains.get(wmax):
            R["ratios"][f"chain_speedup_{wmax}w_median"] = (
                chains[w1]["wall_seconds_median"] / chains[wmax]["wall_seconds_median"])

        # same histograms?
        base = chains.get(w1)
        if base:
            chain_h = chain_histograms(Path(base["store"]))
            R["check"] = {}
            for w, ref in refs.items():
                if ref:
                    with open(ref["output"], "rb") as f:
                        ref_h = {}
                        for variable, h in pickle.load(f)["hists"].items():
                            ref_h.update(_hist_entries(h, variable))
                    R["check"][f"chain_{w1}w_vs_reference_{w}w"] = compare_histograms(
                        chain_h, ref_h)
            for w in a.workers:
                if w != w1 and chains.get(w):
                    R["check"][f"chain_{w1}w_vs_chain_{w}w"] = compare_histograms(
                        chain_h, chain_histograms(Path(chains[w]["store"])))

        # bytes read
        if base:
            needed = needed_branches()
            R["bytes"] = {"chain": bytes_analysis(base["io"], needed, campaign)}
            ref1 = refs.get(w1)
            if ref1 and ref1.get("bytes_read"):
                comp = compressed_size(campaign, needed)
                R["bytes"]["reference"] = {
                    "fetched_bytes": ref1["bytes_read"]["bytes"],
                    "compressed_bytes_used_branches": comp,
                    "ratio_fetched_to_used": ref1["bytes_read"]["bytes"] / comp,
                }

        # no-op re-run and incremental case
        if base:
            R["noop"] = self.step("noop", self.noop, campaign, base, w1, a.noop_repeats)
            R["incremental"] = {}
            # quick: only with the smallest worker count
            for w in ([w1] if a.quick else a.workers):
                if chains.get(w):
                    inc = self.step(f"incremental_{w}w", self.incremental, campaign, chains[w], w)
                    if inc:
                        R["incremental"][str(w)] = inc

        # memory at twice the input size
        if a.double:
            double = Campaign(2 * a.events, a.files)
            self.log(f"campaign 2x: {double.events:,} events per MC dataset ...")
            double.ensure()
            R["campaign_2x"] = double.describe()
            c2 = self.step("chain_1w_2x", self.full_chain, double, w1, f"chain_{w1}w_2x")
            r2 = (None if a.quick else
                  self.step("reference_1w_2x", self.reference, double, w1, f"reference_{w1}w_2x"))
            R["chain_2x"] = _strip(c2) if c2 else None
            R["reference_2x"] = r2
        R["memory"] = memory_summary(R, w1)
        R["targets"] = evaluate_targets(R, w1, wmax)
        return R


def combine_runs(runs: list[dict]) -> dict:
    """The last run, with the wall time of the fastest run (the least disturbed on a shared
    machine), the median and all wall times, and the largest peak memory of all runs."""
    out = dict(runs[-1])
    walls = [r["wall_seconds"] for r in runs]
    out["wall_seconds_runs"] = walls
    out["wall_seconds"] = min(walls)
    out["wall_seconds_median"] = float(np.median(walls))
    out["cpu_seconds_runs"] = [r["cpu_seconds"] for r in runs]
    out["loadavg_1min_before_runs"] = [r["loadavg_1min_before"] for r in runs]
    for key in ("peak_rss_tree_mb", "peak_rss_single_mb", "peak_pss_tree_mb"):
        out[key] = max(r[key] for r in runs)
    if "input_events" in out:
        out["events_per_second"] = out["input_events"] / out["wall_seconds"]
    return out


def _strip(chain: dict) -> dict:
    """The chain result without the raw byte ranges (they go into the bytes analysis)."""
    return {k: v for k, v in chain.items() if k != "io"}


def memory_summary(R: dict, w1: int) -> dict:
    out = {}
    c1 = R.get("chain", {}).get(str(w1))
    c2 = R.get("chain_2x")
    if c1:
        out["chain_peak_rss_mb"] = c1["peak_rss_tree_mb"]
        out["chain_peak_rss_single_mb"] = c1["peak_rss_single_mb"]
    if c1 and c2:
        out["chain_2x_peak_rss_mb"] = c2["peak_rss_tree_mb"]
        out["chain_rss_growth_2x"] = c2["peak_rss_tree_mb"] / c1["peak_rss_tree_mb"] - 1
    r1, r2 = R.get("reference", {}).get(str(w1)), R.get("reference_2x")
    if r1:
        out["reference_peak_rss_mb"] = r1["peak_rss_tree_mb"]
    if r1 and r2:
        out["reference_2x_peak_rss_mb"] = r2["peak_rss_tree_mb"]
        out["reference_rss_growth_2x"] = r2["peak_rss_tree_mb"] / r1["peak_rss_tree_mb"] - 1
    return out


def evaluate_targets(R: dict, w1: int, wmax: int) -> list[dict]:
    T = TARGETS
    rows = []

    def add(name, value, target, ok_if_le=True, fmt="{:.2f}"):
        if value is None:
            rows.append({"target": name, "value": None, "limit": target, "met": None})
            return
        met = value <= target if ok_if_le else value >= target
        rows.append({"target": name, "value": value, "limit": target, "met": bool(met),
                     "text": f"{fmt.format(value)} ({'<=' if ok_if_le else '>='} "
                             f"{fmt.format(target)})"})

    ratios = R.get("ratios", {})
    add(f"chain/reference, {w1} worker", ratios.get(f"chain_over_reference_{w1}w"),
        T["chain_over_reference_1w"])
    add(f"chain speed-up {wmax} vs {w1} workers", ratios.get(f"chain_speedup_{wmax}w"),
        T["speedup_2w"], ok_if_le=False)
    inc = (R.get("incremental") or {}).get(str(w1))
    add("incremental / full chain", inc["fraction_of_full_chain"] if inc else None,
        T["incremental_fraction"])
    noop = R.get("noop")
    add("no-op re-run [s]", noop["wall_seconds"] if noop else None, T["noop_seconds"])
    mem = R.get("memory", {})
    add("peak RSS [MB]", mem.get("chain_peak_rss_mb"), T["peak_rss_mb"], fmt="{:.0f}")
    add("peak RSS growth at 2x input", mem.get("chain_rss_growth_2x"), T["rss_growth_2x"])
    b = (R.get("bytes") or {}).get("chain")
    add("bytes read / compressed used branches", b["ratio_fetched_to_used"] if b else None,
        T["bytes_read_ratio"])
    return rows


def machine_info() -> dict:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem_gb = int(line.split()[1]) / 2**20
    except OSError:
        pass
    packages = {}
    for name in ("law", "luigi", "order", "awkward", "uproot", "pyarrow", "coffea", "hist",
                 "boost-histogram", "numpy", "correctionlib", "vector", "matplotlib", "mplhep",
                 "fsspec"):
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            packages[name] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO, capture_output=True, text=True).stdout.split("\n")
        dirty = sorted(line[3:] for line in dirty if line.strip())
    except OSError:
        commit, dirty = None, None
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "cpu_model": cpu, "memory_gb": round(mem_gb, 1) if mem_gb else None,
        "python": platform.python_version(), "platform": platform.platform(),
        "loadavg_at_start": os.getloadavg(), "packages": packages, "columnar_commit": commit,
        "columnar_uncommitted_changes": dirty,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


# -- report -------------------------------------------------------------------------------------

def fmt_table(rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(rows[0], widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
              for r in rows[1:]]
    return "\n".join(lines)


def report(R: dict) -> str:
    out = []
    if R.get("settings", {}).get("experiments"):
        out.append(f"WHAT-IF EXPERIMENT {R['settings']['experiments']}: not the framework's "
                   "numbers")
    c = R.get("campaign", {})
    out.append(f"Input: {c.get('input_events', 0):,} events ({c.get('megabytes', 0):.0f} MB, "
               f"{c.get('events')}, {c.get('files_per_dataset')} files per dataset, lumi "
               f"{c.get('lumi_pb')} pb^-1)")
    rows = [["measurement", "wall [s] (all runs)", "events/s", "CPU [s] (cores)",
             "peak RSS tree / single, PSS tree [MB]"]]

    def row(label, x, rate=True):
        runs = x.get("wall_seconds_runs")
        wall = f"{x['wall_seconds']:.1f}" + (
            f" ({', '.join(f'{v:.1f}' for v in runs)})" if runs and len(runs) > 1 else "")
        cpu = f"{x['cpu_seconds']:.0f} ({x['cpu_utilisation']:.2f})" if x.get(
            "cpu_seconds") is not None else ""
        rows.append([label, wall, f"{x['events_per_second']:,.0f}" if rate else "", cpu,
                     f"{x['peak_rss_tree_mb']:.0f} / {x['peak_rss_single_mb']:.0f}, "
                     f"{x.get('peak_pss_tree_mb', 0):.0f}"])

    for w, ch in R.get("chain", {}).items():
        row(f"chain, {w} worker(s)", ch)
    for w, ref in R.get("reference", {}).items():
        row(f"reference (coffea), {w} worker(s)", ref)
    for key, label in (("chain_2x", "chain, 1 worker, 2x input"),
                       ("reference_2x", "reference, 1 worker, 2x input")):
        if R.get(key):
            row(label, R[key])
    for w, inc in (R.get("incremental") or {}).items():
        row(f"incremental ({EXTRA_PRODUCER}/{EXTRA_VARIABLE}), {w} worker(s)", inc,
            rate=False)
    noop = R.get("noop")
    if noop:
        rows.append(["no-op re-run (min of runs)", f"{noop['wall_seconds']:.2f} ("
                     + ", ".join(f"{v:.2f}" for v in noop["wall_seconds_all"]) + ")",
                     "", "", ""])
    out.append(fmt_table(rows))
    out.append("")
    rows = [["ratio", "value"]]
    for k, v in R.get("ratios", {}).items():
        rows.append([k, f"{v:.2f}"])
    out.append(fmt_table(rows))
    out.append("")
    rows = [["target", "value", "met"]]
    for t in R.get("targets", []):
        rows.append([t["target"], t.get("text", "n/a"),
                     {True: "yes", False: "NO", None: "n/a"}[t["met"]]])
    out.append(fmt_table(rows))
    for name, chk in (R.get("check") or {}).items():
        out.append(f"\nCheck {name}: same={chk['same']}, {chk['histograms_compared']} "
                   f"histograms / {chk['bins_compared']} bins, max rel. diff values "
                   f"{chk['max_rel_diff_values']:.2e}, variances "
                   f"{chk['max_rel_diff_variances']:.2e}, mismatches {chk['n_mismatches']}")
    b = (R.get("bytes") or {}).get("chain")
    if b:
        out.append(f"\nBytes (chain): fetched {b['fetched_bytes'] / 1e6:.1f} MB, compressed size "
                   f"of used branches {b['compressed_bytes_used_branches'] / 1e6:.1f} MB "
                   f"(ratio {b['ratio_fetched_to_used']:.2f}); of the branches the histograms "
                   f"need {b['compressed_bytes_needed_branches'] / 1e6:.1f} MB (ratio "
                   f"{b['ratio_fetched_to_needed']:.2f}); metadata/other "
                   f"{b['metadata_and_other_bytes'] / 1e6:.2f} MB, unused branches fetched "
                   f"{b['unused_branch_bytes_fetched'] / 1e6:.2f} MB")
    if b:
        out.append("Fetched per task family: " + ", ".join(
            f"{fam} {v / 1e6:.0f} MB" for fam, v in b["fetched_bytes_by_task_family"].items()))
    rb = (R.get("bytes") or {}).get("reference")
    if rb:
        out.append(f"Bytes (reference): fetched {rb['fetched_bytes'] / 1e6:.1f} MB, compressed "
                   f"size of its branches {rb['compressed_bytes_used_branches'] / 1e6:.1f} MB "
                   f"(ratio {rb['ratio_fetched_to_used']:.2f})")
    tables = [(f"{w} worker(s)", ch) for w, ch in R.get("chain", {}).items()]
    if R.get("chain_2x"):
        tables.append(("1 worker(s), 2x input", R["chain_2x"]))
    for w, ch in tables:
        t = ch["tasks"]
        out.append(f"\nPer task family, chain with {w} (wall {ch['wall_seconds']:.1f} s;"
                   f" before first task {t['before_first_task_seconds']:.1f} s, idle between "
                   f"tasks {t['idle_between_tasks_seconds']:.1f} s, after last task "
                   f"{t['after_last_task_seconds']:.1f} s):")
        rows = [["task family", "tasks", "task time [s]", "share", "first start [s]",
                 "last end [s]", "RSS after [MB]", "peak raised [MB]"]]
        for fam, f in t["families"].items():
            rows.append([fam, f["tasks"], f"{f['seconds']:.1f}",
                         f"{100 * f['share_of_task_time']:.1f} %", f"{f['first_start']:.1f}",
                         f"{f['last_end']:.1f}", f"{f.get('max_rss_at_end_mb', 0):.0f}",
                         "" if f.get("peak_rss_raised_mb") is None
                         else f"{f['peak_rss_raised_mb']:.0f}"])
        out.append(fmt_table(rows))
    inc = (R.get("incremental") or {})
    for w, x in inc.items():
        out.append(f"\nIncremental ({w} worker(s)): families run {x['families_run']}, new files "
                   f"{x['new_files_by_family']}, only allowed: {x['only_allowed_families']}")
    for key, label in (("chain", "chain"), ("chain_2x", "chain 2x")):
        entries = R.get(key) or {}
        entries = entries.items() if key == "chain" else [("1", entries)]
        for w, x in entries:
            if x and x.get("running_at_peak_rss"):
                out.append(f"\nPeak RSS of the {label} ({w} worker(s)) while running: "
                           + "; ".join(x["running_at_peak_rss"][:4]))
    for e in R.get("errors", []):
        out.append(f"\nERROR in {e['step']}: {e['error']}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=None,
                        help=f"events per MC dataset (default {DEFAULT_EVENTS:,}, quick "
                             f"{QUICK_EVENTS:,}); data: ~0.8x that via the luminosity")
    parser.add_argument("--files", type=int, default=None,
                        help=f"files per dataset (default {DEFAULT_FILES}, quick {QUICK_FILES})")
    parser.add_argument("--workers", default="1,2", help="worker counts (default 1,2)")
    parser.add_argument("--quick", action="store_true", help="small campaign (< 2 minutes)")
    parser.add_argument("--output", default=None,
                        help="JSON result file (default bench/.cache/results[_quick].json)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="timeout per command in seconds (default 3600, quick 300)")
    parser.add_argument("--noop-repeats", type=int, default=None,
                        help="no-op re-runs, the minimum is reported (default 3, quick 1)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="repetitions of the full chain and reference measurements; the "
                             "fastest is reported (default 3, quick 1)")
    parser.add_argument("--experiment", action="append", default=[],
                        help="what-if: run the chain with a benchmark-only patch of "
                             "bench/bench_analysis.py EXPERIMENTS (e.g. uproot_no_array_cache); "
                             "such results are not the framework's numbers")
    parser.add_argument("--double", action=argparse.BooleanOptionalAction, default=None,
                        help="measure the chain at twice the input size (default: yes, with "
                             "--quick: no)")
    args = parser.parse_args(argv)
    args.events = args.events or (QUICK_EVENTS if args.quick else DEFAULT_EVENTS)
    args.files = args.files or (QUICK_FILES if args.quick else DEFAULT_FILES)
    args.timeout = args.timeout or (300.0 if args.quick else 3600.0)
    args.noop_repeats = args.noop_repeats or (1 if args.quick else 3)
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.double = (not args.quick) if args.double is None else args.double
    args.workers = sorted({int(w) for w in args.workers.split(",") if w})
    output = Path(args.output) if args.output else CACHE / (
        "results_quick.json" if args.quick else "results.json")

    t0 = time.perf_counter()
    bench = Bench(args)
    try:
        results = bench.run()
    except BenchError as e:
        bench.results["errors"].append({"step": "setup", "error": str(e)})
        results = bench.results
    results["bench_seconds"] = time.perf_counter() - t0
    results["machine"]["loadavg_at_end"] = os.getloadavg()
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w") as f:
        json.dump(results, f, indent=1, default=_json_default)
    print()
    print(report(results))
    print(f"\nresults: {output} ({results['bench_seconds']:.0f} s in total)")
    return 1 if results["errors"] else 0


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (set, tuple)):
        return list(obj)
    return str(obj)


if __name__ == "__main__":
    raise SystemExit(main())
