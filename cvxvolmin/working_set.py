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
column means the box was too small, and it is widened. A solution strictly
inside the box that violates no column is the full LP's optimum.

Only the working set's LP is compiled (cvxpy, then HiGHS); the full
constraints are declared once and only *evaluated* (``violation()``), which
costs a few products with the data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import cvxpy as cp
import numpy as np

from .exceptions import SolverFailedError
from .lp import RowLP


class Declaration(NamedTuple):
    """A row LP as declared for a set of columns: variable, constraints, parameters."""

    q: cp.Variable
    constraints: list
    parameters: dict


# Absolute feasibility tolerance in LP units (entries of H of order one).
_FEASIBILITY = 1e-9
# How many of the most violated columns one round adds.
_GROWTH = 300
_MAX_WIDENINGS = 40


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
        shape is ``(n_columns,)`` in the full declaration are the per-column
        ones; every other constraint must be identical in both.
    n_columns : int
        N, the number of data columns.
    columns : ndarray of int
        The starting working set.
    solver : str
        cvxpy solver for the working-set LPs.
    owner : str
        Who declared the constraints, for error messages.
    """

    def __init__(
        self,
        declare: Callable[[np.ndarray | None], Declaration],
        n_columns: int,
        columns: np.ndarray,
        solver: str,
        owner: str = "the formulation",
    ):
        self.declare = declare
        self.n_columns = n_columns
        self.solver = solver
        self.owner = owner
        self.full = declare(None)
        self.parameter_values: dict[str, np.ndarray] = {}
        self.n_solves = 0
        self.n_rebuilds = 0
        self.bound = cp.Parameter(nonneg=True, name="box")
        self.bound.value = 1e4 * max(1.0, np.sqrt(n_columns))
        self._inner_before = 0
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
        )
        self._columns = columns
        self.n_rebuilds += 1
        if self.parameter_values:
            self.lp.set_parameters(**self.parameter_values)

    def set_parameters(self, **values: np.ndarray) -> None:
        """Set declared parameters, in the working LP and the full check alike."""
        self.parameter_values.update(values)
        self.lp.set_parameters(**values)
        for name, value in values.items():
            self.full.parameters[name].value = value

    def _violations(self, q: np.ndarray) -> np.ndarray:
        """Per-column violation of the full constraints at q (zeros if none)."""
        self.full.q.value = q
        per_column = np.zeros(self.n_columns)
        for constraint in self.full.constraints:
            violation = np.asarray(constraint.violation(), dtype=float)
            if violation.shape == (self.n_columns,):
                np.maximum(per_column, violation, out=per_column)
            elif np.max(violation, initial=0.0) > _FEASIBILITY * max(1.0, np.abs(q).max()):
                raise TypeError(
                    f"{self.owner} has a constraint over all columns ({constraint}) that "
                    "the working-set LP does not reproduce; write sums over all columns "
                    "with row.total (not cp.sum(row.h)), or fit with working_set=False."
                )
        return per_column

    def maximize(self, direction: np.ndarray) -> np.ndarray:
        """A maximizer of ``direction @ q`` over the full polytope."""
        self.n_solves += 1
        widenings = 0
        while True:
            q = self.lp.maximize(direction)
            violation = self._violations(q)
            violated = np.flatnonzero(violation > _FEASIBILITY * max(1.0, np.abs(q).max()))
            on_box = np.abs(q).max() >= self.bound.value * (1 - 1e-9)
            if violated.size:
                worst = violated[np.argsort(violation[violated])[::-1][:_GROWTH]]
                self._build(np.union1d(self._columns, worst))
            elif on_box:
                widenings += 1
                if widenings > _MAX_WIDENINGS:
                    raise SolverFailedError(
                        f"the row-update LP of {self.owner} appears unbounded (|q| reached "
                        f"{self.bound.value:.3g} with every column satisfied); the "
                        "formulation's constraints do not bound the row of Q."
                    )
                self.bound.value = 10.0 * self.bound.value
                self.lp.set_parameters(box=self.bound.value)
            else:
                return q
