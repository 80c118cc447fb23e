"""The H update of the robust solver: ``min_H ||Xt - V H.T||_F^2`` over the formulation's H.

With ``A = V.T V`` and ``B = Xt.T V`` the objective is
``f(H) = <H A, H> - 2 <B, H>`` plus a constant: a convex QP in H whose
constraints are the formulation's. Two solvers, one interface
(``solve(A, B, H0, gap_tol) -> HStep``):

* :class:`ProjectedGradient`, for formulations that declare an abundance
  polytope (:meth:`cvxvolmin.Formulation.abundance_polytope`): accelerated
  projected gradient (FISTA, Beck and Teboulle, SIAM J. Imaging Sci. 2009),
  kept monotone by restarting from the best point whenever a step would
  raise f (adaptive restart, O'Donoghue and Candes, Found. Comput. Math.
  2015), warm-started from the previous H. Each iteration costs one
  ``N x r`` by ``r x r`` product and one exact projection. It stops on a
  certified bound on ``f(H) - min f``: the smaller of the Frank-Wolfe gap
  ``<grad f(H), H> - min_S <grad f(H), S>`` (one linear minimization over
  the polytope) and ``L^2 ||y - H||^2 / (2 mu)`` for the step from y to H
  (L and mu the largest and smallest curvature of f, ``2 eig(A)``).
* :class:`DeclaredQP`, for any formulation whose constraints act on the
  columns of H (``row.h`` and ``row.total``): the formulation's own
  declaration in cvxpy, solved by a QP solver. The reference the fast path
  is tested against.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from ..exceptions import InvalidParameterError, SolverFailedError
from ..formulations.base import Formulation, Row
from ..polytopes import AbundancePolytope
from ..reduction import Reduction

__all__ = ["DeclaredQP", "HStep", "ProjectedGradient"]


@dataclass(frozen=True)
class HStep:
    """One H update: the new H, a bound on its suboptimality, and its cost.

    ``gap`` bounds ``f(H) - min f`` from above (0 when the solver reports an
    optimum it does not bound, the QP path); ``n_iter`` counts the inner
    iterations (1 for a QP).
    """

    H: np.ndarray
    gap: float
    n_iter: int


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """``<a, b>`` without the copy ``np.vdot`` makes of Fortran-ordered arrays."""
    if (a.flags.f_contiguous and b.flags.f_contiguous) or (
        a.flags.c_contiguous and b.flags.c_contiguous
    ):
        return float(np.dot(a.ravel(order="K"), b.ravel(order="K")))
    return float(np.vdot(a, b))


def _times(x: np.ndarray, A: np.ndarray) -> np.ndarray:
    """``x @ A`` in x's Fortran order (so that every N x r array shares one layout)."""
    return (A.T @ x.T).T


class ProjectedGradient:
    """FISTA with monotone restarts over an abundance polytope (see the module notes)."""

    def __init__(self, polytope: AbundancePolytope, max_iter: int = 1000):
        self.polytope = polytope
        self.max_iter = max_iter

    def gap(self, grad: np.ndarray, H: np.ndarray) -> float:
        """The Frank-Wolfe gap at H for the gradient ``grad``: a bound on ``f(H) - min f``."""
        return max(_dot(grad, H) - float(self.polytope.min_linear(grad).sum()), 0.0)

    def solve(self, A: np.ndarray, B: np.ndarray, H0: np.ndarray, gap_tol: float) -> HStep:
        low, high = (float(v) for v in np.linalg.eigvalsh(A)[[0, -1]])
        lipschitz, convexity = 2.0 * high, 2.0 * low
        # Fortran order: each column of H contiguous, where the projections reduce.
        B = np.asfortranarray(B)
        x = np.asfortranarray(self.polytope.project(H0))  # H0 is feasible up to rounding
        xA = _times(x, A)
        grad = 2.0 * (xA - B)  # at x
        gap = self.gap(grad, x)
        if gap <= gap_tol or lipschitz <= 0.0:
            return HStep(x, gap, 0)
        y, yA, theta, plain = x, xA, 1.0, True
        state = None
        n_iter = 0
        while n_iter < self.max_iter:
            n_iter += 1
            step = yA - B  # the gradient step y - (2 / L)(yA - B), in one buffer
            step *= -2.0 / lipschitz
            step += y
            x_new, state = self.polytope.project_from(step, state)
            xA_new = _times(x_new, A)
            # For a step from any y, f(x_new) - min f <= L^2 ||y - x_new||^2 / (2 mu)
            # (mu the strong convexity of f): quadratic in the step, so far
            # tighter than the Frank-Wolfe gap near the optimum.
            moved = np.subtract(y, x_new, out=step)
            mapped = (
                lipschitz**2 * _dot(moved, moved) / (2.0 * convexity) if convexity > 0.0 else np.inf
            )
            # f(x + d) - f(x) = <grad f(x), d> + <d A, d>: the change itself, not
            # a difference of values of f, so it stays accurate below f's last digit.
            d, dA = x_new - x, xA_new - xA
            change = _dot(grad, d) + _dot(dA, d)
            if change >= 0.0:
                if plain:  # even a plain step gains nothing: the rounding floor
                    gap = min(gap, mapped)
                    break
                y, yA, theta, plain = x, xA, 1.0, True  # restart from the best point
                continue
            theta_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * theta * theta))
            beta = (theta - 1.0) / theta_new
            d *= beta
            y = np.add(d, x_new, out=d)  # x_new + beta (x_new - x), in d's buffer
            dA *= beta
            yA = np.add(dA, xA_new, out=dA)  # linear in x: no second product
            grad = xA_new - B
            grad *= 2.0
            x, xA, theta, plain = x_new, xA_new, theta_new, False
            gap = min(self.gap(grad, x), mapped)
            if gap <= gap_tol:
                break
        return HStep(x, gap, n_iter)


