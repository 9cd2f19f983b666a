"""``python -m columnar.demo``: generate the demo campaign (first use) and print its yields."""

from __future__ import annotations

import argparse
import time

from columnar.demo.analysis import config_demo
from columnar.demo.config import campaign_dir
from columnar.demo.direct import run_dataset, yields


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m columnar.demo", description=__doc__)
    parser.add_argument("--shift", default="nominal", help="shift to run (default: nominal)")
    args = parser.parse_args(argv)

    config = config_demo
    start = time.perf_counter()
    events = {}
    n_input = 0
    for dataset in config.datasets:
        events[dataset.name], stats = run_dataset(config, dataset.name, shift=args.shift)
        n_input += int(stats["num_events"])
    table = yields(config, events)
    elapsed = time.perf_counter() - start

    cats = [c.name for c in config.categories]
    print(f"campaign: {campaign_dir(config)}")
    print(f"shift: {args.shift}, {n_input} input events in {elapsed:.1f} s")
    print(f"{'dataset':<10}" + "".join(f"{c:>12}" for c in cats))
    mc_total = dict.fromkeys(cats, 0.0)
    for name, row in table.items():
        print(f"{name:<10}" + "".join(f"{row[c]:>12.1f}" for c in cats))
        if config.get_dataset(name).is_mc:
            for c in cats:
                mc_total[c] += row[c]
    print(f"{'MC total':<10}" + "".join(f"{mc_total[c]:>12.1f}" for c in cats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
