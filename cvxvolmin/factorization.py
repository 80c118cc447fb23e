"""The public entry point: ``fit`` and its result."""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from .data import dense_column_norms, is_dask, one_blas_thread, power_of_two_scale
from .engine import optimize
from .exceptions import InvalidParameterError, NoisyColumnsWarning
from .formulations import Formulation
from .inputs import check_fit_inputs, warn_not_converged
from .metrics import relative_residual
from .reduction import Reduction, offsubspace_fraction
from .validation import check_lp_solver

# A column with more than this fraction of its norm outside the rank-r
# subspace is mostly noise (about 6 degrees away from the subspace).
_NOISY_COLUMN = 0.1
# W within this (relative) of span(basis): rounding of basis @ inv(Q), far
# below any W that a recovery builds otherwise.
_IN_SPAN = 1e-10
# Columns per block of the fit error's r x N part.
_ERROR_BLOCK = 65_536


def _fit_error(
    X, W: np.ndarray, H: np.ndarray | Callable[[slice], np.ndarray], reduction: Reduction
) -> float:
    """``||X - W H.T||_F / ||X||_F``, from the reduction's residuals when it has them.

    H is an array, or a function that forms its rows ``H[block]`` on demand
    (so that no N x r H is formed in memory: dask data).

    With ``U`` the orthonormal columns of ``basis`` and W in their span,
    ``X - W H.T = (X - basis Xt) + U (diag(c) Xt - U.T W H.T)`` (c the norms
    of basis's columns), two parts orthogonal column by column: the first is
    ``reduction.residual_norms`` (measured as differences of vectors), the
    second an r x N difference. So no pass over X is needed, and the value
    is as accurate as a direct one. Otherwise (no residuals, normalized
    columns, W off the span): :func:`~cvxvolmin.metrics.relative_residual`.
    """
    rows = H.__getitem__ if isinstance(H, np.ndarray) else H
    residuals, norms = reduction.residual_norms, reduction.column_norms
    if residuals is None or norms is None or not np.all(reduction.column_scale == 1.0):
        return relative_residual(X, W, rows(slice(None)))
    c = dense_column_norms(reduction.basis)  # scale-safe: squares of 1e300 overflow
    U = reduction.basis / c
    unit_W = W / power_of_two_scale(float(np.abs(W).max(initial=0.0)))  # exact
    if np.linalg.norm(unit_W - U @ (U.T @ unit_W)) > _IN_SPAN * np.linalg.norm(unit_W):
        return relative_residual(X, W, rows(slice(None)))
    C = U.T @ W
    # Divided by a power of two (exact) so that no square overflows or underflows.
    scale = power_of_two_scale(float(norms.max(initial=0.0)))
    weights, C = (c / scale)[:, None], C / scale
    residual = float(np.sum((residuals / scale) ** 2))
    for start in range(0, reduction.n_samples, _ERROR_BLOCK):  # r x block temporaries only
        block = slice(start, start + _ERROR_BLOCK)
        inside = reduction.Xt[:, block] * weights
        inside -= C @ rows(block).T
        residual += float(np.einsum("ij,ij->", inside, inside))
    total = float(np.sum((norms / scale) ** 2))
    return float(np.sqrt(residual / total)) if total > 0 else float(np.sqrt(residual))


def _recover_on_chunks(form: Formulation, Q: np.ndarray, reduction: Reduction, X):
    """W in memory; H as a dask array chunked like X's columns, persisted (dask X).

    The formulation's own :meth:`~Formulation.recover` runs on the lazy
    ``reduction.Xt_chunks``, so H is formed where the projection was
    persisted (the workers of a ``distributed.Client``) and never gathered.
    ``fit_error`` is the numpy path's, from the in-memory ``reduction.Xt``
    and H's rows formed beside it block by block (the default recover's
    formula), never a whole N x r H in the client: the same value, and
    cheaper than a dask reduction over the persisted chunks, which took 6.1
    of a 41 s fit at N = 1e6 on a 2-worker LocalCluster (one profile). No
    pass over X.
    """
    import dask.array as da

    lazy_xt = reduction.Xt_chunks
    chunks = lazy_xt.chunks[1]
    if type(form).recover is not Formulation.recover:
        # A formulation's own recover may not take dask arrays: in memory, then chunked.
        W, H = form.recover(Q, reduction)
        return W, da.from_array(H, chunks=(chunks, H.shape[1])), _fit_error(X, W, H, reduction)
    scale = reduction.column_scale
    ones = np.all(scale == 1.0)
    lazy = replace(
        reduction,
        Xt=lazy_xt,
        # Ones are made on the workers; another scale travels in the graph.
        column_scale=(
            da.ones(scale.size, chunks=(chunks,))
            if ones
            else da.from_array(scale, chunks=(chunks,))
        ),
    )
    W, H = form.recover(Q, lazy)
    H = H.persist()
    unit, Xt = form.unit(reduction), reduction.Xt

    def rows(block: slice) -> np.ndarray:
        # Formulation.recover's H[block] (the same operations), from the in-memory Xt.
        return (Xt[:, block].T @ Q.T) * (scale[block, None] / unit)

    return W, H, _fit_error(X, W, rows, reduction)


