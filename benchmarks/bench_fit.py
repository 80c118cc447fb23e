"""Benchmark: column-sum VolMin at the paper's size, against direct highspy.

Runs, side by side in one process, cvxvolmin's fit (LPs declared in cvxpy,
re-solved on cvxpy's parametrized path with HiGHS) and a baseline that runs
the same alternating optimization (same reduction, same start, same engine)
but solves each row LP by calling highspy directly on one persistent model,
changing only the objective between solves. Prints medians per (r, case)
and the ratio cvxvolmin / direct highspy.

Usage: python benchmarks/bench_fit.py [--trials 7] [--ranks 5 10]
"""

from __future__ import annotations

import argparse
import statistics
import time

import highspy
import numpy as np

import cvxvolmin
from cvxvolmin.engine import maximize_volume
from cvxvolmin.formulations import ColumnSumVolMin


class DirectHighsRowLP:
    """The column-sum row LP on one persistent highspy model (the baseline)."""

    def __init__(self, Xt: np.ndarray, unit: float):
        r, n = Xt.shape
        inf = highspy.kHighsInf
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.addVars(r, np.full(r, -inf), np.full(r, inf))
        rows = np.vstack([Xt.T, Xt.sum(axis=1)])  # h >= 0 and sum(h) == unit
        lower = np.concatenate([np.zeros(n), [unit]])
        upper = np.concatenate([np.full(n, inf), [unit]])
        starts = np.arange(n + 1) * r
        self.highs.addRows(
            n + 1, lower, upper, rows.size, starts, np.tile(np.arange(r), n + 1), rows.ravel()
        )
        self.highs.changeObjectiveSense(highspy.ObjSense.kMaximize)
        self.index = np.arange(r, dtype=np.int32)
        self.n_solves = 0

    def maximize(self, direction: np.ndarray) -> np.ndarray:
        self.highs.changeColsCost(len(direction), self.index, direction)
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"direct HiGHS: {self.highs.getModelStatus()}")
        self.n_solves += 1
        return np.array(self.highs.getSolution().col_value)


def direct_fit(X: np.ndarray, rank: int, seed: int) -> tuple[np.ndarray, float, int, int]:
    """The same AO as ``cvxvolmin.fit``, LPs on direct highspy; returns H and stats."""
    start = time.perf_counter()
    form = ColumnSumVolMin()
    reduction = form.reduce(X, rank)
    lp = DirectHighsRowLP(reduction.Xt, form.unit(reduction))
    Q0 = form.initial_Q(reduction, np.random.default_rng(seed))
    trace = maximize_volume(lp, Q0, max_iter=100, tol=1e-9)
    _, H = form.recover(trace.Q, reduction)
    return H, time.perf_counter() - start, trace.n_iter, trace.n_lp_solves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=7)
    parser.add_argument("--ranks", type=int, nargs="+", default=[5, 10])
    args = parser.parse_args()

    header = (
        f"{'r':>3} {'case':>4} | {'fit s':>7} {'sweeps':>6} {'LPs':>4} {'ms/LP':>6} "
        f"{'max MSE':>8} | {'direct s':>8} {'ms/LP':>6} | {'ratio':>5}"
    )
    print(f"M = N = 200, {args.trials} trials each; medians (cvxvolmin | direct highspy)")
    print(header)
    print("-" * len(header))
    ratios = []
    for rank in args.ranks:
        for case in (1, 2, 3):
            ours, theirs, sweeps, lps, mses, per_lp, per_lp_direct = ([] for _ in range(7))
            for seed in range(args.trials):
                X, _, H = cvxvolmin.make_paper_data(rank, case=case, random_state=seed)
                # Interleave the two so that machine noise hits both alike.
                result = cvxvolmin.fit(X, rank, random_state=seed)
                H_direct, t_direct, _, n_direct = direct_fit(X, rank, seed)
                ours.append(result.time_s)
                theirs.append(t_direct)
                sweeps.append(result.n_iter)
                lps.append(result.n_lp_solves)
                per_lp.append(result.time_s / result.n_lp_solves)
                per_lp_direct.append(t_direct / n_direct)
                mses.append(max(cvxvolmin.matched_mse(H, result.H), 0.0))
                assert cvxvolmin.matched_mse(H, H_direct) < 1e-18
            ratio = statistics.median(ours) / statistics.median(theirs)
            ratios.append(ratio)
            print(
                f"{rank:>3} {case:>4} | {statistics.median(ours):>7.3f} "
                f"{statistics.median(sweeps):>6.0f} {statistics.median(lps):>4.0f} "
                f"{1e3 * statistics.median(per_lp):>6.2f} {max(mses):>8.1e} | "
                f"{statistics.median(theirs):>8.3f} {1e3 * statistics.median(per_lp_direct):>6.2f} "
                f"| {ratio:>5.1f}"
            )
    print(f"median ratio cvxvolmin / direct highspy: {statistics.median(ratios):.1f}")


if __name__ == "__main__":
    main()