class DeclaredQP:
    """The H update declared from the formulation's constraints, solved by a QP solver.

    The variable is ``G = unit * H`` (LP units, entries of order one); every
    column of G gets the formulation's :meth:`~cvxvolmin.Formulation.row_constraints`
    through a :class:`~cvxvolmin.formulations.base.Row` whose ``h`` is that
    column and ``total`` its sum, and H its :meth:`~cvxvolmin.Formulation.joint_constraints`). The
    constraints must act on ``row.h`` and ``row.total`` only: one that uses
    ``row.q`` (the reduced-frame row, which this update has no use for) or a
    variable of its own is refused, never silently dropped.
    """

    def __init__(
        self,
        formulation: Formulation,
        reduction: Reduction,
        rank: int,
        solver: str,
        options: dict | None = None,
        fallback: str | None = None,
    ):
        n, r = reduction.n_samples, rank
        self.unit = formulation.unit(reduction)
        self.solver, self.options, self.fallback = solver, dict(options or {}), fallback
        self.G = cp.Variable((n, r), name="G")
        placeholder = cp.Variable(reduction.rank, name="q")
        constraints: list[cp.Constraint] = []
        for k in range(r):
            column = self.G[:, k]
            row = Row(
                placeholder,
                column,
                self.unit,
                cp.sum(column),
                component=k,
                entries=lambda samples, column=column: column[samples],
                n_samples=n,
            )
            constraints += list(formulation.row_constraints(row, reduction))
        if formulation.coupled:
            constraints += list(formulation.joint_constraints(self.G / self.unit, reduction))
        for number, constraint in enumerate(constraints, start=1):
            others = [v for v in constraint.variables() if v is not self.G]
            if others:
                what = "row.q" if any(v is placeholder for v in others) else "its own variable"
                raise InvalidParameterError(
                    f"formulation {formulation.name!r} writes a constraint on {what} "
                    f"(constraint {number} of {len(constraints)}); the robust H update can "
                    "only impose constraints on the columns of H (row.h, row.total, "
                    "row.at). Write it on row.h, or use cvxvolmin.fit for the exact criterion."
                )
        self.L = cp.Parameter((r, r), name="L")
        self.B = cp.Parameter((n, r), name="B")
        self.problem = cp.Problem(
            cp.Minimize(cp.sum_squares(self.G @ self.L - self.B)), constraints
        )

    def solve(self, A: np.ndarray, B: np.ndarray, H0: np.ndarray, gap_tol: float) -> HStep:
        # f(H) = ||H L - C||^2 + const with A = L L.T and B = C L.T.
        values, vectors = np.linalg.eigh(A)
        root = np.sqrt(np.clip(values, 0.0, None))
        keep = root > 1e-12 * root.max()
        L = vectors * root
        C = (B @ vectors) * np.where(keep, 1.0 / np.where(keep, root, 1.0), 0.0)
        scale = max(float(np.linalg.norm(C)) / np.sqrt(B.shape[0]), np.finfo(float).tiny)
        self.L.value = L / (self.unit * scale)
        self.B.value = C / scale
        G = self._run(self.solver, self.options)
        if G is None and self.fallback is not None and self.fallback != self.solver:
            G = self._run(self.fallback, {})
        if G is None:
            raise SolverFailedError(
                f"solver {self.solver} returned status {self.problem.status!r} on the H "
                "update of fit_robust; try solver='CLARABEL' or 'ECOS'."
            )
        return HStep(G / self.unit, 0.0, 1)

    def _run(self, solver: str, options: dict) -> np.ndarray | None:
        """The solver's G, or None when it stopped without a (possibly inaccurate) optimum."""
        try:
            with warnings.catch_warnings():
                # "Solution may be inaccurate": the outer loop keeps the better H anyway.
                warnings.simplefilter("ignore", UserWarning)
                self.problem.solve(solver=solver, **options)
        except cp.error.SolverError:
            return None
        if self.problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            return None
        return self.G.value
