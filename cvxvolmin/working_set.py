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

Only the working set's LP is compiled (cvxpy, then HiGHS). The full
constraints are declared once and read through cvxpy once
(:class:`ViolationScan`): each per-column constraint becomes a small matrix
``M`` with ``values[n] = M @ h_n + b[n]`` (``h_n`` the entries of H that
column n gives: one for a row LP, r for the joint LP), so a scan is one
product of the candidate rows with blocks of ``Xt`` and elementwise work in
numpy, never cvxpy's ``Constraint.violation()``; the two LPs of a row update
(``maximize_both``) share one scan.
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
# Columns per block of a scan: one product of the candidate rows with Xt[:, block].
_SCAN_BLOCK = 65_536
# The compiled form must reproduce cvxpy's values to this, relative to their size
# (both are a product of an entry of Xt with a coefficient: rounding is 1e-16).
_COMPILED = 1e-12
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
    norms = np.sqrt(np.einsum("ij,ij->j", Xt, Xt))
    nonzero = np.flatnonzero(norms > 0)
    if nonzero.size <= size:
        return nonzero
    r = Xt.shape[0]
    whole = nonzero.size == Xt.shape[1]  # the usual case: no r x N copy of the nonzero ones
    held = norms if whole else norms[nonzero]
    extreme = np.empty(2 * r, dtype=int)
    for i in range(r):  # one row at a time: an N temporary, not r x N
        direction = (Xt[i] if whole else Xt[i, nonzero]) / held
        extreme[i], extreme[r + i] = direction.argmin(), direction.argmax()
    sample = np.linspace(0, nonzero.size - 1, num=size, dtype=int)
    return np.unique(nonzero[np.concatenate([extreme, sample])])