class FactorizationResult:
    """What every fitted factorization ``X ≈ W @ H.T`` offers (exact or robust).

    Subclasses are dataclasses with the fields ``W``, ``H``, ``formulation``,
    ``n_iter``, ``converged``, ``time_s`` and ``fit_error``; this base adds
    the diagnostics computed from them, the stopping reason, the history of
    the objective and the check of the fitted H.
    """

    @property
    def stop_reason(self) -> str:
        """Why the iterations stopped: ``"converged"`` or ``"max_iter"``."""
        return "converged" if self.converged else "max_iter"

    @property
    def history(self) -> tuple[float, ...]:
        """The objective after each step (subclasses name it after their objective)."""
        raise NotImplementedError

    @property
    def min_H(self) -> float:
        """Smallest entry of H; ``-min_H`` is the worst violation of ``H >= 0``."""
        return float(self.H.min())

    @property
    def colsum_error(self) -> float:
        """``max |H.T 1 - rho|``, with rho the formulation's column sum (default 1)."""
        rho = getattr(self.formulation, "rho", 1.0)
        return float(np.max(np.abs(self.H.sum(axis=0) - rho)))

    def check_scattering(self, **options):
        """Check whether the fitted H is sufficiently scattered.

        Same as ``cvxvolmin.check_scattering(result.H, **options)``; the
        checker reads the rounding left in the LP's exact zeros as zeros.
        """
        from .scattering import check_scattering

        return check_scattering(self.H, **options)


@dataclass(frozen=True)
class FitResult(FactorizationResult):
    """A fitted factorization ``X ≈ W @ H.T``.

    Attributes
    ----------
    W : ndarray of shape (M, r)
        The mixing matrix (any sign).
    H : ndarray or dask array of shape (N, r)
        The abundances; row n belongs to sample (column) n of X. For a dask
        X, a dask array chunked like X's columns, persisted on the active
        scheduler (the workers of a ``distributed.Client``); ``H.compute()``
        or ``numpy.asarray(H)`` gathers it, ``H.to_zarr(...)`` writes it
        from where it lies (both before the client closes: its chunks go
        with it).
    Q : ndarray of shape (r, r)
        The inverse of the reduced mixing matrix, as optimized.
    logdet_history : tuple of float
        ``log|det Q|`` after each sweep of the kept start (in the reduced frame).
    n_iter : int
        Number of sweeps of the kept start.
    converged : bool
        Whether the kept start met the stopping rule within ``max_iter`` sweeps.
    n_lp_solves : int
        Number of LPs solved, over all starts.
    time_s : float
        Wall-clock time of the fit, reduction included.
    fit_error : float
        ``||X - W H.T||_F / ||X||_F``.
    formulation : Formulation
        The criterion that was fitted.
    n_restarts : int
        Number of starts run (1 unless the formulation restarts; at most
        ``Formulation.n_starts``, fewer when two starts agree on the best
        ``|det Q|`` early). The start with the largest ``|det Q|`` is kept.
    start_logdets : tuple of float
        Final ``log|det Q|`` of every start, in order; how many starts reach
        the kept value shows how much the restarts were needed.
    """

    W: np.ndarray
    H: np.ndarray
    Q: np.ndarray
    logdet_history: tuple[float, ...]
    n_iter: int
    converged: bool
    n_lp_solves: int
    time_s: float
    fit_error: float
    formulation: Formulation = field(repr=False)
    n_restarts: int = 1
    start_logdets: tuple[float, ...] = ()

    @property
    def logdet(self) -> float:
        """Final ``log|det Q|``, the objective the AO maximized."""
        return self.logdet_history[-1]

    @property
    def history(self) -> tuple[float, ...]:
        """``logdet_history``."""
        return self.logdet_history

    def summary(self) -> dict:
        """The scalar diagnostics as a JSON-ready dict."""
        return {
            "formulation": self.formulation.name,
            "rank": int(self.H.shape[1]),
            "n_iter": self.n_iter,
            "converged": self.converged,
            "logdet": self.logdet,
            "fit_error": self.fit_error,
            "time_s": self.time_s,
            "n_lp_solves": self.n_lp_solves,
            "n_restarts": self.n_restarts,
            "min_H": self.min_H,
            "colsum_error": self.colsum_error,
        }


