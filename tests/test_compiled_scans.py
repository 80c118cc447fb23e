"""The compiled scan: read on the working set's declaration, held to the full one."""

from __future__ import annotations

import cvxpy as cp
import numpy as np

import cvxvolmin
from cvxvolmin.working_set import Declaration, WorkingSetLP


def _reduced(n_samples: int = 600, rank: int = 4) -> np.ndarray:
    X, _, _ = cvxvolmin.make_paper_data(rank, case=3, n_samples=n_samples, random_state=0)
    return np.linalg.svd(X, full_matrices=False)[2][:rank] * np.sqrt(X.shape[1])


def _working(Xt: np.ndarray, weights: np.ndarray, columns: np.ndarray) -> WorkingSetLP:
    r, n = Xt.shape

    def declare(held):
        held = slice(None) if held is None else held
        q = cp.Variable(r)
        h = Xt[:, held].T @ q
        return Declaration(q, [cp.multiply(weights[held], h) >= 0, h <= 5.0], {})

    return WorkingSetLP(declare, n, columns, "HIGHS", data=Xt)


def test_a_constraint_that_differs_only_off_the_working_set_is_evaluated_through_cvxpy():
    Xt = _reduced()
    n = Xt.shape[1]
    columns = np.arange(0, n, 7)
    weights = np.ones(n)
    weights[1] = 3.0  # one column off the working set weighs its h differently
    working = _working(Xt, weights, columns)
    # Read on the working set alone, the first constraint is -h_n >= 0 for every
    # column; the check on the full declaration finds column 1 otherwise.
    assert [M is None for M in working.scan.matrices] == [True, False]
    q = 0.1 * np.random.default_rng(5).standard_normal(Xt.shape[0]) - Xt[:, 1]
    h = Xt.T @ q
    norms = np.linalg.norm(Xt, axis=0) * np.linalg.norm(q)
    size = weights * norms
    weighted = np.divide(np.maximum(-weights * h, 0.0), size, out=np.zeros(n), where=size > 0)
    expected = np.maximum(weighted, np.maximum(h - 5.0, 0.0) / (norms + 5.0))
    assert expected[1] > 0.0  # the column held differently is violated at q
    np.testing.assert_allclose(working.violations(q), expected, rtol=1e-9, atol=1e-15)


def test_the_same_constraints_compile_to_the_same_matrices_from_any_working_set():
    Xt = _reduced()
    n = Xt.shape[1]
    found = []
    for columns in (np.arange(0, n, 7), np.arange(n - 30, n), np.array([], dtype=int)):
        # An empty working set reads the full declaration along unit vectors.
        scan = _working(Xt, np.full(n, 2.0), columns).scan
        assert all(M is not None for M in scan.matrices)
        found.append(scan.matrices)
    for matrices in found[1:]:
        for M, first in zip(matrices, found[0], strict=True):
            np.testing.assert_allclose(M, first, rtol=1e-12)
    np.testing.assert_allclose(found[0][0], [[-2.0]], rtol=1e-12)  # -2 h_n <= 0
