"""The row-LP layer: hot (persistent HiGHS) and plain (cvxpy solve) paths agree."""

from __future__ import annotations

import os
import re

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvxvolmin
import cvxvolmin.lp as lp_module
from cvxvolmin.lp import RowLP, independent_equalities
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
    models = []
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
        models.append(lps[0]._persistent.highs)
    # b enters only the right-hand side: one warm-started model, never rebuilt.
    assert all(model is models[0] for model in models)


def test_a_parameter_in_the_matrix_rebuilds_the_persistent_model(data):
    # Weights w multiply the variable (sum_n w_n h_n = N), so a new w changes the
    # compiled matrix: the hot path must rebuild its model, not keep the old rows.
    Xt = data[0]
    r, n = Xt.shape
    lps = []
    for hot in (True, False):
        q, w = cp.Variable(r), cp.Parameter(n, name="w")
        h = Xt.T @ q
        constraints = [h >= 0, cp.sum(cp.multiply(w, h)) == n]
        lps.append(RowLP(q, constraints, "HIGHS", parameters={"w": w}, hot=hot))
    rng = np.random.default_rng(2)
    models = []
    for _ in range(3):
        w_value = rng.uniform(0.5, 2.0, size=n)
        d = rng.standard_normal(r)
        for lp in lps:
            lp.set_parameters(w=w_value)
        a, b = (lp.maximize(d) for lp in lps)
        assert w_value @ (Xt.T @ a) == pytest.approx(n, rel=1e-9)
        assert d @ a == pytest.approx(d @ b, rel=1e-8, abs=1e-8)
        models.append(lps[0]._persistent.highs)
    assert models[0] is not models[1] and models[1] is not models[2]


# What the infeasibility error tells the user: the diagnosis, the criterion for
# column-sum VolMin, the usual cause, and the two remedies.
_INFEASIBLE_MESSAGE = [
    r"X is not exactly of the form X = W @ H\.T with such H at this rank",
    r"\(for column-sum VolMin: the cone of the data is the whole space\)",
    r"Noise does this \(the exact criterion treats",
    r"for noisy data use cvxvolmin\.robust\.fit_robust\(X, rank\)",
    r"otherwise try a smaller rank\.$",
]


def test_infeasible_polytope_raises_on_both_paths():
    Xt = np.hstack([np.eye(2), -np.eye(2)])  # only q = 0 has Xt.T q >= 0
    for hot in (True, False):
        lp = _column_sum_lp(Xt, hot)
        with pytest.raises(
            cvxvolmin.InfeasibleError, match=r"LP of the formulation is infeasible"
        ) as info:
            lp.maximize(np.array([1.0, 0.0]))
        message = str(info.value)
        # No hint from the caller: the diagnosis follows the first sentence.
        assert "constraints. X is not exactly" in message
        for part in _INFEASIBLE_MESSAGE:
            assert re.search(part, message), part


def test_unbounded_polytope_is_a_solver_failure():
    q = cp.Variable(2)
    for hot in (True, False):
        lp = RowLP(q, [q >= 0], "HIGHS", hot=hot)
        with pytest.raises(
            cvxvolmin.SolverFailedError,
            match=r"may be unbounded \(missing constraints\) or badly scaled\.$",
        ):
            lp.maximize(np.array([1.0, 1.0]))


_SQUARED = cp.Parameter(nonneg=True, value=2.0)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda q: [cp.norm(q) <= 1],
            r"nonlinear constraint .* row updates must be LPs, so every constraint "
            "must be affine in the row variable",
        ),
        (
            lambda q: [cp.SOC(q[0], q[1:])],
            r"SOC constraint \(constraint 1 of 1\); row updates must be LPs, so only linear "
            "equalities and inequalities in the row variable are allowed",
        ),
        (
            lambda q: [_SQUARED * _SQUARED * q[0] >= 0],  # affine in q, not DPP in p
            r"not DPP in their parameters; write them as affine expressions of each "
            r"cvxpy\.Parameter\.$",
        ),
    ],
)
def test_non_lp_constraints_are_refused(make, message):
    q = cp.Variable(3)
    with pytest.raises(TypeError, match=r"^The pair formulation declares .*" + message):
        RowLP(q, make(q), "HIGHS", parameters={"p": _SQUARED}, owner="The pair formulation")


