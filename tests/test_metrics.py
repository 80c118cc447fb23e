"""cvxvolmin.metrics: the residual on dense and sparse X, and the matched MSE."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st

import cvxvolmin
from cvxvolmin.metrics import match_columns, matched_mse, relative_residual


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


def test_matched_mse_is_invariant_to_each_column_scaled_on_its_own():
    rng = np.random.default_rng(0)
    A = rng.uniform(size=(30, 4))
    assert matched_mse(A, A * np.array([1.0, 1e3, 1e-5, 7.0])) < 1e-25
    # ... and a real difference is seen in every matched column, not their sum
    perm, errors = match_columns(A, A[:, [2, 0, 3, 1]])
    assert list(perm) == [1, 3, 0, 2]
    assert errors.shape == (4,) and np.all(errors < 1e-25)


@pytest.mark.parametrize(
    ("A_true", "A_est", "message"),
    [
        (np.ones(3), np.ones(3), r"A_true must be 2-D; got shape \(3,\)"),
        (np.ones((3, 2)), np.ones((3, 2, 1)), r"A_est must be 2-D; got shape \(3, 2, 1\)"),
        (np.eye(3)[:, :2] * [1, 0], np.eye(3)[:, :2], "A_true has an all-zero column"),
        (np.eye(3)[:, :2], np.eye(3)[:, :2] * [0, 1], "A_est has an all-zero column"),
        (np.ones((3, 2)), np.ones((4, 2)), r"shapes differ: A_true \(3, 2\), A_est \(4, 2\)"),
    ],
)
def test_match_columns_refuses_bad_input(A_true, A_est, message):
    from cvxvolmin import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=message):
        match_columns(A_true, A_est)


def test_relative_residual_of_one_entry_and_by_small_blocks():
    assert relative_residual(np.array([[3.0]]), np.array([[3.0]]), np.array([[0.5]])) == 0.5
    rng = np.random.default_rng(1)
    W, H = rng.standard_normal((7, 3)), rng.uniform(size=(50, 3))
    X = W @ H.T + 0.01 * rng.standard_normal((7, 50))
    whole = relative_residual(X, W, H)
    exact = np.linalg.norm(X - W @ H.T) / np.linalg.norm(X)
    assert abs(whole - exact) <= 1e-14 * exact
    for block_entries in (1, 7, 64, 10**6):  # one column a block ... all at once
        assert abs(relative_residual(X, W, H, block_entries=block_entries) - whole) <= 1e-14 * whole


def test_sparse_residual_expansion_is_used_and_accurate_and_duplicates_are_summed(monkeypatch):
    import scipy.sparse

    rng = np.random.default_rng(2)
    W, H = rng.uniform(size=(40, 3)), rng.uniform(size=(60, 3))
    dense = W @ H.T
    for size in (0.3, 1e-3):  # the expansion answers at both (above its floor)
        noisy = dense + size * np.abs(dense).max() * rng.uniform(size=dense.shape)
        exact = np.linalg.norm(noisy - dense) / np.linalg.norm(noisy)
        X = scipy.sparse.csc_matrix(noisy)
        # the fast path never densifies X
        monkeypatch.setattr(scipy.sparse.csc_matrix, "toarray", _no_toarray, raising=False)
        got = relative_residual(X, W, H)
        monkeypatch.undo()
        assert abs(got - exact) <= 1e-6 * exact
    # a COO matrix with duplicate entries means their sum, as in the dense matrix
    rows, cols = np.nonzero(dense > -1)
    values = dense[rows, cols]
    twice = scipy.sparse.coo_matrix(
        (np.concatenate([values / 2, values / 2]), (np.tile(rows, 2), np.tile(cols, 2))),
        shape=dense.shape,
    )
    assert relative_residual(twice, W, H) <= 1e-14
    assert relative_residual(scipy.sparse.csc_matrix(dense.shape), W, H) == pytest.approx(
        np.linalg.norm(W @ H.T)
    )


def _no_toarray(self, *args, **kwargs):
    raise AssertionError("the expansion should have answered without densifying X")


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    log_scales=st.lists(st.floats(-8, 8), min_size=4, max_size=4),
    flips=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_signed_matching_ignores_permutation_sign_and_scale(seed, log_scales, flips):
    """signs=True: columns matched up to permutation and any nonzero scale, 1e-8 to 1e8."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((20, 4))
    order = rng.permutation(4)
    signs = np.where(flips, -1.0, 1.0)
    B = (A * signs * 10.0 ** np.array(log_scales))[:, order]
    perm, errors = match_columns(A, B, signs=True)
    np.testing.assert_array_equal(order[perm], np.arange(4))
    assert errors.max() < 1e-25
    # Unsigned matching sees every flipped column: a distance of 4 each, to rounding.
    if any(flips):
        assert matched_mse(A, B) > 1.0 / 4.0


def test_signed_matching_still_sees_a_wrong_direction():
    A = np.eye(3)
    B = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]]) + 0.1
    assert matched_mse(A, B, signs=True) > 1e-3
