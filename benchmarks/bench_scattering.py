"""The sufficient-scattering checker against the open global solver SCIP, side by side.

Usage::

    python benchmarks/bench_scattering.py                       # the issue's family
    python benchmarks/bench_scattering.py --family paper35 --ranks 5 8 10 --n 200 1000
    python benchmarks/bench_scattering.py --family paper20 --ranks 12 15 --seed 0
    python benchmarks/bench_scattering.py --family capped-near --ranks 10 --peers
    python benchmarks/bench_scattering.py --ranks 12 15 --family paper20 --baseline 3bf2474

Instances (every H with columns summing to one, the scaling of column-sum
VolMin's theorem):

* ``paper35``, ``paper20``, ``paper10``: the paper's generator
  (``make_paper_data``: uniform entries, that fraction of zeros) with N rows;
* ``separable``: a scaled identity on top of N - r uniform rows;
* ``capped-on``: the truncated simplex ``{x >= 0, 1.x = 1, x_i <= 2/r}``
  (its vertices as rows): C is tangent to every cut, so (1) holds with
  equality and (2) fails (known by geometry);
* ``capped-near``: the cut moved out so that the cuts' dual vertices have
  norm ``1 - 1e-4`` (sufficiently scattered, gap 1e-4; 1260 rows at r = 10);
* ``capped-out``: moved in to norm ``1 + 1e-4`` ((1) fails).

Each instance runs cvxvolmin's ``--methods`` (default ``auto``) and, with
``--peers`` (the default; ``--no-peers`` to skip), SCIP on the nonconvex QP
``max ||y||^2 s.t. H y >= 0, 1.y = 1`` (Gillis and Luce's formulation; box
``|y_i| <= 2``, single-threaded, stopped at the first point with
``||y||^2 >= 1 + 1e-4``, which refutes (1)). SCIP's "optimal" with value at
most ``1 + 1e-4`` reads as "sufficiently scattered": like every global-QP
decider it tests (1) only, within its tolerance, and cannot see (2). The
``agree`` column compares each row's verdict with the first method's on
the same instance ("(1) only" where they agree on condition (1) and only
cvxvolmin sees (2) fail), ``ratio`` its time over that method's (so the
peer's ratio is how many times slower it is); ``known`` is the answer by
geometry where there is one. Times are medians over ``--repeat`` runs (a time-out is not
repeated), with ``--blas-threads`` BLAS threads (1 by default; 0 keeps the
library's default). With ``--baseline REV`` every cvxvolmin row also runs
on that commit (a temporary ``git worktree``, its own process), in the same
run; the peer runs once.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time

import numpy as np
from _trees import run_on_tree, trees

FAMILIES = ("paper35", "paper20", "paper10", "separable", "capped-on", "capped-near", "capped-out")
#: The issue's family, run when no --family is given: (family, ranks, N).
DEFAULT_FAMILY = [
    ("paper35", (5, 8, 10), (200,)),
    ("paper35", (10,), (1000,)),
    ("paper35", (12, 15), (200,)),
    ("paper20", (10, 12, 15), (200,)),
    ("paper10", (15, 20), (200,)),
    ("separable", (8, 12), (200,)),
    ("capped-on", (8, 10), (0,)),
    ("capped-near", (8, 10), (0,)),
    ("capped-out", (10,), (0,)),
]
#: SCIP's QP value that refutes (1), and its stopping value.
PEER_REFUTES = 1.0 + 1e-4
#: Distance of the capped instances' cut vertices from norm 1.
CAPPED_MARGIN = 1e-4


def capped(r: int, b: float) -> np.ndarray:
    """The vertices of ``{x >= 0, 1.x = 1, x_i <= b}`` (``1/(r - 1) < b < 1``), as rows."""
    m = int(np.floor(1.0 / b + 1e-12))  # coordinates at the cap; one more holds the rest
    rest = max(1.0 - m * b, 0.0)
    found = set()
    for top in itertools.combinations(range(r), m):
        for j in [j for j in range(r) if j not in top] if rest > 1e-12 else [None]:
            x = np.zeros(r)
            x[list(top)] = b
            if j is not None:
                x[j] = rest
            found.add(tuple(x))
    return np.array(sorted(found))


def capped_norm(r: int, b: float) -> float:
    """Norm of the cut ``x_i <= b``'s dual vertex ``(b 1 - e_i) / (r b - 1)``."""
    return float(np.sqrt((r - 1) * b**2 + (1 - b) ** 2) / (r * b - 1))