_DATA = np.arange(30.0).reshape(10, 3) + 1e6  # stands for data no message may print


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda q: [_DATA @ q >= 0, _DATA @ q >= cp.Variable(10, name="z")],
            r"constraint 2 of 2 in a cvxpy variable of its own \('z'\), which the row "
            r"update does not optimize, so the constraint would bind nothing; write every "
            r"constraint in the row's handles only \(row\.q, row\.h, row\.total\)\.$",
        ),
        (
            lambda q: [_DATA @ q >= cp.Parameter(10, name="floor", value=np.zeros(10))],
            r"constraint 1 of 1 with a cvxpy parameter \('floor'\) that the solver never "
            r"sets; use its value as a constant \(a number or an array\) instead\.$",
        ),
        (lambda q: [cp.norm(_DATA @ q) <= 1], r"a nonlinear constraint \(constraint 1 of 1\)"),
    ],
)
def test_vacuous_constraints_are_refused_without_printing_data(make, message):
    """A variable of the constraint's own would make it vacuous (it is never optimized)."""
    q = cp.Variable(3)
    with pytest.raises(cvxvolmin.InvalidParameterError, match=r"^The variant declares " + message):
        RowLP(q, make(q), "HIGHS", owner="The variant")
    with pytest.raises(cvxvolmin.InvalidParameterError) as caught:
        RowLP(q, make(q), "HIGHS", owner="The variant")
    assert "1000000" not in str(caught.value) and "1e+06" not in str(caught.value)


def test_declared_parameters_and_the_row_variable_are_accepted():
    q, floor = cp.Variable(3), cp.Parameter(10, name="floor", value=np.zeros(10))
    constraints = [_DATA @ q >= floor, q >= 0, cp.sum(q) == 1]
    lp = RowLP(q, constraints, "HIGHS", parameters={"floor": floor})
    np.testing.assert_allclose(lp.maximize(np.array([1.0, 0.0, 0.0])), [1.0, 0.0, 0.0], atol=1e-12)


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
    with pytest.raises(cvxvolmin.SolverFailedError, match=r"only inaccurately; use solver='HIGHS'"):
        lp.maximize(np.ones(Xt.shape[0]))


def test_a_solver_stopped_early_is_a_failure_on_the_hot_path(Xt):
    lp = _column_sum_lp(Xt, hot=True)
    d = np.random.default_rng(0).standard_normal(Xt.shape[0])
    lp.maximize(d)  # builds the persistent model
    lp._persistent.highs.setOptionValue("simplex_iteration_limit", 0)
    with pytest.raises(
        cvxvolmin.SolverFailedError, match=r"returned status 'Iteration limit reached'"
    ):
        lp.maximize(-d)  # another vertex: needs iterations


def test_the_infeasible_error_carries_the_callers_hint():
    Xt = np.hstack([np.eye(2), -np.eye(2)])
    q = cp.Variable(2)
    lp = RowLP(q, [Xt.T @ q >= 0, cp.sum(Xt.T @ q) == 4], "HIGHS", hint=" CHECK THE BOUND.")
    with pytest.raises(
        cvxvolmin.InfeasibleError, match=r"constraints\. CHECK THE BOUND\. Otherwise"
    ):
        lp.maximize(np.array([1.0, 0.0]))


@pytest.mark.parametrize(
    ("status", "value"),
    [
        (cp.UNBOUNDED, np.ones(6)),  # a stale value from an earlier solve
        (cp.OPTIMAL, None),  # "optimal" without a point
    ],
)
def test_a_non_optimal_answer_is_a_failure_on_the_plain_path(Xt, monkeypatch, status, value):
    lp = _column_sum_lp(Xt, hot=False)

    def solve(**_):
        lp.q.value = value
        lp.problem._status = status

    monkeypatch.setattr(lp.problem, "solve", solve)
    with pytest.raises(cvxvolmin.SolverFailedError, match=f"returned status '{status}'"):
        lp.maximize(np.ones(Xt.shape[0]))


def test_a_solver_error_names_the_cause_and_other_solvers(Xt, monkeypatch):
    lp = _column_sum_lp(Xt, hot=False)

    def solve(**_):
        raise cp.error.SolverError("license expired")

    monkeypatch.setattr(lp.problem, "solve", solve)
    with pytest.raises(
        cvxvolmin.SolverFailedError,
        match=r"^solver HIGHS failed .*\(license expired\); "
        r"try another solver \(solver='HIGHS' or 'ECOS'\)\.$",
    ):
        lp.maximize(np.ones(Xt.shape[0]))