def fit(
    X,
    rank: int,
    *,
    formulation: str | Formulation = "column-sum",
    solver: str = "HIGHS",
    max_iter: int = 100,
    tol: float = 1e-9,
    random_state=None,
    working_set: bool | None = None,
    verbose: bool = False,
    callback: Callable[[int, float], None] | None = None,
) -> FitResult:
    """Factor ``X ≈ W @ H.T`` by volume minimization.

    Parameters
    ----------
    X : array_like, scipy.sparse matrix or dask array of shape (M, N)
        Data, samples as **columns**; any sign. Never modified; float64 input
        is not copied by the column-sum path (row-sum normalizes a copy).
        Sparse input is reduced without densifying (column-sum criteria). A
        ``dask.array`` (the ``dask`` extra; column-sum criteria) is read
        chunk by chunk by dask's scheduler (a ``distributed.Client`` when
        one is active) in two passes: the Gram matrix with the finiteness
        check, then the projection with the column norms and residuals (two
        more for ill-conditioned or noisy data), and never after the LPs:
        ``fit_error`` comes from the projection's residuals (were W off
        the basis's span, it would cost one more pass). W and Q come back
        in memory, H as a dask array (see :class:`FitResult`). Large dense
        X is read twice (the Gram matrix, which is also the finiteness
        check, and the projection; two more for ill-conditioned or noisy
        data).
    rank : int
        Number of factors r; X must have numerical rank at least r.
    formulation : str or Formulation, default "column-sum"
        The criterion: a registered name (see
        :func:`cvxvolmin.available_formulations`) or an instance.
    solver : str, default "HIGHS"
        An installed cvxpy solver that solves LPs to a vertex or an
        interior-point optimum (one of ``cvxvolmin.validation.LP_SOLVERS``,
        e.g. "ECOS", "CLARABEL"); first-order solvers ("OSQP", "SCS") are
        refused, since their answers violate ``H >= 0`` beyond rounding.
    max_iter : int, default 100
        Maximum number of steps per start: sweeps over the rows of Q, or,
        for row-sum criteria, joint steps (one LP each).
    tol : float, default 1e-9
        Stop when a sweep raises ``log|det Q|`` by at most
        ``tol * max(1, |log|det Q||)``.
    random_state : None, int or numpy.random.Generator
        Seed of the (nonsingular, random) initialization, and of the further
        starts of formulations that restart.
    working_set : bool or None, default None
        Solve each LP on a working set of columns, adding violated ones until
        none is left (constraint generation: the same optima, much faster for
        large N). None: when N > 2000 and the formulation is
        ``column_separable``.
    verbose : bool, default False
        Print ``log|det Q|`` after each sweep to stderr.
    callback : callable, optional
        Called as ``callback(step, logdet)`` after every sweep (or joint
        step) of every start, e.g. to drive a progress bar.

    Returns
    -------
    FitResult

    Raises
    ------
    cvxvolmin.InvalidParameterError
        On invalid input or parameters (a ``ValueError`` and a ``TypeError``),
        including a rank above the numerical rank of X; raised before any
        solver runs.
    cvxvolmin.InfeasibleError, cvxvolmin.DegenerateError
        When no factorization of this rank meets the constraints.
    cvxvolmin.SolverFailedError
        When the LP solver stops without an optimal answer.

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` sweeps end before the stopping rule is met (for the
        kept start).
    NoisyColumnsWarning
        When some columns lie far from the rank-r subspace of X.
    ModelMismatchWarning
        When the data cannot satisfy the formulation's model (e.g. row-sum
        VolMin on mixed-sign data).

    Notes
    -----
    Column-sum VolMin recovers W and H up to permutation and scaling
    whenever H (with columns summing to one) is sufficiently scattered and
    W has full column rank, with no other assumption on W (Fu, Huang and
    Sidiropoulos, IEEE SPL 2018); the alternating optimization reaches that
    global optimum in practice (every one of the 300 Table 2 trials), which
    is measured, not proved. Row-sum VolMin (``formulation="row-sum"``, the
    classic minimum-volume enclosing simplex) needs every normalized column
    of X to be a convex combination of the columns of W; the l1
    normalization achieves that only when ``||W h||_1`` is linear in
    ``h >= 0`` (W >= 0, or each row of W of one sign), so it fails when
    rows of W have entries of both signs.

    Examples
    --------
    >>> import cvxvolmin
    >>> X, W, H = cvxvolmin.make_paper_data(5, case=3, random_state=0)
    >>> result = cvxvolmin.fit(X, 5, random_state=0)
    >>> bool(cvxvolmin.matched_mse(H, result.H) < 1e-20)
    True
    """
    start = time.perf_counter()
    inputs = check_fit_inputs(
        X,
        rank,
        formulation=formulation,
        max_iter=max_iter,
        tol=tol,
        random_state=random_state,
        verbose=verbose,
        callback=callback,
        sparse_hint=None,
    )
    X, rank, form = inputs.X, inputs.rank, inputs.formulation
    solver = check_lp_solver(solver)
    if working_set not in (None, True, False):
        raise InvalidParameterError(
            f"working_set must be None, True or False; got {working_set!r}."
        )

    dask_data = is_dask(X)
    # Dask data: the workers read X; the client's part of the reduction is r x N
    # work, where BLAS threads only contend with the workers' processes (measured
    # at N = 1e6 beside them: 117 ms for a 65536 x 10 by 10 x 10 product).
    with one_blas_thread() if dask_data else contextlib.nullcontext():
        reduction = form.reduce(X, rank)
    noisy = offsubspace_fraction(X, reduction) > _NOISY_COLUMN
    if noisy.any():
        message = (
            f"{int(noisy.sum())} of {X.shape[1]} columns of X have more than "
            f"{_NOISY_COLUMN:.0%} of their norm outside the rank-{rank} subspace; the "
            "exact criterion treats their directions as exact, so noise in them can "
            "move the solution. Drop or denoise them, or use cvxvolmin.robust.fit_robust."
        )
        # The reduction zeroes the columns with no resolved part in the subspace.
        lost = np.flatnonzero(noisy & ~reduction.Xt.any(axis=0))
        if lost.size:
            message += (
                f" {lost.size} of them lie in its orthogonal complement (their part in "
                "the subspace is below sqrt(eps) of their norm) and get zero rows of H."
            )
        # The indices travel with the warning: caught.message.columns.
        warnings.warn(
            NoisyColumnsWarning(message, np.flatnonzero(noisy), no_direction=lost), stacklevel=2
        )
    trace = optimize(
        form,
        reduction,
        inputs.rng,
        solver=solver,
        max_iter=inputs.max_iter,
        tol=inputs.tol,
        working_set=working_set,
        verbose=inputs.verbose,
        callback=inputs.callback,
    )
    if not trace.converged:
        history = trace.logdet_history
        gain = (
            f"last gain {history[-1] - history[-2]:.3e}"
            if len(history) > 1
            else "one step; convergence needs at least two"
        )
        warn_not_converged(inputs.max_iter, "steps", "log|det Q|", gain)
    with one_blas_thread():  # products with r x r matrices: more threads only contend
        if reduction.Xt_chunks is not None:
            W, H, fit_error = _recover_on_chunks(form, trace.Q, reduction, X)
        else:
            W, H = form.recover(trace.Q, reduction)
            fit_error = _fit_error(X, W, H, reduction)
    return FitResult(
        W=W,
        H=H,
        Q=trace.Q,
        logdet_history=trace.logdet_history,
        n_iter=trace.n_iter,
        converged=trace.converged,
        n_lp_solves=trace.n_lp_solves,
        time_s=time.perf_counter() - start,
        fit_error=fit_error,
        formulation=form,
        n_restarts=len(trace.start_logdets),
        start_logdets=trace.start_logdets,
    )
