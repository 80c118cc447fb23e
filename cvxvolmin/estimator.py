"""A scikit-learn estimator over :func:`cvxvolmin.fit` and :func:`cvxvolmin.robust.fit_robust`.

Naming: scikit-learn stores samples as **rows**, the paper as columns. With
``X_sk`` of shape (n_samples, n_features), this estimator fits the paper's
``X = X_sk.T = W @ H.T``; then

* ``transform(X_sk)`` and ``fit_transform`` return the abundances, the
  paper's ``H`` (n_samples x r), rescaled per column (``output_scale``);
* ``components_`` is the paper's ``W.T`` (r x n_features), rescaled the
  other way, so that ``X_sk ≈ transform(X_sk) @ components_`` (scikit-learn's
  ``W @ H`` of ``NMF``, with its ``W`` being our ``H`` and its ``H`` our
  ``W.T``).
"""

from __future__ import annotations

import numbers
import os
import sys
import warnings

import numpy as np

try:
    import joblib
    import sklearn
    from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
    from sklearn.utils.validation import check_array, check_is_fitted, validate_data
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "cvxvolmin.estimator needs scikit-learn: pip install 'cvxvolmin[sklearn]'"
    ) from exc

from .exceptions import ConvergenceWarning as CoreConvergenceWarning
from .exceptions import (
    DegenerateError,
    InfeasibleError,
    InvalidParameterError,
    NoisyColumnsWarning,
)
from .factorization import fit
from .reduction import numerical_rank
from .robust import fit_robust
from .validation import check_nonnegative_float

__all__ = ["CRITERIA", "OUTPUT_SCALES", "ConvergenceWarning", "RobustFallbackWarning", "VolMinNMF"]

#: The criteria ``VolMinNMF(criterion=...)`` accepts.
CRITERIA = ("auto", "exact", "robust")
#: The scalings ``VolMinNMF(output_scale=...)`` accepts.
OUTPUT_SCALES = ("unit-max", "unit-components", "criterion")
# "auto" keeps the exact fit when its relative residual is at most this: X is
# then of the model to rounding (exact data fit to about 1e-15; white noise at
# 120 dB already leaves 1e-6). fit_robust returns exact data as is at the same level.
_EXACT_DATA = 1e-10
# Warnings are attributed to the first frame outside these packages: the
# user's line, past cvxvolmin, scikit-learn's wrappers (set_output, Pipeline,
# cross-validation) and joblib's sequential loop.
_LIBRARY_DIRS = tuple(
    os.path.dirname(path) + os.sep for path in (__file__, sklearn.__file__, joblib.__file__)
)

# What the exact fit's failures mean for the data, in a few words.
_NO_SOLUTION = {
    InfeasibleError: "no nonnegative abundances fit X exactly",
    DegenerateError: "the feasible set holds no invertible factor",
}


class RobustFallbackWarning(UserWarning):
    """``criterion="auto"`` fitted the robust criterion: X is not of the exact model.

    The message says why (no feasible point, a residual above rounding, or
    samples far from the rank-r subspace).
    """


class ConvergenceWarning(CoreConvergenceWarning, SklearnConvergenceWarning):
    """The fit used its budget; both libraries' ConvergenceWarning, so either filter catches it."""


