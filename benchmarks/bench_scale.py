"""Benchmark: column-sum VolMin as the number of samples N grows.

For each N, generates the paper's case 3 (Gaussian W) at M = 200, times one
fit, measures in a second fit the peak memory that numpy allocates
(tracemalloc, relative to the size of X), and times one product X @ X.T on
the same data: the floor that any method pays to read X. Each size runs in
its own process so that memory figures do not leak between sizes.

Usage: python benchmarks/bench_scale.py [--sizes 1e3 1e4 1e5 1e6] [--rank 10]
       [--extra 20:1e5]   (rank:N pairs run in addition)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import tracemalloc

import numpy as np

import cvxvolmin


def measure(rank: int, n_samples: int, n_features: int = 200, seed: int = 0) -> dict:
    """One fit at this size, in this process."""
    X, _, H = cvxvolmin.make_paper_data(
        rank, case=3, n_features=n_features, n_samples=n_samples, random_state=seed
    )
    start = time.perf_counter()
    X @ X.T
    floor = time.perf_counter() - start
    result = cvxvolmin.fit(X, rank, random_state=seed)
    # Memory in a second, traced run: tracing slows every allocation, so it
    # must not touch the timed one.
    tracemalloc.start()
    cvxvolmin.fit(X, rank, random_state=seed)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "rank": rank,
        "N": n_samples,
        "fit_s": result.time_s,
        "floor_s": floor,
        "peak_over_X": peak / X.nbytes,
        "mse": cvxvolmin.matched_mse(H, result.H),
        "sweeps": result.n_iter,
        "lps": result.n_lp_solves,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e3, 1e4, 1e5, 1e6])
    parser.add_argument("--rank", type=int, default=10)
    parser.add_argument("--extra", nargs="*", default=["20:1e5"], help="rank:N pairs")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child process: "rank:N"
    args = parser.parse_args()
    if args.one:
        rank, n = args.one.split(":")
        print(json.dumps(measure(int(rank), int(float(n)))))
        return

    runs = [(args.rank, int(n)) for n in args.sizes]
    runs += [(int(r), int(float(n))) for r, n in (pair.split(":") for pair in args.extra)]
    header = (
        f"{'r':>3} {'N':>8} | {'fit s':>7} {'X@X.T s':>8} {'ratio':>6} | "
        f"{'peak/X':>6} | {'MSE':>8} {'sweeps':>6} {'LPs':>5}"
    )
    print("M = 200, paper's case 3 (Gaussian W); one fit per size, each in its own process")
    print(header)
    print("-" * len(header))
    for rank, n in runs:
        done = subprocess.run(
            [sys.executable, __file__, "--one", f"{rank}:{n}"],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{rank:>3} {n:>8} | {row['fit_s']:>7.2f} {row['floor_s']:>8.3f} "
            f"{row['fit_s'] / row['floor_s']:>6.1f} | {row['peak_over_X']:>6.2f} | "
            f"{row['mse']:>8.1e} {row['sweeps']:>6} {row['lps']:>5}"
        )


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
