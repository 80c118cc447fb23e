"""Benchmark: the in-memory fit beside one ``X @ X.T``, repeated, on a shared machine.

For each N (M = 200, the paper's case 3), one process per tree generates X
once and then, ``--repeat`` times, times one product ``X @ X.T`` and one fit
right after it, so that each fit has a floor measured under the same load;
it reports the medians and the median of the per-repeat ratios fit / floor.
``--blas-threads`` limits BLAS (threadpoolctl) for the whole process, floor
included; ``--busy`` runs one CPU-bound process (a Python busy loop) beside.
``--baseline REV`` runs the same on an older commit (a temporary ``git
worktree``), tree after tree for each N; ``--rounds k`` runs each tree's
process k times, the trees alternating, and reports the medians over all
k * repeat pairs (the load of a shared machine drifts within minutes).

Usage: python benchmarks/bench_inmemory.py [--sizes 1e5 1e6] [--repeat 5]
       [--rounds 1] [--blas-threads 1] [--busy] [--baseline REV]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _trees import run_on_tree, trees
from bench_scale import busy_process


def measure(rank: int, n_samples: int, repeat: int, seed: int = 0) -> dict:
    """``repeat`` pairs (floor, fit) at this size, in this process."""
    import cvxvolmin

    X, _, H = cvxvolmin.make_paper_data(
        rank, case=3, n_features=200, n_samples=n_samples, random_state=seed
    )
    cvxvolmin.fit(X[:, :5000], rank, random_state=seed)  # imports, HiGHS
    floors, fits, mse = [], [], 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        X @ X.T
        floors.append(time.perf_counter() - start)
        result = cvxvolmin.fit(X, rank, random_state=seed)
        fits.append(result.time_s)
        mse = max(mse, cvxvolmin.matched_mse(H, result.H))
    return {"fits": fits, "floors": floors, "mse": mse, "sweeps": result.n_iter}


def summary(runs: list[dict]) -> dict:
    """Medians over the pairs of several processes (rounds) of one tree."""
    fits = [f for run in runs for f in run["fits"]]
    floors = [g for run in runs for g in run["floors"]]
    return {
        "fit_s": statistics.median(fits),
        "floor_s": statistics.median(floors),
        "ratio": statistics.median(f / g for f, g in zip(fits, floors, strict=True)),
        "min_fit_s": min(fits),
        "max_fit_s": max(fits),
        "mse": max(run["mse"] for run in runs),
        "sweeps": runs[-1]["sweeps"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e5, 1e6])
    parser.add_argument("--rank", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1, help="processes per tree, alternating")
    parser.add_argument("--blas-threads", type=int, help="BLAS threads (default: BLAS's)")
    parser.add_argument("--busy", action="store_true", help="one CPU-bound process beside")
    parser.add_argument("--baseline", help="also run on this older commit")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child process: "rank:N:repeat"
    args = parser.parse_args()
    if args.one:
        from threadpoolctl import threadpool_limits

        rank, n, repeat = args.one.split(":")
        with threadpool_limits(args.blas_threads, user_api="blas"):  # None: the default
            print(json.dumps(measure(int(rank), int(float(n)), int(repeat))))
        return
    threads = "default" if args.blas_threads is None else str(args.blas_threads)
    print(
        f"M = 200, r = {args.rank}, case 3; {args.repeat} (X @ X.T, fit) pairs per process, "
        f"{args.rounds} process(es) per tree, medians; BLAS threads: {threads}; "
        f"{'beside one busy process' if args.busy else 'no load added'}"
    )
    header = (
        f"{'tree':<10} {'N':>8} | {'fit s':>7} {'min':>6} {'max':>6} {'X@X.T s':>8} "
        f"{'ratio':>6} | {'MSE':>8} {'sweeps':>6}"
    )
    print(header)
    print("-" * len(header))
    extra = [] if args.blas_threads is None else ["--blas-threads", str(args.blas_threads)]
    with trees(args.baseline) as found, busy_process() if args.busy else contextlib.nullcontext():
        for n in args.sizes:
            runs: dict[str, list[dict]] = {name: [] for name in found}
            for _ in range(args.rounds):
                for name, tree in found.items():
                    one = ["--one", f"{args.rank}:{int(n)}:{args.repeat}", *extra]
                    runs[name].append(run_on_tree(__file__, tree, one))
            for name in found:
                row = summary(runs[name])
                print(
                    f"{name:<10} {int(n):>8} | {row['fit_s']:>7.2f} {row['min_fit_s']:>6.2f} "
                    f"{row['max_fit_s']:>6.2f} {row['floor_s']:>8.3f} {row['ratio']:>6.1f} | "
                    f"{row['mse']:>8.1e} {row['sweeps']:>6}",
                    flush=True,
                )


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
