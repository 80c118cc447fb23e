"""One front door: fit and fit_robust check, normalize and warn through the same code."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse

import cvxvolmin
from cvxvolmin import ConvergenceWarning, InvalidParameterError, RowSumVolMin
from cvxvolmin.robust import add_noise, fit_robust

BAD_COMMON_INPUTS = [
    {"X": np.full((4, 4), np.nan)},
    {"X": np.ones((3, 3, 3))},
    {"X": np.array([["a", "b"], ["c", "d"]], dtype=object)},
    {"rank": 9},
    {"rank": 0},
    {"rank": 2.5},
    {"formulation": "no-such-criterion"},
    {"formulation": "bounded-abundance", "formulation_params": {"upper": 1e-6}},
    {"max_iter": 0},
    {"max_iter": "many"},
    {"tol": -1.0},
    {"random_state": "seed"},
    {"verbose": "yes"},
    {"callback": 3},
]


def _call(func, X, case):
    case = dict(case)
    params = case.pop("formulation_params", None)
    if params is not None:
        case["formulation"] = cvxvolmin.get_formulation(case["formulation"], **params)
    X = case.pop("X", X)
    rank = case.pop("rank", 2)
    with pytest.raises(InvalidParameterError) as caught:
        func(X, rank, **case)
    return caught.value


@pytest.mark.parametrize("case", BAD_COMMON_INPUTS, ids=lambda case: ",".join(case))
def test_fit_and_fit_robust_refuse_common_inputs_with_the_same_message(case, monkeypatch):
    """The common inputs go through one check: same exception type, same words."""
    from cvxvolmin import engine
    from cvxvolmin.robust import solver as robust_solver

    def no_solver(*args, **kwargs):
        raise AssertionError("a solver ran before the inputs were checked")

    monkeypatch.setattr(engine, "optimize", no_solver)
    monkeypatch.setattr(cvxvolmin.factorization, "optimize", no_solver)
    monkeypatch.setattr(robust_solver, "_starts", no_solver)
    X = np.arange(1.0, 37.0).reshape(6, 6)
    exact, robust = _call(cvxvolmin.fit, X, case), _call(fit_robust, X, case)
    assert type(exact) is type(robust)
    assert str(exact) == str(robust)


def test_sparse_X_is_refused_by_fit_robust_with_the_fix():
    X = scipy.sparse.random(6, 8, density=0.5, format="csr", random_state=0)
    with pytest.raises(InvalidParameterError, match=r"fit_robust needs a dense array.*toarray"):
        fit_robust(X, 2)


class _DoubleL1(RowSumVolMin):
    """Row-sum VolMin with the columns divided by twice their l1 norms."""

    name = "double-l1-row-sum"

    def column_scale(self, X, rank):
        return 2.0 * np.abs(X).sum(axis=0)


@pytest.mark.parametrize(
    "method", [cvxvolmin.fit, fit_robust, lambda X, r, **kw: fit_robust(X, r, lam=0.0, **kw)]
)
def test_both_fits_normalize_by_the_formulations_column_scale(method):
    """H comes back in X's units by the formulation's own column_scale.

    With H 1 = 1 for the normalized columns, the rows of H sum to the
    scale: twice the l1 norms for the subclass (a fit that hard-codes the
    l1 normalization would give the norms themselves).
    """
    X, _, _ = cvxvolmin.make_paper_data(3, case=1, n_samples=40, random_state=0)
    X = X * np.linspace(0.5, 4.0, X.shape[1])  # columns of unequal l1 norms
    noisy = add_noise(X, 60.0, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cvxvolmin.NoisyColumnsWarning)
        result = method(noisy, 3, formulation=_DoubleL1())
    np.testing.assert_allclose(result.H.sum(axis=1), 2.0 * np.abs(noisy).sum(axis=0), rtol=1e-9)


def test_exhausted_budgets_warn_alike_at_the_callers_line():
    X, _, _ = cvxvolmin.make_paper_data(3, case=3, n_samples=40, random_state=0)
    with pytest.warns(ConvergenceWarning) as exact:
        cvxvolmin.fit(X, 3, max_iter=1, random_state=0)
    with pytest.warns(ConvergenceWarning) as robust:
        fit_robust(add_noise(X, 20.0, random_state=1), 3, max_iter=1, random_state=0)
    for record, steps in ((exact, "steps"), (robust, "iterations")):
        message = str(record[0].message)
        assert f"stopped after max_iter=1 {steps}" in message
        assert message.endswith("increase max_iter or tol.")
        assert record[0].filename == __file__
