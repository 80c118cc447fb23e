"""Snapping an LP solution onto its active constraints: exact, and well conditioned."""

from __future__ import annotations

import warnings
import zlib

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvxvolmin
from cvxvolmin.lp import RowLP
from cvxvolmin.polish import _ACTIVE, VertexPolisher, _constraint_values, constraint_values


def test_nearly_parallel_active_rows_are_passed_over_for_a_well_conditioned_set():
    """At a degenerate vertex many rows are active; the snap solves a well-conditioned few."""
    angle = 1e-7
    x, tilted, y = np.array([1.0, 0.0]), np.array([np.cos(angle), np.sin(angle)]), np.eye(2)[1]
    rows, values = VertexPolisher._independent([x, tilted, y], [1.0, 2.0, 3.0], 2, 0.1)
    assert [list(row) for row in rows] == [list(x), list(y)] and values == [1.0, 3.0]
    # Any independent row, the weaker rule, would take the nearly parallel pair.
    rows, _ = VertexPolisher._independent([x, tilted, y], [1.0, 2.0, 3.0], 2, 1e-9)
    assert np.array_equal(rows[1], tilted)


def test_the_snapped_row_sum_optimum_is_exact_at_a_degenerate_vertex():
    """Table 2's row-sum trial 17 (r = 5, case 1), where a snap onto nearly dependent
    active rows gave an MSE of H of 9e-24 (measured); 320 constraints are active there
    for 25 unknowns."""
    key = (5, 1, 17)  # run_table2's stream for (rank, case, trial)
    data = np.random.default_rng(np.random.SeedSequence(0, spawn_key=(*key, 0)))
    X, _, H = cvxvolmin.make_paper_data(5, case=1, random_state=data)
    seed = np.random.SeedSequence(0, spawn_key=(*key, 1, zlib.crc32(b"row-sum")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cvxvolmin.NoisyColumnsWarning)
        result = cvxvolmin.fit(
            X,
            5,
            formulation=cvxvolmin.RowSumVolMin(normalize="l1"),
            random_state=np.random.default_rng(seed),
        )
    assert cvxvolmin.matched_mse(H, result.H) < 1e-28


# --- Direct tests of the polisher on small LPs -------------------------------------------

_INEQUALITY_KINDS = ("le", "ge", "nonneg", "nonpos")
_EQUALITY_KINDS = ("eq", "zero")


def _below(kind, lhs, rhs):
    """``lhs <= rhs``, declared as one of cvxpy's inequality kinds."""
    if kind == "le":
        return lhs <= rhs
    if kind == "ge":
        return rhs >= lhs
    if kind == "nonneg":
        return cp.constraints.NonNeg(rhs - lhs)
    with warnings.catch_warnings():  # cvxpy deprecates NonPos(expr); formulations may use it
        warnings.simplefilter("ignore", DeprecationWarning)
        return cp.constraints.NonPos(lhs - rhs)


def _equal(kind, lhs, rhs):
    """``lhs == rhs``, declared as one of cvxpy's equality kinds."""
    return lhs == rhs if kind == "eq" else cp.constraints.Zero(lhs - rhs)


def _declare(kind, lhs, rhs):
    return _equal(kind, lhs, rhs) if kind in _EQUALITY_KINDS else _below(kind, lhs, rhs)


def _polish(q, constraints, point):
    polisher = VertexPolisher(RowLP(q, constraints, "HIGHS", hot=False))
    snapped, violation = polisher.polish(np.asarray(point, dtype=float))
    return snapped, violation, polisher


@pytest.mark.parametrize("kind", _INEQUALITY_KINDS + _EQUALITY_KINDS)
def test_constraint_values_read_every_kind_as_g_below_zero_or_e_equal_zero(kind):
    """``lhs <= rhs`` in any declaration reads ``g = lhs - rhs`` (a NonNeg negated), and
    ``lhs == rhs`` reads ``e = lhs - rhs`` flagged as an equality."""
    q = cp.Variable(2)
    A, c = np.array([[1.0, 2.0], [3.0, -1.0]]), np.array([1.0, -4.0])
    constraint = _declare(kind, A @ q, c)
    q.value = np.array([0.5, -1.0])
    values, equality = constraint_values(constraint)
    # lhs - rhs = (-0.5, 6.5): one side of zero each, so a sign error shows.
    np.testing.assert_array_equal(values, A @ q.value - c)
    assert equality == (kind in _EQUALITY_KINDS)


@pytest.mark.parametrize("kinds", [("le", "nonneg"), ("eq", "zero"), ("nonpos", "zero", "ge")])
def test_constraint_values_split_inequalities_from_equalities(kinds):
    """In declaration order within each part; a missing part is an empty array."""
    q = cp.Variable(1)
    constraints = [_declare(kind, q, float(i)) for i, kind in enumerate(kinds)]
    q.value = np.array([10.0])
    ineq, eq = _constraint_values(constraints)
    for part, wanted in ((ineq, _INEQUALITY_KINDS), (eq, _EQUALITY_KINDS)):
        expected = [10.0 - i for i, kind in enumerate(kinds) if kind in wanted]
        assert isinstance(part, np.ndarray) and part.shape == (len(expected),)
        np.testing.assert_array_equal(part, expected)


def test_the_measured_linear_part_is_the_constraints_matrix():
    """Measured by differences along each unit vector, away from 0 (constant parts
    nonzero), for every kind; inequalities as ``A q + b <= 0``, equalities ``A q + b == 0``."""
    q = cp.Variable(2)
    A = np.array([[1.0, 2.0], [3.0, -1.0], [-2.0, 5.0]])
    kinds = ("le", "eq", "ge", "nonneg", "zero", "nonpos")
    constraints = [_declare(kind, A[i % 3] @ q, 7.0) for i, kind in enumerate(kinds)]
    _, _, polisher = _polish(q, constraints, [3.0, -2.0])
    is_eq = [kind in _EQUALITY_KINDS for kind in kinds]
    rows = np.array([A[i % 3] for i in range(len(kinds))])
    np.testing.assert_allclose(polisher.linear[0], rows[~np.array(is_eq)], rtol=1e-12)
    np.testing.assert_allclose(polisher.linear[1], rows[np.array(is_eq)], rtol=1e-12)


_DELTA, _EPS = 1e-11, 1e-10


def _tightest_first_case(kind, scale):
    """At (1 - d, 1 - 2d), inside x <= 1 and y <= 1, x + y <= 2 - 3d - e is violated by e.
    The nearly-zero order takes x <= 1 and y <= 1, whose corner (1, 1) violates the third
    still more; only the violated row first reaches a vertex: x <= 1 with it."""
    q = cp.Variable(2)
    constraints = [
        _below(kind, scale * q[0], scale * 1.0),
        _below(kind, scale * q[1], scale * 1.0),
        _below(kind, scale * (q[0] + q[1]), scale * (2 - 3 * _DELTA - _EPS)),
    ]
    return q, constraints, [1 - _DELTA, 1 - 2 * _DELTA], [1.0, 1 - 3 * _DELTA - _EPS]


def _nearly_zero_first_case(kind, scale):
    """At (0, 1): x >= k is violated in full (its terms are k alone), x + y >= 1 + 2k by 2k,
    and y <= 1 is exactly active. The tightest rows meet at (k, 1 + k), beyond y <= 1; the
    vertex is y <= 1 with x + y >= 1 + 2k: (2k, 1)."""
    q, k = cp.Variable(2), _EPS
    constraints = [
        _below(kind, scale * k, scale * q[0]),
        _below(kind, scale * (1 + 2 * k), scale * (q[0] + q[1])),
        _below(kind, scale * q[1], scale * 1.0),
    ]
    return q, constraints, [0.0, 1.0], [2 * k, 1.0]


@pytest.mark.parametrize("scale", [1e-8, 1.0, 1e8])
@pytest.mark.parametrize("kind", _INEQUALITY_KINDS)
@pytest.mark.parametrize("case", [_tightest_first_case, _nearly_zero_first_case])
def test_a_slightly_infeasible_point_snaps_onto_the_vertex_only_one_order_finds(case, kind, scale):
    """Both candidate orders are tried; the one that reaches a feasible vertex wins, and
    the relative slack that picks the near-active rows does not depend on the LP's scale."""
    q, constraints, point, vertex = case(kind, scale)
    snapped, violation, _ = _polish(q, constraints, point)
    np.testing.assert_allclose(snapped, vertex, rtol=0, atol=1e-14)
    assert violation <= 1e-15


@pytest.mark.parametrize("scale", [1e-8, 1.0, 1e8])
@pytest.mark.parametrize("ineq_kind", _INEQUALITY_KINDS)
@pytest.mark.parametrize("eq_kind", _EQUALITY_KINDS)
def test_a_missed_equality_is_snapped_with_a_near_active_inequality(eq_kind, ineq_kind, scale):
    """x == 1 missed by 1e-10 at (1 - e, 1 - e), y <= 1 near active, x + y >= -5 far:
    the snap solves the equality and y <= 1, onto (1, 1)."""
    q = cp.Variable(2)
    constraints = [
        _equal(eq_kind, scale * q[0], scale * 1.0),
        _below(ineq_kind, scale * q[1], scale * 1.0),
        _below(ineq_kind, scale * -5.0, scale * (q[0] + q[1])),
    ]
    snapped, violation, _ = _polish(q, constraints, [1 - _EPS, 1 - _EPS])
    np.testing.assert_allclose(snapped, [1.0, 1.0], rtol=0, atol=1e-14)
    assert violation <= 1e-15


@pytest.mark.parametrize("kind", _INEQUALITY_KINDS)
def test_a_feasible_point_is_kept_as_given(kind):
    """A candidate replaces the given point only when strictly better: near the vertex
    (1, 1), which the snap reaches exactly, a feasible point already has violation 0."""
    q = cp.Variable(2)
    constraints = [
        _below(kind, q[0], 1.0),
        _below(kind, q[1], 1.0),
        _below(kind, q[0] + q[1], 3.0),
    ]
    point = np.array([1 - 2.0**-30, 1 - 2.0**-31])
    snapped, violation, _ = _polish(q, constraints, point)
    assert np.array_equal(snapped, point) and violation == 0.0


@settings(max_examples=15, deadline=None)
@given(exponent=st.floats(-8, 8), kind=st.sampled_from(_INEQUALITY_KINDS + _EQUALITY_KINDS))
def test_the_violation_is_relative_to_the_terms_and_kept_when_no_snap_is_better(exponent, kind):
    """q <= 1 with q >= 2 (or q == 1 with q == 2) at q = 1.25: the terms of q <= 1 are
    |q| + 1 = 2.25 and of q >= 2 are 3.25, so the violations are 0.25 / 2.25 and
    0.75 / 3.25; snapping onto either constraint misses the other by more (1 / 3.25,
    1 / 2.25), so the point is kept. Scaling the LP changes none of it."""
    scale = 10.0**exponent
    q = cp.Variable(1)
    constraints = [_declare(kind, scale * q, scale * 1.0)]
    if kind in _EQUALITY_KINDS:
        constraints.append(_declare(kind, scale * q, scale * 2.0))
    else:
        constraints.append(_declare(kind, scale * 2.0, scale * q))
    snapped, violation, _ = _polish(q, constraints, [1.25])
    assert snapped[0] == 1.25
    assert violation == pytest.approx(0.75 / 3.25, rel=1e-12)


@pytest.mark.parametrize("scale", [1e-8, 1e8])
@pytest.mark.parametrize("kind", _INEQUALITY_KINDS + _EQUALITY_KINDS)
def test_a_constraint_with_no_terms_measures_its_violation_absolutely(kind, scale):
    """At q = 0, s q <= 0 (or s q == 0) has no terms: size 1, so moving onto s q >= s
    (s q == s), at q = 1, misses it by s. That beats the given point's relative violation 1
    (it misses s q >= s by s, against terms s) only when s < 1."""
    q = cp.Variable(1)
    if kind in _EQUALITY_KINDS:  # equalities come first in declaration order
        constraints = [_equal(kind, scale * q, scale * 1.0), _equal(kind, scale * q, 0.0)]
    else:
        constraints = [_below(kind, scale * q, 0.0), _below(kind, scale * 1.0, scale * q)]
    snapped, violation, _ = _polish(q, constraints, [0.0])
    if scale < 1:
        assert snapped[0] == pytest.approx(1.0, rel=1e-12)
        assert violation == pytest.approx(scale, rel=1e-12)
    else:
        assert snapped[0] == 0.0 and violation == 1.0


def test_independent_skips_zero_rows_and_stops_at_the_limit():
    """A zero row (a constraint with no terms) is passed over, not the end of the rows."""
    x, y, z = np.eye(3)
    zero = np.zeros(3)
    rows, values = VertexPolisher._independent([zero, x, zero, y, z], [0, 1, 2, 3, 4], 2, 0.1)
    assert [list(row) for row in rows] == [list(x), list(y)] and values == [1, 3]
    rows, values = VertexPolisher._independent([zero, x, zero, y, z], [0, 1, 2, 3, 4], 3, 0.1)
    assert values == [1, 3, 4]


def test_independent_needs_strictly_more_than_the_threshold_off_the_span():
    """(3, 4) / 5 lies 0.8 (exactly, in floating point) off the span of (1, 0)."""
    x, row = np.array([1.0, 0.0]), np.array([3.0, 4.0])
    assert VertexPolisher._independent([x, row], [1, 2], 2, 0.8)[1] == [1]
    assert VertexPolisher._independent([x, row], [1, 2], 2, np.nextafter(0.8, 0))[1] == [1, 2]


@settings(max_examples=25, deadline=None)
@given(exponents=st.lists(st.floats(-8, 8), min_size=4, max_size=4))
def test_independent_reads_rows_normalized(exponents):
    """The choice does not depend on the rows' lengths: (1, 1e-3) is nearly parallel to
    (1, 0) at any length, and (0, 1) independent at any length."""
    base = [np.array([1.0, 0.0]), np.array([1.0, 1e-3]), np.array([0.0, 1.0]), np.ones(2)]
    rows = [10.0**e * row for e, row in zip(exponents, base, strict=True)]
    assert VertexPolisher._independent(rows, [0, 1, 2, 3], 2, 0.1)[1] == [0, 2]


def test_independent_pairs_every_row_with_a_value():
    with pytest.raises(ValueError):
        VertexPolisher._independent([np.ones(2), np.eye(2)[0]], [1.0], 2, 0.1)


@pytest.mark.parametrize("above", [False, True])
def test_a_constraint_whose_slack_is_exactly_the_activity_threshold_is_active(above):
    """At (1, 1), q0 - q1 <= c has slack c / (2 + c) relative to its terms (|q0| + |q1|
    + |c|): exactly _ACTIVE for this c in floating point, one ulp more for the next c.
    With q1 <= 1 - e missed, the snap takes it as active (a vertex with both) at the
    threshold and leaves it out (onto q1 = 1 - e alone) beyond."""
    c = 2 * _ACTIVE / (1 - _ACTIVE)
    assert c / (2 + c) == _ACTIVE  # the construction is exact
    if above:
        c = np.nextafter(c, np.inf)
    q = cp.Variable(2)
    constraints = [q[0] - q[1] <= c, q[1] <= 1 - _EPS]
    snapped, violation, _ = _polish(q, constraints, [1.0, 1.0])
    expected = [1.0, 1 - _EPS] if above else [1 - _EPS + c, 1 - _EPS]
    np.testing.assert_allclose(snapped, expected, rtol=0, atol=1e-15)
    assert violation <= 1e-15
