"""Plain NMF, the fitting-based baseline the volume criteria are compared with.

``min ||X - W @ H.T||_F^2  s.t.  W >= 0, H >= 0`` in the project's
orientation (X is M x N with samples as columns, W is M x r, H is N x r).
It needs structure on both factors to be identifiable, which is the point of
comparing it with column-sum VolMin.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .exceptions import ConvergenceWarning, InvalidParameterError
from .validation import (
    check_matrix,
    check_nonnegative_float,
    check_positive_int,
    check_random_state,
    check_rank,
)

_SOLVERS = ("auto", "sklearn", "hals")
_INSTALL_HINT = "pip install 'cvxvolmin[sklearn]'"


@dataclass(frozen=True)
class BaselineResult:
    """A fitted plain NMF ``X ≈ W @ H.T``.

    Shares its field names with :class:`cvxvolmin.FitResult` (``W``, ``H``,
    ``n_iter``, ``converged``, ``time_s``, ``fit_error``) so that results
    can be compared side by side; it has no ``Q`` or ``log|det Q|`` because
    plain NMF optimizes no volume.

    Attributes
    ----------
    W : ndarray of shape (M, r)
        Nonnegative mixing matrix.
    H : ndarray of shape (N, r)
        Nonnegative abundances; row n belongs to sample (column) n of X.
    n_iter : int
        Number of passes over all columns of both factors.
    converged : bool
        Whether the stopping rule was met before ``max_iter`` passes.
    time_s : float
        Wall-clock time of the fit.
    fit_error : float
        ``||X - W H.T||_F / ||X||_F``. Large on mixed-sign data, where a
        nonnegative product cannot represent the negative entries.
    solver : str
        ``"sklearn"`` or ``"hals"``: which solver ran.
    objective_history : tuple of float
        ``0.5 ||X - W H.T||_F^2`` after each pass (the ``"hals"`` solver
        only; scikit-learn does not expose it, so it is empty there).
    """

    W: np.ndarray
    H: np.ndarray
    n_iter: int
    converged: bool
    time_s: float
    fit_error: float
    solver: str
    objective_history: tuple[float, ...] = field(default=(), repr=False)

    @property
    def method(self) -> str:
        """Name of the method, as used by the experiments."""
        return "plain-nmf"

    def summary(self) -> dict:
        """The scalar diagnostics as a JSON-ready dict."""
        return {
            "method": self.method,
            "solver": self.solver,
            "rank": int(self.H.shape[1]),
            "n_iter": self.n_iter,
            "converged": self.converged,
            "fit_error": self.fit_error,
            "time_s": self.time_s,
        }


def plain_nmf(
    X,
    rank: int,
    *,
    solver: str = "auto",
    max_iter: int = 10_000,
    tol: float = 1e-6,
    random_state=None,
) -> BaselineResult:
    """Fit plain NMF, ``min ||X - W H.T||_F^2`` over ``W >= 0, H >= 0``.

    Parameters
    ----------
    X : array_like of shape (M, N)
        Data, samples as **columns**; any sign. Never modified, never clipped.
    rank : int
        Number of factors r.
    solver : {"auto", "sklearn", "hals"}, default "auto"
        ``"sklearn"``: scikit-learn's coordinate-descent NMF (nonnegative X
        only). ``"hals"``: this module's HALS solver, which accepts X of any
        sign. ``"auto"``: scikit-learn when X is nonnegative, HALS otherwise.
    max_iter : int, default 10000
        Maximum number of passes over the columns of both factors.
    tol : float, default 1e-6
        Stop when the l1 norm of the projected gradient falls to ``tol``
        times its value after the first pass (scikit-learn's rule for its
        coordinate-descent solver, applied by both solvers).
    random_state : None, int or numpy.random.Generator
        Seed of the random nonnegative start, shared by both solvers.

    Returns
    -------
    BaselineResult

    Raises
    ------
    ValueError
        On invalid input, or ``solver="sklearn"`` with negative entries in X.
    ImportError
        When scikit-learn is needed (``solver="sklearn"``, or ``"auto"`` on
        nonnegative X) and not installed.

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` passes end before the stopping rule is met.

    Notes
    -----
    **Orientation.** scikit-learn factors ``X_sk ≈ W_sk @ H_sk`` with samples
    as rows. Here samples are columns, so the call is made on
    ``X_sk = X.T`` (N x M) and ``W_sk`` (N x r) is this project's ``H``
    while ``H_sk`` (r x M, ``components_``) is ``W.T``.

    **Mixed-sign data.** scikit-learn refuses negative input, yet the
    objective is well defined for any X (the paper reports plain NMF on
    its Gaussian-W case). Rather than clip X, which would change the
    problem, X with negative entries goes to a HALS solver (hierarchical
    alternating least squares: exact minimization over one column of W or
    H at a time, projected on the nonnegative orthant; Cichocki and Phan,
    IEICE Trans. Fundamentals, 2009). Each column update solves its
    subproblem exactly, so the objective never increases; on nonnegative
    data it is the same coordinate-descent scheme scikit-learn runs.
    Expect a large ``fit_error`` there: the nonnegative product cannot
    represent the negative part of X.

    Both solvers start from the same random point, entries
    ``sqrt(mean|X| / r) * |N(0, 1)|`` (scikit-learn's ``init="random"``
    scale), so one ``random_state`` gives the same start for either.

    Examples
    --------
    >>> import cvxvolmin
    >>> from cvxvolmin.baselines import plain_nmf
    >>> X, W, H = cvxvolmin.make_paper_data(5, case=3, random_state=0)
    >>> result = plain_nmf(X, 5, random_state=0)
    >>> result.solver, bool((result.W >= 0).all() and (result.H >= 0).all())
    ('hals', True)
    """
    start = time.perf_counter()
    X = check_matrix(X)
    rank = check_rank(rank, X.shape)
    if solver not in _SOLVERS:
        raise InvalidParameterError(f"solver must be one of {_SOLVERS}; got {solver!r}.")
    max_iter = check_positive_int(max_iter, "max_iter")
    tol = check_nonnegative_float(tol, "tol")
    rng = check_random_state(random_state)
    if not np.any(X):
        raise InvalidParameterError("X is all zeros; there is nothing to factor.")
    n_negative = int((X < 0).sum())
    if solver == "sklearn" and n_negative:
        raise InvalidParameterError(
            f"X has {n_negative} negative entries (min {X.min():.3g}) and scikit-learn's "
            "NMF accepts only nonnegative data; use solver='hals' (or 'auto'), which "
            "minimizes the same objective for X of any sign."
        )
    if solver == "auto":
        solver = "hals" if n_negative else "sklearn"

    W0, H0 = _random_start(X, rank, rng)
    if solver == "sklearn":
        W, H, n_iter = _fit_sklearn(X, W0, H0, max_iter=max_iter, tol=tol)
        history: tuple[float, ...] = ()
    else:
        W, H, n_iter, history = _fit_hals(X, W0, H0, max_iter=max_iter, tol=tol)
    converged = n_iter < max_iter
    if not converged:
        warnings.warn(
            f"plain NMF ({solver}) stopped after max_iter={max_iter} passes before the "
            f"projected gradient fell to tol={tol:g} of its first value; increase max_iter "
            "or tol.",
            ConvergenceWarning,
            stacklevel=2,
        )
    fit_error = float(np.linalg.norm(X - W @ H.T) / np.linalg.norm(X))
    return BaselineResult(
        W=W,
        H=H,
        n_iter=n_iter,
        converged=converged,
        time_s=time.perf_counter() - start,
        fit_error=fit_error,
        solver=solver,
        objective_history=history,
    )


def _random_start(
    X: np.ndarray, rank: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    scale = np.sqrt(np.abs(X).mean() / rank)
    W0 = scale * np.abs(rng.standard_normal((X.shape[0], rank)))
    H0 = scale * np.abs(rng.standard_normal((X.shape[1], rank)))
    return W0, H0


def _fit_sklearn(
    X: np.ndarray, W0: np.ndarray, H0: np.ndarray, *, max_iter: int, tol: float
) -> tuple[np.ndarray, np.ndarray, int]:
    try:
        from sklearn.decomposition import NMF
        from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
    except ImportError as exc:
        raise ImportError(
            "plain NMF on nonnegative data uses scikit-learn, which is not installed; "
            f"install it with `{_INSTALL_HINT}` (or pass solver='hals')."
        ) from exc
    model = NMF(
        n_components=W0.shape[1],
        init="custom",
        solver="cd",
        beta_loss="frobenius",
        tol=tol,
        max_iter=max_iter,
        alpha_W=0.0,
        alpha_H=0.0,
        shuffle=False,
    )
    with warnings.catch_warnings():
        # Reported through `converged` and our own ConvergenceWarning instead.
        warnings.simplefilter("ignore", SklearnConvergenceWarning)
        # Samples are rows for scikit-learn: W_sk is our H, H_sk is our W.T.
        H = model.fit_transform(X.T, W=H0, H=np.ascontiguousarray(W0.T))
    return np.array(model.components_.T), np.asarray(H), int(model.n_iter_)


def _fit_hals(
    X: np.ndarray, W: np.ndarray, H: np.ndarray, *, max_iter: int, tol: float
) -> tuple[np.ndarray, np.ndarray, int, tuple[float, ...]]:
    """HALS for ``0.5 ||X - W H.T||^2``, X of any sign; W and H are updated in place."""
    sq_norm_X = float(np.vdot(X, X))
    history: list[float] = []
    violation_init = None
    n_iter = max_iter
    for it in range(1, max_iter + 1):
        violation = _update_columns(W, X @ H, H.T @ H)
        XtW = X.T @ W
        WtW = W.T @ W
        violation += _update_columns(H, XtW, WtW)
        # 0.5 ||X - W H.T||^2 expanded, reusing X.T @ W and W.T @ W (W is unchanged).
        objective = 0.5 * (sq_norm_X - 2.0 * np.vdot(XtW, H) + np.vdot(WtW, H.T @ H))
        history.append(float(objective))
        if violation_init is None:
            violation_init = violation
        if violation_init == 0.0 or violation / violation_init <= tol:
            n_iter = it
            break
    return W, H, n_iter, tuple(history)


def _update_columns(F: np.ndarray, XG: np.ndarray, GtG: np.ndarray) -> float:
    """One HALS pass over the columns of F for ``min 0.5 ||X - F G.T||^2``, F >= 0.

    ``XG = X @ G`` (or ``X.T @ G``) and ``GtG = G.T @ G`` for the fixed
    factor G. Returns the l1 norm of the projected gradient before the pass.
    """
    violation = 0.0
    for k in range(F.shape[1]):
        grad = F @ GtG[:, k] - XG[:, k]
        projected = np.where(F[:, k] > 0, grad, np.minimum(grad, 0.0))
        violation += float(np.abs(projected).sum())
        if GtG[k, k] > 0:  # a zero column of G leaves this column free; keep it
            F[:, k] = np.maximum(F[:, k] - grad / GtG[k, k], 0.0)
    return violation
