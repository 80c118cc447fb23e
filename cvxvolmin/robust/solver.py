"""Volume-regularized VolMin for noisy data, solved by alternating minimization.

The exact criteria ``min det(W.T W) s.t. X = W H.T`` with H in a
formulation's set (column-sum: ``H.T 1 = 1, H >= 0``; row-sum:
``H 1 = 1, H >= 0``; or a researcher's variant) treat the direction of every
column of X as exact; under noise their feasible sets shrink, move, or
vanish. Fu, Huang and Sidiropoulos (IEEE SPL 2018, section 5) trade fit
against volume with ``||X - W H.T||_F^2 + lam det(W.T W)``; this module
solves the variant with the log-det surrogate of the robust VolMin of Fu,
Huang, Yang, Ma and Sidiropoulos (IEEE TSP 64(23), 2016)::

    min_{W, H}  ||X - W H.T||_F^2 + lam * log det(W.T W + delta I)
    s.t.        H in the formulation's set.

:func:`fit_robust` alternates two updates, in a reduced frame:

* **Frame.** With U an orthonormal basis (M x p) and ``Xt = U.T X``, every
  W in range(U) writes ``W = U V`` and ``||X - W H.T||^2 = ||X - U Xt||^2 +
  ||Xt - V H.T||^2``: the first term is a constant, the second a p x N
  problem, so an iteration costs O(p r N), not O(M r N). ``subspace="full"``
  takes range(X) itself (p = min(M, N)), where the optimal W always lies:
  exact. ``"principal"`` (the default) takes the r leading left singular
  vectors: W is restricted to the principal subspace, which is what is
  approximated (measured in docs/howto/noisy_data.rst).
* **H update** for fixed W: a convex QP over the formulation's set, by
  projected gradient over its abundance polytope when it declares one, else
  declared in cvxpy (:mod:`cvxvolmin.robust.h_step`).
* **W update**: log det is concave in ``W.T W``, so at the current ``W_k``
  it lies below its tangent: ``log det(W.T W + dI) <= log det(F_k)
  + trace(F_k^{-1} (W.T W + dI)) - r`` with ``F_k = W_k.T W_k + dI``.
  Minimizing this majorizer is least squares with the closed form
  ``W = X H (H.T H + lam F_k^{-1})^{-1}``, so the objective never increases.
"""

from __future__ import annotations

import copy
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np

from ..baselines import plain_nmf
from ..exceptions import (
    ConvergenceWarning,
    DegenerateError,
    InfeasibleError,
    InvalidParameterError,
    NoisyColumnsWarning,
)
from ..factorization import _NOISY_COLUMN, FactorizationResult, fit
from ..formulations import ColumnSumVolMin, Formulation, RowSumVolMin
from ..formulations.base import fast_polytope
from ..inputs import check_fit_inputs, warn_not_converged
from ..metrics import relative_residual
from ..reduction import (
    Reduction,
    _column_blocks,
    column_norms,
    leading_triplets,
)
from ..validation import (
    check_nonnegative_float,
    check_positive_int,
    check_solver,
)
from .h_step import DeclaredQP, HStep, ProjectedGradient

__all__ = ["H_SOLVERS", "QP_SOLVERS", "SUBSPACES", "RobustFitResult", "fit_robust"]

#: cvxpy solvers that take the declared H update (a convex QP, or its conic form).
QP_SOLVERS = frozenset(
    {"OSQP", "CLARABEL", "ECOS", "SCS", "PIQP", "PROXQP", "QPALM", "DAQP", "GUROBI", "MOSEK"}
)
#: How the H update is solved: "auto" takes projected gradient when the
#: formulation declares an abundance polytope, the declared QP otherwise.
H_SOLVERS = ("auto", "projected-gradient", "qp")
#: The frame W is restricted to (see the module notes).
SUBSPACES = ("principal", "full")
# OSQP's defaults are too loose for exact data. Polishing (OSQP >= 1.0 calls
# it "polishing") solves the final active set exactly, so eps 1e-8 suffices:
# measured on the paper's case 2 (cond(W) about 4.5), eps 1e-10 hit the
# iteration limit where 1e-8 with polishing converged in 75 iterations to an
# H exact to 1e-28. cvxpy's warm start of OSQP was measured to turn 100
# iterations into 50,000 or more, so it is off.
_SOLVER_OPTIONS = {
    "OSQP": {
        "eps_abs": 1e-8,
        "eps_rel": 1e-8,
        "max_iter": 20_000,
        "warm_start": False,
    },
}
# When the chosen QP solver stops without an answer, the H update retries
# once with this interior-point solver (slower per solve, but it converges).
_FALLBACK_SOLVER = "CLARABEL"
# Keep the low-energy columns above these fractions of the median column norm
# when the exact fit on all columns fails (noise-dominated columns break it).
_TRIM_LEVELS = (0.25, 0.5, 1.0)
# An exact fit with a relative residual below this fits X to rounding: the
# data are exact at this rank and the exact answer is returned as is.
_EXACT_DATA = 1e-10
# Each H update is solved to a Frank-Wolfe gap of this fraction of the last
# outer decrease (no tighter than needed while the outer loop moves fast),
# and of tol times the residual near the end.
_INNER_FRACTION = 0.1
# Iterations every start gets before only the lowest one goes on.
_SCREEN = 20
# Extrapolation of the W iterates (see _descend): first step, growth, bounds.
_BETA_START, _BETA_GROWTH, _BETA_MIN, _BETA_MAX = 0.5, 1.5, 0.05, 8.0