@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_a_compiled_objective_off_the_direction_is_refused(Xt, monkeypatch, scale):
    # The hot path trusts cvxpy to compile maximize d @ q as minimize -d @ x with
    # x = q exactly. A cost off by 1e-9 relative to d (at any scale of d) is not
    # that layout and must be refused; the exact one is accepted.
    d = scale * np.random.default_rng(6).standard_normal(Xt.shape[0])
    exact = _column_sum_lp(Xt, hot=True)
    np.testing.assert_allclose(
        exact.maximize(d), _column_sum_lp(Xt, hot=False).maximize(d), rtol=1e-9, atol=1e-9
    )
    lp = _column_sum_lp(Xt, hot=True)
    compile_ = lp._persistent._compile

    def compile_off():
        data = dict(compile_())
        cost = data[cp.settings.C].copy()
        cost[0] *= 1 + 1e-9  # column 0 is q[0]: cvxpy puts the objective's variable first
        data[cp.settings.C] = cost
        return data

    monkeypatch.setattr(lp._persistent, "_compile", compile_off)
    with pytest.raises(RuntimeError, match=r"^unexpected objective layout in cvxpy's compiled LP$"):
        lp.maximize(d)


def test_variable_bounds_reach_the_persistent_model():
    # cvxpy hands HiGHS a bounded variable's bounds as column bounds, not rows.
    q = cp.Variable(2, bounds=[-1.0, 2.0])
    hot = RowLP(q, [q[0] + q[1] <= 3.0], "HIGHS")
    for d, expected in [([1.0, 0.5], [2.0, 1.0]), ([-1.0, -1.0], [-1.0, -1.0])]:
        np.testing.assert_allclose(hot.maximize(np.array(d)), expected, atol=1e-12)


def test_the_hot_path_prints_nothing(Xt, capfd):
    # HiGHS logs each run to the process's stdout unless told not to; that
    # would corrupt machine-readable output (cvxvolmin fit --json).
    lp = _column_sum_lp(Xt, hot=True)
    rng = np.random.default_rng(7)
    for _ in range(3):
        lp.maximize(rng.standard_normal(Xt.shape[0]))
    assert capfd.readouterr().out == ""


class _LoudHighs:
    """Stands in for highspy.Highs: writes a banner to file descriptor 1, as HiGHS's
    native code does at the first Highs() of a process."""

    made = 0

    def __init__(self):
        type(self).made += 1
        os.write(1, b"HiGHS banner\n")


@pytest.fixture
def loud_highs(monkeypatch):
    import highspy

    monkeypatch.setattr(lp_module, "_highs_banner_silenced", False)
    monkeypatch.setattr(highspy, "Highs", _LoudHighs)
    monkeypatch.setattr(_LoudHighs, "made", 0)
    return _LoudHighs


def test_the_highs_banner_goes_to_devnull_once(loud_highs, capfd):
    lp_module._silence_highs_banner()
    lp_module._silence_highs_banner()
    os.write(1, b"after\n")  # stdout is restored afterwards
    assert capfd.readouterr() == ("after\n", "")
    assert loud_highs.made == 1


@pytest.mark.parametrize(("solver", "made"), [("HIGHS", 1), ("ECOS", 0)])
def test_only_a_highs_row_lp_silences_the_banner(loud_highs, capfd, solver, made):
    # Another solver must not need highspy at all.
    q = cp.Variable(2)
    RowLP(q, [q >= 0, cp.sum(q) == 1], solver)
    assert loud_highs.made == made
    assert capfd.readouterr().out == ""


def _dependent_rows(scale, seed, rows=40, rank=2, n=6):
    rng = np.random.default_rng(seed)
    B = scale * rng.standard_normal((rows, rank)) @ rng.standard_normal((rank, n))
    return B, rng.standard_normal(n)


@settings(max_examples=20, deadline=None)
@given(exponent=st.floats(-8.0, 8.0), seed=st.integers(0, 2**16))
def test_dependent_equalities_become_their_independent_rows(exponent, seed):
    """40 equalities of rank 2 (as H 1 = 1 on every sample): the same set, in 2 rows."""
    B, x0 = _dependent_rows(10.0**exponent, seed)
    q = cp.Variable(6)
    bound = q <= 10.0
    kept = independent_equalities(q, [B @ q == B @ x0, bound])
    assert kept[0].size == 2 and kept[1] is bound
    null = np.linalg.svd(B)[2][-1]  # B @ null = 0: a move within the set
    across = np.linalg.svd(B)[2][0]  # a move off it
    for point, inside in ((x0, True), (x0 + null, True), (x0 + 1e-3 * across, False)):
        q.value = point
        residual = np.abs(kept[0].expr.value).max()
        assert bool(residual <= 1e-9 * max(1.0, np.abs(point).max())) is inside