def capped_at(r: int, norm: float) -> float:
    """The cap b whose cut vertices have this norm (bisection; the norm falls with b)."""
    lo, hi = 2.0 / r, 0.99
    if norm > 1.0:
        lo, hi = 1.0 / (r - 1) + 1e-9, 2.0 / r
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if capped_norm(r, mid) > norm else (lo, mid)
    return 0.5 * (lo + hi)


def make_H(family: str, r: int, n: int, seed: int) -> tuple[np.ndarray, str]:
    """The instance and its answer by geometry ("?" where none is known)."""
    from cvxvolmin.synthetic import make_paper_data

    if family.startswith("paper"):
        zeros = int(family[5:]) / 100.0
        H = make_paper_data(r, n_samples=n, zero_fraction=zeros, random_state=seed)[2]
        known = "?"
    elif family == "separable":
        rng = np.random.default_rng(seed)
        H = np.vstack([np.eye(r) * rng.uniform(0.5, 2.0, r), rng.uniform(size=(n - r, r))])
        known = "SSC"
    elif family == "capped-on":
        H, known = capped(r, 2.0 / r), "NOT (on bd)"
    elif family == "capped-near":
        H, known = capped(r, capped_at(r, 1.0 - CAPPED_MARGIN)), "SSC"
    else:
        H, known = capped(r, capped_at(r, 1.0 + CAPPED_MARGIN)), "NOT (1)"
    H = H[H.sum(axis=1) > 0]
    return H / H.sum(axis=0), known


def run_cvxvolmin(H: np.ndarray, method: str, args) -> dict:
    from cvxvolmin.scattering import check_scattering

    res = check_scattering(H, method=method, time_limit=args.time_limit, random_state=0)
    return {
        "verdict": res.verdict,
        "condition1": res.condition1,
        "on_boundary": bool(res.on_boundary),
        "stage": res.method,
    }


def run_scip(H: np.ndarray, time_limit: float) -> dict:
    """Gillis and Luce's QP on SCIP: decides (1) within its tolerance, never (2)."""
    from pyscipopt import Model, quicksum

    rows = H[H.sum(axis=1) > 0]
    rows = rows / rows.sum(axis=1, keepdims=True)
    r = rows.shape[1]
    model = Model()
    model.hideOutput()
    model.setParam("limits/time", time_limit)
    model.setParam("parallel/maxnthreads", 1)
    model.setParam("limits/primal", PEER_REFUTES)  # a refutation found: stop
    y = [model.addVar(lb=-2.0, ub=2.0, name=f"y{i}") for i in range(r)]
    t = model.addVar(lb=0.0, ub=4.0 * r, name="t")
    for row in rows:
        model.addCons(quicksum(float(row[i]) * y[i] for i in np.flatnonzero(row)) >= 0)
    model.addCons(quicksum(y) == 1)
    model.addCons(t <= quicksum(v * v for v in y))
    model.setObjective(t, "maximize")
    model.optimize()
    status, value = model.getStatus(), model.getPrimalbound()
    if value >= PEER_REFUTES:
        verdict, condition1 = "not_sufficiently_scattered", False
    elif status == "optimal":
        verdict, condition1 = "sufficiently_scattered", True
    else:
        verdict, condition1 = "inconclusive", None
    return {"verdict": verdict, "condition1": condition1, "on_boundary": False, "stage": status}


def timed(call, repeat: int) -> tuple[dict, float]:
    times, out = [], {}
    for _ in range(repeat):
        start = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - start)
        if out["verdict"] == "inconclusive":
            break  # a time-out: do not spend it again
    return out, statistics.median(times)


def instances(args) -> list[tuple[str, int, int]]:
    if args.family is None:
        plan = DEFAULT_FAMILY
    else:
        plan = [(f, tuple(args.ranks), tuple(args.n)) for f in args.family]
    return [(f, r, n) for f, ranks, ns in plan for r in ranks for n in ns]


