"""Alternating optimization of ``|det Q|``, one row at a time.

With every row but row i fixed, ``det Q = p @ q_i`` where p is the cofactor
vector of row i, so each row update maximizes ``|p @ q|`` over the
formulation's polytope: two LPs, ``max p @ q`` and ``max -p @ q``. Only the
direction of p matters, and it is normalized to unit length because LP
solvers use absolute optimality tolerances (raw cofactors are of the order
of ``|det Q|``, which can be tiny). The engine knows no constraint.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from .exceptions import DegenerateError
from .formulations.base import Formulation, Row
from .lp import RowLP
from .reduction import Reduction

# |p @ q| below this (relative to ||q||) means the polytope holds no row that
# keeps Q nonsingular.
_DEGENERATE = 1e-10


@dataclass(frozen=True)
class AOTrace:
    """What the alternating optimization did."""

    Q: np.ndarray
    logdet_history: tuple[float, ...]
    n_iter: int
    converged: bool
    n_lp_solves: int


def build_row_lp(formulation: Formulation, reduction: Reduction, solver: str) -> RowLP:
    """Declare the formulation's row-update LP in cvxpy."""
    q = cp.Variable(reduction.rank, name="q")
    row = Row(q=q, h=reduction.Xt.T @ q, unit=formulation.unit(reduction))
    constraints = formulation.row_constraints(row, reduction)
    return RowLP(q, constraints, solver, owner=f"formulation {formulation.name!r}")


def cofactor_direction(Q: np.ndarray, i: int) -> np.ndarray:
    """Unit vector along the cofactors of row i: ``det Q = c * (p @ Q[i])``, c > 0 or < 0."""
    e = np.zeros(Q.shape[0])
    e[i] = 1.0
    p = np.linalg.solve(Q, e)
    return p / np.linalg.norm(p)


def _best_row(lp: RowLP, p: np.ndarray) -> np.ndarray:
    up = lp.maximize(p)
    down = lp.maximize(-p)
    best = up if abs(p @ up) >= abs(p @ down) else down
    if abs(p @ best) <= _DEGENERATE * max(np.linalg.norm(best), 1.0):
        raise DegenerateError(
            "every feasible row is orthogonal to the cofactor direction: the feasible "
            "set lies in a hyperplane through the origin and no nonsingular Q meets "
            "the constraints. The data do not support a factorization of this rank; "
            "try a smaller rank."
        )
    return best


def _logabsdet(Q: np.ndarray) -> float:
    sign, logdet = np.linalg.slogdet(Q)
    return float(logdet) if sign != 0 else -np.inf


def maximize_volume(
    lp: RowLP,
    Q0: np.ndarray,
    *,
    max_iter: int,
    tol: float,
    verbose: bool = False,
) -> AOTrace:
    """Sweep over the rows of Q, each update an LP, until ``log|det Q|`` settles.

    Stops after sweep k when ``L_k - L_{k-1} <= tol * max(1, |L_{k-1}|)`` with
    ``L = log|det Q|``, or after ``max_iter`` sweeps.
    """
    Q = np.array(Q0, dtype=float, copy=True)
    history: list[float] = []
    converged = False
    start = time.perf_counter()
    for sweep in range(1, max_iter + 1):
        for i in range(Q.shape[0]):
            Q[i] = _best_row(lp, cofactor_direction(Q, i))
        logdet = _logabsdet(Q)
        if not np.isfinite(logdet):
            raise DegenerateError(
                "Q became singular during a sweep; the feasible set is degenerate at "
                "this rank. Try a smaller rank."
            )
        history.append(logdet)
        if verbose:
            gain = "" if sweep == 1 else f" ({logdet - history[-2]:+.3e})"
            print(
                f"sweep {sweep}: log|det Q| = {logdet:.10g}{gain}, "
                f"{lp.n_solves} LPs, {time.perf_counter() - start:.3f} s",
                file=sys.stderr,
            )
        if sweep >= 2 and logdet - history[-2] <= tol * max(1.0, abs(history[-2])):
            converged = True
            break
    return AOTrace(
        Q=Q,
        logdet_history=tuple(history),
        n_iter=len(history),
        converged=converged,
        n_lp_solves=lp.n_solves,
    )
