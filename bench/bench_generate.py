"""Speed of the synthetic NanoAOD generator in events per second.

Generates a campaign (by default 250k events per MC dataset plus the pseudo-data at the
nominal luminosity, about 1.5M events in total) into a temporary directory, timing each
dataset, and prints a table; ``--json PATH`` also writes the numbers.

    python bench/bench_generate.py [--events N] [--lumi L] [--workers W] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import uproot

from columnar.demo import constants as C
from columnar.demo.generate import GENERATOR_VERSION, generate_dataset


def run(events: int, lumi: float, datasets: list[str], files_per_dataset: int, workers: int,
        seed: int, outdir: Path) -> dict[str, Any]:
    """Generate each dataset into outdir and return the timings."""
    results: dict[str, Any] = {}
    for name in datasets:
        start = time.perf_counter()
        entry = generate_dataset(outdir, name, events=events, files_per_dataset=files_per_dataset,
                                 seed=seed, lumi=lumi, workers=workers)
        seconds = time.perf_counter() - start
        trials = (entry["stage2_trials"] if not entry["is_data"]
                  else sum(p["stage2_trials"] for p in entry["processes"].values()))
        size = sum((outdir / f["path"]).stat().st_size for f in entry["files"])
        results[name] = {
            "events": entry["events"],
            "stage2_trials": trials,
            "seconds": seconds,
            "events_per_second": entry["events"] / seconds,
            "trials_per_second": trials / seconds,
            "megabytes": size / 1e6,
        }
    total_events = sum(r["events"] for r in results.values())
    total_seconds = sum(r["seconds"] for r in results.values())
    return {
        "generator_version": GENERATOR_VERSION,
        "events_per_mc_dataset": events,
        "lumi_pb": lumi,
        "files_per_dataset": files_per_dataset,
        "workers": workers,
        "datasets": results,
        "total": {
            "events": total_events,
            "seconds": total_seconds,
            "events_per_second": total_events / total_seconds,
            "events_per_second_per_worker": total_events / total_seconds / workers,
            "megabytes": sum(r["megabytes"] for r in results.values()),
        },
        "environment": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "uproot": uproot.__version__,
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=250_000, help="events per MC dataset")
    parser.add_argument("--lumi", type=float, default=C.LUMI_PB, help="data luminosity in pb^-1")
    parser.add_argument("--datasets", default=",".join(C.DATASETS))
    parser.add_argument("--files-per-dataset", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--outdir", help="keep the files here (default: temporary, removed)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    outdir = Path(args.outdir) if args.outdir else Path(tempfile.mkdtemp(prefix="bench_gen_"))
    try:
        result = run(args.events, args.lumi, args.datasets.split(","), args.files_per_dataset,
                     args.workers, args.seed, outdir)
    finally:
        if not args.outdir:
            shutil.rmtree(outdir, ignore_errors=True)

    print(f"{'dataset':8s} {'events':>10s} {'trials':>10s} {'seconds':>8s} {'events/s':>10s} "
          f"{'trials/s':>10s} {'MB':>7s}")
    for name, r in result["datasets"].items():
        print(f"{name:8s} {r['events']:10d} {r['stage2_trials']:10d} {r['seconds']:8.2f} "
              f"{r['events_per_second']:10.0f} {r['trials_per_second']:10.0f} "
              f"{r['megabytes']:7.1f}")
    t = result["total"]
    print(f"{'total':8s} {t['events']:10d} {'':10s} {t['seconds']:8.2f} "
          f"{t['events_per_second']:10.0f} {'':10s} {t['megabytes']:7.1f}"
          f"   ({args.workers} worker(s))")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
