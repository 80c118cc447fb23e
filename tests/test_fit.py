"""Column-sum VolMin end to end: exact recovery, invariances, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cvxvolmin
from cvxvolmin import fit, make_paper_data, match_columns, matched_mse


@pytest.mark.parametrize("rank", [5, 10])
@pytest.mark.parametrize("case", [1, 2, 3])
def test_exact_recovery_on_the_paper_cases(rank, case):
    # With exact LPs the criterion reaches about 1e-28; the paper reports 1e-17.
    for seed in range(10):
        X, _, H = make_paper_data(rank, case=case, random_state=seed)
        result = fit(X, rank, random_state=seed)
        assert result.converged
        assert matched_mse(H, result.H) <= 1e-20, (case, rank, seed)
        assert result.fit_error <= 1e-10
        assert np.linalg.norm(X - result.W @ result.H.T) <= 1e-10 * np.linalg.norm(X)
        assert np.max(np.abs(result.H.sum(axis=0) - 1.0)) <= 1e-10
        assert result.H.min() >= -1e-10


def test_result_fields_are_consistent(case3_r5):
    X, _, _ = case3_r5
    result = fit(X, 5, random_state=0)
    assert result.W.shape == (200, 5) and result.H.shape == (200, 5)
    assert result.Q.shape == (5, 5)
    assert result.n_iter == len(result.logdet_history) >= 2
    # Every sweep solves two LPs per row.
    assert result.n_lp_solves == 2 * 5 * result.n_iter
    assert result.logdet == result.logdet_history[-1]
    # The AO never decreases |det Q| once every row is feasible (after sweep 1).
    assert np.all(np.diff(result.logdet_history) >= -1e-9)
    assert result.time_s > 0
    assert result.min_H == pytest.approx(result.H.min())
    summary = result.summary()
    assert {"n_iter", "converged", "logdet", "fit_error", "time_s", "n_lp_solves"} <= set(summary)


def test_the_same_seed_gives_the_same_result(case3_r5):
    X, _, _ = case3_r5
    a = fit(X, 5, random_state=3)
    b = fit(X, 5, random_state=3)
    np.testing.assert_array_equal(a.H, b.H)
    np.testing.assert_array_equal(a.W, b.W)
    assert a.logdet_history == b.logdet_history


def test_the_users_array_is_not_modified(case3_r5):
    X, _, _ = case3_r5
    X_before = X.copy()
    X_view = X[:, :150]  # a non-contiguous view, too
    fit(X, 5, random_state=0)
    fit(X_view, 5, random_state=0)
    np.testing.assert_array_equal(X, X_before)


def test_a_generator_is_accepted_as_random_state(case3_r5):
    X, _, H = case3_r5
    result = fit(X, 5, random_state=np.random.default_rng(7))
    assert matched_mse(H, result.H) <= 1e-20


def test_ecos_agrees_with_highs():
    X, _, H = make_paper_data(5, case=3, random_state=1)
    highs = fit(X, 5, random_state=0)
    ecos = fit(X, 5, solver="ECOS", random_state=0)
    # Same optimum of the criterion: same |det Q| and the same H.
    assert ecos.logdet == pytest.approx(highs.logdet, abs=1e-6)
    assert matched_mse(highs.H, ecos.H) <= 1e-12
    assert matched_mse(H, ecos.H) <= 1e-12


def test_verbose_prints_one_line_per_sweep(case3_r5, capsys):
    X, _, _ = case3_r5
    result = fit(X, 5, random_state=0, verbose=True)
    err = capsys.readouterr().err
    assert err.count("log|det Q|") == result.n_iter


def test_max_iter_exhausted_warns():
    X, _, _ = make_paper_data(5, case=2, random_state=0)
    with pytest.warns(cvxvolmin.ConvergenceWarning, match="max_iter=1"):
        result = fit(X, 5, max_iter=1, random_state=0)
    assert not result.converged and result.n_iter == 1


def test_rank_one_is_the_trivial_factorization():
    rng = np.random.default_rng(0)
    w, h = rng.standard_normal(30), rng.uniform(size=40)
    result = fit(np.outer(w, h), 1, random_state=0)
    assert matched_mse(h[:, None], result.H) <= 1e-24
    assert result.H.sum() == pytest.approx(1.0)


def test_zero_columns_get_zero_rows_of_H():
    X, _, H = make_paper_data(5, case=3, random_state=2)
    X[:, [3, 50]] = 0.0
    H[[3, 50]] = 0.0
    result = fit(X, 5, random_state=0)
    assert np.all(result.H[[3, 50]] == 0.0)
    assert matched_mse(H, result.H) <= 1e-20


def test_noisy_columns_warn():
    X, _, _ = make_paper_data(5, case=3, random_state=0)
    rng = np.random.default_rng(1)
    X[:, 0] = rng.standard_normal(X.shape[0])  # a column of pure noise
    with pytest.warns(cvxvolmin.NoisyColumnsWarning, match="1 of 200 columns") as caught:
        try:
            fit(X, 5, random_state=0)
        except (cvxvolmin.InfeasibleError, cvxvolmin.DegenerateError):
            pass
    noisy = [w.message for w in caught if w.category is cvxvolmin.NoisyColumnsWarning]
    assert noisy[0].columns == (0,)  # the indices travel with the warning


def test_data_outside_the_model_is_reported_as_infeasible():
    # Columns spanning both directions of every axis: the data cone is all of
    # R^r, so no q makes H >= 0.
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((20, 3))
    coefficients = np.hstack([np.eye(3), -np.eye(3), rng.standard_normal((3, 10))])
    with pytest.raises(cvxvolmin.InfeasibleError, match="infeasible: no row of Q"):
        fit(basis @ coefficients, 3, random_state=0)


def test_a_half_space_data_cone_is_degenerate():
    # Columns e1, e2, -e2: the data cone is a half-plane, the feasible rows a
    # single ray, and no nonsingular Q exists.
    X = np.array([[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, -1.0, 0.5]])
    with pytest.raises(cvxvolmin.DegenerateError, match="no nonsingular Q"):
        fit(X, 2, random_state=0)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**16), rank=st.integers(2, 5), scale=st.floats(1e-3, 1e3))
def test_column_permutation_and_scaling(seed, rank, scale):
    X, _, H = make_paper_data(rank, case=3, n_features=40, n_samples=80, random_state=seed)
    base = fit(X, rank, random_state=0)
    perm = np.random.default_rng(seed).permutation(X.shape[1])

    permuted = fit(X[:, perm], rank, random_state=0)
    # Permuting the samples permutes the rows of H (its columns may be
    # reordered: the factorization is unique up to permutation).
    order, _ = match_columns(base.H[perm], permuted.H)
    np.testing.assert_allclose(permuted.H[:, order], base.H[perm], atol=1e-10)

    scaled = fit(scale * X, rank, random_state=0)
    order, _ = match_columns(base.H, scaled.H)
    np.testing.assert_allclose(scaled.H[:, order], base.H, atol=1e-10)
    np.testing.assert_allclose(scaled.W[:, order], scale * base.W, rtol=1e-8, atol=1e-10 * scale)
    assert matched_mse(H, base.H) <= 1e-18


def test_sparse_input_gives_the_dense_answer():
    import scipy.sparse

    X, _, H = make_paper_data(5, case=1, n_features=300, n_samples=400, random_state=3)
    sparse = scipy.sparse.csc_matrix(X)
    dense_fit = fit(X, 5, random_state=0)
    sparse_fit = fit(sparse, 5, random_state=0)
    assert matched_mse(H, sparse_fit.H) <= 1e-20
    assert matched_mse(dense_fit.H, sparse_fit.H) <= 1e-20
    assert sparse_fit.fit_error <= 1e-10


def test_large_dense_input_takes_the_gram_path():
    # M * N above the thin-SVD threshold: Gram matrix plus one refinement.
    X, _, H = make_paper_data(10, case=3, n_features=100, n_samples=12_000, random_state=5)
    result = fit(X, 10, random_state=0)
    assert matched_mse(H, result.H) <= 1e-18
    assert result.fit_error <= 1e-10


def test_a_rank_above_the_numerical_rank_is_refused_on_the_gram_path():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3)) @ rng.uniform(size=(3, 10_000))  # above the SVD size
    with pytest.raises(ValueError, match="numerical rank 3, less than rank=4"):
        fit(X, 4)


def test_the_fitted_H_can_be_checked_directly():
    X, _, H = make_paper_data(5, case=1, random_state=1)  # seed 1: not separable
    result = fit(X, 5, random_state=0)
    assert result.H.min() < 0  # rounding of exact zeros
    verdict = cvxvolmin.check_scattering(result.H).verdict
    assert verdict == cvxvolmin.check_scattering(H).verdict == "sufficiently_scattered"
    assert result.check_scattering().verdict == verdict


def test_callback_sees_every_sweep(case3_r5):
    X, _, _ = case3_r5
    seen = []
    result = fit(X, 5, random_state=0, callback=lambda step, logdet: seen.append((step, logdet)))
    assert [step for step, _ in seen] == list(range(1, result.n_iter + 1))
    assert tuple(logdet for _, logdet in seen) == result.logdet_history


@pytest.mark.parametrize("size", [1e-3, 1e-12, 1e-200])
def test_a_column_orthogonal_to_the_subspace_gets_a_zero_row_and_a_warning(size):
    """Its computed projection is rounding: taken as a direction it empties the
    feasible set (InfeasibleError, measured); as a zero column it changes nothing."""
    X, W, H = cvxvolmin.make_paper_data(5, case=3, random_state=0)
    basis, _ = np.linalg.qr(W)
    v = np.random.default_rng(1).standard_normal(X.shape[0])
    v -= basis @ (basis.T @ v)
    # small enough that range(W) stays the leading rank-5 subspace
    column = size * np.linalg.norm(X[:, 0]) * v / np.linalg.norm(v)
    with pytest.warns(cvxvolmin.NoisyColumnsWarning, match="1 of them lie in its orthogonal") as w:
        result = cvxvolmin.fit(np.column_stack([X, column]), 5, random_state=0)
    assert w[0].message.columns == (200,) and w[0].message.no_direction == (200,)
    assert np.all(result.H[-1] == 0.0)
    assert cvxvolmin.matched_mse(H, result.H[:-1]) <= 1e-18


def test_column_norms_are_accurate_for_every_column_at_any_magnitude():
    import scipy.sparse

    from cvxvolmin.reduction import column_norms

    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 8))
    expected = np.linalg.norm(X, axis=0)
    factors = np.array([1e-300, 1e300, 1.0, 0.0, 1e-160, 1e160, 2.0**-1070, 7.0])
    scaled = X * factors
    # no overflow or invalid value (underflow of negligible terms is harmless)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = column_norms(scaled)
        got_sparse = column_norms(scipy.sparse.csc_matrix(scaled))
    for norms in (got, got_sparse):
        assert norms[3] == 0.0
        keep = factors > 2.0**-1000  # the subnormal column keeps only a few digits
        assert np.allclose(norms[keep] / factors[keep], expected[keep], rtol=1e-14, atol=0)
        assert norms[6] > 0
