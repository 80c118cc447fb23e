"""Declaring a formulation's LPs in cvxpy, over all columns or working sets.

The engine asks for an LP and gets an object with ``maximize(direction)``;
this module is where a formulation's constraints become that LP: one row of
Q for formulations whose rows decouple (:func:`build_row_lp`), all of Q for
coupled ones (:func:`build_joint_lp`), solved directly
(:class:`~cvxvolmin.lp.RowLP`) or by constraint generation on working sets
of columns (:class:`~cvxvolmin.working_set.WorkingSetLP`).
"""

from __future__ import annotations

from dataclasses import replace

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
    formulation: Formulation,
    reduction: Reduction,
    columns: np.ndarray | None,
    joint: bool,
    component: int = 0,
    reads: list | None = None,
) -> Declaration:
    """The LP of row ``component`` (or the joint LP) in cvxpy, over all or the given columns."""
    r = reduction.rank
    unit = formulation.unit(reduction)
    data = reduction.Xt if columns is None else reduction.Xt[:, columns]
    XtT = np.ascontiguousarray(data.T)  # fast products when the LP is checked
    column_sums = reduction.Xt.sum(axis=1)  # always over every column
    Xt = reduction.Xt

    def row(q, k: int) -> Row:
        return Row(
            q,
            XtT @ q,
            unit,
            column_sums @ q,
            component=k,
            entries=lambda samples: Xt[:, samples].T @ q,  # any samples, whatever the set
            n_samples=reduction.n_samples,
            _reads=reads,
        )

    if not joint:
        q = cp.Variable(r, name="q")
        return Declaration(q, list(formulation.row_constraints(row(q, component), reduction)), {})
    flat = cp.Variable(r * r, name="Q")
    rows = [flat[i * r : (i + 1) * r] for i in range(r)]
    constraints: list[cp.Constraint] = []
    for k, q in enumerate(rows):
        constraints += formulation.row_constraints(row(q, k), reduction)
    if formulation.coupled:
        H = (XtT @ cp.reshape(flat, (r, r), order="C").T) / unit  # N x r (or held samples x r)
        constraints += list(formulation.joint_constraints(H, _held(reduction, columns)))
    return Declaration(flat, constraints, {})


def _held(reduction: Reduction, columns: np.ndarray | None) -> Reduction:
    """The reduction of the samples an LP holds (all, or a working set's), aligned with its H."""
    if columns is None:
        return reduction
    norms = reduction.column_norms
    return replace(
        reduction,
        Xt=reduction.Xt[:, columns],
        column_scale=reduction.column_scale[columns],
        column_norms=None if norms is None else norms[columns],
    )


def _check_position_free(
    formulation: Formulation,
    reduction: Reduction,
    joint: bool,
    component: int = 0,
    subset: np.ndarray | None = None,
) -> None:
    """Refuse constraints of a column-separable formulation that depend on which samples are held.

    Declared over two different sets of samples (all of them and a strict
    subset; at large N the subset and a larger set disjoint from it), the
    sample-wise constraints (shape ``(N,)`` or ``(N, k)``) change their first
    length and every other one must be the same affine function of the
    variable; ``cp.sum(row.h)`` or a slice ``row.h[:10]`` is not (on a working
    set it would mean something else), at any N.
    """
    n, r = reduction.n_samples, reduction.rank
    if subset is None:
        subset = initial_columns(reduction.Xt, 20 * r)
    if subset.size >= n:
        subset = np.arange(1, n)  # a strict subset even for small N
    if subset.size == 0:
        return
    # At large N the second set is disjoint from the first and larger, not all N samples:
    # a sum or a slice of row.h changes all the same, and no declaration copies an r x N
    # array (cvxpy copies every array it is given)
    held = None
    if n >= 5 * subset.size:  # evenly spaced samples, those of the subset left out (no N array)
        spread = np.linspace(0, n - 1, num=3 * subset.size, dtype=int)
        held = np.setdiff1d(spread, subset)[: 2 * subset.size]
        n = held.size
    full = _declare(formulation, reduction, held, joint, component)
    part = _declare(formulation, reduction, subset, joint, component)
    points = [np.zeros(full.q.size), *np.eye(full.q.size)]
    pairs = list(zip(full.constraints, part.constraints, strict=False))
    if len(full.constraints) != len(part.constraints):
        pairs.append((None, None))  # the count itself changes: refused below
    for number, (whole, some) in enumerate(pairs, start=1):
        if (
            whole is not None
            and whole.shape[:1] == (n,)
            and some.shape == (subset.size, *whole.shape[1:])
        ):
            continue  # sample by sample over the samples held
        same = whole is not None and whole.shape == some.shape
        for point in points if same else ():
            full.q.value, part.q.value = point, point
            a, b = _affine_values(whole), _affine_values(some)
            scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0), 1.0)
            if np.abs(a - b).max(initial=0.0) > 1e-9 * scale:
                same = False
                break
        if not same:
            raise InvalidParameterError(
                f"formulation {formulation.name!r} declares column_separable = True, but its "
                f"constraint {number} of {len(full.constraints)} changes with the set of "
                "samples the LP holds (a sum or a slice of row.h?), so on working sets "
                f"(N > {WORKING_SET_THRESHOLD}) it would mean something else. Write sums "
                "over all samples with row.total and constraints on given samples with "
                "row.at(samples), or set column_separable = False."
            )


