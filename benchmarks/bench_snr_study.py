"""The SNR study (``cvxvolmin reproduce noise``) on this tree and on an older commit, in one run.

Each tree runs :func:`cvxvolmin.robust.run_snr_study` in its own process
(the older one from a temporary ``git worktree``), with the same seed, so
both see the same noisy data (for commits from the one where the study
became a configuration of :func:`cvxvolmin.run_study`; older ones draw
other noise, so their cells compare two draws); the two studies run one
after the other, one
BLAS thread each unless ``--threads`` says otherwise. Printed: the wall time
of each study and their ratio, the total time of each method, and every
cell's median MSE of H side by side with its ratio (new / old).

Usage (from the repository root)::

    python benchmarks/bench_snr_study.py                     # against 877523b
    python benchmarks/bench_snr_study.py --baseline HEAD~5 --trials 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from _trees import trees

# The last commit before the first-order robust solver (issue 12).
DEFAULT_BASELINE = "877523b"

_RUN = """
import json, sys, time
from cvxvolmin.robust import run_snr_study
config = json.loads(sys.argv[1])
start = time.perf_counter()
study = run_snr_study(**config)
wall = time.perf_counter() - start
records = [
    {"method": r.method, "snr": r.snr_db, "case": r.case, "mse": r.mse, "time_s": r.time_s}
    for r in study.records
]
rows = {f"{r.method}|{r.snr_db:g}|{r.case}": r.median_mse for r in study.rows}
print(json.dumps({"wall_s": wall, "records": records, "rows": rows}))
"""


def _study(tree: Path, config: dict, threads: str | None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    if threads is not None:
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = threads
    out = subprocess.run(
        [sys.executable, "-c", _RUN, json.dumps(config)],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="older commit")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--snrs", type=float, nargs="+", default=[20.0, 30.0, 40.0])
    parser.add_argument("--cases", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", default="1", help="BLAS threads per study ('default': leave unset)"
    )
    args = parser.parse_args(argv)
    threads = None if args.threads == "default" else args.threads
    config = {"snrs_db": args.snrs, "cases": args.cases, "trials": args.trials, "seed": args.seed}

    with trees(args.baseline) as found:
        old = _study(found[args.baseline], config, threads)
        new = _study(found["this tree"], config, threads)

    print(f"config {config}, BLAS threads {args.threads}; baseline {args.baseline}")
    print(
        f"whole study: baseline {old['wall_s']:.1f} s, this tree {new['wall_s']:.1f} s, "
        f"{old['wall_s'] / new['wall_s']:.1f} times faster"
    )
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for side, result in enumerate((old, new)):
        for record in result["records"]:
            totals[record["method"]][side] += record["time_s"]
    print(f"{'method':<20} {'baseline s':>11} {'this tree s':>12} {'speed-up':>9}")
    for method, (t_old, t_new) in totals.items():
        print(f"{method:<20} {t_old:>11.1f} {t_new:>12.1f} {t_old / t_new:>9.1f}")
    print(f"{'cell (method|SNR|case)':<30} {'baseline MSE':>13} {'this tree':>11} {'ratio':>7}")
    for key, before in old["rows"].items():
        after = new["rows"].get(key)
        ratio = after / before if before and after is not None else float("nan")
        print(f"{key:<30} {before:>13.3e} {after:>11.3e} {ratio:>7.3f}")


if __name__ == "__main__":
    main()