@dataclass(frozen=True)
class RobustFitResult(FactorizationResult):
    """A fitted volume-regularized factorization ``X ≈ W @ H.T``.

    Field names follow :class:`cvxvolmin.FitResult` where they mean the same.

    Attributes
    ----------
    W : ndarray of shape (M, r)
        The mixing matrix (any sign).
    H : ndarray of shape (N, r)
        The abundances, in the formulation's set: columns summing to ``rho``
        (column-sum; one by default), rows summing to one (row-sum; to the
        column's l1 norm when the data were l1-normalized, as in
        :func:`cvxvolmin.fit`), or a variant's constraints.
    objective_history : tuple of float
        ``||X - W H.T||_F^2 + lam * log det(W.T W + delta I)``: at the
        start, then after each iteration (W update and H update). For a
        row-sum fit with l1 normalization, X is the normalized data.
    n_iter : int
        Number of iterations run (0 when the exact fit was returned as is).
    converged : bool
        Whether the stopping rule was met (see ``stop_reason``).
    stop_reason : str
        ``"converged"`` (an iteration lowered the objective by at most ``tol``
        times ``||X - W H.T||_F^2`` and the H update was certified within that
        much of its optimum), ``"exact"`` (the exact fit fits X to rounding,
        flags no noisy column, and is returned as is), ``"max_iter"`` (the
        iteration budget ended first) or ``"max_inner"`` (the budget of inner
        iterations ended first; see :func:`fit_robust`).
    time_s : float
        Wall-clock time, initialization included.
    fit_error : float
        ``||X - W H.T||_F / ||X||_F``.
    lam : float
        The weight of the volume term that was used.
    delta : float
        The absolute ``delta`` in ``log det(W.T W + delta I)``.
    init : str
        How the start was obtained: ``"exact"`` (:func:`cvxvolmin.fit` on
        X), ``"exact-trimmed"`` (on the columns of larger norm only),
        ``"plain-nmf"`` or ``"spread-columns"``; see :func:`fit_robust`.
    init_fit_error : float
        ``fit_error`` of the start; the default ``lam`` is proportional to its
        square.
    init_note : str
        Why the exact start was not used as is (empty when it was).
    formulation : Formulation
        The criterion, as :attr:`cvxvolmin.FitResult.formulation`.
    h_solver : str
        How the H updates were solved: ``"projected-gradient"`` or ``"qp"``.
    subspace : str
        The frame W was restricted to: ``"principal"`` or ``"full"``.
    n_inner : int
        Inner iterations of the H updates (projected-gradient steps or QP
        solves) over all starts.
    """

    W: np.ndarray
    H: np.ndarray
    objective_history: tuple[float, ...]
    n_iter: int
    converged: bool
    time_s: float
    fit_error: float
    lam: float
    delta: float
    init: str
    init_fit_error: float
    init_note: str = ""
    formulation: Formulation = field(default_factory=ColumnSumVolMin, repr=False)
    stop_reason: str = "converged"
    h_solver: str = "projected-gradient"
    subspace: str = "principal"
    n_inner: int = 0

    @property
    def objective(self) -> float:
        """Final value of the regularized objective."""
        return self.objective_history[-1]

    @property
    def history(self) -> tuple[float, ...]:
        """``objective_history``."""
        return self.objective_history

    def summary(self) -> dict:
        """The scalar diagnostics as a JSON-ready dict."""
        return {
            "method": f"robust-{self.formulation.name}",
            "rank": int(self.H.shape[1]),
            "n_iter": self.n_iter,
            "converged": self.converged,
            "stop_reason": self.stop_reason,
            "objective": self.objective,
            "fit_error": self.fit_error,
            "lam": self.lam,
            "delta": self.delta,
            "init": self.init,
            "init_fit_error": self.init_fit_error,
            "h_solver": self.h_solver,
            "subspace": self.subspace,
            "n_inner": self.n_inner,
            "time_s": self.time_s,
            "min_H": self.min_H,
            "colsum_error": self.colsum_error,
        }


@dataclass(frozen=True)
class _Frame:
    """The coordinates ``Xt = U.T X`` of the data in an orthonormal basis U.

    ``basis`` is None when ``Xt`` is X itself (U = I). ``offset`` is
    ``||X - U Xt||_F^2``, the residual no W in range(U) can remove.
    ``noisy`` flags the columns with more than ``_NOISY_COLUMN`` of their
    norm outside range(U): the exact fit's noisy-column test, which the fit
    of ``Xt`` cannot apply when U has r columns (all of Xt is in its subspace).
    """

    Xt: np.ndarray
    basis: np.ndarray | None
    offset: float
    noisy: np.ndarray

    def lift(self, V: np.ndarray) -> np.ndarray:
        return V if self.basis is None else self.basis @ V

    def coordinates(self, W: np.ndarray) -> np.ndarray:
        return W if self.basis is None else self.basis.T @ W