class ViolationScan:
    """The full declaration's constraints compiled once to numpy, for scans over all columns.

    The variable is read as m rows of length r (m = 1 for a row LP, r for the
    joint LP over Q), so column n of the data gives the m entries
    ``h_n = Q_m @ x_n`` of H. A per-column constraint (first dimension N)
    whose k values at column n are ``M @ h_n + b[n]``, one small k x m
    matrix M for every column, is kept as M, b and the norms of its
    coefficient rows (``||M[j]|| ||x_n||``); M is read from the declaration's
    values along each unit vector and checked to reproduce them. Other
    constraints (over all columns, of another form, or with no data given)
    are kept as cvxpy expressions and evaluated at each scan; the ones over
    all columns are small.

    Parameters are assumed to enter the constants only (as in
    :mod:`cvxvolmin.polish`): :meth:`refresh` re-reads them.
    """

    def __init__(
        self,
        full: Declaration,
        n_columns: int,
        data: np.ndarray | None,
        owner: str,
        sample: tuple[Declaration, np.ndarray] | None = None,
    ):
        self.full = full
        self.n_columns = n_columns
        self.owner = owner
        size = full.q.size
        r = data.shape[0] if data is not None else 0
        self.data = data if data is not None and r and size % r == 0 else None
        self.m = size // r if self.data is not None else 0
        self.per_column = [c.shape[:1] == (n_columns,) for c in full.constraints]
        base = self._values_at(np.zeros(size))
        matrices: list[np.ndarray | None] = [None] * len(base)
        if sample is not None and self.data is not None and any(self.per_column):
            matrices = self._learn_on_sample(*sample, base)
        else:
            sample = None
        # Read along unit vectors over all columns: without a sample, every
        # constraint; with one, only those not compiled (their terms' norms).
        read = [k for k in range(len(base)) if sample is None or matrices[k] is None]
        if sample is None:
            matrices = [
                np.full((b.size // n_columns, self.m), np.nan) if self._compilable(k) else None
                for k, b in enumerate(base)
            ]
        squares = {k: np.zeros_like(base[k]) for k in read}
        sums = (self.data**2).sum(axis=1) if self.data is not None and sample is None else None
        for index in range(size if read else 0):
            point = np.zeros(size)
            point[index] = 1.0
            for k, value in zip(read, self._values_at(point, read), strict=True):
                change = value - base[k]
                squares[k] += change**2
                if sample is None and matrices[k] is not None:
                    matrices[k] = self._learn(matrices[k], change, index, sums, self.data)
        # Only the constraints evaluated through cvxpy use these.
        self.term_norms = [np.sqrt(squares[k]) if k in squares else None for k in range(len(base))]
        self.matrices = [
            None if M is None else np.nan_to_num(M, nan=0.0)  # no data on a row: no term
            for M in matrices
        ]
        if self.data is not None:
            self.data_norms = np.sqrt(np.einsum("ij,ij->j", self.data, self.data))
            # 1 / ||x_n|| (0 for zero columns, whose compiled terms are all zero).
            self.inverse_norms = np.divide(
                1.0, self.data_norms, out=np.zeros_like(self.data_norms), where=self.data_norms > 0
            )
        # ||M[j]|| ||x_n||: the norm of column n's coefficient row j, as in term_norms.
        self.compiled_terms = [
            None if M is None else np.outer(np.linalg.norm(M, axis=1), self.data_norms)
            for M in self.matrices
        ]
        self.refresh(base)

    def _compilable(self, k: int) -> bool:
        return self.data is not None and self.per_column[k]

    def _learn_on_sample(
        self, declared: Declaration, columns: np.ndarray, base: list[np.ndarray]
    ) -> list[np.ndarray | None]:
        """Each per-column M read on a declaration over some columns, then checked on all.

        Reading M along the ``size`` unit vectors costs an evaluation of the
        declaration each: on the sample (a working set) that is cheap. M is
        fixed before the check, which evaluates the full declaration at one
        random point: where the full constraint is not ``M @ h_n + b[n]``
        for every column, the values there differ from M's (but on a set of
        points of measure zero), and the constraint is evaluated through
        cvxpy.
        """
        size, data = self.full.q.size, self.data[:, columns]
        count = len(columns)
        sample_base = self._values_at(np.zeros(size), declaration=declared)
        rows = [b.size // self.n_columns for b in base]  # values per column
        matrices = [
            np.full((rows[k], self.m), np.nan)
            if self._compilable(k) and sample_base[k].size == count * rows[k]
            else None
            for k in range(len(base))
        ]
        sums = (data**2).sum(axis=1)
        learned = [k for k, M in enumerate(matrices) if M is not None]
        for index in range(size if learned else 0):
            point = np.zeros(size)
            point[index] = 1.0
            values = self._values_at(point, learned, declaration=declared)
            for k, value in zip(learned, values, strict=True):
                change = value - sample_base[k]
                matrices[k] = self._learn(matrices[k], change, index, sums, data)
        learned = [k for k in learned if matrices[k] is not None]
        point = np.random.default_rng(0).standard_normal(size)
        H = point.reshape(self.m, -1) @ self.data  # m x N: the entries of H at the point
        for k, value in zip(learned, self._values_at(point, learned), strict=True):
            change = (value - base[k]).reshape(self.n_columns, -1)
            expected = (np.nan_to_num(matrices[k], nan=0.0) @ H).T
            scale = max(float(np.abs(change).max(initial=0.0)), np.finfo(float).tiny)
            if np.abs(change - expected).max(initial=0.0) > _COMPILED * scale:
                matrices[k] = None
        return matrices

    def _learn(self, M, change: np.ndarray, index: int, sums, data) -> np.ndarray | None:
        """Read column ``index // r`` of M from the values along unit vector ``index``, or None."""
        if M is None:
            return None
        row, i = divmod(index, data.shape[0])
        values = change.reshape(data.shape[1], -1)  # N x k, row-major as declared
        x = data[i]
        if sums[i] == 0:
            return M  # this coordinate of the data is zero: nothing to read or check
        coefficients = (x @ values) / sums[i]
        scale = max(float(np.abs(values).max(initial=0.0)), np.finfo(float).tiny)
        missed = np.abs(values - np.outer(x, coefficients)).max(initial=0.0)
        known = ~np.isnan(M[:, row])
        if missed > _COMPILED * scale or np.any(
            np.abs(M[known, row] - coefficients[known])
            > _COMPILED * np.maximum(np.abs(coefficients[known]), scale / np.abs(x).max())
        ):
            return None  # not of the form M @ h_n + b[n]: evaluated through cvxpy
        M[:, row] = coefficients
        return M

    def _values_at(
        self, q: np.ndarray, which: list[int] | None = None, declaration: Declaration | None = None
    ) -> list[np.ndarray]:
        """The values of the constraints ``which`` (all by default) of a declaration at q."""
        declaration = self.full if declaration is None else declaration
        declaration.q.value = q
        constraints = declaration.constraints
        chosen = range(len(constraints)) if which is None else which
        return [constraint_values(constraints[k])[0] for k in chosen]

    def refresh(self, base: list[np.ndarray] | None = None) -> None:
        """Re-read the constants (after the declared parameters changed), or take ``base``."""
        if base is None:
            base = self._values_at(np.zeros(self.full.q.size))
        self.constants = [
            b.reshape(self.n_columns, -1).T if M is not None else b
            for b, M in zip(base, self.matrices, strict=True)
        ]
        self.sizes = [np.abs(b) for b in self.constants]
        # Compiled constraints with no constant part (h_n >= 0): nothing to add in a scan.
        self.has_constants = [
            M is None or bool(np.any(b)) for b, M in zip(self.constants, self.matrices, strict=True)
        ]

    def _evaluated(self, q: np.ndarray) -> list[np.ndarray | None]:
        """The values of the constraints kept in cvxpy (None for compiled ones)."""
        if all(M is not None for M in self.matrices):
            return [None] * len(self.matrices)
        self.full.q.value = q
        return [
            constraint_values(c)[0] if M is None else None
            for c, M in zip(self.full.constraints, self.matrices, strict=True)
        ]

    def relative(self, candidates: np.ndarray):
        """Yield ``(block, violations)``: per candidate row of ``candidates``, per column.

        ``violations`` has shape (len(candidates), block size): the worst
        violation of column n's constraints, relative to their terms. One
        product of all candidates with each block of the data.
        """
        candidates = np.atleast_2d(candidates)
        p = candidates.shape[0]
        q_norms = np.linalg.norm(candidates, axis=1)
        evaluated = [self._evaluated(q) for q in candidates]
        self._check_over_all_columns(candidates, q_norms, evaluated)
        if self._homogeneous():
            yield from self._relative_homogeneous(candidates, q_norms)
            return
        rows = candidates.reshape(p * max(self.m, 1), -1) if self.data is not None else None
        for start in range(0, self.n_columns, _SCAN_BLOCK):
            block = slice(start, min(start + _SCAN_BLOCK, self.n_columns))
            worst = np.zeros((p, block.stop - block.start))
            H = rows @ self.data[:, block] if rows is not None else None  # (p m) x block
            for k, constraint in enumerate(self.full.constraints):
                if not self.per_column[k]:
                    continue
                equality = is_equality(constraint)
                for t in range(p):
                    if self.matrices[k] is not None:
                        values = self.matrices[k] @ H[t * self.m : (t + 1) * self.m]
                        if self.has_constants[k]:
                            values += self.constants[k][:, block]
                        terms = self.compiled_terms[k][:, block]
                        sizes = self.sizes[k][:, block] if self.has_constants[k] else None
                    else:
                        values = evaluated[t][k].reshape(self.n_columns, -1)[block].T
                        terms = self.term_norms[k].reshape(self.n_columns, -1)[block].T
                        sizes = self.sizes[k].reshape(self.n_columns, -1)[block].T
                    hit = slice(None)
                    if equality:
                        missed = np.abs(values)
                    else:
                        # Most columns hold at a working LP's solution: relate only
                        # the positive values to their terms (the others miss by 0).
                        positive = np.flatnonzero((values > 0.0).any(axis=0))
                        if positive.size == 0:
                            continue
                        if positive.size < values.shape[1] // 4:
                            hit, values, terms = positive, values[:, positive], terms[:, positive]
                            sizes = None if sizes is None else sizes[:, positive]
                        missed = np.maximum(values, 0.0)
                    size = terms * q_norms[t]
                    if sizes is not None:
                        size += sizes
                    # A row with no terms (size 0) misses by 0: left as it is.
                    np.divide(missed, size, out=missed, where=size > 0)
                    worst[t, hit] = np.maximum(worst[t, hit], missed.max(axis=0))
            yield block, worst

    def _homogeneous(self) -> bool:
        """Whether every per-column constraint is compiled with no constant part (``h_n >= 0``)."""
        return self.data is not None and all(
            self.matrices[k] is not None and not self.has_constants[k]
            for k in range(len(self.matrices))
            if self.per_column[k]
        )

    def _relative_homogeneous(self, candidates: np.ndarray, q_norms: np.ndarray):
        """:meth:`relative` when every per-column constraint is ``M @ h_n`` (no constant).

        Then column n's relative value of row j is ``(M[j] @ Q_t @ x_n) / (||M[j]||
        ||q_t|| ||x_n||)``: the coefficient rows along each candidate, divided by
        their norms, are stacked into one small matrix, and a block costs one
        product with ``Xt[:, block]``, a scaling by ``1 / ||x_n||`` and a
        maximum, where the general loop takes a dozen passes per candidate.
        """
        rows, owners, equal = [], [], []
        for t, q in enumerate(candidates):
            Q_t = q.reshape(self.m, -1)  # the m rows of Q this candidate gives h_n by
            for k, constraint in enumerate(self.full.constraints):
                if not self.per_column[k]:
                    continue
                M = self.matrices[k]
                scale = np.linalg.norm(M, axis=1) * q_norms[t]
                # A row with no terms misses by 0: a zero row.
                rows.append(
                    np.divide(
                        M @ Q_t,
                        scale[:, None],
                        out=np.zeros((len(M), Q_t.shape[1])),
                        where=scale[:, None] > 0,
                    )
                )
                owners += [t] * len(M)
                equal += [is_equality(constraint)] * len(M)
        A, owners, equal = np.vstack(rows), np.array(owners), np.array(equal)
        single = owners.size == len(candidates)  # one row per candidate (h_n >= 0)
        for start in range(0, self.n_columns, _SCAN_BLOCK):
            block = slice(start, min(start + _SCAN_BLOCK, self.n_columns))
            values = A @ self.data[:, block]
            values *= self.inverse_norms[block]
            if equal.any():
                values[equal] = np.abs(values[equal])
            worst = (
                values
                if single
                else np.stack([values[owners == t].max(axis=0) for t in range(len(candidates))])
            )
            yield block, np.maximum(worst, 0.0, out=worst)

    def _check_over_all_columns(self, candidates, q_norms, evaluated) -> None:
        count = len(self.full.constraints)
        for k, constraint in enumerate(self.full.constraints):
            if self.per_column[k]:
                continue
            for t in range(len(candidates)):
                values = evaluated[t][k]
                missed = np.abs(values) if is_equality(constraint) else np.maximum(values, 0.0)
                size = self.term_norms[k] * q_norms[t] + self.sizes[k]
                if np.max(missed / np.where(size > 0, size, 1.0), initial=0.0) > _REPRODUCED:
                    raise InvalidParameterError(
                        f"{self.owner} has a constraint over all columns (constraint {k + 1} "
                        f"of {count}) that the working-set LP does not reproduce; write sums "
                        "over all columns with row.total (not cp.sum(row.h)), or fit with "
                        "working_set=False."
                    )

    def violations(self, q: np.ndarray) -> np.ndarray:
        """Per-column violation at q, relative to the constraints' terms (zeros if none)."""
        out = np.zeros(self.n_columns)
        for block, worst in self.relative(q):
            out[block] = worst[0]
        return out

    def most_violated(self, candidates: np.ndarray, skip: np.ndarray) -> list[np.ndarray]:
        """Per candidate, the (at most) ``_GROWTH`` most violated columns not in ``skip``.

        Chosen block by block (the top ``_GROWTH`` of each block, then of those),
        most violated first; columns violated by at most ``_FEASIBILITY`` are not.
        """
        found: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in np.atleast_2d(candidates)]
        for block, worst in self.relative(candidates):
            free = ~skip[block]
            for t, values in enumerate(worst):
                violated = np.flatnonzero((values > _FEASIBILITY) & free)
                if violated.size > _GROWTH:
                    violated = violated[np.argpartition(-values[violated], _GROWTH)[:_GROWTH]]
                found[t].append((violated + block.start, values[violated]))
        chosen = []
        for parts in found:
            columns = np.concatenate([c for c, _ in parts])
            values = np.concatenate([v for _, v in parts])
            order = np.argsort(-values, kind="stable")[:_GROWTH]
            chosen.append(columns[order])
        return chosen


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
    data : ndarray of shape (r, N), optional
        The reduced data the declaration's columns come from (``Xt``); with
        it, scans run on the compiled form of the per-column constraints
        (:class:`ViolationScan`), without it through cvxpy's evaluation.
    """

    def __init__(
        self,
        declare: Callable[[np.ndarray | None], Declaration],
        n_columns: int,
        columns: np.ndarray,
        solver: str,
        owner: str = "the formulation",
        hint: str = "",
        data: np.ndarray | None = None,
    ):
        self.declare = declare
        self.n_columns = n_columns
        self.solver = solver
        self.owner = owner
        self.hint = hint
        self.data = data
        self.full = declare(None)
        self.parameter_values: dict[str, np.ndarray] = {}
        self.n_solves = 0
        self.n_rebuilds = 0
        self.n_scans = 0
        self.bound = cp.Parameter(nonneg=True, name="box")
        self.bound.value = 1e4 * np.sqrt(n_columns)  # N >= 1: the data have columns
        self._inner_before = 0
        self._scan: ViolationScan | None = None
        self._in_set = np.zeros(n_columns, dtype=bool)
        self._build(np.unique(np.asarray(columns, dtype=int)))

    @property
    def scan(self) -> ViolationScan:
        """The compiled full constraints (compiled at the first scan)."""
        if self._scan is None:
            self._scan = ViolationScan(
                self.full,
                self.n_columns,
                self.data,
                self.owner,
                # M is read on the working LP's declaration: cheap at any N.
                sample=(self._declared, self._columns) if self._columns.size else None,
            )
        return self._scan

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
        self._declared = declared
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
        if self._scan is not None:
            self._scan.refresh()  # parameters may move the constant parts

    def violations(self, q: np.ndarray) -> np.ndarray:
        """Per-column violation of the full constraints at q, relative to their terms.

        Zeros if none. A constraint that is not per column (e.g. the column
        sum) must already hold: the working LP declares it over all columns.
        """
        return self.scan.violations(np.asarray(q, dtype=float))

    def maximize(self, direction: np.ndarray) -> np.ndarray:
        """A maximizer of ``direction @ q`` over the full polytope.

        Raises
        ------
        SolverFailedError
            If the LP appears unbounded: its solution stays on the box after
            every widening with every column satisfied.
        """
        return self.maximize_many([direction])[0]

    def maximize_both(self, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Maximizers of ``direction @ q`` and of ``-direction @ q``, sharing their scans."""
        up, down = self.maximize_many([direction, -np.asarray(direction)])
        return up, down

    def maximize_many(self, directions) -> list[np.ndarray]:
        """A maximizer over the full polytope for each direction.

        Each round solves the working LP for the directions still open, scans
        every column once for all their solutions (one product with the
        data), and adds the most violated columns of each; a solution that
        violates no column is the full LP's optimum and stays so as the set
        grows (see the module notes).
        """
        directions = [np.asarray(d, dtype=float) for d in directions]
        self.n_solves += len(directions)
        answers: list[np.ndarray | None] = [None] * len(directions)
        widenings = 0
        while True:
            open_ = [k for k, answer in enumerate(answers) if answer is None]
            if not open_:
                return answers
            solutions = {}
            for k in open_:
                while True:
                    try:
                        solutions[k] = self.lp.maximize(directions[k])
                        break
                    except InfeasibleError:
                        # The box itself may exclude every feasible q (a polytope far
                        # from the origin): widen it; infeasible only without it.
                        if widenings >= _MAX_WIDENINGS:
                            raise
                        widenings += 1
                        self._widen()
            # Columns already in the working set are held by the LP solver (to its
            # own tolerance); adding them again would loop.
            self.n_scans += 1
            violated = self.scan.most_violated(
                np.array([solutions[k] for k in open_]), self._in_set
            )
            grow = np.concatenate(violated)
            on_box = False
            for k, columns in zip(open_, violated, strict=True):
                if columns.size:
                    continue
                if np.abs(solutions[k]).max() >= self.bound.value * (1 - _ON_BOX):
                    on_box = True
                else:
                    answers[k] = solutions[k]
            if grow.size:
                self._build(np.union1d(self._columns, grow))
            elif on_box:
                if widenings >= _MAX_WIDENINGS:
                    raise SolverFailedError(
                        f"the row-update LP of {self.owner} appears unbounded (|q| reached "
                        f"{self.bound.value:.3g} with every column satisfied); the "
                        "formulation's constraints do not bound the row of Q."
                    )
                widenings += 1
                self._widen()

    def _widen(self) -> None:
        self.bound.value = 10.0 * self.bound.value
        self.lp.set_parameters(box=self.bound.value)