def _affine_values(constraint: cp.Constraint) -> np.ndarray:
    return np.concatenate([np.ravel(arg.value) for arg in constraint.args])


def build_row_lps(
    formulation: Formulation, reduction: Reduction, solver: str, working_set: bool = False
) -> list[RowLP | WorkingSetLP]:
    """The LP of every row update, for formulations whose rows decouple: r entries.

    One LP shared by all rows, unless the formulation's constraints read
    ``Row.index``: then one per component, each declared with its index.
    """
    reads: list = []
    first = build_row_lp(formulation, reduction, solver, working_set, component=0, reads=reads)
    if not reads:
        return [first] * reduction.rank
    rest = [
        build_row_lp(formulation, reduction, solver, working_set, component=k)
        for k in range(1, reduction.rank)
    ]
    return [first, *rest]


def _build(
    formulation: Formulation,
    reduction: Reduction,
    solver: str,
    joint: bool,
    working_set: bool,
    component: int = 0,
    reads: list | None = None,
) -> RowLP | WorkingSetLP:
    owner = f"formulation {formulation.name!r}"
    hint = constraint_hint(formulation)
    if working_set and not formulation.column_separable:
        raise InvalidParameterError(
            f"formulation {formulation.name!r} does not declare column_separable = True, "
            "so its LPs cannot be solved on working sets of columns; use working_set=False."
        )
    start = None
    if formulation.column_separable:  # every component's own constraints: the same at any N
        # The working set's start is the subset of the check too (one scan of Xt).
        start = initial_columns(reduction.Xt, 20 * reduction.rank)
        _check_position_free(formulation, reduction, joint, component, start)
    if not working_set:
        declared = _declare(formulation, reduction, None, joint, component, reads)
        return RowLP(declared.q, declared.constraints, solver, owner=owner, hint=hint)
    return WorkingSetLP(
        # Every declaration records whether the constraints read Row.index.
        lambda columns: _declare(formulation, reduction, columns, joint, component, reads),
        reduction.n_samples,
        start,
        solver,
        owner=owner,
        hint=hint,
        data=reduction.Xt,  # scans on the compiled per-column constraints
    )


def build_row_lp(
    formulation: Formulation,
    reduction: Reduction,
    solver: str,
    working_set: bool = False,
    component: int = 0,
    reads: list | None = None,
) -> RowLP | WorkingSetLP:
    """Declare in cvxpy the LP of one row update (of ``component``), for rows that decouple.

    With ``working_set``, the LP is solved by constraint generation on
    working sets of columns (exact; :class:`~cvxvolmin.working_set.WorkingSetLP`).

    Raises
    ------
    ValueError
        For a coupled formulation (its rows move together: see
        :func:`build_joint_lp`).
    """
    if formulation.coupled:
        raise InvalidParameterError(
            f"formulation {formulation.name!r} declares joint constraints that couple the "
            "rows of Q, so no row moves alone; use build_joint_lp."
        )
    return _build(formulation, reduction, solver, False, working_set, component, reads)


def build_joint_lp(
    formulation: Formulation, reduction: Reduction, solver: str, working_set: bool = False
) -> RowLP | WorkingSetLP:
    """Declare in cvxpy the LP over all of Q, for coupled formulations.

    The variable is Q flattened row by row (``Q.ravel()``). Every row meets
    the formulation's row constraints and H its joint constraints. Only the
    objective changes between steps, so a persistent solver restarts from
    its previous basis.
    """
    return _build(formulation, reduction, solver, joint=True, working_set=working_set)
