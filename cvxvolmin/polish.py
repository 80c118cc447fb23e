"""Snap an LP solution exactly onto the constraints it makes active.

LP solvers return vertices that satisfy the constraints only up to an
absolute tolerance (about 1e-7 for HiGHS; in practice 1e-12 to 1e-10 on the
row-sum optimum, a vertex where several hundred constraints meet). The
engine snaps the final Q of joint steps (row-sum criteria) by solving those
active constraints exactly, which brings the recovered H to rounding level.

The constraints are read through cvxpy alone (values of each constraint's
expression), so this works for any formulation without knowing it.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from .lp import RowLP

# A constraint is taken as active when its slack is below this, relative to
# the size of its terms; LP solvers' feasibility tolerances are far below.
_ACTIVE = 1e-6
# A row joins a candidate active set when at least this fraction of it (in
# norm) lies outside the span of the rows already kept: 0.1, for a
# well-conditioned set; 1e-9 (any independent row) only when 0.1 leaves the
# set short of a vertex. At a degenerate vertex (hundreds of active
# constraints for r^2 unknowns) the nearly dependent rows that 1e-9 admits
# amplify rounding, and the violation does not show it: measured on the
# paper's row-sum data (50 trials, r = 5 and 10, cases 1 and 2), 0.1 takes
# the mean MSE of H from 4e-28 to 2e-25 down to 2e-30 to 5e-30, and choosing
# between both by violation kept 1e-29.
_WELL_CONDITIONED, _INDEPENDENT = 0.1, 1e-9


def is_equality(constraint: cp.Constraint) -> bool:
    """Whether a linear constraint is an equality (else an inequality)."""
    return isinstance(constraint, (cp.constraints.Equality, cp.constraints.Zero))


def constraint_values(constraint: cp.Constraint) -> tuple[np.ndarray, bool]:
    """The current value of one constraint, elementwise and flattened.

    Returns
    -------
    g : ndarray
        The constraint holds where ``g <= 0`` (inequality) or ``g == 0``
        (equality).
    is_equality : bool
    """
    value = np.atleast_1d(np.asarray(constraint.expr.value, dtype=float)).ravel()
    if is_equality(constraint):
        return value, True
    if isinstance(constraint, cp.constraints.NonNeg):
        return -value, False
    return value, False  # Inequality (lhs - rhs <= 0) and NonPos (expr <= 0)


def _constraint_values(constraints: list[cp.Constraint]) -> tuple[np.ndarray, np.ndarray]:
    """Current values, as (inequalities ``g <= 0``, equalities ``e == 0``)."""
    ineq, eq = [], []
    for constraint in constraints:
        value, is_equality = constraint_values(constraint)
        (eq if is_equality else ineq).append(value)
    empty = np.zeros(0)
    return (np.concatenate(ineq) if ineq else empty, np.concatenate(eq) if eq else empty)


class VertexPolisher:
    """Project LP solutions of one :class:`RowLP` onto their active constraints.

    The linear part of the constraints is measured once (the constraints are
    affine in q); the constant part is re-read at each call because declared
    parameters may change it. This assumes that parameters enter the
    constraints additively.
    """

    def __init__(self, lp: RowLP):
        self.lp = lp
        self.constraints = list(lp.problem.constraints)
        self.linear: tuple[np.ndarray, np.ndarray] | None = None

    def _values_at(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.lp.q.value = q
        return _constraint_values(self.constraints)

    def _measure_linear(self, q: np.ndarray, at_q: tuple[np.ndarray, np.ndarray]) -> None:
        columns_ineq, columns_eq = [], []
        for k in range(q.size):
            step = np.zeros(q.size)
            step[k] = 1.0
            ineq, eq = self._values_at(q + step)
            columns_ineq.append(ineq - at_q[0])
            columns_eq.append(eq - at_q[1])
        self.linear = (np.column_stack(columns_ineq), np.column_stack(columns_eq))

    def polish(self, q: np.ndarray) -> tuple[np.ndarray, float]:
        """Move q onto the constraints it makes active, by the least change.

        Candidate active sets are the equalities plus the linearly independent
        near-active inequalities taken in two orders (tightest first, and
        most nearly zero first: the solver's point may sit at an infeasible
        basis whose exactly active constraints are the wrong ones), each
        chosen well-conditioned, or with any independent row when that set
        falls short of a vertex (see ``_WELL_CONDITIONED``).

        Returns
        -------
        q : ndarray
            The candidate (or the given q) with the smallest violation.
        violation : float
            Its largest constraint violation, relative to the size of the
            constraint's terms.
        """
        q = np.asarray(q, dtype=float)
        ineq, eq = self._values_at(q)
        if self.linear is None:
            self._measure_linear(q, (ineq, eq))
        A_ineq, A_eq = self.linear
        # Size of each constraint's terms: violations are measured relative to it
        # (a constraint with no terms, e.g. of a zero data column, has size 1).
        size_ineq = np.abs(A_ineq) @ np.abs(q) + np.abs(ineq - A_ineq @ q)
        size_eq = np.abs(A_eq) @ np.abs(q) + np.abs(eq - A_eq @ q)
        size_ineq[size_ineq == 0] = 1.0
        size_eq[size_eq == 0] = 1.0

        def violation(step: np.ndarray) -> float:
            worst_ineq = ((ineq + A_ineq @ step) / size_ineq).max(initial=0.0)
            worst_eq = (np.abs(eq + A_eq @ step) / size_eq).max(initial=0.0)
            return float(max(worst_ineq, worst_eq, 0.0))

        slack = -ineq / size_ineq
        near = np.flatnonzero(slack <= _ACTIVE)
        best_step, best_violation = np.zeros(q.size), violation(np.zeros(q.size))
        keys = (slack[near], np.abs(slack[near]))
        orders = [near[np.argsort(key, kind="stable")] for key in keys]
        for order in orders:
            candidates = ([*A_eq, *A_ineq[order]], [*eq, *ineq[order]], q.size)
            rows, values = self._independent(*candidates, _WELL_CONDITIONED)
            if len(rows) < q.size:
                rows, values = self._independent(*candidates, _INDEPENDENT)
            if not rows:
                continue
            step, *_ = np.linalg.lstsq(np.array(rows), -np.array(values), rcond=None)
            candidate = violation(step)
            if candidate < best_violation:
                best_step, best_violation = step, candidate
        return q + best_step, best_violation

    @staticmethod
    def _independent(
        rows: list[np.ndarray], values: list[float], limit: int, independence: float
    ) -> tuple[list[np.ndarray], list[float]]:
        """Greedily keep the rows (in order) with ``independence`` of their norm off the span."""
        kept, kept_values, basis = [], [], []
        for row, value in zip(rows, values, strict=True):
            norm = np.linalg.norm(row)
            if norm == 0:
                continue
            rest = row / norm
            for b in basis:
                rest = rest - (b @ rest) * b
            rest_norm = np.linalg.norm(rest)  # relative already: rows are normalized
            if rest_norm > independence:
                basis.append(rest / rest_norm)
                kept.append(row)
                kept_values.append(value)
                if len(kept) == limit:
                    break
        return kept, kept_values
