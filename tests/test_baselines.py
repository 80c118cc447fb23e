"""Plain NMF baseline: recovery, the mixed-sign path, the optional scikit-learn."""

import sys
import warnings

import numpy as np
import pytest

import cvxvolmin
from cvxvolmin.baselines import BaselineResult, plain_nmf


@pytest.fixture(scope="module")
def case1():
    return cvxvolmin.make_paper_data(5, case=1, random_state=1)


@pytest.fixture(scope="module")
def case3():
    return cvxvolmin.make_paper_data(5, case=3, random_state=1)


def _objective(X, result):
    return 0.5 * np.linalg.norm(X - result.W @ result.H.T) ** 2


def test_recovers_case1_far_better_than_case3(case1, case3):
    X1, _, H1 = case1
    X3, _, H3 = case3
    r1 = plain_nmf(X1, 5, random_state=0)
    r3 = plain_nmf(X3, 5, random_state=0)
    mse1 = cvxvolmin.matched_mse(H1, r1.H)
    mse3 = cvxvolmin.matched_mse(H3, r3.H)
    assert r1.solver == "sklearn" and r1.converged
    # Both factors sparse: NMF is identifiable and the tight tolerance gets close.
    assert mse1 < 1e-6
    # Gaussian W: the nonnegative fit cannot represent X (measured MSE about 0.1
    # at r = 5 and 0.3 to 0.4 at r = 10; the paper reports 0.75 and 0.80).
    assert mse3 > 0.05
    assert mse3 > 1e4 * mse1


def test_mixed_sign_returns_nonnegative_factors_and_honest_fit_error(case3):
    X, _, _ = case3
    result = plain_nmf(X, 5, random_state=0)
    assert isinstance(result, BaselineResult)
    assert result.solver == "hals"
    assert result.W.shape == (200, 5) and result.H.shape == (200, 5)
    assert (result.W >= 0).all() and (result.H >= 0).all()
    expected = np.linalg.norm(X - result.W @ result.H.T) / np.linalg.norm(X)
    assert result.fit_error == pytest.approx(expected, rel=1e-12)
    assert result.fit_error > 0.3  # the negative half of X stays unexplained


def test_mixed_sign_objective_decreases_monotonically(case3):
    X, _, _ = case3
    with pytest.warns(cvxvolmin.ConvergenceWarning):  # tol=0: run the full budget
        result = plain_nmf(X, 5, random_state=3, max_iter=300, tol=0.0)
    history = np.array(result.objective_history)
    assert history.size == 300 and result.n_iter == 300
    assert np.all(np.diff(history) <= 1e-12 * history[:-1])
    assert history[-1] < 0.9 * history[0]
    assert history[-1] == pytest.approx(_objective(X, result), rel=1e-10)


def test_hals_and_sklearn_agree_on_nonnegative_data(case1):
    X, _, H = case1
    a = plain_nmf(X, 5, solver="sklearn", random_state=4)
    b = plain_nmf(X, 5, solver="hals", random_state=4)
    assert a.solver == "sklearn" and b.solver == "hals"
    assert cvxvolmin.matched_mse(H, a.H) < 1e-6
    assert cvxvolmin.matched_mse(H, b.H) < 1e-6
    assert a.fit_error < 1e-5 and b.fit_error < 1e-5


def test_orientation_samples_are_columns():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(30, 3)) @ rng.uniform(size=(3, 50))
    for solver in ("sklearn", "hals"):
        result = plain_nmf(X, 3, solver=solver, random_state=0)
        assert result.W.shape == (30, 3) and result.H.shape == (50, 3)
        assert result.fit_error < 1e-3


def test_deterministic_and_input_untouched(case3):
    X, _, _ = case3
    before = X.copy()
    a = plain_nmf(X, 5, random_state=7, max_iter=50, tol=1e-2)
    b = plain_nmf(X, 5, random_state=7, max_iter=50, tol=1e-2)
    np.testing.assert_array_equal(X, before)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.H, b.H)


def test_missing_sklearn_error_says_how_to_install(monkeypatch, case1, case3):
    for name in ("sklearn", "sklearn.decomposition", "sklearn.exceptions"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"pip install 'cvxvolmin\[sklearn\]'"):
        plain_nmf(case1[0], 5, random_state=0)
    # The own solver needs no scikit-learn.
    for X in (case1[0], case3[0]):
        assert plain_nmf(X, 5, solver="hals", random_state=0, tol=1e-2).solver == "hals"
    assert plain_nmf(case3[0], 5, random_state=0, tol=1e-2).solver == "hals"


def test_sklearn_solver_refuses_negative_data_without_clipping(case3):
    X, _, _ = case3
    with pytest.raises(ValueError, match=r"negative entries .* use solver='hals'"):
        plain_nmf(X, 5, solver="sklearn")


@pytest.mark.parametrize("solver", ["sklearn", "hals"])
def test_budget_exhausted_warns_ours_only(case1, solver):
    X, _, _ = case1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = plain_nmf(X, 5, solver=solver, max_iter=3, tol=1e-12, random_state=0)
    assert not result.converged and result.n_iter == 3
    assert [w.category for w in caught] == [cvxvolmin.ConvergenceWarning]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"solver": "mu"}, ValueError, "solver must be one of"),
        ({"rank": 300}, ValueError, "exceeds min"),
        ({"max_iter": 0}, ValueError, "max_iter must be a positive integer"),
        ({"tol": -1.0}, ValueError, "tol must be a finite nonnegative"),
        ({"random_state": "seed"}, TypeError, "random_state"),
    ],
)
def test_invalid_arguments(case1, kwargs, error, match):
    args = {"rank": 5, **kwargs}
    with pytest.raises(error, match=match):
        plain_nmf(case1[0], **args)


def test_all_zero_data_is_refused():
    with pytest.raises(ValueError, match="all zeros"):
        plain_nmf(np.zeros((5, 4)), 2)


def test_summary_is_json_ready(case1):
    import json

    summary = plain_nmf(case1[0], 5, random_state=0).summary()
    assert json.loads(json.dumps(summary))["method"] == "plain-nmf"