def rows(args, peers: bool) -> list[dict]:
    """Every instance and method of the arguments on the cvxvolmin that is imported."""
    from threadpoolctl import threadpool_limits

    out = []
    limits = threadpool_limits(args.blas_threads) if args.blas_threads > 0 else None
    try:
        for family, r, n in instances(args):
            H, known = make_H(family, r, n, args.seed)
            calls = {m: (lambda H=H, m=m: run_cvxvolmin(H, m, args)) for m in args.methods}
            if peers:
                calls["scip"] = lambda H=H: run_scip(H, args.time_limit)
            for method, call in calls.items():
                found, seconds = timed(call, args.repeat)
                out.append(
                    {"family": family, "r": r, "n": H.shape[0], "known": known,
                     "method": method, "time_s": seconds, **found}
                )  # fmt: skip
    finally:
        if limits is not None:
            limits.unregister()
    return out


def _short(row: dict) -> str:
    if row["verdict"] == "sufficiently_scattered":
        return "SSC"
    if row["verdict"] == "inconclusive":
        return "inconclusive"
    if row["on_boundary"]:
        return "NOT (on bd)"
    return "NOT (1)" if row["condition1"] is False else "NOT"


def agreement(row: dict, reference: dict) -> str:
    if row is reference:
        return ""
    if "inconclusive" in (row["verdict"], reference["verdict"]):
        return "-"
    if row["verdict"] == reference["verdict"]:
        return "yes"
    if row["condition1"] is not None and row["condition1"] == reference["condition1"]:
        return "(1) only"
    return "NO"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", nargs="+", choices=FAMILIES)
    parser.add_argument("--ranks", type=int, nargs="+", default=[5, 8, 10])
    parser.add_argument("--n", type=int, nargs="+", default=[200], help="rows (paper, separable)")
    parser.add_argument("--methods", nargs="+", default=["auto"])
    parser.add_argument("--peers", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--baseline", help="also run every cvxvolmin row on this older commit")
    parser.add_argument("--json-rows", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.json_rows:
        print(json.dumps(rows(args, args.peers)))
        return
    argv = list(sys.argv[1:] if argv is None else argv)
    if args.baseline is not None:
        i = argv.index("--baseline")
        argv = argv[:i] + argv[i + 2 :]
    with trees(args.baseline) as found:
        # the baseline without the peers (measured once, in this tree's run)
        results = {
            name: run_on_tree(__file__, tree, [*argv, "--no-peers", "--json-rows"])
            if name != "this tree"
            else rows(args, args.peers)
            for name, tree in found.items()
        }
    print(f"# BLAS threads: {args.blas_threads or 'default'}, time limit {args.time_limit:g} s, "
          f"seed {args.seed}")  # fmt: skip
    print(f"{'tree':<10} {'family':<12} {'r':>3} {'N':>5} {'known':<12} {'method':<6} "
          f"{'verdict':<13} {'stage':<12} {'time (s)':>9} {'agree':<9} {'ratio':>7}")  # fmt: skip
    mine = results["this tree"]
    for key, group in itertools.groupby(mine, key=lambda row: (row["family"], row["r"], row["n"])):
        group = list(group)
        reference = group[0]
        lines = [(name, row) for name, found in results.items() if name != "this tree"
                 for row in found if (row["family"], row["r"], row["n"]) == key]  # fmt: skip
        lines += [("this tree", row) for row in group]
        for name, row in lines:
            ratio = ""
            both = "inconclusive" not in (row["verdict"], reference["verdict"])
            if row is not reference and both and reference["time_s"] > 0:
                ratio = f"{row['time_s'] / reference['time_s']:.1f}x"
            print(
                f"{name:<10} {row['family']:<12} {row['r']:>3} {row['n']:>5} {row['known']:<12} "
                f"{row['method']:<6} {_short(row):<13} {row['stage']:<12} {row['time_s']:>9.3f} "
                f"{agreement(row, reference):<9} {ratio:>7}",
                flush=True,
            )


if __name__ == "__main__":
    main()