def _warn_at_caller(message: str | Warning, category: type[Warning] | None = None) -> None:
    """Warn with the first frame outside the libraries as the warning's location."""
    level, frame = 1, sys._getframe()
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY_DIRS):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def _reemit(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        message = w.message
        if isinstance(message, CoreConvergenceWarning):
            message = ConvergenceWarning(str(message))
        _warn_at_caller(message)


def _check_choice(value, choices: tuple[str, ...], name: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InvalidParameterError(
            f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}."
        )
    return value


def _column_scales(W: np.ndarray, H: np.ndarray, output_scale: str) -> np.ndarray:
    """The factor ``s`` per component: the estimator reports ``H * s`` and ``W / s``."""
    if output_scale == "unit-max":
        size = np.max(np.abs(H), axis=0)
        return np.divide(1.0, size, out=np.ones_like(size), where=size > 0)
    if output_scale == "unit-components":
        return np.linalg.norm(W, axis=0)
    return np.ones(W.shape[1])


class VolMinNMF(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Identifiable factorization by volume minimization, scikit-learn style.

    Fits ``X ≈ transform(X) @ components_`` with nonnegative abundances and
    components of any sign: the exact column-sum VolMin criterion
    (:func:`cvxvolmin.fit`) when X is of the model, its volume-regularized,
    noise-robust version (:func:`cvxvolmin.robust.fit_robust`) otherwise.
    Unlike ``NMF`` it needs no sign on X; unlike ``NMF`` its answer is unique
    (up to the order of the components) whenever the abundances are
    sufficiently scattered.

    Parameters
    ----------
    n_components : int or None, default None
        Number of components r. None uses the numerical rank of X (the rank
        of exact data; of noisy data it is the full rank, so set r).
    criterion : {"auto", "exact", "robust"}, default "auto"
        ``"exact"``: :func:`cvxvolmin.fit`, which treats X as exact and raises
        :class:`cvxvolmin.InfeasibleError` (or ``DegenerateError``) when no
        factorization of rank r with nonnegative abundances exists.
        ``"robust"``: :func:`cvxvolmin.robust.fit_robust`, least squares plus
        a volume penalty, which always answers. ``"auto"``: the exact fit,
        kept when it exists, fits X to rounding (relative residual at most
        1e-10) and flags no sample as noise (no
        :class:`cvxvolmin.NoisyColumnsWarning`); otherwise the robust fit,
        with a :class:`RobustFallbackWarning` saying why. ``criterion_``
        says which ran.
    output_scale : {"unit-max", "unit-components", "criterion"}, default "unit-max"
        How the scale ambiguity ``H D, W D^{-1}`` is resolved in what the
        estimator returns. ``"unit-max"``: each column of the training
        abundances has largest entry 1, so the components carry the data's
        units (a component is the sample that is purest in it, when one is
        pure) and the transform is dimensionless, of order one whatever the
        units, the number of samples or the number of features of X: what a
        downstream model (a regularized classifier, a distance) needs without
        a scaler. ``"unit-components"``: each row of ``components_`` has unit
        Euclidean norm, so the transform carries the data's units.
        ``"criterion"``: H as the criterion returns it (column-sum: each
        column of the training abundances sums to one, so entries are about
        ``1/n_samples``). ``result_`` keeps the criterion's own factors.
    formulation : str or Formulation, default "column-sum"
        The criterion's constraints (see
        :func:`cvxvolmin.available_formulations`), for both fits.
    solver : str, default "HIGHS"
        The cvxpy LP solver of the exact fit (the robust fit's default H update
        needs none).
    lam : float or None, default None
        Weight of the volume term of the robust fit; None is
        :func:`~cvxvolmin.robust.fit_robust`'s scale-invariant default.
    max_iter : int or None, default None
        Iteration budget of the fit that runs; None is its own default (exact:
        100 sweeps, robust: 500 iterations).
    tol : float or None, default None
        Stopping tolerance of the fit that runs; None is its own default
        (exact: 1e-9 on ``log|det Q|``, robust: 1e-6 on the objective).
    random_state : None, int or numpy.random.Generator
        Seed of the initialization.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The paper's ``W.T``, in the scale ``output_scale`` chooses.
    n_components_ : int
        The number of components used.
    criterion_ : str
        The criterion that ran: ``"exact"`` or ``"robust"``.
    reconstruction_err_ : float
        ``||X - transform(X) @ components_||_F`` on the training data (the
        Frobenius norm, as ``NMF.reconstruction_err_``); ``score`` is its
        negative on any X.
    n_iter_ : int
        Iterations of the fit that ran (sweeps or robust iterations).
    result_ : cvxvolmin.FitResult or cvxvolmin.RobustFitResult
        The full result of the fit, in the criterion's own scale
        (``result_.H`` are the training abundances as fitted).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X has feature names (a pandas DataFrame).

    See Also
    --------
    cvxvolmin.fit, cvxvolmin.robust.fit_robust : The criteria, samples as columns.

    Notes
    -----
    ``transform`` is the least-squares solution of
    ``X ≈ transform(X) @ components_``, a linear map, and ``fit_transform``
    returns the same map of the training data, so that a downstream model is
    trained and applied on the same features. On data of the model it is the
    fitted abundances to rounding; under noise it differs from the robust
    fit's constrained ``result_.H`` by the noise.

    The abundances do not change when the features (columns of X) are
    rescaled by positive factors, or mixed by any invertible map: the
    exact criterion only sees the span of the samples' coordinates, and
    ``output_scale="unit-max"`` reads only H. ``"unit-components"`` and the
    robust criterion's least squares depend on the features' units.

    Some of scikit-learn's generic estimator checks fail, and are declared
    in :doc:`/howto/sklearn` with their reasons.

    Examples
    --------
    >>> import cvxvolmin
    >>> from cvxvolmin.estimator import VolMinNMF
    >>> X, W, H = cvxvolmin.make_paper_data(5, case=3, random_state=0)
    >>> model = VolMinNMF(n_components=5, random_state=0)
    >>> abundances = model.fit_transform(X.T)  # rows are samples
    >>> model.criterion_, bool(cvxvolmin.matched_mse(H, abundances) < 1e-20)
    ('exact', True)
    >>> abundances.max(axis=0).round(12)  # output_scale="unit-max"
    array([1., 1., 1., 1., 1.])
    >>> bool(model.score(X.T) >= -1e-10 * abs(X).max())  # minus the residual
    True
    >>> model.get_feature_names_out()[:2]
    array(['volminnmf0', 'volminnmf1'], dtype=object)
    """

    def __init__(
        self,
        n_components=None,
        *,
        criterion="auto",
        output_scale="unit-max",
        formulation="column-sum",
        solver="HIGHS",
        lam=None,
        max_iter=None,
        tol=None,
        random_state=None,
    ):
        self.n_components = n_components
        self.criterion = criterion
        self.output_scale = output_scale
        self.formulation = formulation
        self.solver = solver
        self.lam = lam
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = False  # W may have any sign
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags

    @property
    def _n_features_out(self) -> int:
        """For ``get_feature_names_out``: one output per component."""
        return self.n_components_

    def fit_transform(self, X, y=None):
        """Fit to ``X`` (n_samples x n_features) and return ``transform(X)``.

        A fit that raises leaves the estimator unfitted: no attribute of an
        earlier fit (``components_``, ``n_features_in_``, ...) survives beside
        the new input's, so ``transform`` raises ``NotFittedError``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Training data, any sign. Never modified.
        y : None
            Ignored.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            The abundances, ``transform(X)``.
        """
        self._forget_fit()
        try:
            X, caught = self._fit(X)
            _reemit(caught)
            return self._abundances(X)
        except BaseException:
            self._forget_fit()
            raise

    def fit(self, X, y=None):
        """Fit to ``X`` (n_samples x n_features); see :meth:`fit_transform`.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Training data, any sign. Never modified.
        y : None
            Ignored.

        Returns
        -------
        VolMinNMF
            The fitted estimator.
        """
        self.fit_transform(X)
        return self

    def _forget_fit(self):
        for name in [
            name for name in vars(self) if name.endswith("_") and not name.startswith("_")
        ]:
            delattr(self, name)

    def _fit(self, X) -> tuple[np.ndarray, list[warnings.WarningMessage]]:
        """Fit; return the validated X and the warnings to re-emit at the caller."""
        # Parameters first: nothing runs on an invalid one.
        criterion = _check_choice(self.criterion, CRITERIA, "criterion")
        output_scale = _check_choice(self.output_scale, OUTPUT_SCALES, "output_scale")
        if self.lam is not None:
            check_nonnegative_float(self.lam, "lam")
        X = validate_data(self, X, dtype=np.float64)  # sets n_features_in_ (reset=True)
        rank = self._rank(X)
        budget = {
            name: value
            for name, value in (("max_iter", self.max_iter), ("tol", self.tol))
            if value is not None
        }
        common = dict(formulation=self.formulation, random_state=self.random_state, **budget)
        result, reason = None, None
        if criterion != "robust":
            failure = None
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    result = fit(X.T, rank, solver=self.solver, **common)
                except (InfeasibleError, DegenerateError) as exc:
                    failure = exc
            if failure is not None:
                if criterion == "exact":
                    _reemit(caught)  # what the exact fit said before it failed
                    raise failure
                kind = type(failure)
                reason = f"has no solution ({kind.__name__}: {_NO_SOLUTION[kind]})"
            elif criterion == "auto":
                reason = self._not_exact(result, caught, rank)
        if reason is not None:
            hint = ""
            if self.n_components is None and rank == min(X.shape):
                # Noise gives X full numerical rank: a square W, rarely what was meant.
                hint = " n_components=None took the numerical rank, here full: set it."
            _warn_at_caller(
                f"X is not of the exact model at rank {rank}: the exact criterion {reason}. "
                "Fitted the robust criterion instead (criterion_ = 'robust'). Pass "
                "criterion='robust' to choose it without this warning, or "
                f"criterion='exact' for the exact criterion's own answer.{hint}",
                RobustFallbackWarning,
            )
        if criterion == "robust" or reason is not None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = fit_robust(X.T, rank, lam=self.lam, **common)
            self.criterion_ = "robust"
        else:
            self.criterion_ = "exact"
        scales = _column_scales(result.W, result.H, output_scale)
        self.result_ = result
        self.components_ = (result.W / scales).T
        self.n_components_ = result.W.shape[1]
        self.n_iter_ = result.n_iter
        self.reconstruction_err_ = self._residual(X)
        return X, caught

    def _rank(self, X: np.ndarray) -> int:
        """``n_components``, checked in scikit-learn's terms, or the numerical rank."""
        n_samples, n_features = X.shape
        rank = self.n_components
        if rank is None:
            return max(numerical_rank(np.linalg.svd(X, compute_uv=False), X.shape), 1)
        if isinstance(rank, bool) or not isinstance(rank, numbers.Integral) or rank < 1:
            raise InvalidParameterError(
                f"n_components must be None or a positive integer; got {rank!r}."
            )
        if rank > min(n_samples, n_features):
            raise InvalidParameterError(
                f"n_components={rank} exceeds min(n_samples, n_features) for X with "
                f"n_samples = {n_samples} and n_features = {n_features}; choose "
                f"n_components <= {min(n_samples, n_features)}."
            )
        return int(rank)

    @staticmethod
    def _not_exact(result, caught: list[warnings.WarningMessage], rank: int) -> str | None:
        """Why ``criterion="auto"`` does not keep the exact fit (None: it keeps it)."""
        reasons = []
        if not result.fit_error <= _EXACT_DATA:
            reasons.append(f"leaves a relative residual of {result.fit_error:.2g}")
        for w in caught:
            if isinstance(w.message, NoisyColumnsWarning):
                reasons.append(
                    f"finds {len(w.message.columns)} samples far from the rank-{rank} "
                    "subspace, whose directions it would take as exact (NoisyColumnsWarning)"
                )
                break
        return " and ".join(reasons) or None

    def _abundances(self, X: np.ndarray) -> np.ndarray:
        return np.linalg.lstsq(self.components_.T, X.T, rcond=None)[0].T

    def _residual(self, X: np.ndarray) -> float:
        return float(np.linalg.norm(X - self._abundances(X) @ self.components_))

    def transform(self, X):
        """Return the least-squares abundances ``H`` with ``X ≈ H @ components_``.

        For samples of the fitted model this is exact; nothing forces the
        result to be nonnegative for samples outside the model.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Samples with the fitted features.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            Their abundances, in the scale ``output_scale`` chose.
        """
        check_is_fitted(self)
        # reset=False: X must have the fitted number of features (and names),
        # else scikit-learn's ValueError; reset=True would refit n_features_in_.
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._abundances(X)

    def inverse_transform(self, X):
        """Return the samples of given abundances: ``X @ components_``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_components)
            Abundances in the scale of ``transform`` (``output_scale``).

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            The samples in the data's units.
        """
        check_is_fitted(self)
        X = check_array(X, dtype=np.float64)
        if X.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {X.shape[1]} columns, but {type(self).__name__} has "
                f"n_components_ = {self.n_components_}: inverse_transform takes abundances"
            )
        return X @ self.components_

    def score(self, X, y=None) -> float:
        """Return minus the reconstruction error ``||X - transform(X) @ components_||_F``.

        Higher is better, as scikit-learn's model selection expects;
        ``-score(X_train)`` is ``reconstruction_err_``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Samples with the fitted features.
        y : None
            Ignored.

        Returns
        -------
        float
            ``-||X - transform(X) @ components_||_F`` (at most zero).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return -self._residual(X)
