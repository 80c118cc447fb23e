"""Alternating optimization of ``|det Q|``: row sweeps, or joint steps when rows are coupled.

**Rows that decouple** (column-sum criteria). With every row but row i fixed,
``det Q = p @ q_i`` where p is the cofactor vector of row i, so each row
update maximizes ``|p @ q|`` over the formulation's polytope: two LPs,
``max p @ q`` and ``max -p @ q``. Only the direction of p matters, and it is
normalized to unit length because LP solvers use absolute optimality
tolerances (raw cofactors are of the order of ``|det Q|``, which can be tiny).

**Coupled rows** (formulations with joint constraints: row-sum VolMin, whose
``H 1 = 1`` fixes the sum of the rows of Q, and polytopic criteria). A single
row cannot move alone, so each step moves all rows at once: it maximizes the
linearization of ``log|det Q|`` at Q (gradient ``inv(Q).T``) over the whole
feasible set of Q, one LP over the r * r entries, and then moves along the
segment from Q to that LP's vertex V to the point of largest ``|det|``. The
segment is feasible (the set is convex), and the line search is exact:
``det(Q + t D) = det(Q) * prod_k (1 + t lambda_k)`` with ``lambda`` the
eigenvalues of ``inv(Q) @ D``. This is the conditional-gradient
(Frank-Wolfe) method with exact line search; every step is one LP declared in
cvxpy once, with only its objective changing.

Why not moves of a few rows: moving a pair ``(q_i, q_j)`` with its sum fixed
keeps ``det Q`` linear in ``q_i`` (an exact LP move), but such sweeps stop at
points that are not stationary. Stationarity asks for one multiplier
``mu`` (of the row-sum constraint) with ``G_i - mu`` in the normal cone
``N_i`` of row i's polytope for every i (``G = inv(Q).T``); pair moves only
ensure that the r sets ``G_i - N_i`` meet pairwise, which does not make
them share a point.
Measured on the paper's data, r = 10, case 1, seed 0: 30 pair sweeps (2,700
LPs, 16 s) crept to ``log|det Q| = -21.415`` (-21.017 at the truth, gains of
about 1e-4 per sweep), and one joint step from there reached the truth. From
random feasible starts, every start reached the optimum: 80 of 80 at r = 10
and 80 of 80 at r = 5 (cases 1 and 2, 20 seeds, 2 starts each; 4 to 12 LPs
per start); on less scattered H (10% or 20% zeros), all 72 starts of 18
instances reached their instance's best value. Where the
optimum is not a vertex (data that do not fit the model, e.g. mixed-sign W)
the steps zigzag and gain slowly, as conditional gradient does.

A formulation may ask for several starts (``n_starts``); :func:`optimize`
keeps the largest ``|det Q|`` and stops once two starts agree on it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
from scipy.optimize import brentq

from .data import one_blas_thread
from .declaration import (
    WORKING_SET_THRESHOLD,
    build_joint_lp,
    build_row_lps,
    constraint_hint,
)
from .exceptions import DegenerateError, InvalidParameterError
from .formulations.base import Formulation, declares_own_start
from .lp import RowLP
from .polish import VertexPolisher, constraint_values
from .reduction import Reduction
from .working_set import WorkingSetLP

# |p @ q| below this times ||q|| (p has unit norm, so |p @ q| <= ||q||) means
# the best row is orthogonal to the cofactors up to rounding: no feasible row
# keeps Q nonsingular. Relative, so that it does not depend on the scale of q
# (which follows the data's and the formulation's units).
_DEGENERATE = 1e-10
# Two starts whose final log|det Q| agree to this (times max(1, |log|det Q||),
# the resolution of the stopping rule) reached the same optimum: a difference
# of log|det Q| is already relative (the log of a ratio of determinants), and
# the AO ends at exact LP vertices, so distinct optima differ far more.
_SAME_OPTIMUM = 1e-7
# A coupled formulation's own start must meet its constraints to this, relative
# to each constraint's terms (rounding in evaluating them is about r * eps).
_START_FEASIBILITY = 1e-9
# The line search scans this many intervals of [0, 1] before refining: the
# gain along a segment need not be unimodal.
_LINE_GRID = 32


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


def cofactor_direction(Q: np.ndarray, i: int) -> np.ndarray:
    """Unit vector along the cofactors of row i: ``det Q = c * (p @ Q[i])``, c > 0 or < 0."""
    e = np.zeros(Q.shape[0])
    e[i] = 1.0
    p = np.linalg.solve(Q, e)
    return p / np.linalg.norm(p)


def degenerate_error(hint: str) -> DegenerateError:
    """The error for a feasible set that holds no nonsingular Q.

    ``hint`` (from :func:`~cvxvolmin.declaration.constraint_hint`) names a
    formulation's own constraints as a possible cause.
    """
    return DegenerateError(
        "every feasible row is orthogonal to the cofactor direction: the feasible "
        "set lies in a hyperplane through the origin (for column-sum VolMin: the "
        "cone of the data contains a line), so no nonsingular Q meets the "
        f"constraints.{hint} {'Otherwise, the' if hint else 'The'} data do not support "
        "an exact factorization of this rank; for noisy data use "
        "cvxvolmin.robust.fit_robust(X, rank), or try a smaller rank."
    )


def _best_row(lp: RowLP | WorkingSetLP, p: np.ndarray, hint: str) -> np.ndarray:
    both = getattr(lp, "maximize_both", None)  # working sets: one scan for both LPs
    up, down = both(p) if both is not None else (lp.maximize(p), lp.maximize(-p))
    best = up if abs(p @ up) >= abs(p @ down) else down
    if abs(p @ best) <= _DEGENERATE * np.linalg.norm(best):
        raise degenerate_error(hint)
    return best


def _logabsdet(Q: np.ndarray) -> float:
    return float(np.linalg.slogdet(Q)[1])  # -inf for a singular Q


def _sweep_rows(lps: Sequence[RowLP], Q: np.ndarray, hint: str) -> None:
    for i in range(Q.shape[0]):
        Q[i] = _best_row(lps[i], cofactor_direction(Q, i), hint)


def _n_solves(lps: Sequence[RowLP]) -> int:
    # A shared LP appears r times: count each LP once.
    return sum(lp.n_solves for lp in {id(lp): lp for lp in lps}.values())


def line_search(Q: np.ndarray, D: np.ndarray) -> float:
    """The step ``t`` in [0, 1] that maximizes ``|det(Q + t D)|`` (0 if none gains).

    ``log|det(Q + t D)| - log|det Q| = sum_k log|1 + t lambda_k|`` with
    ``lambda`` the eigenvalues of ``inv(Q) @ D``: a grid over [0, 1], then,
    in the grid intervals next to the best grid point, the zero of the
    slope ``sum_k Re(lambda_k / (1 + t lambda_k))`` where it falls from
    positive to negative (a root finder resolves t to rounding, where a
    search on the flat top of the gain itself stops at ``sqrt(eps)``). The
    endpoints compete as they are, so a step to the LP vertex is taken exactly.
    """
    lam = np.linalg.eigvals(np.linalg.solve(Q, D))

    def gain(t: np.ndarray | float) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(np.abs(1.0 + np.multiply.outer(t, lam))).sum(axis=-1)

    def slope(t: float) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.sum(lam / (1.0 + t * lam)).real)

    grid = np.linspace(0.0, 1.0, _LINE_GRID + 1)
    values = gain(grid)
    k = int(np.argmax(values))
    best_t, best_gain = grid[k], values[k]
    for lo, hi in ((grid[max(k - 1, 0)], grid[k]), (grid[k], grid[min(k + 1, _LINE_GRID)])):
        at_lo, at_hi = slope(lo), slope(hi)
        # (lo == hi at the ends of [0, 1] gives at_lo == at_hi: no sign change.)
        if np.isfinite(at_lo) and np.isfinite(at_hi) and at_lo > 0.0 > at_hi:
            t = brentq(slope, lo, hi, xtol=1e-15)  # t is in [0, 1]: absolute is relative
            if gain(t) > best_gain:
                best_t, best_gain = t, float(gain(t))
    # gain(0) = 0 and argmax takes the first maximum: best_t is 0 unless some t gains.
    return float(best_t)


def _joint_step(lp: RowLP, Q: np.ndarray) -> None:
    # The gradient of log|det Q| is inv(Q).T; unit norm for the LP's absolute
    # tolerances, like the cofactors of row moves.
    G = np.linalg.inv(Q).T
    V = lp.maximize((G / np.linalg.norm(G)).ravel()).reshape(Q.shape)
    t = line_search(Q, V - Q)
    if t == 1.0:
        Q[:] = V  # the LP's vertex itself, not Q + (V - Q) with its rounding
    elif t > 0.0:
        Q += t * (V - Q)


def feasible_start(lp: RowLP, rank: int, rng: np.random.Generator, hint: str = "") -> np.ndarray:
    """A feasible nonsingular Q for joint steps: the mean of LP vertices (phase one).

    The feasible set is convex, so the mean of its vertices along random
    directions is feasible; it is nonsingular unless the set lies in the
    singular matrices (then no factorization of this rank meets the
    constraints: :class:`~cvxvolmin.DegenerateError`).
    """
    directions = rng.standard_normal((2 * rank * rank, rank * rank))
    vertices = [lp.maximize(d / np.linalg.norm(d)) for d in directions]
    Q = np.mean(vertices, axis=0).reshape(rank, rank)
    size = max(float(np.abs(Q).max()), np.finfo(float).tiny)
    if abs(np.linalg.det(Q / size)) <= _DEGENERATE:
        raise degenerate_error(hint)
    return Q


def start_violation(lp: RowLP | WorkingSetLP, Q: np.ndarray) -> float:
    """The largest violation of the joint LP's constraints at Q, relative to their terms.

    Over every sample (a working-set LP checks its full declaration).
    """
    q = np.asarray(Q, dtype=float).ravel()
    if isinstance(lp, WorkingSetLP):
        return float(lp.violations(q).max(initial=0.0))
    lp.q.value = q
    worst = 0.0
    for constraint in lp.problem.constraints:
        values, equality = constraint_values(constraint)
        terms = np.concatenate([np.abs(np.ravel(arg.value)) for arg in constraint.args])
        size = max(float(terms.max(initial=0.0)), np.finfo(float).tiny)
        missed = np.abs(values) if equality else np.maximum(values, 0.0)
        worst = max(worst, float(missed.max(initial=0.0)) / size)
    return worst


def _check_start(lp: RowLP | WorkingSetLP, Q: np.ndarray, formulation: Formulation) -> None:
    violation = start_violation(lp, Q)
    if violation > _START_FEASIBILITY:
        raise InvalidParameterError(
            f"formulation {formulation.name!r}: initial_Q returned a start that misses its "
            f"constraints by {violation:.3g} (relative); joint steps move Q within the "
            "feasible set, so a coupled formulation's initial_Q must meet every row and "
            "joint constraint, or be left to the engine (which finds a feasible start)."
        )


def maximize_volume(
    lp: RowLP | Sequence[RowLP],
    Q0: np.ndarray,
    *,
    max_iter: int,
    tol: float,
    verbose: bool = False,
    callback: Callable[[int, float], None] | None = None,
    hint: str = "",
    joint: bool = False,
) -> AOTrace:
    """Improve ``log|det Q|`` step by step, each step LPs, until it settles.

    A step is a sweep over the rows of Q (``lp`` from :func:`build_row_lp`),
    or with ``joint`` one move of all rows (``lp`` from
    :func:`build_joint_lp`, and Q0 feasible). Stops after step k
    when ``L_k - L_{k-1} <= tol * max(1, |L_{k-1}|)`` with ``L = log|det Q|``,
    or after ``max_iter`` steps.

    Parameters
    ----------
    lp : RowLP or sequence of RowLP
        The row LP shared by all rows, or one per row (:func:`build_row_lps`),
        or the joint LP with ``joint``.
    Q0 : ndarray of shape (r, r)
        Nonsingular start; copied.
    max_iter : int
        Maximum number of steps.
    tol : float
        Relative stopping threshold on the gain of ``log|det Q|``.
    verbose : bool, default False
        Print ``log|det Q|`` after each step to stderr.
    callback : callable, optional
        Called as ``callback(step, logdet)`` after each step (progress bars).
    hint : str, optional
        Appended to a :class:`~cvxvolmin.DegenerateError`'s message (see
        :func:`~cvxvolmin.declaration.constraint_hint`).
    joint : bool, default False
        Joint steps over the joint LP; Q0 must be feasible (the steps stay
        on segments of the feasible set).
    """
    Q = np.array(Q0, dtype=float)  # a copy (np.array copies by default)
    lps = list(lp) if isinstance(lp, Sequence) else [lp] * Q.shape[0]
    if joint:
        step_once = partial(_joint_step, lps[0])
    else:
        step_once = partial(_sweep_rows, lps, hint=hint)
    solves_before = _n_solves(lps)
    history: list[float] = []
    converged = False
    start = time.perf_counter()
    for sweep in range(1, max_iter + 1):
        step_once(Q)
        logdet = _logabsdet(Q)
        if not np.isfinite(logdet):
            raise DegenerateError(
                f"Q became singular during a sweep; the feasible set is degenerate at "
                f"this rank.{hint} {'Otherwise, for' if hint else 'For'} noisy data use "
                "cvxvolmin.robust.fit_robust(X, rank), or try a smaller rank."
            )
        history.append(logdet)
        if verbose:
            gain = "" if sweep == 1 else f" ({logdet - history[-2]:+.3e})"
            print(
                f"sweep {sweep}: log|det Q| = {logdet:.10g}{gain}, "
                f"{_n_solves(lps) - solves_before} LPs, {time.perf_counter() - start:.3f} s",
                file=sys.stderr,
            )
        if callback is not None:
            callback(sweep, logdet)
        if sweep >= 2 and logdet - history[-2] <= tol * max(1.0, abs(history[-2])):
            converged = True
            break
    return AOTrace(
        Q=Q,
        logdet_history=tuple(history),
        n_iter=len(history),
        converged=converged,
        n_lp_solves=_n_solves(lps) - solves_before,
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
    working_set: bool | None = None,
    verbose: bool = False,
    callback: Callable[[int, float], None] | None = None,
) -> AOTrace:
    """Run the alternating optimization from up to ``formulation.n_starts`` starts.

    ``working_set=None`` solves on working sets of columns when the
    formulation is column-separable and N exceeds ``WORKING_SET_THRESHOLD``.

    The LP is compiled once and shared by all starts. The starts stop early
    once two of them reach the same largest ``|det Q|`` (see
    :func:`_confirmed`). Returns the trace of the start with the largest
    ``|det Q|`` (the first one on ties), with ``n_lp_solves`` counting the
    LPs of every start and ``start_logdets`` listing every start's final
    ``log|det Q|``. With joint steps, the kept Q is snapped onto its active
    constraints (:class:`~cvxvolmin.polish.VertexPolisher`).

    Runs with one BLAS thread (threadpoolctl): its products are small, and
    extra threads only oversubscribe the cores when other work runs beside.
    """
    # The loop's linear algebra is r x r solves and products with r-vectors:
    # BLAS threads only contend there (measured at N = 1e5 beside one busy
    # process on 2 cores: 22 s with the default threads, 5 to 7 s with one).
    # The reduction's large products run before, with the machine's threads.
    with one_blas_thread():
        return _optimize(
            formulation,
            reduction,
            rng,
            solver=solver,
            max_iter=max_iter,
            tol=tol,
            working_set=working_set,
            verbose=verbose,
            callback=callback,
        )


def _optimize(
    formulation: Formulation,
    reduction: Reduction,
    rng: np.random.Generator,
    *,
    solver: str,
    max_iter: int,
    tol: float,
    working_set: bool | None,
    verbose: bool,
    callback: Callable[[int, float], None] | None,
) -> AOTrace:
    n_starts = int(formulation.n_starts)
    if n_starts < 1:
        raise InvalidParameterError(
            f"{formulation!r} asks for n_starts={n_starts}; it must be >= 1."
        )
    if working_set is None:
        working_set = formulation.column_separable and reduction.n_samples > WORKING_SET_THRESHOLD
    hint = constraint_hint(formulation)
    joint = formulation.coupled
    own_start = not joint or declares_own_start(formulation)
    if joint:
        lp = build_joint_lp(formulation, reduction, solver, working_set)
    else:
        lp = build_row_lps(formulation, reduction, solver, working_set)
    best: AOTrace | None = None
    finals: list[float] = []
    for k in range(n_starts):
        if verbose and n_starts > 1:
            print(f"start {k + 1} of {n_starts}", file=sys.stderr)
        if own_start:
            Q0 = formulation.initial_Q(reduction, rng)
            if joint:
                _check_start(lp, Q0, formulation)
        else:
            Q0 = feasible_start(lp, reduction.rank, rng, hint)  # phase one
        trace = maximize_volume(
            lp,
            Q0,
            max_iter=max_iter,
            tol=tol,
            joint=joint,
            verbose=verbose,
            callback=callback,
            hint=hint,
        )
        finals.append(trace.logdet_history[-1])
        if best is None or finals[-1] > best.logdet_history[-1]:
            best = trace
        if _confirmed(finals):
            break
    if joint:
        best = replace(best, Q=_snap(lp, best.Q))
    lps = list(lp) if isinstance(lp, Sequence) else [lp]
    return replace(best, n_lp_solves=_n_solves(lps), start_logdets=tuple(finals))


def _snap(lp: RowLP, Q: np.ndarray) -> np.ndarray:
    """The joint LP's vertex Q with its active constraints solved exactly.

    HiGHS meets the many (degenerate) active constraints of the optimum only
    to about 1e-12; snapping brings the recovered H of the paper's data to
    rounding level (the figures are in the docs' Table 2 page), for 0.1 to
    0.2 s at r = 10.
    """
    snapped, _ = VertexPolisher(lp).polish(Q.ravel())
    return snapped.reshape(Q.shape)


def _confirmed(finals: list[float]) -> bool:
    """Whether two starts reached the largest ``log|det Q|`` so far.

    Stalled starts end at scattered values, so a second start landing on
    the best one is strong evidence that it is the global optimum.
    """
    best = max(finals)
    agree = np.abs(np.array(finals) - best) <= _SAME_OPTIMUM * max(1.0, abs(best))
    return int(agree.sum()) >= 2
