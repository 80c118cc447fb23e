"""Bad input through the API: a clear error before any solver runs."""

from __future__ import annotations

import numpy as np
import pytest

import cvxvolmin
from cvxvolmin import fit


@pytest.fixture
def X():
    return cvxvolmin.make_paper_data(3, case=3, n_features=20, n_samples=30, random_state=0)[0]


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (None, TypeError, "X is None"),
        (np.array([[1, 2], [3, 4]], dtype=object), TypeError, "dtype object"),
        (np.ones((3, 3)) * 1j, TypeError, "complex"),
        (np.array([["a", "b"], ["c", "d"]]), TypeError, "non-numeric dtype"),
        (np.ones(5), ValueError, r"must be a 2-D array .*got shape \(5,\)"),
        (np.ones((2, 2, 2)), ValueError, "must be a 2-D array"),
        (np.ones((0, 4)), ValueError, "is empty"),
    ],
)
def test_malformed_X(data, error, message):
    with pytest.raises(error, match=message):
        fit(data, 1)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X(X, bad):
    X = X.copy()
    X[1, 2] = bad
    X[4, 5] = bad
    with pytest.raises(ValueError, match="X contains 2 NaN or infinite entries"):
        fit(X, 3)


def test_sparse_X_needs_a_formulation_that_accepts_it(X):
    import scipy.sparse

    with pytest.raises(TypeError, match=r"'row-sum' needs a dense X; pass X.toarray\(\)"):
        fit(scipy.sparse.csr_matrix(np.abs(X)), 3, formulation="row-sum")


def test_sparse_X_with_nan_is_refused(X):
    import scipy.sparse

    A = scipy.sparse.csr_matrix(X)
    A.data[3] = np.nan
    with pytest.raises(ValueError, match="X contains 1 NaN or infinite entries"):
        fit(A, 3)


@pytest.mark.parametrize(
    ("rank", "error", "message"),
    [
        (0, ValueError, "rank must be at least 1"),
        (21, ValueError, r"rank=21 exceeds min\(M, N\) = 20"),
        (2.5, TypeError, "rank must be a positive integer"),
        (True, TypeError, "rank must be a positive integer"),
        ("3", TypeError, "rank must be a positive integer"),
    ],
)
def test_bad_rank(X, rank, error, message):
    with pytest.raises(error, match=message):
        fit(X, rank)


def test_rank_above_the_numerical_rank_names_the_singular_values(X):
    with pytest.raises(ValueError, match=r"numerical rank 3, less than rank=4 \(leading singular"):
        fit(X, 4)


def test_zero_matrix_has_rank_zero():
    with pytest.raises(ValueError, match="X is numerically zero"):
        fit(np.zeros((4, 5)), 1)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"solver": "NOPE"}, ValueError, "solver 'NOPE' is not an installed cvxpy solver"),
        ({"formulation": "nope"}, ValueError, "unknown formulation 'nope'; available: "),
        ({"formulation": 3}, TypeError, "formulation must be a name"),
        ({"max_iter": 0}, ValueError, "max_iter must be a positive integer"),
        ({"tol": -1.0}, ValueError, "tol must be a finite nonnegative number"),
        ({"random_state": "seed"}, TypeError, "random_state must be None, an int"),
    ],
)
def test_bad_options(X, kwargs, error, message):
    with pytest.raises(error, match=message):
        fit(X, 3, **kwargs)


def test_bad_rho():
    with pytest.raises(ValueError, match="rho must be positive"):
        cvxvolmin.ColumnSumVolMin(rho=0.0)
