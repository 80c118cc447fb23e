"""The global stage's two bounds side by side: the secant alone, and with the RLT bound.

Usage::

    python benchmarks/bench_global_bounds.py                              # paper35, r = 10, 12
    python benchmarks/bench_global_bounds.py --family paper35 paper20 --ranks 10 12 13
    python benchmarks/bench_global_bounds.py --ranks 15 --time-limit 900

Each instance (the families of ``bench_scattering.py``, N rows, ``--seed``)
is prepared once and decided by ``decide_global`` directly (no portfolio,
no facets first), with ``tighten=False`` and ``tighten=True`` one after the
other in the same process, single-threaded: the boxes searched, the LPs
solved (both kinds), the CPU time (``time.process_time``: less sensitive
than the wall clock to other jobs on the machine) and the wall time.
"""

from __future__ import annotations

import argparse
import time

from bench_scattering import FAMILIES, make_H
from threadpoolctl import threadpool_limits

from cvxvolmin.scattering.prepare import prepare
from cvxvolmin.scattering.star import decide_global


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", nargs="+", choices=FAMILIES, default=["paper35"])
    parser.add_argument("--ranks", type=int, nargs="+", default=[10, 12])
    parser.add_argument("--n", type=int, default=200, help="rows (paper, separable)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=300.0, help="per run, seconds")
    parser.add_argument("--tol", type=float, default=1e-9)
    args = parser.parse_args(argv)
    print(f"# N = {args.n}, seed {args.seed}, tol {args.tol:g}, time limit {args.time_limit:g} s")
    print(f"{'family':<12} {'r':>3} {'bound':<7} {'status':<10} {'boxes':>7} {'LPs':>7} "
          f"{'faces':>5} {'CPU s':>8} {'wall s':>8}")  # fmt: skip
    with threadpool_limits(1):
        for family in args.family:
            for r in args.ranks:
                rows = prepare(make_H(family, r, args.n, args.seed)[0]).rows
                for tighten in (False, True):
                    cpu, wall = time.process_time(), time.perf_counter()
                    out = decide_global(rows, args.tol, wall + args.time_limit, tighten=tighten)
                    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                    print(
                        f"{family:<12} {r:>3} {'RLT' if tighten else 'secant':<7} "
                        f"{out.status:<10} {out.n_boxes:>7} {out.n_lps:>7} {out.n_done:>5} "
                        f"{cpu:>8.1f} {wall:>8.1f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
