"""Worst MSE of H when the columns of X are scaled by 10^U(-k, k).

The figures quoted in docs/numerics.rst: the paper's data (cases 1 to 3,
seeds 0 to 2, M = N = 200), each column of X multiplied by a positive factor,
the rows of the fitted H divided by it again before matching, so that the
rows of the smallest columns count as much as the others. A fit that raises
is counted and shown.

    python benchmarks/column_scaling.py [--spans 0 2 4 5 8] [--ranks 5 10]
"""

from __future__ import annotations

import argparse

import numpy as np

import cvxvolmin


def worst_mse(rank: int, span: float) -> tuple[float, int]:
    worst, failures = 0.0, 0
    for case in (1, 2, 3):
        for seed in range(3):
            X, _, H = cvxvolmin.make_paper_data(rank, case=case, random_state=seed)
            scale = 10.0 ** np.random.default_rng(seed).uniform(-span, span, X.shape[1])
            try:
                fitted = cvxvolmin.fit(X * scale, rank, random_state=seed).H
            except cvxvolmin.CvxvolminError:
                failures += 1
                continue
            worst = max(worst, cvxvolmin.matched_mse(H, fitted / scale[:, None]))
    return worst, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=float, nargs="+", default=[0, 2, 4, 5, 8])
    parser.add_argument("--ranks", type=int, nargs="+", default=[5, 10])
    args = parser.parse_args()
    print("| r | k | worst MSE of H (9 fits) | fits that raised |")
    print("| --- | --- | --- | --- |")
    for rank in args.ranks:
        for span in args.spans:
            worst, failures = worst_mse(rank, span)
            print(f"| {rank} | {span:g} | {worst:.2g} | {failures} |")


if __name__ == "__main__":
    main()
