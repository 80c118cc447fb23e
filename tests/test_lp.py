"""The row-LP layer: hot (persistent HiGHS) and plain (cvxpy solve) paths agree."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

import cvxvolmin
from cvxvolmin.lp import RowLP


def _column_sum_lp(Xt, hot, solver="HIGHS"):
    q = cp.Variable(Xt.shape[0])
    h = Xt.T @ q
    return RowLP(q, [h >= 0, cp.sum(h) == Xt.shape[1]], solver, hot=hot)


@pytest.fixture(scope="module")
def data():
    X, _, H = cvxvolmin.make_paper_data(6, case=3, n_samples=120, random_state=4)
    Vt = np.linalg.svd(X, full_matrices=False)[2]
    return Vt[:6] * np.sqrt(X.shape[1]), H


@pytest.fixture(scope="module")
def Xt(data):
    return data[0]


def test_hot_and_plain_paths_find_the_same_optima(Xt):
    hot, plain = _column_sum_lp(Xt, True), _column_sum_lp(Xt, False)
    assert hot._persistent is not None and plain._persistent is None
    rng = np.random.default_rng(0)
    for _ in range(25):
        d = rng.standard_normal(Xt.shape[0])
        a, b = hot.maximize(d), plain.maximize(d)
        assert d @ a == pytest.approx(d @ b, rel=1e-9, abs=1e-9)
        # Both are feasible.
        for q in (a, b):
            assert (Xt.T @ q).min() >= -1e-9
            assert (Xt.T @ q).sum() == pytest.approx(Xt.shape[1])
    assert hot.n_solves == plain.n_solves == 25


def test_changed_parameters_reach_the_persistent_model(data):
    # A pair-style LP: q and b - q feasible, b a parameter changed between solves.
    Xt, H = data
    r = Xt.shape[0]
    lps = []
    for hot in (True, False):
        q, b = cp.Variable(r), cp.Parameter(r, name="b")
        constraints = [Xt.T @ q >= 0, Xt.T @ (b - q) >= 0]
        lps.append(RowLP(q, constraints, "HIGHS", parameters={"b": b}, hot=hot))
    rng = np.random.default_rng(1)
    # Any b with Xt.T b = H c >= 0 (c >= 0) makes the LP feasible and bounded.
    for _ in range(6):
        b_value = np.linalg.lstsq(Xt.T, H @ rng.uniform(0.1, 1.0, size=r), rcond=None)[0]
        d = rng.standard_normal(r)
        values = []
        for lp in lps:
            lp.set_parameters(b=b_value)
            q = lp.maximize(d)
            assert (Xt.T @ q).min() >= -1e-8 and (Xt.T @ (b_value - q)).min() >= -1e-8
            values.append(d @ q)
        assert values[0] == pytest.approx(values[1], rel=1e-8, abs=1e-8)


def test_infeasible_polytope_raises_on_both_paths():
    Xt = np.hstack([np.eye(2), -np.eye(2)])  # only q = 0 has Xt.T q >= 0
    for hot in (True, False):
        lp = _column_sum_lp(Xt, hot)
        with pytest.raises(cvxvolmin.InfeasibleError, match="infeasible"):
            lp.maximize(np.array([1.0, 0.0]))


def test_unbounded_polytope_is_a_solver_failure():
    q = cp.Variable(2)
    for hot in (True, False):
        lp = RowLP(q, [q >= 0], "HIGHS", hot=hot)
        with pytest.raises(cvxvolmin.SolverFailedError, match="unbounded"):
            lp.maximize(np.array([1.0, 1.0]))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda q: [cp.norm(q) <= 1], "nonlinear constraint"),
        (lambda q: [cp.SOC(q[0], q[1:])], "SOC constraint"),
    ],
)
def test_non_lp_constraints_are_refused(make, message):
    q = cp.Variable(3)
    with pytest.raises(TypeError, match=message):
        RowLP(q, make(q), "HIGHS")
