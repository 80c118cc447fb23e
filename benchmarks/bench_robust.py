"""Benchmark: fit_robust's fast path against its QP path and scikit-learn NMF, side by side.

One process, the same noisy data for every method (the paper's data,
``make_paper_data``, plus white noise at ``--snr`` dB), one row per method
and size:

* ``fast``: :func:`cvxvolmin.fit_robust` as shipped (projected-gradient H
  updates, W in the principal subspace);
* ``fast-full``: the same with ``subspace="full"`` (no approximation);
* ``qp-full``: ``h_solver="qp", subspace="full"``, the H update as the
  formulation's QP in cvxpy (OSQP) in the full frame: the previous solver's
  algorithm, run only up to ``--qp-max`` samples (it took 18 s at N = 1e3
  and did not finish in 400 s at 1e4);
* ``sklearn-nmf``: ``sklearn.decomposition.NMF`` with r components (the
  cheapest fitting baseline; nonnegative cases only, ``--case 1`` or 2).

Printed per run: wall time (median over ``--repeat``), the MSE of H
(:func:`cvxvolmin.matched_mse`), iterations and inner iterations, and
Python's peak of traced memory relative to the size of X (numpy reports its
buffers to tracemalloc). Each size then prints the time ratio qp-full / fast.

BLAS threads: ``--threads N`` limits them with threadpoolctl (installed
with scikit-learn), so one run can measure both settings; the default
leaves the library's choice. The machine is shared: compare rows of one run.

Usage::

    python benchmarks/bench_robust.py --sizes 1000 10000 100000 --threads 1
    python benchmarks/bench_robust.py --sizes 200 --rank 5 --case 1 --repeat 5
    python benchmarks/bench_robust.py --sizes 100000 --methods fast --threads 1
    python benchmarks/bench_robust.py --moffet          # the real image, r = 3
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
import tracemalloc
import warnings

import numpy as np

import cvxvolmin
from cvxvolmin.robust import add_noise, fit_robust


def _nmf_H(X: np.ndarray, rank: int) -> np.ndarray:
    from sklearn.decomposition import NMF

    model = NMF(rank, init="nndsvda", max_iter=1000, random_state=0)
    return model.fit(X.T).transform(X.T)  # samples as rows: H is N x r


def _method(name: str):
    if name == "sklearn-nmf":
        return lambda X, rank: (_nmf_H(X, rank), 0, 0)
    options = {
        "fast": {},
        "fast-full": {"subspace": "full"},
        "qp-full": {"h_solver": "qp", "subspace": "full"},
    }[name]

    def run(X, rank):
        result = fit_robust(X, rank, random_state=0, **options)
        return result.H, result.n_iter, result.n_inner

    return run


def measure(name: str, X: np.ndarray, rank: int, H_true, repeat: int) -> dict:
    times, peak = [], 0
    for attempt in range(repeat):
        trace = attempt == 0  # memory once; tracing costs a little time
        if trace:
            tracemalloc.start()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            H, n_iter, n_inner = _method(name)(X, rank)
            times.append(time.perf_counter() - start)
        if trace:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    mse = cvxvolmin.matched_mse(H_true, H) if H_true is not None else float("nan")
    return {
        "time": statistics.median(times),
        "mse": mse,
        "n_iter": n_iter,
        "n_inner": n_inner,
        "memory": peak / X.nbytes,
        "H": H,
    }


def _threads(count: int | None):
    if count is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=count, user_api="blas")


def synthetic(args) -> None:
    methods = args.methods or ["fast", "fast-full", "qp-full"]
    if args.methods is None and args.case in (1, 2):
        methods.append("sklearn-nmf")
    print(
        f"M = {args.features}, r = {args.rank}, case {args.case}, {args.snr:g} dB, "
        f"BLAS threads: {args.threads or 'default'}, median of {args.repeat}"
    )
    print("| N | method | time (s) | MSE of H | iterations | inner | peak memory / X |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for n in args.sizes:
        X, _, H = cvxvolmin.make_paper_data(
            args.rank, case=args.case, n_features=args.features, n_samples=n, random_state=0
        )
        noisy = add_noise(X, args.snr, random_state=1)
        del X
        rows = {}
        for name in methods:
            if name == "qp-full" and n > args.qp_max:
                continue
            rows[name] = row = measure(name, noisy, args.rank, H, args.repeat)
            print(
                f"| {n} | {name} | {row['time']:.2f} | {row['mse']:.2e} | {row['n_iter']} "
                f"| {row['n_inner']} | {row['memory']:.2f} |",
                flush=True,
            )
        if "qp-full" in rows:
            ratio = rows["qp-full"]["time"] / rows["fast"]["time"] if "fast" in rows else np.nan
            print(f"|  | qp-full / fast | {ratio:.1f} |  |  |  |  |", flush=True)


def moffet(args) -> None:
    from cvxvolmin.datasets import load_moffet
    from cvxvolmin.metrics import match_columns

    X = load_moffet().X
    print(f"Moffett Field, {X.shape[1]} pixels, r = 3, BLAS threads: {args.threads or 'default'}")
    print("| method | time (s) | iterations | inner | largest angle to qp-full (deg) |")
    print("| --- | --- | --- | --- | --- |")
    options = {"qp-full": {"h_solver": "qp", "subspace": "full"}, "fast": {}}
    options["fast-full"] = {"subspace": "full"}
    reference = None
    for name, chosen in options.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            result = fit_robust(X, 3, random_state=0, **chosen)
            elapsed = time.perf_counter() - start
        reference = result.W if reference is None else reference
        perm = match_columns(reference, result.W)[0]
        matched = result.W[:, perm]
        cosines = np.sum(reference * matched, axis=0) / (
            np.linalg.norm(reference, axis=0) * np.linalg.norm(matched, axis=0)
        )
        angle = float(np.degrees(np.arccos(np.clip(cosines.min(), -1.0, 1.0))))
        print(
            f"| {name} | {elapsed:.2f} | {result.n_iter} | {result.n_inner} | {angle:.3f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--features", type=int, default=200, help="M (default 200)")
    parser.add_argument("--rank", type=int, default=10, help="r (default 10)")
    parser.add_argument("--case", type=int, default=3, choices=(1, 2, 3))
    parser.add_argument("--snr", type=float, default=30.0, help="dB (default 30)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per cell (median)")
    parser.add_argument("--qp-max", type=int, default=1000, help="largest N for qp-full")
    parser.add_argument("--threads", type=int, help="BLAS threads (threadpoolctl)")
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=("fast", "fast-full", "qp-full", "sklearn-nmf"),
        help="methods to run (default: all that apply)",
    )
    parser.add_argument("--moffet", action="store_true", help="the Moffett Field image instead")
    args = parser.parse_args()
    with _threads(args.threads):
        moffet(args) if args.moffet else synthetic(args)


if __name__ == "__main__":
    main()
