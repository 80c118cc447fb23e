"""Row-sum VolMin (the classic minimum-volume enclosing simplex) through the engine."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import cvxvolmin
from cvxvolmin.declaration import build_joint_lp, build_row_lp
from cvxvolmin.engine import line_search
from cvxvolmin.formulations import RowSumVolMin, get_formulation
from cvxvolmin.reduction import affine_set_reduction


def simplex_data(rank: int, n_features: int = 60, n_samples: int = 150, seed: int = 0):
    """``X = W @ H.T`` with ``H 1 = 1``, H sparse (sufficiently scattered) and W Gaussian."""
    rng = np.random.default_rng(seed)
    H = rng.uniform(size=(n_samples, rank))
    H[rng.uniform(size=H.shape) < 0.35] = 0.0
    H[H.sum(axis=1) == 0, 0] = 1.0
    H /= H.sum(axis=1, keepdims=True)
    W = rng.standard_normal((n_features, rank))
    return W @ H.T, W, H


def test_is_registered_and_validates_its_options():
    assert isinstance(get_formulation("row-sum"), RowSumVolMin)
    assert RowSumVolMin().coupled and RowSumVolMin.column_separable  # H 1 = 1 per sample
    with pytest.raises(ValueError, match="normalize must be 'auto', 'l1' or None; got 'l2'"):
        RowSumVolMin(normalize="l2")
    with pytest.raises(ValueError, match="n_restarts must be a positive integer; got 0"):
        RowSumVolMin(n_restarts=0)


def test_affine_set_reduction_lifts_with_a_row_of_ones():
    X, _, _ = simplex_data(4)
    reduction = affine_set_reduction(X, 4)
    np.testing.assert_array_equal(reduction.Xt[-1], np.ones(X.shape[1]))
    np.testing.assert_allclose(reduction.basis @ reduction.Xt, X, atol=1e-12)


@pytest.mark.parametrize("rank", [3, 5])
def test_exact_on_data_that_satisfy_its_model(rank):
    # W of mixed sign, but H 1 = 1 already: the model holds without normalization.
    X, W, H = simplex_data(rank, seed=rank)
    X_before = X.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error", cvxvolmin.ModelMismatchWarning)
        warnings.simplefilter("error", cvxvolmin.NoisyColumnsWarning)
        result = cvxvolmin.fit(X, rank, formulation="row-sum", random_state=0)
    np.testing.assert_array_equal(X, X_before)
    assert cvxvolmin.matched_mse(H, result.H) <= 1e-15
    assert cvxvolmin.matched_mse(W, result.W) <= 1e-15
    assert result.H.min() >= -1e-9
    np.testing.assert_allclose(result.H.sum(axis=1), 1.0, atol=1e-9)
    assert result.fit_error <= 1e-10


@pytest.mark.parametrize("case", [1, 2])
def test_exact_on_the_paper_nonnegative_cases_after_l1_normalization(case):
    mses = []
    for seed in range(20):
        X, _, H = cvxvolmin.make_paper_data(5, case=case, random_state=seed)
        result = cvxvolmin.fit(X, 5, formulation="row-sum", random_state=seed)
        mses.append(cvxvolmin.matched_mse(H, result.H))
    mses = np.array(mses)
    assert (mses <= 1e-15).sum() >= 19, mses
    assert mses.max() <= 1e-8, mses


@pytest.mark.parametrize("case", [1, 2])
def test_exact_and_fast_at_rank_ten(case):
    # Moves of one or two rows stall here (log|det Q| 0.4 below the optimum
    # after 2,700 LPs on case 1, seed 0); joint steps need a few LPs per start.
    for seed in range(3):
        X, _, H = cvxvolmin.make_paper_data(10, case=case, random_state=seed)
        result = cvxvolmin.fit(X, 10, formulation="row-sum", random_state=seed)
        assert cvxvolmin.matched_mse(H, result.H) <= 1e-20
        assert result.converged
        assert result.n_restarts == 2  # the second start confirms the first
        assert result.n_lp_solves <= 60
        assert result.H.min() >= -1e-9


def test_line_search_finds_the_largest_determinant_on_the_segment():
    rng = np.random.default_rng(0)
    Q, D = rng.standard_normal((2, 6, 6))
    t = line_search(Q, D)
    grid = np.linspace(0.0, 1.0, 20001)
    dets = [abs(np.linalg.det(Q + s * D)) for s in grid]
    assert abs(np.linalg.det(Q + t * D)) >= max(dets) * (1 - 1e-9)
    assert line_search(Q, np.zeros_like(Q)) == 0.0  # no gain: no move


def test_joint_lp_holds_every_row_and_the_row_sum():
    X, _, _ = cvxvolmin.make_paper_data(4, case=2, random_state=0)
    form = RowSumVolMin()
    reduction = form.reduce(X, 4)
    with pytest.raises(ValueError, match="no row moves alone; use build_joint_lp"):
        build_row_lp(form, reduction, "HIGHS")
    lp = build_joint_lp(form, reduction, "HIGHS")
    Q = lp.maximize(np.random.default_rng(1).standard_normal(16)).reshape(4, 4)
    np.testing.assert_allclose(Q.sum(axis=0), np.eye(4)[-1], atol=1e-9)  # Xt's last row is ones
    assert (reduction.Xt.T @ Q.T).min() >= -1e-9


def test_l1_normalization_is_undone_and_rows_of_H_sum_to_the_column_norms():
    X, _, _ = cvxvolmin.make_paper_data(4, case=2, random_state=3)
    result = cvxvolmin.fit(X, 4, formulation=RowSumVolMin(normalize="l1"), random_state=0)
    np.testing.assert_allclose(result.H.sum(axis=1), np.abs(X).sum(axis=0), rtol=1e-9)
    np.testing.assert_allclose(result.W.sum(axis=0), 1.0, rtol=1e-9)  # W >= 0: l1 columns
    np.testing.assert_allclose(result.W @ result.H.T, X, atol=1e-10)


def test_zero_columns_get_zero_rows_of_H():
    X, _, H = cvxvolmin.make_paper_data(4, case=1, random_state=1)
    X[:, [5, 17]] = 0.0
    H[[5, 17]] = 0.0
    result = cvxvolmin.fit(X, 4, formulation="row-sum", random_state=0)
    np.testing.assert_array_equal(result.H[[5, 17]], 0.0)
    assert np.all(np.isfinite(result.H))
    assert cvxvolmin.matched_mse(H, result.H) <= 1e-15


# The mismatched model's optimum is not a vertex of the feasible set, where
# conditional-gradient steps creep: the budget may end first, and says so.
@pytest.mark.filterwarnings("ignore::cvxvolmin.ConvergenceWarning")
@pytest.mark.parametrize("normalize", ["auto", "l1", None])
def test_warns_and_fails_on_mixed_sign_data(normalize):
    X, _, H = cvxvolmin.make_paper_data(5, case=3, random_state=0)
    # "auto" normalizes mixed-sign data that lie on no affine set, as Table 2 does.
    applied = None if normalize is None else "l1"
    with pytest.warns(
        cvxvolmin.ModelMismatchWarning,
        match=r"X has negative entries .* so the row-sum model H 1 = 1 does not hold",
    ) as record:
        result = cvxvolmin.fit(
            X, 5, formulation=RowSumVolMin(normalize=normalize, n_restarts=2), random_state=0
        )
    [mismatch] = [w for w in record if w.category is cvxvolmin.ModelMismatchWarning]
    message = str(mismatch.message)
    assert message.startswith(
        "row-sum VolMin: X has negative entries (W of mixed sign?), and the columns of X "
        f"(normalize={applied!r}) do not lie on an affine set of dimension 4 (relative residual"
    )
    assert (
        "the returned H is expected to be wrong (l1 normalization fits the model only when "
        "W >= 0 or each row of W has one sign)." in message
    )
    assert message.endswith(
        "Column-sum VolMin (formulation='column-sum') needs no normalization."
    )  # the hint
    # The warning points at the caller's fit; mutmut's trampolines add stack
    # frames to the package they mutate, so the check runs on the real one only.
    if "mutants" not in Path(cvxvolmin.__file__).parts:
        assert mismatch.filename == __file__
    assert cvxvolmin.matched_mse(H, result.H) > 1e-3
    assert result.H.min() >= -1e-9  # its own constraints still hold


def test_nonnegative_data_off_the_affine_set_warn_without_blaming_signs():
    # W >= 0 and H >= 0 but rows of H not summing to one, fitted as given;
    # a zero column and entries below one are still not negative entries.
    X, _, _ = cvxvolmin.make_paper_data(4, case=1, random_state=0)
    X[:, 3] = 0.0
    assert X.min() == 0.0 and np.median(X) < 1.0
    with pytest.warns(cvxvolmin.ModelMismatchWarning) as record:
        RowSumVolMin(normalize=None).reduce(X, 4)
    [message] = [str(w.message) for w in record]
    assert message.startswith(
        "row-sum VolMin: after normalization, the columns of X (normalize=None) do not lie"
    )


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_the_mismatch_warning_depends_on_the_relative_residual_only(scale):
    # X of exact rank r, its columns off the affine set by a relative 1e-9
    # (below the 1e-8 floor: rounding) or 1e-7 (not rounding), at any scale.
    rng = np.random.default_rng(0)
    H = rng.uniform(size=(80, 4))
    H /= H.sum(axis=1, keepdims=True)
    W = rng.standard_normal((30, 4))
    wobble = rng.standard_normal(80)[:, None]
    form = RowSumVolMin(normalize=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", cvxvolmin.ModelMismatchWarning)
        form.reduce(scale * W @ (H * (1 + 1e-9 * wobble)).T, 4)
    with pytest.warns(cvxvolmin.ModelMismatchWarning, match=r"relative residual \d\.\d\de-08"):
        form.reduce(scale * W @ (H * (1 + 1e-7 * wobble)).T, 4)


def test_restarts_are_counted_and_the_best_start_is_kept():
    X, _, _ = cvxvolmin.make_paper_data(5, case=1, random_state=1)
    one = cvxvolmin.fit(X, 5, formulation=RowSumVolMin(n_restarts=1), random_state=7)
    many = cvxvolmin.fit(X, 5, formulation=RowSumVolMin(n_restarts=6), random_state=7)
    assert (one.n_restarts, len(one.start_logdets)) == (1, 1)
    assert 2 <= many.n_restarts == len(many.start_logdets) <= 6
    assert many.summary()["n_restarts"] == many.n_restarts
    # The first start draws the same Q0, so it is the single-start run.
    assert many.start_logdets[0] == one.start_logdets[0]
    assert many.logdet == max(many.start_logdets) >= one.logdet
    # Every start takes at least two steps (the stopping rule compares two).
    assert many.n_lp_solves >= one.n_lp_solves + 2 * (many.n_restarts - 1)
    # Starts stop early only when two of them agree on the best value.
    agree = np.isclose(many.start_logdets, many.logdet, rtol=0, atol=1e-6)
    assert many.n_restarts == 6 or agree.sum() == 2


def test_deterministic_with_random_state():
    X, _, _ = cvxvolmin.make_paper_data(4, case=2, random_state=5)
    a = cvxvolmin.fit(X, 4, formulation="row-sum", random_state=11)
    b = cvxvolmin.fit(X, 4, formulation="row-sum", random_state=11)
    np.testing.assert_array_equal(a.H, b.H)


def test_initial_Q_is_feasible_nonsingular_and_sums_to_e_r():
    X, _, _ = cvxvolmin.make_paper_data(5, case=1, random_state=2)
    form = RowSumVolMin()
    reduction = form.reduce(X, 5)
    Q0 = form.initial_Q(reduction, np.random.default_rng(0))
    np.testing.assert_allclose(Q0.sum(axis=0), np.eye(5)[-1], atol=1e-14)
    H0 = reduction.Xt.T @ Q0.T
    nonzero = np.any(X != 0, axis=0)
    assert H0[nonzero].min() > 0  # strictly feasible
    np.testing.assert_array_equal(H0[~nonzero], 0.0)  # zero columns stay zero
    assert abs(np.linalg.det(Q0)) > 0
    # Halfway from the centre (every abundance 1/r) to the boundary along its direction.
    centre = np.tile(np.eye(5)[-1] / 5, (5, 1))
    edge = reduction.Xt.T @ (centre + 2 * (Q0 - centre)).T
    assert edge[nonzero].min() == pytest.approx(0.0, abs=1e-12)


def test_engine_refuses_an_own_start_that_breaks_the_row_sum():
    class BadStart(RowSumVolMin):
        name = "bad-start-row-sum"

        def initial_Q(self, reduction, rng):
            return rng.standard_normal((reduction.rank, reduction.rank))

    X, _, _ = cvxvolmin.make_paper_data(3, case=1, random_state=0)
    with pytest.raises(ValueError, match=r"'bad-start-row-sum': initial_Q returned a start that"):
        cvxvolmin.fit(X, 3, formulation=BadStart(), random_state=0)


def test_rank_one_is_the_normalized_data():
    X = np.outer(np.arange(1.0, 6.0), np.arange(1.0, 9.0))
    result = cvxvolmin.fit(X, 1, formulation="row-sum", random_state=0)
    np.testing.assert_allclose(result.W @ result.H.T, X, rtol=1e-12)


def test_auto_normalization_is_table_2s_criterion_unless_the_data_fit_as_they_are():
    """ "auto": l1 on nonnegative data and on mixed-sign data off any affine set, as
    Table 2 fits them; None on mixed-sign data already on an affine set of dimension r - 1."""
    auto = RowSumVolMin()
    case_1, _, _ = cvxvolmin.make_paper_data(4, case=1, n_samples=60, random_state=0)
    case_3, _, _ = cvxvolmin.make_paper_data(4, case=3, n_samples=60, random_state=0)
    on_affine_set, _, _ = simplex_data(4)
    assert np.any(on_affine_set < 0) and np.any(case_3 < 0)
    assert auto.resolved_normalization(case_1, 4) == "l1"
    assert auto.resolved_normalization(case_3, 4) == "l1"
    assert auto.resolved_normalization(on_affine_set, 4) is None
    np.testing.assert_array_equal(auto.column_scale(case_3, 4), np.abs(case_3).sum(axis=0))
    assert auto.column_scale(on_affine_set, 4) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default = cvxvolmin.fit(case_3, 4, formulation="row-sum", random_state=0)
        table_2 = cvxvolmin.fit(case_3, 4, formulation=RowSumVolMin(normalize="l1"), random_state=0)
    np.testing.assert_array_equal(default.H, table_2.H)


def test_auto_normalization_is_l1_on_any_nonnegative_data_and_where_no_affine_set_fits():
    """Nonnegative data are l1-normalized even when zeros and entries below one lie on an
    affine set already; mixed-sign data whose affine set would pass through the origin
    (no affine set of dimension r - 1 off it) are normalized too."""
    auto = RowSumVolMin()
    X, W, H = simplex_data(4)
    W = 0.1 * np.abs(W)
    W[0] = 0.0  # a zero row of X, every entry below one
    nonnegative = W @ H.T
    assert nonnegative.min() == 0.0 and nonnegative.max() < 1.0
    assert RowSumVolMin(normalize=None).resolved_normalization(nonnegative, 4) is None
    assert auto.resolved_normalization(nonnegative, 4) == "l1"
    through_origin = np.hstack([X, -X])  # the columns' mean is zero
    with pytest.raises(cvxvolmin.InvalidParameterError, match="passes through the origin"):
        affine_set_reduction(through_origin, 4)
    assert auto.resolved_normalization(through_origin, 4) == "l1"
    np.testing.assert_array_equal(
        auto.column_scale(through_origin, 4), np.abs(through_origin).sum(axis=0)
    )
