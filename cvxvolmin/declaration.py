"""Declaring a formulation's LPs in cvxpy, over all columns or working sets.

The engine asks for an LP and gets an object with ``maximize(direction)``;
this module is where a formulation's constraints become that LP: one row of
Q for formulations whose rows decouple (:func:`build_row_lp`), all of Q for
those with a fixed row sum (:func:`build_joint_lp`), solved directly
(:class:`~cvxvolmin.lp.RowLP`) or by constraint generation on working sets
of columns (:class:`~cvxvolmin.working_set.WorkingSetLP`).
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from .exceptions import InvalidParameterError
from .formulations.base import Formulation, Row
from .formulations.column_sum import ColumnSumVolMin
from .formulations.column_sum_leq import ColumnSumAtMostVolMin
from .formulations.row_sum import RowSumVolMin
from .lp import RowLP
from .reduction import Reduction
from .working_set import Declaration, WorkingSetLP, initial_columns

# Above this many samples, column-separable formulations solve their LPs on
# working sets of columns (constraint generation, exact; see working_set.py).
WORKING_SET_THRESHOLD = 2000
# The built-in criteria with no constraints beyond the plain column-sum (or
# row-sum) polytope: exactly these classes, not their subclasses.
_PLAIN = (ColumnSumVolMin, ColumnSumAtMostVolMin, RowSumVolMin)


def constraint_hint(formulation: Formulation) -> str:
    """A sentence for the infeasible and degenerate errors, or "" for a plain criterion.

    A formulation with constraints of its own (a bound, a known value) can
    leave no solution on data that the plain criterion fits; the errors
    then say so instead of blaming only the data or the rank. Only the
    built-in plain criteria (``ColumnSumVolMin``, ``ColumnSumAtMostVolMin``,
    ``RowSumVolMin``, exactly those classes) get no hint.

    Returns
    -------
    str
        Empty, or a sentence starting with a space, to append to a message.
    """
    if type(formulation) in _PLAIN:
        return ""
    plain = next((cls for cls in type(formulation).__mro__ if cls in _PLAIN), ColumnSumVolMin)
    return (
        f" Formulation {formulation.name!r} adds constraints of its own to the plain "
        f"{plain.name} criterion (e.g. a bound or a known value), and they may exclude "
        f"every solution: fit formulation={plain.name!r} to see whether the data alone "
        "admit one."
    )


def _declare(
    formulation: Formulation, reduction: Reduction, columns: np.ndarray | None, joint: bool
) -> Declaration:
    """The row LP (or joint LP) in cvxpy, over all columns or the given ones."""
    r = reduction.rank
    unit = formulation.unit(reduction)
    data = reduction.Xt if columns is None else reduction.Xt[:, columns]
    XtT = np.ascontiguousarray(data.T)  # fast products when the LP is checked
    column_sums = reduction.Xt.sum(axis=1)  # always over every column

    def row(q) -> Row:
        return Row(q, XtT @ q, unit, column_sums @ q)

    if not joint:
        q = cp.Variable(r, name="q")
        return Declaration(q, list(formulation.row_constraints(row(q), reduction)), {})
    flat = cp.Variable(r * r, name="Q")
    rows = [flat[i * r : (i + 1) * r] for i in range(r)]
    constraints: list[cp.Constraint] = []
    for q in rows:
        constraints += formulation.row_constraints(row(q), reduction)
    constraints.append(cp.sum(cp.vstack(rows), axis=0) == formulation.row_sum(reduction))
    return Declaration(flat, constraints, {})


def _build(
    formulation: Formulation, reduction: Reduction, solver: str, joint: bool, working_set: bool
) -> RowLP | WorkingSetLP:
    owner = f"formulation {formulation.name!r}"
    hint = constraint_hint(formulation)
    if not working_set:
        declared = _declare(formulation, reduction, None, joint)
        return RowLP(declared.q, declared.constraints, solver, owner=owner, hint=hint)
    if not formulation.column_separable:
        raise InvalidParameterError(
            f"formulation {formulation.name!r} does not declare column_separable = True, "
            "so its LPs cannot be solved on working sets of columns; use working_set=False."
        )
    return WorkingSetLP(
        lambda columns: _declare(formulation, reduction, columns, joint),
        reduction.n_samples,
        initial_columns(reduction.Xt, 20 * reduction.rank),
        solver,
        owner=owner,
        hint=hint,
    )


def build_row_lp(
    formulation: Formulation, reduction: Reduction, solver: str, working_set: bool = False
) -> RowLP | WorkingSetLP:
    """Declare in cvxpy the LP of one row update, for formulations whose rows decouple.

    With ``working_set``, the LP is solved by constraint generation on
    working sets of columns (exact; :class:`~cvxvolmin.working_set.WorkingSetLP`).

    Raises
    ------
    ValueError
        For a formulation with ``fixed_row_sum`` (its rows move together:
        see :func:`build_joint_lp`).
    """
    if formulation.fixed_row_sum:
        raise InvalidParameterError(
            f"formulation {formulation.name!r} fixes the sum of the rows of Q, so no "
            "row moves alone; use build_joint_lp."
        )
    return _build(formulation, reduction, solver, joint=False, working_set=working_set)


def build_joint_lp(
    formulation: Formulation, reduction: Reduction, solver: str, working_set: bool = False
) -> RowLP | WorkingSetLP:
    """Declare in cvxpy the LP over all of Q, for formulations with ``fixed_row_sum``.

    The variable is Q flattened row by row (``Q.ravel()``). Every row meets
    the formulation's row constraints, and the rows sum to
    ``formulation.row_sum(reduction)``. Only the objective changes between
    steps, so a persistent solver restarts from its previous basis.
    """
    return _build(formulation, reduction, solver, joint=True, working_set=working_set)
