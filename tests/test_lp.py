"""The row-LP layer: hot (persistent HiGHS) and plain (cvxpy solve) paths agree."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

import cvxvolmin
from cvxvolmin.lp import RowLP
from cvxvolmin.reduction import svd_reduction


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


def _relative_slack(Xt, q):
    """Per nonzero column, (Xt.T q)_n / (||Xt_n|| ||q||): scale-free feasibility."""
    norms = np.linalg.norm(Xt, axis=0)
    return (Xt.T @ q)[norms > 0] / (norms[norms > 0] * np.linalg.norm(q))


@pytest.mark.parametrize("span", [4, 8])
def test_rows_of_any_magnitude_are_held_to_relative_precision(span):
    # Columns of X with norms 10^U(-span, span): the column-sum LP's rows then
    # span 10^(2 span) in magnitude, and HiGHS's absolute tolerance let the small
    # columns' constraints go (relative slack -1e-5 at span 4, -0.04 at 8)
    # until each row was equilibrated by its largest coefficient.
    X, _, _ = cvxvolmin.make_paper_data(6, case=3, n_samples=120, random_state=4)
    scale = 10.0 ** np.random.default_rng(0).uniform(-span, span, size=X.shape[1])
    Xt = svd_reduction(X * scale, 6).Xt
    q = cp.Variable(6)
    lp = RowLP(q, [Xt.T @ q >= 0, cp.sum(Xt.T @ q) == Xt.shape[1]], "HIGHS")
    rng = np.random.default_rng(3)
    for _ in range(20):
        assert _relative_slack(Xt, lp.maximize(rng.standard_normal(6))).min() >= -1e-12


def test_equilibration_leaves_the_optimum_unchanged(Xt):
    # The same LP with a row multiplied by 1e6 (same polytope) has the same answer.
    r = Xt.shape[0]
    q = cp.Variable(r)
    rows = Xt.T * np.where(np.arange(Xt.shape[1]) % 2 == 0, 1e6, 1.0)[:, None]
    big = RowLP(q, [rows @ q >= 0, cp.sum(Xt.T @ q) == Xt.shape[1]], "HIGHS")
    plain = _column_sum_lp(Xt, hot=True)
    d = np.random.default_rng(5).standard_normal(r)
    np.testing.assert_allclose(big.maximize(d), plain.maximize(d), rtol=1e-9, atol=1e-9)
    assert big._persistent.row_scale.max() > 1e5  # the big rows were scaled


def test_inaccurate_answers_are_refused_on_the_plain_path(Xt, monkeypatch):
    lp = _column_sum_lp(Xt, hot=False)

    def inaccurate(**_):
        lp.q.value = np.ones(Xt.shape[0])
        lp.problem._status = cp.OPTIMAL_INACCURATE

    monkeypatch.setattr(lp.problem, "solve", inaccurate)
    with pytest.raises(cvxvolmin.SolverFailedError, match="only inaccurately"):
        lp.maximize(np.ones(Xt.shape[0]))


def test_a_solver_stopped_early_is_a_failure_on_the_hot_path(Xt):
    lp = _column_sum_lp(Xt, hot=True)
    d = np.random.default_rng(0).standard_normal(Xt.shape[0])
    lp.maximize(d)  # builds the persistent model
    lp._persistent.highs.setOptionValue("simplex_iteration_limit", 0)
    with pytest.raises(cvxvolmin.SolverFailedError, match="returned status"):
        lp.maximize(-d)  # another vertex: needs iterations


def test_the_infeasible_error_carries_the_callers_hint():
    Xt = np.hstack([np.eye(2), -np.eye(2)])
    q = cp.Variable(2)
    lp = RowLP(q, [Xt.T @ q >= 0, cp.sum(Xt.T @ q) == 4], "HIGHS", hint=" CHECK THE BOUND.")
    with pytest.raises(
        cvxvolmin.InfeasibleError, match=r"constraints\. CHECK THE BOUND\. Otherwise"
    ):
        lp.maximize(np.array([1.0, 0.0]))