def _frame(X: np.ndarray, rank: int, subspace: str) -> _Frame:
    m, n = X.shape
    if subspace == "full":
        # range(X) exactly: no residual is left out, and the exact fit of Xt
        # applies the noisy-column test itself (see _quiet_fit).
        none = np.zeros(n, dtype=bool)
        if m <= n:
            return _Frame(X, None, 0.0, none)
        basis, Xt = np.linalg.qr(X)
        return _Frame(Xt, basis, 0.0, none)
    basis, _, _ = leading_triplets(X, rank)
    Xt = np.empty((rank, n))
    outside = np.empty(n)
    # The residual outside the frame directly, block by block (a difference of
    # squared norms would carry rounding of eps ||X||^2, which hides exact data).
    for columns, block in _column_blocks(X, 1.0):
        Xt[:, columns] = basis.T @ block
        outside[columns] = np.linalg.norm(block - basis @ Xt[:, columns], axis=0)
    offset = float(np.sum(outside**2))
    # Relative to each column's own norm (zero columns are not noisy), as cvxvolmin.fit.
    noisy = outside > _NOISY_COLUMN * column_norms(X)
    return _Frame(Xt, basis, offset, noisy)


def _quiet_fit(X: np.ndarray, rank: int, rng: np.random.Generator, criterion: Formulation):
    """The exact fit without its warnings, and whether it flagged noisy columns."""
    with warnings.catch_warnings(record=True) as caught:
        # Noise warnings are expected here: handling noise is this module's job.
        warnings.simplefilter("always")
        result = fit(X, rank, formulation=criterion, random_state=rng)
    return result, any(issubclass(w.category, NoisyColumnsWarning) for w in caught)


def _starts(
    frame: _Frame, data: np.ndarray, rank: int, rng: np.random.Generator, criterion: Formulation
) -> tuple[list, str, bool]:
    """Candidate starts ``(V0, H0 or None, how)`` in the frame, a note, and a noise flag.

    Every start's V0 has full column rank (see Notes of :func:`fit_robust`).
    The flag says whether the exact fit on all columns flagged noisy columns.
    """
    Xt = frame.Xt
    starts: list[tuple[np.ndarray, np.ndarray | None, str]] = []
    notes = []
    flagged = False
    try:
        # fit is invariant to invertible transforms of X: fitting Xt = U.T X
        # gives the fit of X's projection, W in coordinates, at r/M the cost.
        exact, flagged = _quiet_fit(Xt, rank, rng, criterion)
        starts.append((exact.W, exact.H, "exact"))
    except (InfeasibleError, DegenerateError) as exc:
        notes.append(f"exact fit on all columns: {type(exc).__name__}")
    norms = column_norms(Xt)
    median = float(np.median(norms[norms > 0]))
    for level in _TRIM_LEVELS:
        keep = norms >= level * median
        if keep.all():
            continue  # nothing to trim: the same problem as the exact fit
        if keep.sum() < rank:
            break
        try:
            result, _ = _quiet_fit(Xt[:, keep], rank, rng, criterion)
        except (InfeasibleError, DegenerateError, ValueError) as exc:
            notes.append(
                f"exact fit on columns of norm >= {level:g} x median: {type(exc).__name__}"
            )
            continue
        # Only W is kept: the first H update gives H for every column.
        starts.append((result.W, None, "exact-trimmed"))
        break
    if not starts:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = plain_nmf(data, rank, solver="hals", random_state=rng, max_iter=2000)
        starts.append((frame.coordinates(result.W), None, "plain-nmf"))
        notes.append("started from plain NMF (HALS)")
    # A singular V0 (plain NMF on centred data gives W = 0) has log det(V0.T V0)
    # = -inf and an absolute delta of zero: the W step would invert a singular
    # matrix. Such starts are dropped; when none is left, r spread-out columns
    # of the data take their place.
    kept = [start for start in starts if _full_column_rank(start[0])]
    for _, _, how in starts:
        if not any(how == other for _, _, other in kept):
            notes.append(f"the {how} start has a singular W: dropped")
    if not kept:
        kept = [(_spread_columns(Xt, rank), None, "spread-columns")]
        notes.append("started from r spread-out columns of X")
    return kept, "; ".join(notes), flagged


def _full_column_rank(V: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(V))) and np.linalg.matrix_rank(V) == V.shape[1]


