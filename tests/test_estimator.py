"""The scikit-learn estimator: scikit-learn's own checks, the criteria, the output scale."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

pytest.importorskip("sklearn")
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import cvxvolmin
from cvxvolmin.estimator import (
    OUTPUT_SCALES,
    ConvergenceWarning,
    RobustFallbackWarning,
    VolMinNMF,
)
from cvxvolmin.reduction import numerical_rank
from cvxvolmin.robust import add_noise

# Declared with their reasons in docs/howto/sklearn.rst: none is left. The
# checks' data are not of the model, so the estimator falls back to the
# robust fit. Plain NMF's start is singular both on the centered blobs of the
# transformer checks (W = 0: LinAlgError) and on the 15 Gaussian samples in
# 4 features of check_n_features_in_after_fitting (a dead factor: 537k inner
# iterations without converging); fit_robust now replaces such starts, and
# the latter converges (222 iterations, 19.7k inner, a few seconds).
EXPECTED_FAILURES: dict[str, str] = {}


def _declared(estimator) -> dict[str, str]:
    return EXPECTED_FAILURES


@parametrize_with_checks(
    [VolMinNMF(random_state=0), VolMinNMF(n_components=2, random_state=0)],
    expected_failed_checks=_declared,
    xfail_strict=True,
)
@pytest.mark.filterwarnings("ignore::cvxvolmin.estimator.RobustFallbackWarning")
def test_sklearn_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def paper():
    X, W, H = cvxvolmin.make_paper_data(5, case=3, random_state=0)
    return X.T, W, H  # scikit-learn orientation: rows are samples


@pytest.fixture(scope="module")
def small():
    """Exact data of rank 3: 80 samples, 20 features."""
    X, W, H = cvxvolmin.make_paper_data(3, case=3, n_features=20, n_samples=80, random_state=0)
    return X.T, W, H


@pytest.fixture(scope="module")
def noisy(small):
    """The small data with white noise at 30 dB."""
    return add_noise(small[0], 30.0, random_state=1)


def test_orientation_matches_the_paper(paper):
    X_sk, W, H = paper
    model = VolMinNMF(n_components=5, random_state=0)
    abundances = model.fit_transform(X_sk)
    assert model.criterion_ == "exact"
    assert cvxvolmin.matched_mse(H, abundances) <= 1e-20
    assert cvxvolmin.matched_mse(W, model.components_.T) <= 1e-20
    scale = np.abs(X_sk).max()
    np.testing.assert_allclose(model.inverse_transform(abundances), X_sk, atol=1e-12 * scale)
    assert model.n_iter_ == model.result_.n_iter and model.n_components_ == 5


def test_default_rank_is_the_numerical_rank(paper):
    X_sk, _, H = paper
    model = VolMinNMF(random_state=0).fit(X_sk)
    assert model.n_components_ == 5
    assert cvxvolmin.matched_mse(H, model.result_.H) <= 1e-20


@pytest.mark.parametrize("output_scale", OUTPUT_SCALES)
def test_output_scale_rescales_columns_and_keeps_the_reconstruction(small, output_scale):
    X, _, _ = small
    model = VolMinNMF(n_components=3, output_scale=output_scale, random_state=0)
    abundances = model.fit_transform(X)
    H, W = model.result_.H, model.result_.W
    # The same factorization, each column of H times s, each column of W over s.
    s = abundances.sum(axis=0) / H.sum(axis=0)
    np.testing.assert_allclose(abundances, H * s, rtol=1e-9, atol=1e-12 * np.abs(H * s).max())
    np.testing.assert_allclose(model.components_, (W / s).T, rtol=1e-9)
    expected = {
        "unit-max": (abundances.max(axis=0), 1.0),
        "unit-components": (np.linalg.norm(model.components_, axis=1), 1.0),
        "criterion": (abundances.sum(axis=0), 1.0),  # column-sum: H.T 1 = 1
    }[output_scale]
    np.testing.assert_allclose(expected[0], expected[1], rtol=1e-9)
    scale = np.abs(X).max()
    np.testing.assert_allclose(model.inverse_transform(abundances), X, atol=1e-12 * scale)
    np.testing.assert_allclose(
        model.inverse_transform(model.transform(X[:7])), X[:7], atol=1e-12 * scale
    )


def _classification_data():
    """X = W H^T with H sufficiently scattered; the label is the dominant component."""
    X, _, H = cvxvolmin.make_paper_data(4, case=3, n_features=30, n_samples=400, random_state=1)
    y = H.argmax(axis=1)
    return train_test_split(X.T, y, test_size=0.5, random_state=0, stratify=y)


def test_pipeline_to_logistic_regression_needs_no_scaler():
    X_train, X_test, y_train, y_test = _classification_data()
    majority = np.bincount(y_test).max() / y_test.size  # 0.28

    def accuracy(*steps):
        pipeline = make_pipeline(*steps, LogisticRegression()).fit(X_train, y_train)
        return pipeline.score(X_test, y_test)

    plain = accuracy(VolMinNMF(n_components=4, random_state=0))
    scaled = accuracy(VolMinNMF(n_components=4, random_state=0), StandardScaler())
    # Measured: 0.945 without a scaler, 0.95 with one; the criterion's own
    # scale (entries about 1/N) gives the majority class.
    assert plain >= 0.9 and plain >= scaled - 0.03
    assert plain >= majority + 0.5
    raw = accuracy(VolMinNMF(n_components=4, output_scale="criterion", random_state=0))
    assert raw <= majority + 0.05


@pytest.mark.parametrize("units", [1e-6, 1e6])
def test_unit_max_transform_does_not_depend_on_the_units(small, units):
    X, _, _ = small
    model = VolMinNMF(n_components=3, random_state=0)
    reference = model.fit_transform(X)
    rescaled = clone(model).fit_transform(units * X)
    assert cvxvolmin.matched_mse(reference, rescaled) <= 1e-24


def test_grid_search_needs_no_scorer(small):
    X, _, _ = small
    search = GridSearchCV(VolMinNMF(random_state=0), {"n_components": [2, 3]}, cv=3)
    with warnings.catch_warnings():
        # Rank 2 under-fits rank-3 data: the exact fit does not hold, robust runs.
        warnings.simplefilter("ignore", RobustFallbackWarning)
        search.fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    assert search.best_params_ == {"n_components": 3}
    # At the true rank the held-out samples are reconstructed to rounding.
    assert -scores[1] <= 1e-10 * np.linalg.norm(X) < -scores[0]
    assert search.best_estimator_.criterion_ == "exact"


def test_score_is_minus_the_reconstruction_error(small, noisy):
    X, _, _ = small
    model = VolMinNMF(n_components=3, criterion="robust", random_state=0).fit(noisy)
    residual = noisy - model.inverse_transform(model.transform(noisy))
    assert model.reconstruction_err_ == pytest.approx(np.linalg.norm(residual), rel=1e-12)
    assert model.score(noisy) == pytest.approx(-model.reconstruction_err_, rel=1e-12)
    other = add_noise(X, 30.0, random_state=2)[:10]
    held_out = other - model.inverse_transform(model.transform(other))
    assert model.score(other) == pytest.approx(-np.linalg.norm(held_out), rel=1e-12)
    assert model.score(other) < 0  # noise is never reconstructed


def test_feature_names_out(small):
    X, _, _ = small
    model = VolMinNMF(n_components=3, random_state=0)
    with pytest.raises(NotFittedError):
        model.get_feature_names_out()
    model.fit(X)
    names = ["volminnmf0", "volminnmf1", "volminnmf2"]
    assert list(model.get_feature_names_out()) == names
    pipeline = make_pipeline(StandardScaler(with_mean=False), clone(model)).fit(X)
    assert list(pipeline.get_feature_names_out()) == names


def test_feature_names_with_pandas(small):
    pd = pytest.importorskip("pandas")
    X, _, _ = small
    frame = pd.DataFrame(X, columns=[f"band{j}" for j in range(X.shape[1])])
    model = VolMinNMF(n_components=3, random_state=0).set_output(transform="pandas")
    out = model.fit_transform(frame)
    assert list(out.columns) == list(model.get_feature_names_out())
    assert list(model.feature_names_in_) == list(frame.columns)


def test_auto_stays_exact_on_exact_data(small):
    X, _, H = small
    with warnings.catch_warnings():
        warnings.simplefilter("error", RobustFallbackWarning)
        model = VolMinNMF(n_components=3, random_state=0).fit(X)
    assert model.criterion_ == "exact" and isinstance(model.result_, cvxvolmin.FitResult)
    assert cvxvolmin.matched_mse(H, model.result_.H) <= 1e-20


def test_auto_switches_to_robust_on_noisy_data_with_a_warning(small, noisy):
    _, _, H = small
    with pytest.warns(RobustFallbackWarning, match="relative residual") as record:
        model = VolMinNMF(n_components=3, random_state=0).fit(noisy)
    assert all(w.filename == __file__ for w in record)
    assert model.criterion_ == "robust"
    assert isinstance(model.result_, cvxvolmin.RobustFitResult)
    robust = cvxvolmin.fit_robust(noisy.T, 3, random_state=0)
    np.testing.assert_allclose(model.result_.H, robust.H, rtol=0, atol=1e-12)
    assert cvxvolmin.matched_mse(H, model.result_.H) <= 1e-3  # measured 2e-4 at 30 dB


def test_auto_switches_to_robust_when_the_exact_criterion_has_no_solution():
    # Gaussian points: their conic hull is the whole space, no exact factorization.
    outside = np.random.default_rng(0).standard_normal((40, 6))
    exact = VolMinNMF(n_components=3, criterion="exact", random_state=0)
    # The exact fit's own warning comes before its error, at the caller's line.
    with pytest.warns(cvxvolmin.NoisyColumnsWarning) as record:
        with pytest.raises(cvxvolmin.InfeasibleError):
            exact.fit(outside)
    assert record[0].filename == __file__
    with pytest.warns(RobustFallbackWarning, match="InfeasibleError") as record:
        model = VolMinNMF(n_components=3, random_state=0).fit(outside)
    assert record[0].filename == __file__ and model.criterion_ == "robust"
    assert "n_components=None" not in str(record[0].message)
    with pytest.warns(RobustFallbackWarning, match="numerical rank, here full: set it"):
        VolMinNMF(random_state=0).fit(outside[:, :3])


def test_auto_does_not_keep_an_exact_fit_that_flags_noisy_samples(small):
    # One sample of pure noise, 1e-12 of the data's size: the residual stays at
    # rounding (4e-13), but the exact criterion takes its direction as exact
    # (the exact fit's MSE is 0.17 on the other samples). The fallback is right,
    # and fit_robust's exact-data shortcut also refuses an exact fit that flags
    # noisy columns (tests/test_robust.py).
    X, _, _ = small
    X = X.copy()
    X[0] = np.random.default_rng(0).standard_normal(X.shape[1]) * 1e-12 * np.abs(X).max()
    with pytest.warns(RobustFallbackWarning, match="finds 1 samples far from") as record:
        model = VolMinNMF(n_components=3, random_state=0).fit(X)
    assert "relative residual" not in str(record[0].message)
    assert model.criterion_ == "robust"


def test_explicit_criteria_do_not_fall_back(small, noisy):
    X, _, H = small
    with warnings.catch_warnings():
        warnings.simplefilter("error", RobustFallbackWarning)
        warnings.simplefilter("ignore", cvxvolmin.NoisyColumnsWarning)
        exact = VolMinNMF(n_components=3, criterion="exact", random_state=0).fit(noisy)
        robust = VolMinNMF(n_components=3, criterion="robust", random_state=0).fit(X)
    assert exact.criterion_ == "exact" and exact.result_.fit_error > 1e-4
    # The robust fit returns exact data's exact fit as is.
    assert robust.criterion_ == "robust" and robust.result_.stop_reason == "exact"
    assert cvxvolmin.matched_mse(H, robust.result_.H) <= 1e-20


def test_warnings_point_at_the_callers_line(small, noisy):
    X, _, _ = small
    callers = {
        "fit": lambda model, data: model.fit(data),
        "fit_transform": lambda model, data: model.fit_transform(data),
        "pipeline": lambda model, data: make_pipeline(StandardScaler(with_mean=False), model).fit(
            data
        ),
    }
    for name, call in callers.items():
        with pytest.warns(RobustFallbackWarning) as record:
            call(VolMinNMF(n_components=3, random_state=0), noisy)
        assert [w.filename for w in record] == [__file__] * len(record), name
    with pytest.warns(ConvergenceWarning, match="max_iter=1") as record:
        make_pipeline(VolMinNMF(n_components=3, max_iter=1, random_state=0)).fit(X)
    assert [w.filename for w in record] == [__file__]


def test_convergence_warning_is_both_libraries(small):
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning

    for category in (SklearnConvergenceWarning, cvxvolmin.ConvergenceWarning):
        with pytest.warns(category, match="max_iter=1"):
            VolMinNMF(n_components=3, max_iter=1, random_state=0).fit(small[0])


@settings(max_examples=15, deadline=None)
@given(exponents=st.lists(st.floats(-8.0, 8.0), min_size=20, max_size=20))
@example(exponents=[8.0] + [-8.0] * 19)  # one feature 1e16 above the others
@example(exponents=[-8.0, 8.0, 8.0, 8.0] + [-8.0] * 16)
def test_abundances_do_not_depend_on_the_features_scales(small, exponents):
    # X diag(c) = H (W^T diag(c)): the exact criterion sees only the span of the
    # samples' coordinates, so H is the same and the components scale by c. In
    # floating point the scaled data's conditioning at rank 3 (kappa = s_1 / s_3,
    # up to 1e7 in these draws) amplifies rounding: over 200 draws the errors
    # were at most 6 eps kappa (rms of the unit-max abundances, of order one)
    # and 11 eps kappa (components, relative to their largest entry).
    X, _, _ = small
    c = 10.0 ** np.asarray(exponents)
    s = np.linalg.svd(X * c, compute_uv=False)
    model = VolMinNMF(n_components=3, random_state=0)
    try:
        abundances = model.fit_transform(X * c)
    except cvxvolmin.InvalidParameterError:
        # An honest refusal: features 1e16 below the largest are rounding to
        # the SVD, and fewer than 3 directions are left.
        assert numerical_rank(s, X.shape) < 3
        return
    bound = 100 * np.finfo(float).eps * s[0] / s[2]
    reference = VolMinNMF(n_components=3, random_state=0).fit(X)
    assert model.criterion_ == "exact"
    assert np.sqrt(cvxvolmin.matched_mse(reference.transform(X), abundances)) <= bound
    # The same components in the new units (up to their order), relative to
    # the largest entry: the features of small scale are resolved no better.
    order = np.argmax(reference.transform(X).T @ abundances, axis=0)
    expected = reference.components_[order] * c
    assert np.abs(model.components_ - expected).max() <= bound * np.abs(expected).max()


def test_pickle_and_clone_round_trips(small):
    X, _, H = small
    model = VolMinNMF(n_components=3, output_scale="unit-components", random_state=0).fit(X)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.transform(X), model.transform(X))
    assert restored.criterion_ == model.criterion_ and restored.score(X) == model.score(X)
    fresh = clone(model)
    assert fresh.get_params() == model.get_params() and not hasattr(fresh, "components_")
    np.testing.assert_array_equal(fresh.fit_transform(X), model.transform(X))  # deterministic
    pipeline = make_pipeline(FunctionTransformer(lambda Z: 2.0 * Z), clone(model))
    assert cvxvolmin.matched_mse(H, pipeline.fit_transform(X)) <= 1e-20


@pytest.fixture(scope="module")
def fitted(paper):
    return VolMinNMF(n_components=5, random_state=0).fit(paper[0])


@pytest.mark.parametrize("n_features", [199, 201])
def test_transform_refuses_another_number_of_features(fitted, paper, n_features):
    # scikit-learn's own check (validate_data with reset=False). With reset=True
    # n_features_in_ would follow X and lstsq would fail with another message.
    X_sk = paper[0]
    other = np.hstack([X_sk, X_sk[:, :1]])[:, :n_features]
    expected = rf"X has {n_features} features, but VolMinNMF is expecting 200 features"
    for method in (fitted.transform, fitted.score):
        with pytest.raises(ValueError, match=expected):
            method(other)
    assert fitted.n_features_in_ == 200  # not reset by the refused call
    np.testing.assert_array_equal(fitted.transform(X_sk), fitted.fit_transform(X_sk))


def test_fit_then_transform_equals_fit_transform(fitted, paper):
    X_sk = paper[0]
    direct = VolMinNMF(n_components=5, random_state=0).fit_transform(X_sk)
    np.testing.assert_array_equal(fitted.transform(X_sk), direct)  # the same map, bit for bit
    # ... and the fitted abundances themselves, to rounding, on exact data.
    H = fitted.result_.H / fitted.result_.H.max(axis=0)
    np.testing.assert_allclose(direct, H, rtol=0, atol=1e-10)
    assert fitted.n_features_in_ == X_sk.shape[1] and fitted.components_.shape == (5, 200)


def test_inverse_transform_checks_the_number_of_components(fitted):
    with pytest.raises(ValueError, match=r"X has 4 columns, but VolMinNMF has n_components_ = 5"):
        fitted.inverse_transform(np.ones((3, 4)))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"criterion": "fast"}, r"criterion must be one of 'auto', 'exact', 'robust'"),
        ({"output_scale": "max"}, r"output_scale must be one of 'unit-max'"),
        ({"lam": -1.0}, r"lam must be a finite nonnegative number"),
        ({"n_components": 0}, r"n_components must be None or a positive integer"),
        ({"n_components": 21}, r"n_components=21 exceeds .* n_features = 20"),
    ],
)
def test_invalid_parameters_are_refused_before_fitting(small, params, message):
    model = VolMinNMF(random_state=0, **params)
    with pytest.raises(cvxvolmin.InvalidParameterError, match=message):
        model.fit(small[0])
    assert not hasattr(model, "n_features_in_")


def test_failed_fit_leaves_the_estimator_unfitted(paper):
    model = VolMinNMF(n_components=5, criterion="exact", random_state=0).fit(paper[0])
    outside = np.random.default_rng(0).standard_normal((40, 6))
    with pytest.warns(cvxvolmin.NoisyColumnsWarning), pytest.raises(cvxvolmin.InfeasibleError):
        model.fit(outside)
    assert not hasattr(model, "n_features_in_") and not hasattr(model, "components_")
    with pytest.raises(NotFittedError):
        model.transform(paper[0])
