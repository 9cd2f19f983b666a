"""How much two processes doing the same columnar work slow each other down on this machine.

    python bench/parallel_efficiency.py [--events N] [--repeat R]

Runs the pass of cf.ReduceEvents (calibration, selection and reduction of nominal, jec_up and
jec_down of one NanoAOD file of the benchmark campaign) outside luigi: R times alone, then R
times in each of two forked processes at once (two different files). The ratio of the two
timings bounds what any second worker can give: with perfect scaling the times are equal and
two processes do twice the work per second. The campaign is generated if missing.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (bench/run.py: campaign and environment)

SHIFTS = ("nominal", "jec_up", "jec_down")


def time_passes(args: tuple[str, int, int]) -> list[float]:
    """Seconds of *repeat* passes over file *branch* of tt, each into an empty store."""
    store, branch, repeat = args
    os.environ["COLUMNAR_STORE"] = store
    from columnar.tasks.external import GetDatasetLFNs
    from columnar.tasks.reduction import ReduceEvents
    from columnar.tasks.reduction_pass import run_reduction_pass

    common = {"version": "eff", "analysis": "bench.bench_analysis.analysis_inst", "dataset": "tt"}
    lfns = GetDatasetLFNs(**common)
    if not lfns.complete():
        lfns.run()
    leader = ReduceEvents(branch=branch, sibling_shifts=SHIFTS, **common)
    tasks = [leader.req(leader, shift=shift) for shift in SHIFTS]
    for task in tasks:
        task.publish_message = task.publish_progress = lambda *a, **k: None
    seconds = []
    cpu = []
    for _ in range(repeat):
        for family in ("cf.ReduceEvents", "cf.SelectEvents", "cf.CalibrateEvents"):
            shutil.rmtree(os.path.join(store, "ttbar_lite", family), ignore_errors=True)
        start, start_cpu = time.perf_counter(), time.process_time()
        run_reduction_pass(tasks[0], tasks)
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=bench.DEFAULT_EVENTS,
                        help="events per MC dataset of the campaign (default: the benchmark's)")
    parser.add_argument("--files", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    campaign = bench.Campaign(args.events, args.files)
    campaign.ensure()
    os.environ.update({**bench.python_env(), **campaign.env()})
    os.chdir(bench.REPO)
    sys.path.insert(0, str(bench.REPO))  # bench.bench_analysis
    import columnar.tasks  # noqa: F401  (imported before the fork, as law does)

    with tempfile.TemporaryDirectory() as tmp:
        stores = [os.path.join(tmp, f"store{i}") for i in range(2)]
        time_passes((stores[0], 0, 1))  # warm-up (file system cache, lazy imports)
        alone, alone_cpu = time_passes((stores[0], 0, args.repeat))
        with multiprocessing.get_context("fork").Pool(2) as pool:
            together = pool.map(time_passes, [(stores[0], 0, args.repeat),
                                              (stores[1], 1, args.repeat)])
    t_alone = statistics.median(alone)
    t_together = statistics.median([t for times, _ in together for t in times])
    print(f"reduction pass of one tt file ({args.events:,} events per MC dataset, "
          f"{args.files} files): alone {t_alone:.2f} s (CPU {statistics.median(alone_cpu):.2f} "
          f"s, all threads), two at once {t_together:.2f} s each (medians of {args.repeat})")
    print(f"throughput of two processes vs one: {2 * t_alone / t_together:.2f}x "
          f"(2.00x = perfect scaling)")


if __name__ == "__main__":
    main()
