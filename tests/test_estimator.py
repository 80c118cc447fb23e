"""The scikit-learn estimator: scikit-learn's own checks and the paper's orientation."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

import cvxvolmin
from cvxvolmin.estimator import VolMinNMF

# scikit-learn's generic checks fit blobs and standardized data: point clouds
# whose conic hull is the whole space. No X = H W^T with H >= 0 exists for
# them at any rank, and the estimator says so (InfeasibleError) instead of
# returning a wrong factorization. These checks are run below on data of
# the model instead (pickling, pipelines, n_iter_, dtypes, read-only input).
_OUTSIDE_THE_MODEL = (
    "scikit-learn's test data is not of the form X = H W^T with H >= 0; the exact "
    "criterion reports it infeasible"
)
EXPECTED_FAILURES = {
    name: _OUTSIDE_THE_MODEL
    for name in (
        "check_estimators_overwrite_params",
        "check_estimators_fit_returns_self",
        "check_readonly_memmap_input",
        "check_n_features_in_after_fitting",
        "check_pipeline_consistency",
        "check_estimators_pickle",
        "check_transformer_data_not_an_array",
        "check_transformer_general",
        "check_transformer_preserve_dtypes",
        "check_transformer_n_iter",
    )
}


@parametrize_with_checks(
    [VolMinNMF(random_state=0)], expected_failed_checks=lambda est: EXPECTED_FAILURES
)
def test_sklearn_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def paper():
    X, W, H = cvxvolmin.make_paper_data(5, case=3, random_state=0)
    return X.T, W, H  # scikit-learn orientation: rows are samples


def test_orientation_matches_the_paper(paper):
    X_sk, W, H = paper
    model = VolMinNMF(n_components=5, random_state=0)
    abundances = model.fit_transform(X_sk)
    assert cvxvolmin.matched_mse(H, abundances) <= 1e-20
    assert cvxvolmin.matched_mse(W, model.components_.T) <= 1e-20
    np.testing.assert_allclose(model.inverse_transform(abundances), X_sk, atol=1e-10)
    np.testing.assert_allclose(model.transform(X_sk), abundances, atol=1e-10)
    assert model.n_iter_ == model.result_.n_iter and model.n_components_ == 5


def test_default_rank_is_the_numerical_rank(paper):
    X_sk, _, H = paper
    model = VolMinNMF(random_state=0).fit(X_sk)
    assert model.n_components_ == 5
    assert cvxvolmin.matched_mse(H, model.result_.H) <= 1e-20


def test_pickle_clone_and_pipeline(paper):
    X_sk, _, H = paper
    model = VolMinNMF(n_components=5, random_state=0).fit(X_sk)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.transform(X_sk), model.transform(X_sk))
    assert clone(model).get_params() == model.get_params()
    pipeline = make_pipeline(FunctionTransformer(lambda Z: 2.0 * Z), clone(model))
    assert cvxvolmin.matched_mse(H, pipeline.fit_transform(X_sk)) <= 1e-20


def test_budget_exhausted_gives_sklearn_convergence_warning(paper):
    from sklearn.exceptions import ConvergenceWarning

    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        VolMinNMF(n_components=5, max_iter=1, random_state=0).fit(paper[0])


@pytest.fixture(scope="module")
def fitted(paper):
    return VolMinNMF(n_components=5, random_state=0).fit(paper[0])


@pytest.mark.parametrize("n_features", [199, 201])
def test_transform_refuses_another_number_of_features(fitted, paper, n_features):
    # scikit-learn's own check (validate_data with reset=False). With reset=True
    # n_features_in_ would follow X and lstsq would fail with another message.
    X_sk = paper[0]
    other = np.hstack([X_sk, X_sk[:, :1]])[:, :n_features]
    with pytest.raises(
        ValueError, match=rf"X has {n_features} features, but VolMinNMF is expecting 200 features"
    ):
        fitted.transform(other)
    assert fitted.n_features_in_ == 200  # not reset by the refused call
    np.testing.assert_allclose(fitted.transform(X_sk), fitted.result_.H, rtol=0, atol=1e-10)


def test_fit_then_transform_equals_fit_transform(fitted, paper):
    X_sk = paper[0]
    direct = VolMinNMF(n_components=5, random_state=0).fit_transform(X_sk)
    scale = np.abs(direct).max()
    np.testing.assert_allclose(fitted.transform(X_sk), direct, rtol=0, atol=1e-10 * scale)
    np.testing.assert_array_equal(fitted.result_.H, direct)  # the same fit, bit for bit
    assert fitted.n_features_in_ == X_sk.shape[1] and fitted.components_.shape == (5, 200)


def test_inverse_transform_checks_the_number_of_components(fitted):
    with pytest.raises(ValueError, match=r"X has 4 columns, but VolMinNMF has n_components_ = 5"):
        fitted.inverse_transform(np.ones((3, 4)))


def test_failed_fit_leaves_the_estimator_unfitted(paper):
    from sklearn.exceptions import NotFittedError

    model = VolMinNMF(n_components=5, random_state=0).fit(paper[0])
    # Gaussian points: their conic hull is the whole space, no exact factorization.
    outside = np.random.default_rng(0).standard_normal((40, 6))
    with pytest.raises(cvxvolmin.InfeasibleError):
        model.fit(outside)
    assert not hasattr(model, "n_features_in_") and not hasattr(model, "components_")
    with pytest.raises(NotFittedError):
        model.transform(paper[0])
