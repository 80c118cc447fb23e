"""Timings of the sufficient-scattering checker on the paper's H.

Usage: ``python benchmarks/bench_scattering.py [--ranks 5 8 9 10] [--repeat 3]
[--time-limit 60] [--n-samples 2000] [--seed 1]``.

Prints one row per (r, method): r, N, method, verdict, median wall time over
``--repeat`` runs (a run that hits the time limit is not repeated). H is
``make_paper_data(r, random_state=seed)``: N = 200, uniform entries, 35%
zeros.
"""

from __future__ import annotations

import argparse
import statistics
import time

from cvxvolmin.scattering import check_scattering, necessary_conditions
from cvxvolmin.synthetic import make_paper_data


def run(H, method: str, args) -> tuple[str, float]:
    start = time.perf_counter()
    if method == "necessary":
        report = necessary_conditions(H)
        verdict = "passed" if report.passed else "failed"
    else:
        res = check_scattering(
            H,
            method=method,
            n_samples=args.n_samples,
            time_limit=args.time_limit,
            random_state=0,
        )
        verdict = res.verdict
        if res.gap is not None and res.verdict != "inconclusive":
            verdict += f" (gap {res.gap:.2g})"
        elif "certificate_gap" in res.stats:
            verdict += f" (cert. gap {res.stats['certificate_gap']:.2g})"
    return verdict, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[5, 8, 9, 10])
    parser.add_argument("--methods", nargs="+", default=["necessary", "sample", "exact", "auto"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    print(f"{'r':>3} {'N':>5}  {'method':<10} {'verdict':<46} {'time (s)':>9}")
    for r in args.ranks:
        _, _, H = make_paper_data(r, random_state=args.seed)
        for method in args.methods:
            times, verdict = [], ""
            for _ in range(args.repeat):
                verdict, elapsed = run(H, method, args)
                times.append(elapsed)
                if verdict == "inconclusive" and method in ("exact", "auto"):
                    break  # a time-out: do not spend it again
            median = statistics.median(times)
            print(f"{r:>3} {H.shape[0]:>5}  {method:<10} {verdict:<46} {median:>9.3f}", flush=True)


if __name__ == "__main__":
    main()
