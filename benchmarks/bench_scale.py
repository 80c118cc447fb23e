"""Benchmark: column-sum VolMin as the number of samples N grows, and beside a busy process.

Sizes (default): for each N, generates the paper's case 3 (Gaussian W) at
M = 200, times one fit, measures in a second fit the peak memory that numpy
allocates (tracemalloc, relative to the size of X), and times one product
X @ X.T on the same data: the floor that any method pays to read X. Each
size runs in its own process so that memory figures do not leak between
sizes.

``--threads``: at one N (1e5 by default), the fit with the default BLAS
threads and with one BLAS thread for the whole fit (threadpoolctl), on a
quiet machine and beside one CPU-bound process (a Python busy loop); each
configuration ``--repeat`` times, interleaved, medians and ratios.

``--dask N [N ...]`` (default 1e6 1e7): the paper's case 3 at M = 100
written to a zarr store under ``--store-dir`` chunk by chunk (X is never
whole in memory; the store is deleted afterwards), a ``--workers``-worker
``distributed.LocalCluster`` (one thread each), and in one process per fit,
after an untimed Gram pass (warm-up): one dask Gram pass ``X @ X.T`` over
the store, the fit, the Gram pass again; the fit's ratio to the Gram
passes' mean, its two passes over X and the scans of constraint generation
timed inside it (wrapped here), the rest ("other", in the client), the MSE
of H, and per-chunk rates for the cost model in docs/numerics.rst. With
``--repeat k``, k fits per tree, interleaved, and the median ratios.

``--baseline REV`` runs every measurement on that older commit too (from a
temporary ``git worktree``, in its own process), side by side (for
``--dask``, on the same store).

Usage: python benchmarks/bench_scale.py [--sizes 1e3 1e4 1e5 1e6] [--rank 10]
       [--extra 20:1e5]   (rank:N pairs run in addition) [--blas-threads 1]
       python benchmarks/bench_scale.py --threads [--n 1e5] [--repeat 5]
       either with [--baseline REV]
       python benchmarks/bench_scale.py --dask 1e6 1e7 [--workers 2] [--chunk 50000]
       [--store-dir /tmp] [--repeat 1]
       either with [--baseline REV]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from _trees import run_on_tree, trees

import cvxvolmin

ROOT = Path(__file__).resolve().parents[1]


def measure(rank: int, n_samples: int, n_features: int = 200, seed: int = 0) -> dict:
    """One fit at this size, in this process (with ``--blas-threads``, that many)."""
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


@contextlib.contextmanager
def busy_process():
    """One CPU-bound process beside the measurement (a Python busy loop)."""
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # let it reach its loop
        yield
    finally:
        child.kill()
        child.wait()


def measure_threads(rank: int, n_samples: int, repeat: int, seed: int = 0) -> list[dict]:
    """Fits with the default BLAS threads and with one, quiet and beside a busy process."""
    from threadpoolctl import threadpool_limits

    X, _, H = cvxvolmin.make_paper_data(rank, case=3, n_samples=n_samples, random_state=seed)
    cvxvolmin.fit(X, rank, random_state=seed)  # warm up (imports, HiGHS)
    rows = []
    for load in ("quiet", "busy"):
        times: dict[str, list[float]] = {"default": [], "one": []}
        mse = 0.0
        with busy_process() if load == "busy" else contextlib.nullcontext():
            for _ in range(repeat):
                for threads in times:
                    limit = threadpool_limits(1, user_api="blas") if threads == "one" else None
                    with limit or contextlib.nullcontext():
                        start = time.perf_counter()
                        result = cvxvolmin.fit(X, rank, random_state=seed)
                        times[threads].append(time.perf_counter() - start)
                    mse = max(mse, cvxvolmin.matched_mse(H, result.H))
        for threads, values in times.items():
            rows.append(
                {"load": load, "threads": threads, "median_s": statistics.median(values),
                 "min_s": min(values), "max_s": max(values), "mse": mse}
            )  # fmt: skip
    return rows


def write_paper_store(path: Path, rank: int, n_samples: int, n_features: int, width: int,
                      seed: int = 0) -> np.ndarray:  # fmt: skip
    """The paper's case 3 (Gaussian W) as a zarr store, one chunk of columns at a time.

    Returns the true H (N x r, r/M the size of X). Uncompressed: random
    floats do not compress, and the codec would only slow both sides.
    """
    import zarr

    from cvxvolmin.synthetic import sparse_uniform

    rng = np.random.default_rng(seed)
    W = rng.standard_normal((n_features, rank))
    store = zarr.create_array(
        str(path), shape=(n_features, n_samples), chunks=(n_features, width), dtype="f8",
        compressors=None,
    )  # fmt: skip
    H = np.empty((n_samples, rank))
    for start in range(0, n_samples, width):
        stop = min(start + width, n_samples)
        H[start:stop] = sparse_uniform((stop - start, rank), 0.35, rng)
        store[:, start:stop] = W @ H[start:stop].T
    return H


@contextlib.contextmanager
def timed(owner, name: str, record: list[float]):
    """Time every call of ``owner.name`` into ``record`` (restored afterwards)."""
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            record.append(time.perf_counter() - start)

    setattr(owner, name, wrapper)
    try:
        yield record
    finally:
        setattr(owner, name, original)


def chunk_rates(X, rank: int, repeat: int = 5) -> dict:
    """Seconds per chunk, in this process with one BLAS thread (medians): read, Gram, projection.

    The projection is the fit's own per-chunk work (``DaskData.chunk_projection``).
    """
    from threadpoolctl import threadpool_limits

    from cvxvolmin.data import DaskData, dense_column_norms

    U = np.linalg.qr(np.random.default_rng(0).standard_normal((X.shape[0], rank)))[0]

    def before(block):  # the projection's work on a chunk in trees without chunk_projection
        part = U.T @ block
        return dense_column_norms(block), dense_column_norms(block - U @ part)

    project = getattr(DaskData, "chunk_projection", None)
    width = X.chunks[1][0]
    times: dict[str, list[float]] = {"read": [], "gram": [], "projection": []}
    with threadpool_limits(1, user_api="blas"):
        for k in range(repeat):
            start = time.perf_counter()
            block = np.asarray(X[:, k * width : (k + 1) * width].compute(scheduler="sync"))
            times["read"].append(time.perf_counter() - start)
            start = time.perf_counter()
            block @ block.T
            times["gram"].append(time.perf_counter() - start)
            start = time.perf_counter()
            project(block, U) if project is not None else before(block)
            times["projection"].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def measure_dask(store: Path, rank: int, workers: int) -> dict:
    """One fit of a zarr store on a LocalCluster between two Gram passes over the same store.

    The store's true H is read from ``H.npy`` beside it.
    """
    import dask.array as da
    from distributed import Client, LocalCluster

    from cvxvolmin.data import DaskData
    from cvxvolmin.working_set import ViolationScan

    H = np.load(store.parent / "H.npy")
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None)
    with Client(cluster):
        X = da.from_zarr(str(store))

        def gram_pass() -> float:
            start = time.perf_counter()
            (X @ X.T).compute()
            return time.perf_counter() - start

        gram_pass()  # warm-up: the workers' imports, the page cache
        gram_before = gram_pass()
        passes: dict[str, list[float]] = {"gram": [], "projection": [], "scans": []}
        with (
            timed(DaskData, "gram", passes["gram"]),
            timed(DaskData, "projection", passes["projection"]),
            timed(ViolationScan, "most_violated", passes["scans"]),
        ):
            result = cvxvolmin.fit(X, rank, random_state=0)
        gram_after = gram_pass()
        mse = cvxvolmin.matched_mse(H, result.H)
        rates = chunk_rates(X, rank)
    cluster.close()
    gram = (gram_before + gram_after) / 2
    return {
        "gram_s": [gram_before, gram_after], "fit_s": result.time_s,
        "ratio": result.time_s / gram, "pass1_s": sum(passes["gram"]),
        "pass2_s": sum(passes["projection"]), "scans": len(passes["scans"]),
        "scan_s": sum(passes["scans"]), "lps": result.n_lp_solves, "sweeps": result.n_iter,
        "mse": mse, "fit_error": result.fit_error, "per_chunk_s": rates,
    }  # fmt: skip


def dask_table(args) -> None:
    repeat = args.repeat or 1
    print(
        f"M = 100, r = {args.rank}, paper's case 3, zarr store of {args.chunk}-column chunks "
        f"(uncompressed), {args.workers}-worker LocalCluster (1 thread each), "
        f"{os.cpu_count()} cores; Gram: one dask X @ X.T over the store before and after the "
        f"fit; each fit in its own process, {repeat} per tree (interleaved)"
    )
    header = (
        f"{'tree':<10} {'N':>9} {'GB':>5} | {'fit s':>7} {'Gram s':>13} {'ratio':>5} | "
        f"{'pass 1':>6} {'pass 2':>6} {'scans':>11} {'other':>6} {'LPs':>4} | {'MSE':>8}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    m = 100
    with trees(args.baseline) as found:
        for n in (int(n) for n in args.dask):
            with tempfile.TemporaryDirectory(dir=args.store_dir, prefix="bench-dask-") as scratch:
                store = Path(scratch) / "X.zarr"
                start = time.perf_counter()
                H = write_paper_store(store, args.rank, n, m, args.chunk)
                np.save(Path(scratch) / "H.npy", H)
                written = time.perf_counter() - start
                ratios: dict[str, list[float]] = {name: [] for name in found}
                for _ in range(repeat):
                    for name, tree in found.items():
                        row = run_on_tree(
                            __file__,
                            tree,
                            ["--dask-one", f"{args.rank}:{args.workers}:{store}"],
                        )
                        row.update(
                            tree=name, N=n, M=m, rank=args.rank, workers=args.workers,
                            chunk=args.chunk, chunks=-(-n // args.chunk),
                            store_GB=m * n * 8 / 1e9, write_s=written,
                        )  # fmt: skip
                        rows.append(row)
                        ratios[name].append(row["ratio"])
                        before, after = row["gram_s"]
                        other = row["fit_s"] - row["pass1_s"] - row["pass2_s"] - row["scan_s"]
                        print(
                            f"{name:<10} {n:>9} {row['store_GB']:>5.1f} | {row['fit_s']:>7.1f} "
                            f"{before:>6.1f} {after:>6.1f} {row['ratio']:>5.2f} | "
                            f"{row['pass1_s']:>6.1f} {row['pass2_s']:>6.1f} {row['scans']:>3} "
                            f"{row['scan_s']:>6.1f}s {other:>6.1f} {row['lps']:>4} | "
                            f"{row['mse']:>8.1e}",
                            flush=True,
                        )
                if repeat > 1:
                    medians = ", ".join(
                        f"{name}: {statistics.median(values):.2f}"
                        for name, values in ratios.items()
                    )
                    print(f"N = {n}: median fit / Gram ({repeat} fits): {medians}")
    print(json.dumps(rows))


def sizes_table(args, found: dict[str, Path]) -> None:
    runs = [(args.rank, int(n)) for n in args.sizes]
    runs += [(int(r), int(float(n))) for r, n in (pair.split(":") for pair in args.extra)]
    header = (
        f"{'tree':<10} {'r':>3} {'N':>8} | {'fit s':>7} {'X@X.T s':>8} {'ratio':>6} | "
        f"{'peak/X':>6} | {'MSE':>8} {'sweeps':>6} {'LPs':>5}"
    )
    threads = "default" if args.blas_threads is None else str(args.blas_threads)
    print(
        "M = 200, paper's case 3 (Gaussian W); one fit per size, each in its own process; "
        f"BLAS threads: {threads}"
    )
    print(header)
    print("-" * len(header))
    for rank, n in runs:
        for name, tree in found.items():
            threads = (
                [] if args.blas_threads is None else ["--blas-threads", str(args.blas_threads)]
            )
            row = run_on_tree(__file__, tree, ["--one", f"{rank}:{n}", *threads])
            print(
                f"{name:<10} {rank:>3} {n:>8} | {row['fit_s']:>7.2f} {row['floor_s']:>8.3f} "
                f"{row['fit_s'] / row['floor_s']:>6.1f} | {row['peak_over_X']:>6.2f} | "
                f"{row['mse']:>8.1e} {row['sweeps']:>6} {row['lps']:>5}"
            )


def threads_table(args, found: dict[str, Path]) -> None:
    n = int(float(args.n))
    args.repeat = args.repeat or 5
    print(
        f"M = 200, r = {args.rank}, N = {n}, case 3; {args.repeat} fits per configuration "
        "(interleaved), medians; 'busy': beside one CPU-bound process; 'one': the whole "
        f"fit with one BLAS thread; {os.cpu_count()} cores"
    )
    header = (
        f"{'tree':<10} {'load':<6} {'threads':<8} | {'median s':>8} {'min':>6} {'max':>6} | "
        f"{'busy/quiet':>10} {'default/one':>11} | {'MSE':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, tree in found.items():
        rows = run_on_tree(__file__, tree, ["--threads-one", f"{args.rank}:{n}:{args.repeat}"])
        at = {(row["load"], row["threads"]): row["median_s"] for row in rows}
        for row in rows:
            load, threads = row["load"], row["threads"]
            versus = at[(load, "default")] / at[(load, "one")]
            print(
                f"{name:<10} {load:<6} {threads:<8} | {row['median_s']:>8.2f} "
                f"{row['min_s']:>6.2f} {row['max_s']:>6.2f} | "
                f"{row['median_s'] / at[('quiet', threads)]:>10.2f} "
                f"{f'{versus:.2f}' if threads == 'default' else '':>11} | {row['mse']:>8.1e}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e3, 1e4, 1e5, 1e6])
    parser.add_argument("--rank", type=int, default=10)
    parser.add_argument("--extra", nargs="*", default=["20:1e5"], help="rank:N pairs")
    parser.add_argument("--threads", action="store_true", help="default vs one BLAS thread")
    parser.add_argument("--n", default="1e5", help="N of --threads")
    parser.add_argument(
        "--repeat", type=int, help="fits per --threads configuration (5) or per --dask tree (1)"
    )
    parser.add_argument("--baseline", help="also run every measurement on this older commit")
    parser.add_argument("--blas-threads", type=int, help="sizes: BLAS threads (default: BLAS's)")
    parser.add_argument("--dask", type=float, nargs="*", help="zarr store on a LocalCluster: N")
    parser.add_argument("--workers", type=int, default=2, help="--dask: LocalCluster workers")
    parser.add_argument("--chunk", type=int, default=50_000, help="--dask: columns per chunk")
    parser.add_argument("--store-dir", default=tempfile.gettempdir(), help="--dask: store folder")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child process: "rank:N"
    parser.add_argument("--threads-one", help=argparse.SUPPRESS)  # child: "rank:N:repeat"
    parser.add_argument("--dask-one", help=argparse.SUPPRESS)  # child: "rank:workers:store"
    args = parser.parse_args()
    if args.one:
        rank, n = args.one.split(":")
        from threadpoolctl import threadpool_limits

        with threadpool_limits(args.blas_threads, user_api="blas"):  # None: the default
            print(json.dumps(measure(int(rank), int(float(n)))))
        return
    if args.threads_one:
        rank, n, repeat = args.threads_one.split(":")
        print(json.dumps(measure_threads(int(rank), int(float(n)), int(repeat))))
        return
    if args.dask_one:
        rank, workers, store = args.dask_one.split(":", 2)
        print(json.dumps(measure_dask(Path(store), int(rank), int(workers))))
        return
    if args.dask is not None:
        args.dask = args.dask or [1e6, 1e7]
        dask_table(args)
        return
    with trees(args.baseline) as found:
        if args.threads:
            threads_table(args, found)
        else:
            sizes_table(args, found)


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
