"""Constraint generation: the row LP solved on a working set of data columns.

The row LP has one block of constraints per data column (``h_n >= 0`` for
column-sum VolMin), and at an optimum almost all of them are inactive: only
columns on the boundary of the data cone matter. This module solves the LP
on a working set of columns, checks the solution against every column,
adds the most violated ones and solves again, until no column is violated.
The answer is then optimal for the full LP: it is optimal for a relaxation
and feasible for the full problem. The working set is kept across row
updates and sweeps, so later LPs rarely need to grow it.

The LP on a working set can be unbounded where the full one is not, so a
box ``|q_i| <= bound`` is added; a solution on the box with no violated
column means the box was too small, and it is widened, as it is when the
LP with the box is infeasible (the polytope may lie beyond it). A solution
strictly inside the box that violates no column is the full LP's optimum.

Only the working set's LP is compiled (cvxpy, then HiGHS); the full
constraints are declared once and only *evaluated* (``violation()``), which
costs a few products with the data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import cvxpy as cp
import numpy as np

from .exceptions import InfeasibleError, InvalidParameterError, SolverFailedError
from .lp import RowLP
from .polish import constraint_values, is_equality


class Declaration(NamedTuple):
    """A row LP as declared for a set of columns: variable, constraints, parameters."""

    q: cp.Variable
    constraints: list
    parameters: dict


# A column is violated when its constraint misses by more than this, relative
# to the size of the constraint's terms (``||a_n|| ||q|| + |b_n|`` for
# ``a_n @ q + b_n <= 0``): rounding in evaluating a term is about 1e-16 of
# it, so this is far above noise, and relative, so that a data column of tiny
# norm (the fit is invariant to column scaling) is held as tightly as the rest.
_FEASIBILITY = 1e-9
# A constraint over all columns must hold at the working LP's point to this,
# relative to its terms: above HiGHS's primal feasibility tolerance (1e-7 on
# equilibrated rows), far below the order-one gap of a sum over the working
# set written in place of a sum over all columns.
_REPRODUCED = 1e-6
# How many of the most violated columns one round adds.
_GROWTH = 300
# The box starts at 1e4 sqrt(N) (for column-sum VolMin every feasible q has
# norm at most sqrt(N): Xt's rows have norm sqrt(N)) and is widened tenfold up
# to this many times; beyond 1e8 times its start the LP's numbers have lost
# all precision, and HiGHS would read bounds above 1e20 as infinite.
_MAX_WIDENINGS = 8
# A solution within this fraction of the box's bound is on the box.
_ON_BOX = 1e-9


def initial_columns(Xt: np.ndarray, size: int) -> np.ndarray:
    """A deterministic starting working set of about ``size`` nonzero columns.

    The columns that are extreme along each coordinate of the reduced space
    (likely on the boundary of the data cone) and an evenly spaced sample.
    """
    norms = np.linalg.norm(Xt, axis=0)
    nonzero = np.flatnonzero(norms > 0)
    if nonzero.size <= size:
        return nonzero
    directions = Xt[:, nonzero] / norms[nonzero]
    extreme = np.concatenate([directions.argmin(axis=1), directions.argmax(axis=1)])
    sample = np.linspace(0, nonzero.size - 1, num=size, dtype=int)
    return np.unique(nonzero[np.concatenate([extreme, sample])])


class WorkingSetLP:
    """``maximize d @ q`` over a per-column polytope, by constraint generation.

    Parameters
    ----------
    declare : callable
        ``declare(columns)`` returns the :class:`Declaration` of the row LP
        restricted to those column indices; ``declare(None)`` declares it
        over all columns (only evaluated, never compiled). Constraints whose
        first dimension is ``n_columns`` in the full declaration (shape
        ``(N,)`` or ``(N, k)``, row n for column n) are the per-column ones;
        every other constraint must be identical in both.
    n_columns : int
        N, the number of data columns.
    columns : ndarray of int
        The starting working set.
    solver : str
        cvxpy solver for the working-set LPs.
    owner : str
        Who declared the constraints, for error messages.
    hint : str, optional
        Appended to the infeasibility error (see :class:`~cvxvolmin.lp.RowLP`).
    """

    def __init__(
        self,
        declare: Callable[[np.ndarray | None], Declaration],
        n_columns: int,
        columns: np.ndarray,
        solver: str,
        owner: str = "the formulation",
        hint: str = "",
    ):
        self.declare = declare
        self.n_columns = n_columns
        self.solver = solver
        self.owner = owner
        self.hint = hint
        self.full = declare(None)
        self.parameter_values: dict[str, np.ndarray] = {}
        self.n_solves = 0
        self.n_rebuilds = 0
        self.bound = cp.Parameter(nonneg=True, name="box")
        self.bound.value = 1e4 * np.sqrt(n_columns)  # N >= 1: the data have columns
        self._inner_before = 0
        self._term_norms: list[np.ndarray] | None = None
        self._constants: list[np.ndarray] | None = None
        self._in_set = np.zeros(n_columns, dtype=bool)
        self._build(np.unique(np.asarray(columns, dtype=int)))

    @property
    def n_inner_solves(self) -> int:
        """LPs solved on working sets (several per full LP when the set grows)."""
        return self._inner_before + self.lp.n_solves

    @property
    def q(self) -> cp.Variable:
        """The current working LP's variable (for polishing its solutions)."""
        return self.lp.q

    @property
    def problem(self) -> cp.Problem:
        """The current working LP (its active constraints are the full LP's)."""
        return self.lp.problem

    @property
    def columns(self) -> np.ndarray:
        """The current working set (sorted column indices)."""
        return self._columns

    def _build(self, columns: np.ndarray) -> None:
        declared = self.declare(columns)
        if hasattr(self, "lp"):
            self._inner_before += self.lp.n_solves
        box = [declared.q <= self.bound, declared.q >= -self.bound]
        self.lp = RowLP(
            declared.q,
            [*declared.constraints, *box],
            self.solver,
            parameters={**declared.parameters, "box": self.bound},
            owner=self.owner,
            hint=self.hint,
        )
        self._columns = columns
        self._in_set[columns] = True  # the set only grows: no column leaves it
        self.n_rebuilds += 1
        if self.parameter_values:
            self.lp.set_parameters(**self.parameter_values)

    def set_parameters(self, **values: np.ndarray) -> None:
        """Set declared parameters, in the working LP and the full check alike."""
        self.parameter_values.update(values)
        self.lp.set_parameters(**values)
        for name, value in values.items():
            self.full.parameters[name].value = value
        self._constants = None  # parameters may move the constant parts

    def _values_at(self, q: np.ndarray) -> list[np.ndarray]:
        self.full.q.value = q
        return [constraint_values(constraint)[0] for constraint in self.full.constraints]

    def _measure_terms(self) -> None:
        """Per constraint row, the norm of its coefficients and its constant term.

        The constraints are affine in q (``a_n @ q + b_n``): ``b`` is their
        value at 0 and ``a_n`` the change along each unit vector, read
        through cvxpy alone (r + 2 evaluations), so this works for any
        formulation. Parameters are assumed to enter additively (they move
        ``b`` only), as in :mod:`cvxvolmin.polish`.
        """
        r = self.full.q.size
        if self._term_norms is None:
            base = self._values_at(np.zeros(r))
            squares = [np.zeros_like(b) for b in base]
            for k in range(r):
                for square, value, b in zip(
                    squares, self._values_at(np.eye(r)[k]), base, strict=True
                ):
                    square += (value - b) ** 2
            self._term_norms = [np.sqrt(square) for square in squares]
        if self._constants is None:
            self._constants = [np.abs(b) for b in self._values_at(np.zeros(r))]

    def violations(self, q: np.ndarray) -> np.ndarray:
        """Per-column violation of the full constraints at q, relative to their terms.

        Zeros if none. A constraint that is not per column (e.g. the column
        sum) must already hold: the working LP declares it over all columns.
        """
        self._measure_terms()
        q_norm = float(np.linalg.norm(q))
        per_column = np.zeros(self.n_columns)
        count = len(self.full.constraints)
        for number, (constraint, values, norms, constants) in enumerate(
            zip(
                self.full.constraints,
                self._values_at(q),
                self._term_norms,
                self._constants,
                strict=True,
            ),
            start=1,
        ):
            violation = np.abs(values) if is_equality(constraint) else np.maximum(values, 0.0)
            size = norms * q_norm + constants
            relative = violation / np.where(size > 0, size, 1.0)
            if constraint.shape[:1] == (self.n_columns,):
                # Row-major values: each column's k entries are contiguous.
                worst = relative.reshape(self.n_columns, -1).max(axis=1)
                np.maximum(per_column, worst, out=per_column)
            elif np.max(relative, initial=0.0) > _REPRODUCED:
                raise InvalidParameterError(
                    f"{self.owner} has a constraint over all columns (constraint {number} of "
                    f"{count}) that the working-set LP does not reproduce; write sums over "
                    "all columns with row.total (not cp.sum(row.h)), or fit with "
                    "working_set=False."
                )
        return per_column

    def maximize(self, direction: np.ndarray) -> np.ndarray:
        """A maximizer of ``direction @ q`` over the full polytope.

        Raises
        ------
        SolverFailedError
            If the LP appears unbounded: its solution stays on the box after
            every widening with every column satisfied.
        """
        self.n_solves += 1
        widenings = 0
        while True:
            try:
                q = self.lp.maximize(direction)
            except InfeasibleError:
                # The box itself may exclude every feasible q (a polytope far from
                # the origin): widen it, and report infeasibility only without it.
                if widenings >= _MAX_WIDENINGS:
                    raise
                widenings += 1
                self._widen()
                continue
            violation = self.violations(q)
            # Columns already in the working set are held by the LP solver (to its
            # own tolerance); adding them again would loop.
            violated = np.flatnonzero((violation > _FEASIBILITY) & ~self._in_set)
            on_box = np.abs(q).max() >= self.bound.value * (1 - _ON_BOX)
            if violated.size:
                worst = violated[np.argsort(violation[violated])[::-1][:_GROWTH]]
                self._build(np.union1d(self._columns, worst))
            elif on_box:
                if widenings >= _MAX_WIDENINGS:
                    raise SolverFailedError(
                        f"the row-update LP of {self.owner} appears unbounded (|q| reached "
                        f"{self.bound.value:.3g} with every column satisfied); the "
                        "formulation's constraints do not bound the row of Q."
                    )
                widenings += 1
                self._widen()
            else:
                return q

    def _widen(self) -> None:
        self.bound.value = 10.0 * self.bound.value
        self.lp.set_parameters(box=self.bound.value)
