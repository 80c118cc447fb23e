"""Constraint generation: LPs on working sets of columns give the full LP's optima."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

import cvxvolmin
from cvxvolmin.lp import RowLP
from cvxvolmin.working_set import Declaration, WorkingSetLP, initial_columns


def _column_sum_problem(n_samples, rank=6, seed=0, redundant=0):
    X, W, H = cvxvolmin.make_paper_data(rank, case=3, n_samples=n_samples, random_state=seed)
    if redundant:
        # Many columns deep inside the data cone: redundant, never active.
        rng = np.random.default_rng(seed)
        inner = H.mean(axis=0) + 0.05 * rng.uniform(size=(redundant, rank))
        X, H = np.hstack([X, W @ inner.T]), np.vstack([H, inner])
    return X, H


def _declare(Xt):
    totals = Xt.sum(axis=1)

    def declare(columns):
        q = cp.Variable(Xt.shape[0])
        h = (Xt if columns is None else Xt[:, columns]).T @ q
        return Declaration(q, [h >= 0, totals @ q == Xt.shape[1]], {})

    return declare


@pytest.mark.parametrize("redundant", [0, 3000])
def test_working_set_lp_matches_the_full_lp(redundant):
    X, _ = _column_sum_problem(1500, redundant=redundant)
    Xt = np.linalg.svd(X, full_matrices=False)[2][:6] * np.sqrt(X.shape[1])
    declare = _declare(Xt)
    full_declaration = declare(None)
    full = RowLP(full_declaration.q, full_declaration.constraints, "HIGHS")
    working = WorkingSetLP(declare, Xt.shape[1], initial_columns(Xt, 60), "HIGHS")
    rng = np.random.default_rng(1)
    for _ in range(20):
        d = rng.standard_normal(6)
        a, b = working.maximize(d), full.maximize(d)
        assert d @ a == pytest.approx(d @ b, rel=1e-9, abs=1e-9)
        assert (Xt.T @ a).min() >= -1e-8  # feasible for every column
    # The working set stays a small part of the columns.
    assert working.columns.size < Xt.shape[1] / 2
    assert working.n_solves == 20 and working.n_inner_solves >= 20


@pytest.mark.parametrize("formulation", ["column-sum", "row-sum"])
def test_fit_on_working_sets_equals_the_full_fit(formulation):
    case = 3 if formulation == "column-sum" else 1
    X, _, H = cvxvolmin.make_paper_data(5, case=case, n_samples=2500, random_state=2)
    fast = cvxvolmin.fit(X, 5, formulation=formulation, random_state=0, working_set=True)
    plain = cvxvolmin.fit(X, 5, formulation=formulation, random_state=0, working_set=False)
    assert cvxvolmin.matched_mse(plain.H, fast.H) <= 1e-18
    order, _ = cvxvolmin.match_columns(plain.H, fast.H)
    np.testing.assert_allclose(fast.H[:, order], plain.H, atol=1e-10 * np.abs(plain.H).max())
    assert cvxvolmin.matched_mse(H, fast.H) <= 1e-18


def test_non_separable_formulations_refuse_working_sets():
    class Smooth(cvxvolmin.ColumnSumVolMin):
        name = "smooth-test-only"
        column_separable = False

    X, _, _ = cvxvolmin.make_paper_data(3, n_samples=100, random_state=0)
    with pytest.raises(ValueError, match="does not declare column_separable = True"):
        cvxvolmin.fit(X, 3, formulation=Smooth(), working_set=True)


def test_a_sum_over_h_is_caught_on_working_sets():
    class SumsH(cvxvolmin.ColumnSumVolMin):
        name = "sums-h-test-only"

        def row_constraints(self, row, reduction):
            return [row.h >= 0, cp.sum(row.h) == row.unit]

    X, _, _ = cvxvolmin.make_paper_data(3, n_samples=300, random_state=0)
    with pytest.raises(TypeError, match=r"write sums over all columns with row.total"):
        cvxvolmin.fit(X, 3, formulation=SumsH(), working_set=True, random_state=0)


def _paper_Xt(n_samples=300, rank=5, seed=0):
    X, _, _ = cvxvolmin.make_paper_data(rank, case=3, n_samples=n_samples, random_state=seed)
    return np.linalg.svd(X, full_matrices=False)[2][:rank] * np.sqrt(X.shape[1])


def _declare_with(Xt, totals, rhs):
    def declare(columns):
        q = cp.Variable(Xt.shape[0])
        h = (Xt if columns is None else Xt[:, columns]).T @ q
        return Declaration(q, [h >= 0, totals @ q == rhs], {})

    return declare


def test_a_column_outside_the_cone_by_1e_6_is_added():
    Xt = _paper_Xt()
    r, n = Xt.shape
    totals = Xt.sum(axis=1)
    d = np.random.default_rng(2).standard_normal(r)
    full = _declare_with(Xt, totals, n)(None)
    q_star = RowLP(full.q, full.constraints, "HIGHS").maximize(d)
    # A new column just outside the facet of the data cone that q_star supports
    # (the sum of the columns active there): the optimum misses it by 1e-6 of
    # the size of its terms.
    h = Xt.T @ q_star
    v = Xt[:, np.abs(h) <= 1e-9 * np.abs(h).max()].sum(axis=1)
    v -= (v @ q_star) / (q_star @ q_star) * q_star
    v -= 1e-6 * np.linalg.norm(v) / np.linalg.norm(q_star) * q_star
    augmented = np.column_stack([Xt, v])
    declare = _declare_with(augmented, totals, n)
    working = WorkingSetLP(declare, n + 1, initial_columns(Xt, 40), "HIGHS")
    q = working.maximize(d)
    assert n in working.columns  # the nearly feasible column was taken in
    slack = (augmented.T @ q) / (np.linalg.norm(augmented, axis=0) * np.linalg.norm(q))
    assert slack.min() >= -1e-12
    reference = RowLP(*declare(None)[:2], "HIGHS").maximize(d)
    assert d @ q == pytest.approx(d @ reference, rel=1e-9)


@pytest.mark.parametrize("sense", ["==", "<="])
def test_the_box_is_widened_when_the_optimum_lies_beyond_it(sense):
    # Xt scaled down by 1e-8: the same polytope's rows of Q are 1e8 times longer,
    # beyond the box's start 1e4 sqrt(N). With "==" the LP in the box is
    # infeasible, with "<=" its optimum is on the box: both widen it until the
    # full LP's optimum is inside.
    Xt = 1e-8 * _paper_Xt()
    r, n = Xt.shape
    totals = Xt.sum(axis=1)

    def declare(columns):
        q = cp.Variable(r)
        h = (Xt if columns is None else Xt[:, columns]).T @ q
        return Declaration(
            q, [h >= 0, (totals @ q == n) if sense == "==" else (totals @ q <= n)], {}
        )

    working = WorkingSetLP(declare, n, initial_columns(Xt, 40), "HIGHS")
    start = working.bound.value
    # A direction inside cone(Xt): positive on every feasible q, so the optimum is
    # on the column sum, far from the origin.
    d = Xt.sum(axis=1) / np.linalg.norm(Xt.sum(axis=1))
    d += 0.1 * np.random.default_rng(4).standard_normal(r) / np.sqrt(r)
    q = working.maximize(d)
    assert working.bound.value > 10 * start
    assert np.abs(q).max() > start
    reference = RowLP(*declare(None)[:2], "HIGHS").maximize(d)
    np.testing.assert_allclose(q, reference, rtol=1e-8)


def test_an_unbounded_lp_is_refused_with_its_reason():
    Xt = _paper_Xt(n_samples=100)
    r, n = Xt.shape

    def declare(columns):  # h >= 0 alone: a cone, no column sum to bound it
        q = cp.Variable(r)
        return Declaration(q, [(Xt if columns is None else Xt[:, columns]).T @ q >= 0], {})

    working = WorkingSetLP(declare, n, initial_columns(Xt, 40), "HIGHS")
    inside = Xt @ np.ones(n)  # a direction into the cone: unbounded
    with pytest.raises(cvxvolmin.SolverFailedError, match="appears unbounded"):
        working.maximize(inside)


@pytest.mark.parametrize("factor", [1e7, 1e12])
def test_the_all_columns_check_is_relative_to_the_right_hand_side(factor):
    # The column sum written with a right-hand side of N * factor (N = 1e7 did
    # this): rounding leaves about 1e-16 of it, far above any absolute threshold.
    Xt = _paper_Xt(n_samples=600)
    r, n = Xt.shape
    declare = _declare_with(Xt, factor * Xt.sum(axis=1), factor * n)
    working = WorkingSetLP(declare, n, initial_columns(Xt, 40), "HIGHS")
    full = RowLP(*_declare_with(Xt, Xt.sum(axis=1), n)(None)[:2], "HIGHS")
    rng = np.random.default_rng(5)
    for _ in range(5):
        d = rng.standard_normal(r)
        assert d @ working.maximize(d) == pytest.approx(d @ full.maximize(d), rel=1e-9)


def test_violations_are_relative_to_each_columns_size():
    # A column of norm 1e-10 violated by 1e-6 of its size counts as violated; one
    # of norm 1e10 off by rounding (1e-16 of its size) does not.
    Xt = _paper_Xt(n_samples=100)
    r, n = Xt.shape
    totals = Xt.sum(axis=1)
    q = np.random.default_rng(6).standard_normal(r)
    q *= n / (totals @ q)  # meets the column sum
    unit = q / np.linalg.norm(q)
    across = np.linalg.svd(q[None, :])[2][1:3]  # two unit vectors orthogonal to q
    tiny = 1e-10 * (across[0] - 1e-6 * unit)  # h = -1e-6 of its terms, 1e-26 absolute
    big = 1e10 * across[1]  # h is rounding of 1e10-sized terms
    augmented = np.column_stack([Xt, tiny, big])
    working = WorkingSetLP(_declare_with(augmented, totals, n), n + 2, np.arange(n), "HIGHS")
    violation = working._violations(q)
    assert violation[n] == pytest.approx(1e-6, rel=1e-6)
    assert violation[n + 1] <= 1e-15


def test_columns_already_in_the_working_set_are_not_added_again(monkeypatch):
    # The LP solver holds its own constraints only to its tolerance; a column of
    # the working set violated within it was added again and again (a hang:
    # measured with the paper's data, r = 10, N = 5000, columns scaled by 1e+-4).
    Xt = _paper_Xt(n_samples=100)
    r, n = Xt.shape
    working = WorkingSetLP(_declare_with(Xt, Xt.sum(axis=1), n), n, np.arange(n), "HIGHS")
    d = np.random.default_rng(7).standard_normal(r)
    q = working.maximize(d)
    # The same answer, moved so that an active column misses by 1e-7 of its size.
    h = Xt.T @ q
    j = int(np.argmin(np.abs(h) / np.linalg.norm(Xt, axis=0)))
    nudged = q - 1e-7 * np.linalg.norm(q) * Xt[:, j] / np.linalg.norm(Xt[:, j])
    nudged *= n / (Xt.sum(axis=1) @ nudged)  # keep the column sum
    monkeypatch.setattr(working.lp, "maximize", lambda direction: nudged)

    def no_rebuild(columns):
        raise AssertionError("the working set was rebuilt with columns it already holds")

    monkeypatch.setattr(working, "_build", no_rebuild)
    assert working._violations(nudged)[j] > 1e-9  # violated beyond the tolerance ...
    np.testing.assert_array_equal(working.maximize(d), nudged)  # ... and accepted
