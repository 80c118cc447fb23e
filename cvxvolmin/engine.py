"""Alternating optimization of ``|det Q|``, one row or one pair of rows at a time.

With every row but row i fixed, ``det Q = p @ q_i`` where p is the cofactor
vector of row i, so each row update maximizes ``|p @ q|`` over the
formulation's polytope: two LPs, ``max p @ q`` and ``max -p @ q``. Only the
direction of p matters, and it is normalized to unit length because LP
solvers use absolute optimality tolerances (raw cofactors are of the order
of ``|det Q|``, which can be tiny). The engine knows no constraint.

When a formulation fixes the sum of the rows of Q (``fixed_row_sum``), a
single row cannot move alone. The engine then moves pairs: with
``q_i + q_j = b`` held fixed, ``det Q`` equals the determinant of Q with row
j replaced by b, which is linear in ``q_i``; the LP constrains both ``q_i``
and ``b - q_i`` by the formulation's row constraints, with b a parameter.
Sweeps run over all pairs. Because such sweeps have local optima, a
formulation may ask for several starts (``n_starts``); :func:`optimize`
keeps the largest ``|det Q|`` and stops once two starts agree on it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from functools import partial

import cvxpy as cp
import numpy as np

from .exceptions import DegenerateError
from .formulations.base import Formulation, Row
from .lp import RowLP
from .polish import VertexPolisher
from .reduction import Reduction

# |p @ q| below this (relative to ||q||) means the polytope holds no row that
# keeps Q nonsingular.
_DEGENERATE = 1e-10
# A pair move is kept only if its constraints hold to this relative accuracy
# (rounding level, far below LP solvers' tolerances).
_FEASIBLE = 1e-12
# Two starts whose final log|det Q| agree to this (relative) reached the same
# optimum: the AO ends at exact LP vertices, so distinct optima differ far more.
_SAME_OPTIMUM = 1e-7


@dataclass(frozen=True)
class AOTrace:
    """What the alternating optimization did."""

    Q: np.ndarray
    logdet_history: tuple[float, ...]
    n_iter: int
    converged: bool
    n_lp_solves: int
    #: Final log|det Q| of every start, in order (one entry for a single start).
    start_logdets: tuple[float, ...] = ()


# Name of the LP parameter holding the fixed pair sum b of a pair move.
PAIR_SUM = "pair_sum"


def build_row_lp(formulation: Formulation, reduction: Reduction, solver: str) -> RowLP:
    """Declare the formulation's row-update LP in cvxpy.

    For a formulation with a fixed row sum, the LP is the pair move: the row
    ``q`` and its partner ``b - q`` (b the parameter ``PAIR_SUM``) both
    satisfy the row constraints.
    """
    q = cp.Variable(reduction.rank, name="q")
    unit = formulation.unit(reduction)
    constraints = list(formulation.row_constraints(Row(q, reduction.Xt.T @ q, unit), reduction))
    parameters = {}
    if formulation.fixed_row_sum:
        pair_sum = cp.Parameter(reduction.rank, name=PAIR_SUM)
        partner = pair_sum - q
        partner_row = Row(partner, reduction.Xt.T @ partner, unit)
        constraints += formulation.row_constraints(partner_row, reduction)
        parameters[PAIR_SUM] = pair_sum
    return RowLP(
        q, constraints, solver, parameters=parameters, owner=f"formulation {formulation.name!r}"
    )


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


def _sweep_rows(lp: RowLP, Q: np.ndarray) -> None:
    for i in range(Q.shape[0]):
        Q[i] = _best_row(lp, cofactor_direction(Q, i))


def _sweep_pairs(lp: RowLP, polisher: VertexPolisher, Q: np.ndarray) -> None:
    # Moving q_i with q_j = b - q_i covers the pair (j, i) too: same segment.
    # Each move's solution defines the next LPs through b, so the solver's
    # tolerance would accumulate into infeasible LPs: every solution is
    # polished onto its vertex, and a move whose pair stays infeasible is
    # skipped (the current pair is feasible, so the iterate always is).
    r = Q.shape[0]
    for i in range(r):
        for j in range(i + 1, r):
            b = Q[i] + Q[j]
            lp.set_parameters(**{PAIR_SUM: b})
            replaced = Q.copy()
            replaced[j] = b
            q, violation = polisher.polish(_best_row(lp, cofactor_direction(replaced, i)))
            if violation <= _FEASIBLE:
                Q[i] = q
                Q[j] = b - q


def _check_row_sum(Q: np.ndarray, row_sum: np.ndarray) -> None:
    gap = np.max(np.abs(Q.sum(axis=0) - row_sum))
    if gap > 1e-9 * max(1.0, np.max(np.abs(row_sum))):
        raise ValueError(
            f"the initial Q's rows sum to a vector {gap:.3g} away from the formulation's "
            "row_sum; pair moves keep that sum, so initial_Q must return rows that sum "
            "to row_sum(reduction) (and satisfy the row constraints)."
        )


def maximize_volume(
    lp: RowLP,
    Q0: np.ndarray,
    *,
    max_iter: int,
    tol: float,
    row_sum: np.ndarray | None = None,
    verbose: bool = False,
) -> AOTrace:
    """Sweep over the rows of Q, each update an LP, until ``log|det Q|`` settles.

    Stops after sweep k when ``L_k - L_{k-1} <= tol * max(1, |L_{k-1}|)`` with
    ``L = log|det Q|``, or after ``max_iter`` sweeps.

    Parameters
    ----------
    lp : RowLP
        The row LP from :func:`build_row_lp` (the pair LP when ``row_sum``
        is given).
    Q0 : ndarray of shape (r, r)
        Nonsingular start; copied.
    max_iter : int
        Maximum number of sweeps.
    tol : float
        Relative stopping threshold on the gain of ``log|det Q|``.
    row_sum : ndarray of shape (r,), optional
        When given, the rows of Q keep this sum: a sweep moves every pair of
        rows instead of every row, and Q0 must already have this sum.
    verbose : bool, default False
        Print ``log|det Q|`` after each sweep to stderr.
    """
    Q = np.array(Q0, dtype=float, copy=True)
    if row_sum is None:
        sweep_once = partial(_sweep_rows, lp)
    else:
        _check_row_sum(Q, row_sum)
        sweep_once = partial(_sweep_pairs, lp, VertexPolisher(lp))
    solves_before = lp.n_solves
    history: list[float] = []
    converged = False
    start = time.perf_counter()
    for sweep in range(1, max_iter + 1):
        sweep_once(Q)
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
                f"{lp.n_solves - solves_before} LPs, {time.perf_counter() - start:.3f} s",
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
        n_lp_solves=lp.n_solves - solves_before,
        start_logdets=(history[-1],),
    )


def optimize(
    formulation: Formulation,
    reduction: Reduction,
    rng: np.random.Generator,
    *,
    solver: str,
    max_iter: int,
    tol: float,
    verbose: bool = False,
) -> AOTrace:
    """Run the alternating optimization from up to ``formulation.n_starts`` starts.

    The LP is compiled once and shared by all starts. The starts stop early
    once two of them reach the same largest ``|det Q|`` (see
    :func:`_confirmed`). Returns the trace of the start with the largest
    ``|det Q|`` (the first one on ties), with ``n_lp_solves`` counting the
    LPs of every start and ``start_logdets`` listing every start's final
    ``log|det Q|``.
    """
    n_starts = int(formulation.n_starts)
    if n_starts < 1:
        raise ValueError(f"{formulation!r} asks for n_starts={n_starts}; it must be >= 1.")
    lp = build_row_lp(formulation, reduction, solver)
    row_sum = formulation.row_sum(reduction) if formulation.fixed_row_sum else None
    best: AOTrace | None = None
    finals: list[float] = []
    for k in range(n_starts):
        if verbose and n_starts > 1:
            print(f"start {k + 1} of {n_starts}", file=sys.stderr)
        trace = maximize_volume(
            lp,
            formulation.initial_Q(reduction, rng),
            max_iter=max_iter,
            tol=tol,
            row_sum=row_sum,
            verbose=verbose,
        )
        finals.append(trace.logdet_history[-1])
        if best is None or finals[-1] > best.logdet_history[-1]:
            best = trace
        if _confirmed(finals):
            break
    return replace(best, n_lp_solves=lp.n_solves, start_logdets=tuple(finals))


def _confirmed(finals: list[float]) -> bool:
    """Whether two starts reached the largest ``log|det Q|`` so far.

    Stalled starts end at scattered values, so a second start landing on
    the best one is strong evidence that it is the global optimum.
    """
    best = max(finals)
    agree = np.abs(np.array(finals) - best) <= _SAME_OPTIMUM * max(1.0, abs(best))
    return int(agree.sum()) >= 2
