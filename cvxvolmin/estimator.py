"""A scikit-learn estimator over :func:`cvxvolmin.fit`.

Naming: scikit-learn stores samples as **rows**, the paper as columns. With
``X_sk`` of shape (n_samples, n_features), this estimator fits the paper's
``X = X_sk.T = W @ H.T``; then

* ``transform(X_sk)`` and ``fit_transform`` return the abundances, the
  paper's ``H`` (n_samples x r);
* ``components_`` is the paper's ``W.T`` (r x n_features), so that
  ``X_sk ≈ H @ components_`` (scikit-learn's ``W @ H`` of ``NMF``, with its
  ``W`` being our ``H`` and its ``H`` our ``W.T``).
"""

from __future__ import annotations

import warnings

import numpy as np

try:
    from sklearn.base import BaseEstimator, TransformerMixin
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
    from sklearn.utils.validation import check_array, check_is_fitted, validate_data
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "cvxvolmin.estimator needs scikit-learn: pip install 'cvxvolmin[sklearn]'"
    ) from exc

from .exceptions import ConvergenceWarning
from .factorization import fit
from .reduction import numerical_rank


class VolMinNMF(TransformerMixin, BaseEstimator):
    """Identifiable factorization by volume minimization, scikit-learn style.

    Parameters
    ----------
    n_components : int or None, default None
        Number of factors r. None uses the numerical rank of X.
    formulation : str or Formulation, default "column-sum"
        The criterion (see :func:`cvxvolmin.available_formulations`).
    solver : str, default "HIGHS"
        cvxpy LP solver.
    max_iter : int, default 100
        Maximum number of sweeps.
    tol : float, default 1e-9
        Stopping tolerance on the gain of ``log|det Q|`` per sweep.
    random_state : None, int or numpy.random.Generator
        Seed of the initialization.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The paper's ``W.T``.
    n_components_ : int
        The number of factors used.
    n_iter_ : int
        Sweeps performed.
    result_ : cvxvolmin.FitResult
        The full result of the fit (``result_.H`` are the training abundances).
    n_features_in_ : int

    Examples
    --------
    >>> import cvxvolmin
    >>> from cvxvolmin.estimator import VolMinNMF
    >>> X, W, H = cvxvolmin.make_paper_data(5, case=3, random_state=0)
    >>> model = VolMinNMF(n_components=5, random_state=0)
    >>> abundances = model.fit_transform(X.T)  # rows are samples
    >>> bool(cvxvolmin.matched_mse(H, abundances) < 1e-20)
    True
    """

    def __init__(
        self,
        n_components=None,
        *,
        formulation="column-sum",
        solver="HIGHS",
        max_iter=100,
        tol=1e-9,
        random_state=None,
    ):
        self.n_components = n_components
        self.formulation = formulation
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = False  # W may have any sign
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags

    def fit_transform(self, X, y=None):
        """Fit to ``X`` (n_samples x n_features) and return its abundances.

        A fit that raises leaves the estimator unfitted: no attribute of an
        earlier fit (``components_``, ``n_features_in_``, ...) survives beside
        the new input's, so ``transform`` raises ``NotFittedError``.
        """
        self._forget_fit()
        try:
            return self._fit_transform(X)
        except BaseException:
            self._forget_fit()
            raise

    def _forget_fit(self):
        for name in [
            name for name in vars(self) if name.endswith("_") and not name.startswith("_")
        ]:
            delattr(self, name)

    def _fit_transform(self, X):
        X = validate_data(self, X, dtype=np.float64)  # sets n_features_in_ (reset=True)
        rank = self.n_components
        if rank is None:
            rank = max(numerical_rank(np.linalg.svd(X, compute_uv=False), X.shape), 1)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            result = fit(
                X.T,
                rank,
                formulation=self.formulation,
                solver=self.solver,
                max_iter=self.max_iter,
                tol=self.tol,
                random_state=self.random_state,
            )
        for w in caught:
            category = (
                SklearnConvergenceWarning
                if issubclass(w.category, ConvergenceWarning)
                else w.category
            )
            warnings.warn(str(w.message), category, stacklevel=3)
        self.result_ = result
        self.components_ = result.W.T
        self.n_components_ = result.W.shape[1]
        self.n_iter_ = result.n_iter
        return result.H

    def fit(self, X, y=None):
        """Fit to ``X`` (n_samples x n_features)."""
        self.fit_transform(X)
        return self

    def transform(self, X):
        """Abundances of new samples: the least-squares ``H`` with ``X ≈ H @ components_``.

        For samples of the fitted model this is exact; nothing forces the
        result to be nonnegative or sum to one for samples outside the model.
        """
        check_is_fitted(self)
        # reset=False: X must have the fitted number of features (and names),
        # else scikit-learn's ValueError; reset=True would refit n_features_in_.
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return np.linalg.lstsq(self.components_.T, X.T, rcond=None)[0].T

    def inverse_transform(self, X):
        """Samples from abundances: ``X @ components_``."""
        check_is_fitted(self)
        X = check_array(X, dtype=np.float64)
        if X.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {X.shape[1]} columns, but {type(self).__name__} has "
                f"n_components_ = {self.n_components_}: inverse_transform takes abundances"
            )
        return X @ self.components_
