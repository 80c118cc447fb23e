"""Benchmark: the robust solver with and without extrapolated W steps.

Runs :func:`cvxvolmin.robust.fit_robust` side by side in one process on the
same noisy data, once as shipped and once with the extrapolation switched
off (a first step of zero makes every extrapolated W the plain one, which
is then always kept: the plain alternating scheme, at no extra cost).
Prints per data set the median time, the number of H updates (QPs) over all
starts, the final objective of each, and the median time ratio.

Data: the paper's three cases (r = 5, M = N = 200) at 20 and 40 dB, and the
Moffett Field image (r = 3, 2500 pixels) when the real data are found
(``CVXVOLMIN_DATA`` or ``../shared/data``). Set OPENBLAS_NUM_THREADS=1 on a
shared machine (see README, Speed).

Usage: python benchmarks/bench_robust.py [--trials 3] [--no-moffet]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np

import cvxvolmin
from cvxvolmin.robust import add_noise, fit_robust
from cvxvolmin.robust import solver as robust_solver


def run(X: np.ndarray, rank: int, extrapolate: bool) -> tuple[float, int, float]:
    """One fit: wall time, H updates over all starts, final objective."""
    counted = {"qp": 0}
    solve = robust_solver._HUpdate.solve

    def counting(self, data, W):
        counted["qp"] += 1
        return solve(self, data, W)

    start_beta = robust_solver._BETA_START
    robust_solver._HUpdate.solve = counting
    robust_solver._BETA_START = start_beta if extrapolate else 0.0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning is counted in the objective
            start = time.perf_counter()
            result = fit_robust(X, rank, random_state=0)
            elapsed = time.perf_counter() - start
    finally:
        robust_solver._HUpdate.solve = solve
        robust_solver._BETA_START = start_beta
    return elapsed, counted["qp"], result.objective


def data_sets(include_moffet: bool):
    for case in (1, 2, 3):
        X, _, _ = cvxvolmin.make_paper_data(5, case=case, random_state=0)
        for snr in (20.0, 40.0):
            yield f"case {case}, {snr:g} dB", add_noise(X, snr, random_state=1), 5
    if include_moffet:
        from cvxvolmin.datasets import DataNotFoundError, load_moffet

        try:
            yield "Moffet, 2500 pixels", load_moffet().X, 3
        except DataNotFoundError as error:
            print(f"Moffet skipped: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--no-moffet", action="store_true", help="skip the real data set")
    args = parser.parse_args()

    print(
        "| data | plain: time (s) | QPs | objective | extrapolated: time (s) | QPs | objective "
        "| time ratio |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    ratios = []
    for name, X, rank in data_sets(not args.no_moffet):
        rows = {}
        for extrapolate in (False, True):
            runs = [run(X, rank, extrapolate) for _ in range(args.trials)]
            rows[extrapolate] = (statistics.median(r[0] for r in runs), runs[0][1], runs[0][2])
        ratio = rows[True][0] / rows[False][0]
        ratios.append(ratio)
        (t0, q0, f0), (t1, q1, f1) = rows[False], rows[True]
        print(
            f"| {name} | {t0:.2f} | {q0} | {f0:.10g} | {t1:.2f} | {q1} | {f1:.10g} | {ratio:.2f} |"
        )
    print(f"\nmedian time ratio (extrapolated / plain): {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