def _spread_columns(Xt: np.ndarray, rank: int) -> np.ndarray:
    """r columns of Xt chosen greedily far from the span of those chosen before.

    Each is the column of largest norm after projecting out the previous
    ones (the successive projection algorithm), so the result has full
    column rank whenever Xt has rank r. Raises DegenerateError otherwise.
    """
    residual = np.array(Xt, dtype=float)
    chosen = []
    for _ in range(rank):
        j = int(np.argmax(np.sum(residual**2, axis=0)))
        chosen.append(j)
        norm = max(float(np.linalg.norm(residual[:, j])), np.finfo(float).tiny)
        direction = residual[:, j] / norm
        residual -= np.outer(direction, direction @ residual)
    V = Xt[:, chosen]
    if not _full_column_rank(V):
        raise DegenerateError(
            f"fit_robust found no start: no exact fit succeeded and the data have fewer "
            f"than r = {rank} linearly independent columns (numerical rank "
            f"{np.linalg.matrix_rank(Xt)}); fit a smaller rank."
        )
    return V


def _logdet(V: np.ndarray, delta: float) -> float:
    sign, value = np.linalg.slogdet(V.T @ V + delta * np.eye(V.shape[1]))
    return float(value) if sign > 0 else -np.inf


def _w_step(Xt, V, H, lam, delta_abs):
    """The W update: the minimizer of the majorizer of the objective at W (closed form).

    The majorizer is ``||Xt - V H.T||^2 + lam trace(F^-1 V.T V)`` with
    ``F = V_k.T V_k + delta I`` positive definite (``delta > 0``). Should the
    normal equations be singular in floating point, the same minimizer comes
    from least squares on ``[H; sqrt(lam) L.T]``, ``F^-1 = L L.T``.
    """
    if lam == 0:
        return np.linalg.lstsq(H, Xt.T, rcond=None)[0].T
    F = V.T @ V + delta_abs * np.eye(V.shape[1])
    try:
        F_inv = np.linalg.inv(F)
        return np.linalg.solve(H.T @ H + lam * F_inv, (Xt @ H).T).T
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(F)
        tiny = np.finfo(float).tiny
        L = vectors / np.sqrt(np.maximum(values, tiny))
        system = np.vstack([H, np.sqrt(lam) * L.T])
        target = np.vstack([Xt.T, np.zeros((V.shape[1], Xt.shape[0]))])
        return np.linalg.lstsq(system, target, rcond=None)[0].T


class _Problem:
    """The objective in the frame and the H update; ``lam`` is set once it is known."""

    def __init__(self, frame: _Frame, h_step, delta_abs: float, max_inner: int):
        self.frame, self.h_step, self.delta_abs = frame, h_step, delta_abs
        self.lam = 0.0
        self.n_inner, self.max_inner = 0, max_inner
        # ||X||^2 (of the data fitted), the scale of every residual.
        self.energy = frame.offset + float(np.sum(frame.Xt**2))

    def residual_sq(self, V: np.ndarray, H: np.ndarray) -> float:
        return self.frame.offset + float(np.sum((self.frame.Xt - V @ H.T) ** 2))

    def objective(self, V: np.ndarray, H: np.ndarray) -> tuple[float, float]:
        """The objective and its residual part ``||X - W H.T||^2``."""
        residual = self.residual_sq(V, H)
        return residual + self.lam * _logdet(V, self.delta_abs), residual

    def update_H(self, V: np.ndarray, H: np.ndarray, gap_tol: float) -> HStep:
        step = self.h_step.solve(V.T @ V, (V.T @ self.frame.Xt).T, H, gap_tol)
        self.n_inner += step.n_iter
        return step


def _descend(problem: _Problem, V, H, max_iter, tol, verbose, callback, first: int = 1):
    """Alternate W and H updates from (V, H); return V, H, history, stop reason.

    Each iteration first tries an extrapolated W, ``W_mm + beta (W_mm -
    W_mm_prev)`` with ``W_mm`` the majorization step, and its H update; it
    is kept only when its objective is at most that of ``(W_mm, H)``, so the
    objective still never increases. ``beta`` grows by 1.5 after a success
    and halves after a failure (then the plain step is taken). Measured by
    ``benchmarks/bench_robust.py``: 2 to 5 times fewer H updates on most data.

    The H updates are inexact: each is solved to a Frank-Wolfe gap of a
    tenth of the last decrease of the objective, and of ``tol`` times the
    residual at the end; an H update is warm-started from the current H and
    never raises the objective, so no step is rejected for inexactness. The
    loop stops when an iteration lowers the objective by at most ``tol``
    times the residual and its H update is certified within that much of
    its optimum, or, after an iteration, once the H updates of all starts
    have used ``problem.max_inner`` inner iterations.
    """
    value, residual = problem.objective(V, H)
    history = [value]
    floor = np.finfo(float).eps * problem.energy
    beta, V_mm_prev = _BETA_START, None
    last_decrease = np.inf
    scale = max(residual, floor)
    for it in range(first, first + max_iter):
        gap_tol = _INNER_FRACTION * max(min(last_decrease, scale), tol * scale)
        V_mm = _w_step(problem.frame.Xt, V, H, problem.lam, problem.delta_abs)
        after_w, residual_w = problem.objective(V_mm, H)
        value, gap = None, np.inf
        if V_mm_prev is not None:
            V_try = V_mm + beta * (V_mm - V_mm_prev)
            step = problem.update_H(V_try, H, gap_tol)
            value_try, residual_try = problem.objective(V_try, step.H)
            if value_try <= after_w:
                V, H, value, residual, gap = V_try, step.H, value_try, residual_try, step.gap
                beta = min(_BETA_GROWTH * beta, _BETA_MAX)
            else:
                beta = max(beta / 2, _BETA_MIN)
        V_mm_prev = V_mm
        if value is None:
            V = V_mm
            step = problem.update_H(V, H, gap_tol)
            (value, residual), gap = problem.objective(V, step.H), step.gap
            if value <= after_w:
                H = step.H
            else:  # a QP solved to tolerance came back (marginally) worse: keep H
                value, residual = after_w, residual_w
        decrease = history[-1] - value
        history.append(value)
        scale = max(residual, floor)
        if verbose:
            print(
                f"iteration {it}: objective {value:.12g} ({-decrease:+.3e}), H gap {gap:.2e}",
                file=sys.stderr,
            )
        if callback is not None:
            callback(it, value)
        if decrease <= tol * scale and gap <= tol * scale:
            return V, H, history, "converged"
        if problem.n_inner >= problem.max_inner:
            return V, H, history, "max_inner"
        last_decrease = max(decrease, 0.0)
    return V, H, history, "max_iter"


