"""The alternating optimization: starts, the line search, degeneracy, error hints."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import ConvexHull

import cvxvolmin
from cvxvolmin.declaration import constraint_hint
from cvxvolmin.engine import line_search, maximize_volume, optimize
from cvxvolmin.formulations import (
    BoundedAbundanceVolMin,
    ColumnSumAtMostVolMin,
    ColumnSumVolMin,
    Formulation,
    RowSumVolMin,
)
from cvxvolmin.reduction import Reduction

# A polytope in R^3 on which the row-by-row AO has a stationary point that is
# not the optimum: with the other two rows fixed, each of the vertices 0, 3, 4
# is the unique best row (|det| = 29), while the vertices 2, 5, 6 give 43.
_VERTICES = np.array(
    [
        [0.0, 1.0, 3.0],
        [-1.0, 1.0, -3.0],
        [0.0, 1.0, -3.0],
        [-3.0, 0.0, -2.0],
        [-1.0, -3.0, 0.0],
        [-3.0, -3.0, -2.0],
        [-2.0, 2.0, 1.0],
    ]
)
_POOR, _BEST = _VERTICES[[0, 3, 4]], _VERTICES[[2, 5, 6]]


class _PolytopeRows(Formulation):
    """Every row of Q in the hull of ``_VERTICES``; the first start is the poor one."""

    name = "polytope-rows-test-only"
    n_starts = 3

    def __init__(self):
        hull = ConvexHull(_VERTICES)
        self.A, self.b = hull.equations[:, :3], -hull.equations[:, 3]
        self.calls = 0

    def row_constraints(self, row, reduction):
        return [self.A @ row.q <= self.b]

    def initial_Q(self, reduction, rng):
        self.calls += 1
        return _POOR.copy() if self.calls == 1 else rng.standard_normal((3, 3))


def _identity_reduction(r: int) -> Reduction:
    return Reduction(
        Xt=np.eye(r), basis=np.eye(r), singular_values=np.ones(r), column_scale=np.ones(r)
    )


def test_the_best_start_is_kept_not_the_first():
    trace = optimize(
        _PolytopeRows(),
        _identity_reduction(3),
        np.random.default_rng(1),
        solver="HIGHS",
        max_iter=20,
        tol=1e-12,
    )
    first, *others = trace.start_logdets
    assert first == pytest.approx(np.log(29.0), abs=1e-9)  # the first start stays poor
    assert max(others) == pytest.approx(np.log(43.0), abs=1e-9)
    assert trace.logdet_history[-1] == pytest.approx(np.log(43.0), abs=1e-9)
    assert abs(np.linalg.det(trace.Q)) == pytest.approx(43.0, rel=1e-9)
    # The kept Q is made of the best vertices (in some order and sign).
    for row in trace.Q:
        assert np.min(np.abs(_BEST - row).max(axis=1)) <= 1e-9


@pytest.mark.parametrize(("a", "b"), [(2.0, 0.6), (3.0, 0.7), (1.5, 0.4)])
def test_line_search_finds_an_interior_maximum(a, b):
    # det(I + t diag(a, -b)) = (1 + t a)(1 - t b): largest at t = (a - b) / (2ab),
    # inside (0, 1) and off the search's grid.
    t = line_search(np.eye(2), np.diag([a, -b]))
    assert 0.0 < t < 1.0
    assert t == pytest.approx((a - b) / (2 * a * b), abs=1e-8)
    # A third, shrinking direction: the maximum of the cubic det moves inside.
    det = np.poly1d([a, 1.0]) * np.poly1d([-b, 1.0]) * np.poly1d([-0.1, 1.0])
    stationary = [t.real for t in det.deriv().roots if abs(t.imag) < 1e-12 and 0 < t.real < 1]
    assert len(stationary) == 1
    assert line_search(np.eye(3), np.diag([a, -b, -0.1])) == pytest.approx(stationary[0], abs=1e-8)


class _TinyBox:
    """The polytope ``|q_k| <= size``: vertices are ``size * sign(d)``."""

    def __init__(self, size, flat_last=False):
        self.size, self.flat_last, self.n_solves = size, flat_last, 0

    def maximize(self, direction):
        self.n_solves += 1
        q = self.size * np.sign(direction)
        if self.flat_last:
            q[-1] = 0.0  # every row in the hyperplane q_r = 0: degenerate
        return q


def test_a_tiny_polytope_is_not_degenerate():
    # Rows of norm 1e-12 are as good as any: the degenerate test is relative to |q|.
    rng = np.random.default_rng(0)
    trace = maximize_volume(_TinyBox(1e-12), rng.standard_normal((4, 4)), max_iter=10, tol=1e-9)
    np.testing.assert_array_equal(np.abs(trace.Q), 1e-12)  # rows are box vertices
    assert trace.logdet_history[-1] > 4 * np.log(1e-12)  # nonsingular


def test_a_flat_polytope_is_degenerate_and_the_hint_is_shown():
    with pytest.raises(cvxvolmin.DegenerateError, match=r"hyperplane.*HINT\. Otherwise"):
        maximize_volume(
            _TinyBox(1.0, flat_last=True), np.eye(3), max_iter=5, tol=1e-9, hint=" HINT."
        )


class _Capped(ColumnSumVolMin):
    name = "capped-test-only"

    def __init__(self, upper):
        super().__init__()
        self.upper = upper

    def row_constraints(self, row, reduction):
        return [*super().row_constraints(row, reduction), row.h <= self.upper * row.unit]


class _PlainSubclass(ColumnSumVolMin):
    name = "plain-subclass-test-only"


def test_only_the_plain_criteria_get_no_hint():
    for form in (
        ColumnSumVolMin(),
        ColumnSumVolMin(rho=2.0),
        ColumnSumAtMostVolMin(),
        RowSumVolMin(),
    ):
        assert constraint_hint(form) == ""
    for form in (BoundedAbundanceVolMin(upper=0.5), _Capped(0.5), _PlainSubclass()):
        hint = constraint_hint(form)
        assert f"Formulation {form.name!r} adds constraints of its own" in hint
        assert "may exclude every solution" in hint and "formulation='column-sum'" in hint

    class RowSumVariant(RowSumVolMin):
        name = "row-sum-variant-test-only"

    assert "formulation='row-sum'" in constraint_hint(RowSumVariant())


@pytest.mark.parametrize("working_set", [False, True])
def test_infeasible_error_blames_the_formulations_own_constraints(working_set):
    X, _, _ = cvxvolmin.make_paper_data(3, n_samples=300, random_state=0)
    # Columns of H sum to 1 over 300 entries: a cap below 1/300 leaves no solution.
    with pytest.raises(cvxvolmin.InfeasibleError) as caught:
        cvxvolmin.fit(X, 3, formulation=_Capped(0.5 / 300), working_set=working_set)
    message = str(caught.value)
    assert "'capped-test-only' adds constraints of its own" in message
    assert "may exclude every solution" in message


def test_infeasible_error_of_the_plain_criterion_names_the_whole_space():
    X = np.hstack([np.eye(2), -np.eye(2)])  # cone(X) is the whole plane
    with pytest.raises(cvxvolmin.InfeasibleError) as caught:
        cvxvolmin.fit(X, 2)
    message = str(caught.value)
    assert "the cone of the data is the whole space" in message
    assert "constraints of its own" not in message


def test_degenerate_error_names_a_line_and_the_formulations_constraints():
    X = np.array([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.5]])  # cone holds a line
    with pytest.raises(cvxvolmin.DegenerateError) as plain:
        cvxvolmin.fit(X, 2)
    assert "contains a line" in str(plain.value)
    assert "constraints of its own" not in str(plain.value)
    with pytest.raises(cvxvolmin.DegenerateError, match="'plain-subclass-test-only' adds"):
        cvxvolmin.fit(X, 2, formulation=_PlainSubclass())


def test_row_sum_check_is_relative_to_the_rows_size():
    # Rows of size 1e12 summing to e_r up to rounding are accepted ...
    rng = np.random.default_rng(0)
    Q = 1e12 * rng.standard_normal((3, 3))
    Q[-1] = np.array([0.0, 0.0, 1.0]) - Q[:-1].sum(axis=0)
    from cvxvolmin.engine import _check_row_sum

    _check_row_sum(Q, np.array([0.0, 0.0, 1.0]))
    # ... and a real gap is refused, before any LP.
    with pytest.raises(cvxvolmin.InvalidParameterError, match="row_sum"):
        _check_row_sum(Q + 1e4, np.array([0.0, 0.0, 1.0]))


def test_n_starts_below_one_is_refused():
    class NoStarts(ColumnSumVolMin):
        name = "no-starts-test-only"
        n_starts = 0

    X, _, _ = cvxvolmin.make_paper_data(3, n_samples=60, random_state=0)
    with pytest.raises(cvxvolmin.InvalidParameterError, match="n_starts=0"):
        cvxvolmin.fit(X, 3, formulation=NoStarts())
