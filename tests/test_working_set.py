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