def fit_robust(
    X,
    rank: int,
    *,
    formulation: str | Formulation = "column-sum",
    lam: float | None = None,
    lam_scale: float = 0.01,
    delta: float = 1e-8,
    max_iter: int = 500,
    max_inner: int = 30_000,
    tol: float = 1e-6,
    h_solver: str = "auto",
    solver: str = "OSQP",
    subspace: str = "principal",
    random_state=None,
    verbose: bool = False,
    callback: Callable[[int, float], None] | None = None,
) -> RobustFitResult:
    """Factor noisy ``X ≈ W @ H.T`` by volume-regularized VolMin.

    Solves ``min ||X - W H.T||_F^2 + lam * log det(W.T W + delta I)`` over
    H in the formulation's set (``H >= 0`` with ``H.T 1 = 1`` by default)
    and any W, by alternating minimization: an H update (projected gradient
    over the formulation's polytope, or its constraints declared in cvxpy)
    and a closed-form majorization step for W.

    Parameters
    ----------
    X : array_like of shape (M, N)
        Data, samples as **columns**; any sign. Never modified.
    rank : int
        Number of factors r.
    formulation : str or Formulation, default "column-sum"
        The criterion, as for :func:`cvxvolmin.fit`: a registered name or an
        instance. Any formulation whose constraints act on the columns of H
        (``row.h`` and ``row.total``) works, a researcher's own included;
        X is normalized by the formulation's ``column_scale`` (row-sum: l1
        on nonnegative data) and checked by its ``check_data``, through the
        same code as :func:`cvxvolmin.fit`. A constraint on ``row.q`` is
        refused.
    lam : float or None, default None
        Weight of the volume term. None:
        ``lam_scale * ||X||_F * ||X - W0 H0.T||_F / r`` with (W0, H0) the
        initialization (see Notes).
    lam_scale : float, default 0.01
        The factor of the default ``lam``; ignored when ``lam`` is given.
    delta : float, default 1e-8
        Relative regularizer of the log det: the absolute value is
        ``delta * ||W0||_F^2 / r`` (so it follows the scale of X).
    max_iter : int, default 500
        Maximum number of iterations (one W update and one H update each).
    max_inner : int, default 30000
        Budget of inner iterations (projected-gradient steps or QP solves of
        the H updates, ``n_inner``) over all starts; checked after each
        iteration. Well-posed fits use a few hundred to a few thousand. A
        descent toward an ever more ill-conditioned W (seen at a rank equal
        to M on mixed-sign data whose cone is the whole space, from a start
        with a dead factor) makes every H update slow; this budget ends it
        with a ConvergenceWarning (``stop_reason="max_inner"``).
    tol : float, default 1e-6
        Stop when an iteration lowers the objective by at most ``tol`` times
        the current ``||X - W H.T||_F^2`` (the objective's own magnitude is no
        scale: its log det part shifts with the units of X) and its H update
        is within that much of its optimum (a Frank-Wolfe gap; the QP path
        trusts its solver).
    h_solver : {"auto", "projected-gradient", "qp"}, default "auto"
        How the H update is solved. ``"projected-gradient"``: accelerated
        projected gradient over the formulation's abundance polytope (the
        built-in criteria declare one; see
        :meth:`cvxvolmin.Formulation.abundance_polytope`). ``"qp"``: the
        formulation's constraints declared in cvxpy and solved by
        ``solver`` (the general path, and the reference). ``"auto"``: the
        first when the formulation has a polytope, else the second.
    solver : str, default "OSQP"
        Installed cvxpy solver of the QP path: one of :data:`QP_SOLVERS`,
        e.g. "OSQP", "CLARABEL", "ECOS". Unused by projected gradient.
    subspace : {"principal", "full"}, default "principal"
        The frame W is restricted to. ``"principal"``: the span of the r
        leading left singular vectors of X, where each iteration costs
        O(r^2 N). ``"full"``: range(X), where the optimal W lies: no
        approximation, O(min(M, N) r N) per iteration.
    random_state : None, int or numpy.random.Generator
        Seed of the initialization (the exact fit's start, or plain NMF's).
    verbose : bool, default False
        Print the objective after each iteration to stderr.
    callback : callable, optional
        Called as ``callback(iteration, objective)`` after every iteration
        of every start, e.g. to drive a progress bar.

    Returns
    -------
    RobustFitResult

    Raises
    ------
    cvxvolmin.InvalidParameterError
        On invalid input or parameters, before any solver runs, including a
        formulation constraint that the H update cannot impose; a rank
        above the numerical rank of X is refused by the first exact fit.
    cvxvolmin.SolverFailedError
        When the QP solver fails on an H update.
    cvxvolmin.DegenerateError
        When no start with a nonsingular W exists (no exact fit succeeds and
        the data have fewer than r independent columns); fit a smaller rank.

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` iterations or ``max_inner`` inner iterations end
        before the stopping rule is met.

    Notes
    -----
    **Initialization.** The exact fit (:func:`cvxvolmin.fit` with the same
    formulation, on the data's coordinates in the frame) is the natural
    start: on exact data its residual is zero, and it is returned as is
    (``stop_reason="exact"``). Under noise it is a poor start or none: a
    column whose true part is small points anywhere, and the exact cone
    must hold it; it can even empty the feasible set, and the exact fit
    raises :class:`~cvxvolmin.InfeasibleError` or
    :class:`~cvxvolmin.DegenerateError`. So a second start comes from the
    exact fit on the columns of norm (in the frame) at least 0.25 times the
    median (0.5, then 1, if that fails too; ``init="exact-trimmed"``), with H
    for every column from an H update. If no exact fit succeeds, plain NMF by
    HALS gives W (``init="plain-nmf"``; a poor start for mixed-sign W). A
    start whose W is singular (plain NMF gives W = 0 on centred data) is
    dropped: its log det is -inf and the W step would invert a singular
    matrix. When no start is left, W is r columns of the data chosen one by
    one, each of largest norm after projecting out the previous ones
    (``init="spread-columns"``; of full column rank whenever the data have
    r independent columns). The exact fit on all columns is returned as is
    only when it fits X to rounding and flags no noisy column (more than
    10% of its norm outside the rank-r subspace, the test of
    :func:`cvxvolmin.fit`): a column of pure noise, however small, forces
    the exact cone to hold its direction. That fit then only sets lam (at
    the noise's level) and the other starts compete, each W rescaled column
    by column so that the least-squares abundances of all columns meet the
    formulation's column totals (a fit on a subset of the columns has them
    sum to the total over that subset only). The
    alternating minimization runs 20 iterations from every start and only
    the one with the lowest objective goes on (a start whose cone holds
    noise columns can crawl for hundreds of iterations to a worse point);
    ``init`` names it and ``init_note`` what failed. The exact fits run on
    the r x N coordinates, not on X.

    **Choice of lam.** The objective's two terms have different units: the
    residual scales with ``||X||^2``, while ``log det`` only shifts by a
    constant when X is rescaled. The default
    ``lam = lam_scale * ||X||_F * ||X - W0 H0.T||_F / r``, with (W0, H0) the
    first start (the exact fit on all columns when it exists), is therefore
    scale-invariant (the same H for X and ``c X``); it vanishes on exact
    data and it follows the noise level: with
    ``eps = ||X - W0 H0.T|| / ||X||`` (about the noise-to-signal ratio of
    the data) it is ``(lam_scale / eps) * ||X - W0 H0.T||^2 / r``, a volume
    weight per unit of misfit that grows as the noise falls. With
    ``lam = s * ||X - W0 H0.T||^2 / r`` (r = 5, M = N = 200, median MSE of H
    over 3 seeds; ``python benchmarks/noise_checks.py lam``) the best ``s``
    was 0.1 to 0.3 at 20 dB and 1 to 3 at 40 dB; ``s * eps = 0.01`` (eps is
    0.1 at 20 dB and 0.01 at 40 dB) gives s = 0.1 and 1: the default. Pass
    ``lam`` to set the weight yourself; ``result.lam`` reports the one used,
    and :doc:`/howto/noisy_data` shows its effect.

    **Guarantees.** Each W step minimizes a majorizer and each H update,
    warm-started from the current H, does not raise the objective, so the
    objective never increases. Each iteration first tries an extrapolated W
    (along the last W step) with its H update and keeps it only when the
    objective is no higher than after the plain W step. Like any
    alternating scheme it reaches a stationary point, not necessarily the
    global minimum. H is returned in the formulation's set: exactly (to
    rounding) on the projected-gradient path, to the QP solver's tolerance
    on the QP path (then projected on the polytope when there is one).

    Examples
    --------
    >>> import cvxvolmin
    >>> from cvxvolmin.robust import add_noise, fit_robust
    >>> X, W, H = cvxvolmin.make_paper_data(3, case=3, n_samples=60, random_state=0)
    >>> result = fit_robust(add_noise(X, 30.0, random_state=1), 3, random_state=0)
    >>> bool(result.H.min() >= 0 and abs(result.H.sum(axis=0) - 1).max() < 1e-12)
    True
    >>> result.stop_reason, result.h_solver
    ('converged', 'projected-gradient')
    """
    start = time.perf_counter()
    inputs = check_fit_inputs(
        X,
        rank,
        formulation=formulation,
        max_iter=max_iter,
        tol=tol,
        random_state=random_state,
        verbose=verbose,
        callback=callback,
        sparse_hint="fit_robust needs a dense array: pass X.toarray().",
    )
    X, rank, criterion = inputs.X, inputs.rank, inputs.formulation
    max_iter, tol, verbose, callback = inputs.max_iter, inputs.tol, inputs.verbose, inputs.callback
    max_inner = check_positive_int(max_inner, "max_inner")
    if lam is not None:
        lam = check_nonnegative_float(lam, "lam")
    lam_scale = check_nonnegative_float(lam_scale, "lam_scale")
    delta = check_nonnegative_float(delta, "delta")
    if delta == 0.0:
        raise InvalidParameterError(
            "delta must be positive; log det(W.T W) alone is -inf at a singular W."
        )
    h_solver = _check_choice(h_solver, H_SOLVERS, "h_solver")
    subspace = _check_choice(subspace, SUBSPACES, "subspace")
    solver = check_solver(solver)
    if solver not in QP_SOLVERS:
        raise InvalidParameterError(
            f"solver {solver!r} cannot solve the H update, a convex QP; use one of "
            f"{', '.join(sorted(QP_SOLVERS & set(cp.installed_solvers())))}."
        )
    if not np.any(X):
        raise InvalidParameterError("X is all zeros; there is nothing to factor.")
    polytope = fast_polytope(criterion)
    if h_solver == "projected-gradient" and polytope is None:
        raise InvalidParameterError(
            f"formulation {criterion.name!r} declares no abundance polytope, so its H "
            "update has no fast projection; use h_solver='auto' or 'qp'."
        )
    n = X.shape[1]
    # Normalized as cvxvolmin.fit normalizes (the formulation's column_scale);
    # H goes back to X's units at the end, as Formulation.recover does.
    if isinstance(criterion, RowSumVolMin):
        # The row-sum reduction normalizes (and warns, ModelMismatchWarning, when
        # the normalized X is off the affine model) as in cvxvolmin.fit.
        column_scale = criterion.reduce(X, rank).column_scale
        # A zero column is no convex combination of W's columns: its row of H is zero.
        nonzero = np.any(X != 0, axis=0)
        data = (X / column_scale)[:, nonzero]
        start_criterion = copy.copy(criterion)
        start_criterion.normalize = None  # the data are normalized already
    else:
        data, column_scale = criterion.normalized_columns(X, rank)
        nonzero, start_criterion = None, criterion

    frame = _frame(data, rank, subspace)
    n_fit = data.shape[1]
    reduction = Reduction(
        Xt=frame.Xt,
        basis=frame.basis if frame.basis is not None else np.eye(frame.Xt.shape[0]),
        singular_values=np.empty(0),
        column_scale=np.ones(n_fit),
    )
    if h_solver == "qp" or polytope is None:
        used = "qp"
        # Declared (and a constraint it cannot impose refused) before any solve.
        h_step = DeclaredQP(
            criterion, reduction, rank, solver, _solver_options(solver), _FALLBACK_SOLVER
        )
    else:
        used, h_step = "projected-gradient", ProjectedGradient(polytope)

    starts, note, flagged = _starts(frame, data, rank, inputs.rng, start_criterion)
    exact_start = starts[0][2] == "exact"
    # The exact fit's own test: a column mostly outside the rank-r subspace is
    # noise whose direction the exact cone holds, however small its energy.
    noisy = flagged or bool(frame.noisy.any())
    V0, H0, _ = starts[0]
    if H0 is not None and polytope is not None:
        H0 = polytope.project(H0)  # the exact fit's rounding below zero, clipped
    # lam and delta come from the first start (the exact fit on all columns
    # when it exists), so that the starts compete on one objective.
    delta_abs = delta * float(np.sum(V0**2)) / rank
    problem = _Problem(frame, h_step, delta_abs, max_inner)
    energy = problem.energy
    # A start's H needs no more precision than tol relative to ||X||^2; the
    # descent refines it.
    start_gap = tol * energy
    if H0 is None:
        H0 = problem.update_H(V0, _uniform(n_fit, rank, criterion, polytope), start_gap).H
    starts[0] = (V0, H0, starts[0][2])
    residual0 = problem.residual_sq(V0, H0)
    candidates = starts
    if exact_start and np.sqrt(residual0 / energy) <= _EXACT_DATA and noisy and len(starts) > 1:
        # Exact on every column, noise included: its cone holds the noisy
        # columns' directions, so it is no start for the others; its residual
        # (the noise's level) still sets lam, and lam scales delta.
        note = "; ".join(filter(None, [note, "exact fit holds noisy columns: not a start"]))
        candidates = [(_rescaled(V, frame.Xt, polytope), H, how) for V, H, how in starts[1:]]
    if exact_start and not noisy and np.sqrt(residual0 / energy) <= _EXACT_DATA:
        # Exact data: nothing to regularize, nothing to compare.
        history, stop, best_V, best_H, how = [residual0], "exact", V0, H0, "exact"
        init_error, lam_used = float(np.sqrt(residual0 / energy)), 0.0
    else:
        lam_used = lam if lam is not None else lam_scale * np.sqrt(energy * residual0) / rank
        problem.lam = lam_used
        best = None
        # Every start is descended for _SCREEN iterations and only the lowest
        # continues: from a start whose cone holds a noise column the descent
        # can crawl (measured, case 1 at 40 dB: MSE 0.09 after 3000 iterations,
        # 1e-5 from the other start; at N = 1e5, 200 iterations to settle above
        # the trimmed start, which won in 30).
        screen = min(max_iter, _SCREEN) if len(candidates) > 1 else max_iter
        for V_s, H_s, how_s in candidates:
            if H_s is None:
                H_s = problem.update_H(V_s, H0, start_gap).H
            if verbose:
                print(f"start: {how_s}", file=sys.stderr)
            init_error_s = float(np.sqrt(problem.residual_sq(V_s, H_s) / energy))
            run = _descend(problem, V_s, H_s, screen, tol, verbose, callback)
            if best is None or run[2][-1] < best[2][-1]:
                best = (*run, how_s, init_error_s)
        V_b, H_b, history, stop, how_b, error_b = best
        if stop == "max_iter" and screen < max_iter:
            if verbose:
                print(f"continuing: {how_b}", file=sys.stderr)
            V_b, H_b, more, stop = _descend(
                problem, V_b, H_b, max_iter - screen, tol, verbose, callback, first=screen + 1
            )
            history = history + more[1:]
            best = (V_b, H_b, history, stop, how_b, error_b)
        best_V, best_H, history, stop, how, init_error = best
    if stop == "max_iter":
        decrease = f"last decrease {history[-2] - history[-1]:.3e}"
        warn_not_converged(max_iter, "iterations", "the objective", decrease)
    elif stop == "max_inner":
        warnings.warn(
            f"stopped after {len(history) - 1} iterations, when the H updates had used "
            f"max_inner={max_inner} inner iterations, before the objective settled (last "
            f"decrease {history[-2] - history[-1]:.3e}); the problem is ill-conditioned "
            "at this rank: try a smaller rank, or increase max_inner.",
            ConvergenceWarning,
            stacklevel=2,
        )
    W, H = frame.lift(best_V), best_H
    if nonzero is not None:
        H_all = np.zeros((n, rank))
        H_all[nonzero] = H
        H = H_all
    H = H * column_scale[:, None]  # in X's units, as Formulation.recover does
    return RobustFitResult(
        W=W,
        H=H,
        objective_history=tuple(history),
        n_iter=len(history) - 1,
        converged=stop not in ("max_iter", "max_inner"),
        time_s=time.perf_counter() - start,
        fit_error=relative_residual(X, W, H),
        lam=float(lam_used),
        delta=delta_abs,
        init=how,
        init_fit_error=init_error,
        init_note=note,
        formulation=criterion,
        stop_reason=stop,
        h_solver=used,
        subspace=subspace,
        n_inner=problem.n_inner,
    )


