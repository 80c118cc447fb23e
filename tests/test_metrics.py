"""cvxvolmin.metrics: the residual on dense and sparse X, and the matched MSE."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse

import cvxvolmin
from cvxvolmin.metrics import relative_residual


def _dense_residual(X, W, H):
    return np.linalg.norm(X - W @ H.T) / np.linalg.norm(X)


@pytest.mark.parametrize("scale", [1.0, 1e-3, 1e-7])
def test_sparse_residual_matches_the_dense_one(scale):
    rng = np.random.default_rng(0)
    W, H = rng.random((300, 4)), rng.random((200, 4))
    # A sparse X near W H.T: the residual ranges from large to tiny, where the
    # fast expansion would lose its digits and the blockwise sum must be used.
    noise = scipy.sparse.random(300, 200, density=0.05, random_state=1).toarray()
    dense = W @ H.T + scale * noise
    X = scipy.sparse.csr_matrix(dense)
    expected = _dense_residual(dense, W, H)
    assert relative_residual(X, W, H) == pytest.approx(expected, rel=1e-6)
    assert relative_residual(dense, W, H) == pytest.approx(expected, rel=1e-10)


def test_exact_sparse_factorization_has_zero_residual():
    rng = np.random.default_rng(2)
    W, H = rng.random((50, 3)), rng.random((40, 3))
    assert relative_residual(scipy.sparse.csc_matrix(W @ H.T), W, H) < 1e-15


def test_matched_mse_ignores_permutation_and_scaling():
    _, _, H = cvxvolmin.make_paper_data(4, case=2, random_state=0)
    permuted = 3.0 * H[:, [2, 0, 3, 1]]
    assert cvxvolmin.matched_mse(H, permuted) < 1e-25
    assert cvxvolmin.matched_mse(H, H[:, [0, 0, 1, 2]]) > 1e-2


@pytest.mark.parametrize("sparse", [False, True])
def test_relative_residual_is_scale_safe(sparse):
    # Squares of 1e300 overflow and of 1e-300 underflow: nan with three warnings,
    # and 0.0, before X and W were scaled by a power of two near max|X|.
    rng = np.random.default_rng(0)
    W, H = rng.standard_normal((300, 4)), rng.random((200, 4))
    noise = scipy.sparse.random(300, 200, density=0.05, random_state=1).toarray()
    for level in (1e-3, 1e-9, 0.0):
        X = W @ H.T + level * noise

        def residual(c, X=X):
            data = scipy.sparse.csr_matrix(X * c) if sparse else X * c
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                return relative_residual(data, W * c, H)

        reference = residual(1.0)
        if level == 0.0:
            assert reference <= 1e-15
        # Powers of two scale exactly, so the value is the same bit for bit.
        for c in (2.0**996, 2.0**-996):
            assert residual(c) == reference
        # Other factors round X and W once: the same to that rounding.
        for c in (1e300, 1e-300):
            if level == 0.0:
                assert residual(c) <= 1e-15
            else:
                assert residual(c) == pytest.approx(reference, rel=1e-16 / level * 100)


def test_residual_of_a_zero_matrix_is_the_norm_of_the_model():
    W, H = np.ones((3, 1)), np.ones((4, 1))
    assert relative_residual(np.zeros((3, 4)), W, H) == pytest.approx(np.sqrt(12.0))
    assert relative_residual(np.zeros((3, 4)), 0 * W, H) == 0.0
