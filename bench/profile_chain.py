"""Sampling profile of the columnar chain with py-spy, attributed to task families.

    python bench/profile_chain.py [--events N] [--files K] [--workers 1] [--py-spy PATH]
                                  [--case full|noop|both] [--top 12]

Runs ``law run cf.PlotVariables1D ... --shift-sources jec,btag,mu`` (the full chain of
bench/run.py) from an empty store under ``py-spy record --subprocesses --format raw`` and, with
``--case noop`` or ``both``, the no-op re-run of the same command. py-spy is not a dependency of
columnar: install it anywhere (``pip install --target DIR py-spy``) and pass ``--py-spy
DIR/bin/py-spy`` or put it on PATH.

Every sample is a Python stack of one thread. A sample belongs to the task family whose
``<Task>.run`` frame (in ``columnar/tasks/``) it contains; with ``--workers > 1`` luigi forks one
process per task, and all samples of such a process (its reader and writer threads, imports,
luigi's code around run()) go to its task family. Other samples are classified by the frames
they contain: the column reading and parquet writing threads (with one worker they cannot be
told apart by task), law's workflow bookkeeping, scheduling (``Worker.add``/``check_complete``:
graph building and existence checks), the luigi worker loop, imports, other. Threads blocked
in C (waiting) are left out. For each family it prints the share of all samples and the
functions with the largest inclusive share within the family (frames below the run frame), and
the leaf functions (self time). Raw profiles and logs go to ``bench/.cache/profile/<tag>/``, the
analysis to ``bench/.cache/profile/profile_<tag>.json`` (``--reanalyse`` analyses the raw
profiles of an earlier run again).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (bench/run.py: campaign, commands, environment)

PROFILE_DIR = bench.CACHE / "profile"

RUN_FRAME = re.compile(r"^(\w+)\.run \((?:.*/)?columnar/tasks/\w+\.py:\d+\)$")
LINE = re.compile(r":\d+\)$")


def strip_line(frame: str) -> str:
    """``f (file.py:12)`` -> ``f (file.py)``."""
    return LINE.sub(")", frame)


def short(frame: str) -> str:
    """Shorten paths of site-packages and of the repository in a frame name."""
    frame = re.sub(r"\((?:.*/site-packages/)", "(", frame)
    return frame.replace(str(bench.REPO) + "/", "")


def parse_raw(path: Path) -> list[tuple[str, list[str], int]]:
    """py-spy's raw (folded) output: ``process ...;frame;frame;... count`` per line, root
    first; returns (process, frames, count)."""
    samples = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            # with --subprocesses, one "process PID:cmd" frame per generation (parent first)
            process = ""
            while frames and frames[0].startswith("process "):
                process, frames = frames[0].split(":", 1)[0], frames[1:]
            samples.append((process, frames, int(count)))
    return samples


#: categories of samples outside a task's run frame, by a frame they contain (first match)
CATEGORIES = [
    ("LocalWorkflowProxy.run", "law workflow tasks (branch bookkeeping)"),
    ("ChunkedReader.read", "column reading thread (io.ChunkedReader.read)"),
    ("ParquetWriter._write", "parquet writing thread (io.ParquetWriter._write)"),
    ("Server.serve_forever", "law multiprocessing manager (other process/thread)"),
    ("Server.handle_request", "law multiprocessing manager (other process/thread)"),
    ("Worker.add", "scheduling (graph building, existence checks)"),
    ("check_complete", "scheduling (graph building, existence checks)"),
    ("Worker._add", "scheduling (graph building, existence checks)"),
    ("TaskProcess.run", "luigi task process outside run()"),
    ("Worker.run", "luigi worker loop (forking, polling)"),
    ("_find_and_load", "imports (outside tasks)"),
]


#: leaf frames of threads blocked in C (waiting for work, I/O readiness or a lock); py-spy
#: reports some of them as active, they are counted apart and left out of the shares
IDLE_LEAVES = ("Condition.wait (", "EpollSelector.select (", "_PollLikeSelector.select (",
               "_worker (concurrent/futures/thread.py", "socket.accept (", "Event.wait (",
               "Connection._recv (", "Connection._poll (", "select (selectors.py",
               "Thread.join (", "Thread._wait_for_tstate_lock (")


def is_idle(frames: list[str]) -> bool:
    return bool(frames) and short(frames[-1]).startswith(IDLE_LEAVES)


def task_of(frames: list[str]) -> tuple[str | None, int | None]:
    for i, frame in enumerate(frames):
        m = RUN_FRAME.match(short(frame))
        if m:
            return f"cf.{m.group(1)}", i
    return None, None


def classify(frames: list[str], process_task: str | None) -> tuple[str, int | None]:
    """Category of a sample and the index of its task run frame (if any).

    A process that ran only one task (luigi forks one per task with --workers > 1) gives all
    its samples, also those of its reader and writer threads, to that task family.
    """
    family, idx = task_of(frames)
    if family:
        return family, idx
    if process_task:
        return process_task, None
    joined = ";".join(frames)
    for marker, category in CATEGORIES:
        if marker in joined:
            return category, None
    return "other", None


def analyse(samples: list[tuple[str, list[str], int]], top: int) -> dict:
    idle = sum(n for _, frames, n in samples if is_idle(frames))
    samples = [s for s in samples if not is_idle(s[1])]
    total = sum(n for _, _, n in samples)
    families_of: dict[str, set] = collections.defaultdict(set)
    for process, frames, _ in samples:
        family, _ = task_of(frames)
        if family:
            families_of[process].add(family)
    # forked task processes (their stacks start in multiprocessing's child bootstrap) that ran
    # one task family; the main process of law run (tasks in-process with one worker) never
    forked = {p for p, frames, _ in samples if any("BaseProcess._bootstrap" in f for f in frames)}
    single = {p: next(iter(f)) for p, f in families_of.items()
              if len(f) == 1 and p and p in forked}
    per_cat: dict[str, int] = collections.Counter()
    inclusive: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    leaf: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for process, frames, n in samples:
        cat, idx = classify(frames, single.get(process))
        per_cat[cat] += n
        below = frames[idx + 1:] if idx is not None else frames
        seen = set()
        for frame in below:
            name = short(strip_line(frame))
            if name not in seen:
                inclusive[cat][name] += n
                seen.add(name)
        if below:
            leaf[cat][short(strip_line(below[-1]))] += n
    out = {"samples": total, "idle_samples_left_out": idle,
           "processes": len({p for p, _, _ in samples}), "categories": {}}
    for cat, n in per_cat.most_common():
        out["categories"][cat] = {
            "samples": n,
            "share": n / total if total else 0.0,
            "inclusive": [(name, c / n) for name, c in inclusive[cat].most_common(top)],
            "self": [(name, c / n) for name, c in leaf[cat].most_common(top)],
        }
    return out


def print_analysis(title: str, result: dict, top: int) -> None:
    print(f"\n## {title}: {result['samples']} samples (and {result['idle_samples_left_out']} "
          "of waiting threads, left out)")
    for cat, info in result["categories"].items():
        if info["share"] < 0.01:
            continue
        print(f"\n### {cat}: {100 * info['share']:.1f} % of all samples")
        print("inclusive (share of this category):")
        for name, share in info["inclusive"][:top]:
            print(f"  {100 * share:5.1f} %  {name}")
        print("self:")
        for name, share in info["self"][:top]:
            print(f"  {100 * share:5.1f} %  {name}")


def record(py_spy: str, cmd: list[str], env: dict, out: Path, rate: int, log: Path) -> float:
    full_env = dict(os.environ)
    full_env.update(env)
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(bench.REPO)] + [p for p in full_env.get("PYTHONPATH", "").split(os.pathsep) if p])
    full_env.update(bench.python_env())
    spy = [py_spy, "record", "--subprocesses", "--rate", str(rate), "--format", "raw",
           "--output", str(out), "--"]
    t0 = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.run(spy + [sys.executable, *cmd], cwd=bench.REPO, env=full_env,
                              stdout=f, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0 or not out.exists():
        raise bench.BenchError(f"py-spy run failed (log: {log}):\n{bench._tail(log)}")
    return wall


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=bench.DEFAULT_EVENTS)
    parser.add_argument("--files", type=int, default=bench.DEFAULT_FILES)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--case", choices=["full", "noop", "both"], default="both")
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    parser.add_argument("--rate", type=int, default=100, help="samples per second")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--reanalyse", action="store_true",
                        help="only analyse the raw profiles of an earlier run again")
    args = parser.parse_args(argv)
    if not args.reanalyse and not shutil.which(args.py_spy) and not os.path.exists(args.py_spy):
        print("py-spy not found; install it (pip install --target DIR py-spy) and pass "
              "--py-spy DIR/bin/py-spy", file=sys.stderr)
        return 2

    campaign = bench.Campaign(args.events, args.files)
    campaign.ensure()
    tag = f"mc{args.events}_f{args.files}_{args.workers}w"
    run_dir = (bench.fresh_dir(PROFILE_DIR / tag) if args.case != "noop" and not args.reanalyse
               else PROFILE_DIR / tag)
    store, tasklog = run_dir / "store", run_dir / "tasklog"
    env = campaign.env()
    env.update({"COLUMNAR_STORE": str(store), "COLUMNAR_BENCH_TASKLOG": str(tasklog)})
    if not args.reanalyse:
        bench.warm_up_bytecode()
    cmd = bench.law_run(bench.FULL_ARGS, args.workers)
    summary = {"campaign": campaign.describe(), "workers": args.workers}
    cases = ["full", "noop"] if args.case == "both" else [args.case]
    for case in cases:
        raw = run_dir / f"{case}.raw.txt"
        if args.reanalyse:
            wall = None
        else:
            wall = record(args.py_spy, cmd, env, raw, args.rate, run_dir / f"{case}.log")
        if case == "full" and not args.reanalyse:
            bench.check_full_chain_outputs(store, "profiled chain")
        result = analyse(parse_raw(raw), args.top)
        result["wall_seconds_under_py_spy"] = wall
        summary[case] = result
        print_analysis(f"{case} ({campaign.input_events:,} input events, {args.workers} "
                       f"worker(s){f', {wall:.1f} s under py-spy' if wall else ''})", result,
                       args.top)
    out = PROFILE_DIR / f"profile_{tag}.json"
    with open(out, "w") as f:
        json.dump(summary, f, indent=1)
    print(f"\nprofile: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