def _rescaled(V: np.ndarray, Xt: np.ndarray, polytope) -> np.ndarray:
    """V fitted on some columns, its columns rescaled to fit all (column totals only).

    An exact fit on a subset of columns has H summing to the total over that
    subset: its W columns are the true ones times the subset's share of each
    factor. The least-squares H of all columns has column sums total / share.
    """
    if polytope is None or polytope.axis != 0:
        return V
    sums = np.linalg.lstsq(V, Xt, rcond=None)[0].sum(axis=1)
    if not np.all(np.isfinite(sums)) or np.any(sums <= 0):
        return V
    return V * (sums / polytope.total)


def _uniform(n: int, rank: int, criterion: Formulation, polytope) -> np.ndarray:
    """A start for the first H update: equal entries, in the polytope when there is one.

    Each column (row, for row-sum) gets the polytope's total spread evenly: a
    point of the simplex, of the "at most" simplex, and of the capped simplex
    whenever any point is (``upper * N >= total``). The QP path ignores it.
    """
    total = 1.0 if polytope is None else polytope.total
    per_row = polytope is not None and polytope.axis == 1  # each row of H on the polytope
    return np.full((n, rank), total / (rank if per_row else n))


def _check_choice(value, choices: tuple[str, ...], name: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InvalidParameterError(
            f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}."
        )
    return value


def _solver_options(solver: str) -> dict:
    options = dict(_SOLVER_OPTIONS.get(solver, {}))
    if solver == "OSQP":
        from importlib.metadata import version

        # OSQP 1.0 renamed the option (the old name warns).
        major = int(version("osqp").split(".")[0])
        options["polishing" if major >= 1 else "polish"] = True
    return options