def test_inconsistent_or_parametrized_equalities_are_left_to_the_solver():
    B, x0 = _dependent_rows(1.0, 0)
    q = cp.Variable(6)
    off = B @ x0 + np.eye(40)[0]  # off the row space: no q meets all 40
    inconsistent = B @ q == off
    assert independent_equalities(q, [inconsistent])[0] is inconsistent
    with pytest.raises(cvxvolmin.InfeasibleError):
        RowLP(q, [inconsistent, q <= 5, q >= -5], "HIGHS").maximize(np.ones(6))
    p = cp.Parameter(40, value=B @ x0)
    parametrized = B @ q == p
    assert independent_equalities(q, [parametrized])[0] is parametrized


def test_an_lp_with_dependent_equalities_has_the_optimum_of_the_independent_one():
    B, x0 = _dependent_rows(1.0, 3)
    q = cp.Variable(6)
    box = [q <= 5, q >= -5]
    direction = np.random.default_rng(4).standard_normal(6)
    dependent = RowLP(q, [B @ q == B @ x0, *box], "HIGHS").maximize(direction)
    Vt = np.linalg.svd(B)[2]
    independent = RowLP(q, [Vt[:2] @ q == Vt[:2] @ x0, *box], "HIGHS").maximize(direction)
    np.testing.assert_allclose(dependent, independent, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(B @ dependent, B @ x0, rtol=1e-9, atol=1e-9)


def test_constraints_before_a_dependent_equality_do_not_stop_its_reduction():
    """Inequalities and one-row equalities are passed over, wherever they stand."""
    B, x0 = _dependent_rows(1.0, 5)
    q = cp.Variable(6)
    bound, total = q <= 10.0, cp.sum(q) == 1.0
    inconsistent = B @ q == B @ x0 + np.eye(40)[0]  # kept for the solver to refuse
    q.value = np.arange(6.0)  # the caller's value, restored after E and b are read
    kept = independent_equalities(q, [bound, total, inconsistent, B @ q == B @ x0])
    assert all(k is c for k, c in zip(kept[:3], [bound, total, inconsistent], strict=True))
    assert kept[3].size == 2
    np.testing.assert_array_equal(q.value, np.arange(6.0))


@pytest.mark.parametrize("n", [1, 6])
def test_equalities_of_rank_one_become_one_row(n):
    """40 multiples of one row (a scalar variable included): one row, the same set."""
    B, x0 = _dependent_rows(1.0, 7, rank=1, n=n)
    q = cp.Variable(n)
    (kept,) = independent_equalities(q, [B @ q == B @ x0])
    assert kept.size == 1
    q.value = x0
    assert np.abs(kept.expr.value).max() <= 1e-12 * max(1.0, np.abs(x0).max())


def test_dependent_equalities_over_a_matrix_variable_are_reduced_too():
    """The joint LP's variable is a matrix: its unit vectors are set in its own shape."""
    B, x0 = _dependent_rows(1.0, 6)
    Q = cp.Variable((2, 3))
    kept = independent_equalities(Q, [B @ cp.vec(Q, order="C") == B @ x0])
    assert kept[0].size == 2
    Q.value = (x0 + np.linalg.svd(B)[2][-1]).reshape(2, 3)  # a move within the set
    assert np.abs(kept[0].expr.value).max() <= 1e-9 * max(1.0, np.abs(x0).max())


def test_a_highs_option_that_highs_refuses_is_an_error_not_its_default():
    from cvxvolmin.lp import new_highs

    highs = new_highs(presolve="off", dual_feasibility_tolerance=1e-10)
    assert highs.getOptionValue("dual_feasibility_tolerance")[1] == 1e-10
    with pytest.raises(RuntimeError, match="dual_feasability_tolerance"):
        new_highs(dual_feasability_tolerance=1e-10)  # misspelled
    with pytest.raises(RuntimeError, match="presolve"):
        new_highs(presolve="sometimes")
