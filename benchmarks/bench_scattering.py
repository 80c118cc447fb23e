"""Timings of the sufficient-scattering checker, on this tree and optionally an older one.

Usage::

    python benchmarks/bench_scattering.py [--ranks 5 8 9 10] [--repeat 3]
        [--time-limit 60] [--n-samples 2000] [--seed 1]
    python benchmarks/bench_scattering.py --zeros 0.2 --ranks 10 12 15 --methods auto exact
    python benchmarks/bench_scattering.py --zeros 0.2 --ranks 12 15 --baseline 3bf2474

Prints one row per (r, method): r, N, method, verdict, the stage that
decided, and the median wall time over ``--repeat`` runs (a run that hits
the time limit is not repeated). H is ``make_paper_data(r,
random_state=seed)`` (N = 200, uniform entries, 35% zeros), or with
``--zeros F`` uniform entries with a fraction F of zeros and columns
summing to one (``--n`` rows). With ``--baseline REV`` every row runs on
that commit too (from a temporary ``git worktree``, in its own process),
one after the other in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_H(r: int, args) -> np.ndarray:
    if args.zeros is None:
        from cvxvolmin.synthetic import make_paper_data

        return make_paper_data(r, random_state=args.seed)[2]
    rng = np.random.default_rng(args.seed)
    H = rng.uniform(size=(args.n, r))
    H[rng.uniform(size=H.shape) < args.zeros] = 0.0
    return H / H.sum(axis=0)


def run(H, method: str, args) -> tuple[str, str, float]:
    from cvxvolmin.scattering import check_scattering, necessary_conditions

    start = time.perf_counter()
    if method == "necessary":
        report = necessary_conditions(H)
        verdict, stage = ("passed" if report.passed else "failed"), "necessary"
    else:
        res = check_scattering(
            H,
            method=method,
            n_samples=args.n_samples,
            time_limit=args.time_limit,
            random_state=0,
        )
        verdict, stage = res.verdict, res.method
        if res.gap is not None and res.verdict != "inconclusive":
            verdict += f" (gap {res.gap:.2g})"
        elif "certificate_gap" in res.stats:
            verdict += f" (cert. gap {res.stats['certificate_gap']:.2g})"
    return verdict, stage, time.perf_counter() - start


def rows(args) -> list[dict]:
    """Every (r, method) of the arguments on the cvxvolmin that is imported."""
    out = []
    for r in args.ranks:
        H = make_H(r, args)
        for method in args.methods:
            times, verdict, stage = [], "", ""
            for _ in range(args.repeat):
                verdict, stage, elapsed = run(H, method, args)
                times.append(elapsed)
                if verdict == "inconclusive" and method in ("exact", "auto"):
                    break  # a time-out: do not spend it again
            out.append(
                {"r": r, "n": H.shape[0], "method": method, "verdict": verdict, "stage": stage,
                 "time_s": statistics.median(times)}
            )  # fmt: skip
    return out


def _on_tree(tree: Path, argv: list[str]) -> list[dict]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *argv, "--json-rows"],
        env=dict(os.environ, PYTHONPATH=str(tree)),
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[5, 8, 9, 10])
    parser.add_argument("--methods", nargs="+", default=["necessary", "sample", "exact", "auto"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--zeros", type=float, help="uniform H with this fraction of zeros")
    parser.add_argument("--n", type=int, default=200, help="rows of H with --zeros")
    parser.add_argument("--baseline", help="also run every row on this older commit")
    parser.add_argument("--json-rows", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.json_rows:
        print(json.dumps(rows(args)))
        return
    argv = list(sys.argv[1:] if argv is None else argv)
    if args.baseline is not None:
        i = argv.index("--baseline")
        argv = argv[:i] + argv[i + 2 :]
    trees = {"this tree": ROOT}
    with tempfile.TemporaryDirectory() as scratch:
        if args.baseline is not None:
            old = Path(scratch) / "baseline"
            subprocess.run(
                ["git", "worktree", "add", "--detach", "-q", str(old), args.baseline],
                cwd=ROOT,
                check=True,
            )
            trees = {args.baseline: old, **trees}
        try:
            results = {name: _on_tree(tree, argv) for name, tree in trees.items()}
        finally:
            if args.baseline is not None:
                subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT)
    print(f"{'tree':<10} {'r':>3} {'N':>5}  {'method':<10} {'verdict':<40} {'stage':<10} "
          f"{'time (s)':>9}")  # fmt: skip
    for k in range(len(next(iter(results.values())))):
        for name, found in results.items():
            row = found[k]
            print(
                f"{name:<10} {row['r']:>3} {row['n']:>5}  {row['method']:<10} "
                f"{row['verdict']:<40} {row['stage']:<10} {row['time_s']:>9.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
