"""Figures of the formulation variants and the study runner, from one command each.

Usage (from the repository root; one BLAS thread is set for every part)::

    python benchmarks/bench_variants.py row-sum     # row-sum's normalizations on case 3
    python benchmarks/bench_variants.py l1-ball     # joint steps of the l1 ball at N = 5000
    python benchmarks/bench_variants.py jobs        # run_study with 1 and 2 worker processes
    python benchmarks/bench_variants.py all
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import time
import warnings

import numpy as np

import cvxvolmin
from cvxvolmin import L1BallVolMin, RowSumVolMin


def row_sum() -> None:
    """The default ("auto": l1 here), l1 and no normalization, paper's case 3, r = 5."""
    methods = {
        "row-sum (default)": RowSumVolMin(),
        "row-sum l1": RowSumVolMin(normalize="l1"),
        "row-sum none": RowSumVolMin(normalize=None),
    }
    print(cvxvolmin.run_study(methods, cases=(3,), trials=3).to_markdown())


def _on_facets(rng: np.random.Generator, n: int, r: int = 3):
    H = rng.dirichlet(np.ones(r), n) * rng.choice([-1.0, 1.0], (n, r))
    H *= np.where(rng.uniform(size=(n, 1)) < 0.7, 1.0, rng.uniform(size=(n, 1)))
    return rng.standard_normal((20, r)) @ H.T, H


def l1_ball() -> None:
    """Two draws of rows on the l1 ball's facets, N = 5000, r = 3, two step budgets.

    With 600 steps, also the LPs over all samples (``working_set=False``)
    beside the default working sets, one after the other.
    """
    rng = np.random.default_rng(0)
    for draw in (1, 2):
        X, H = _on_facets(rng, 5000)
        for max_iter, working_set in ((100, None), (600, None), (600, False)):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                start = time.perf_counter()
                result = cvxvolmin.fit(
                    X,
                    3,
                    formulation=L1BallVolMin(),
                    max_iter=max_iter,
                    random_state=0,
                    working_set=working_set,
                )
                elapsed = time.perf_counter() - start
            mse = cvxvolmin.matched_mse(H, result.H, signs=True)
            warned = any(w.category is cvxvolmin.ConvergenceWarning for w in caught)
            lps = "all samples" if working_set is False else "working sets"
            print(
                f"draw {draw}, max_iter {max_iter}, {lps}: {result.n_iter} steps, "
                f"{elapsed:.1f} s, converged {result.converged}, ConvergenceWarning {warned}, "
                f"MSE {mse:.1e}"
            )


def jobs() -> None:
    """The same study with 1 and 2 worker processes, alternating, twice each."""
    for trials in (4, 12):
        for n_jobs in (1, 2, 1, 2):
            start = time.perf_counter()
            cvxvolmin.run_study(
                ["plain-nmf", "row-sum", "column-sum"], cases=(1, 2, 3), trials=trials,
                n_jobs=n_jobs,
            )  # fmt: skip
            print(f"trials {trials}, n_jobs {n_jobs}: {time.perf_counter() - start:.1f} s")


PARTS = {"row-sum": row_sum, "l1-ball": l1_ball, "jobs": jobs}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="+", choices=[*PARTS, "all"])
    args = parser.parse_args(argv)
    for name in PARTS if "all" in args.parts else args.parts:
        print(f"== {name}")
        PARTS[name]()


if __name__ == "__main__":
    main()
