"""Rank-r reduction of the data and its numerical-rank check.

The reduction writes ``X ≈ basis @ Xt`` with ``Xt`` of shape (r, N). It is
scaled so that the rows of ``Xt`` have norm ``sqrt(N)``: the entries of the
LPs built on it are then of order one, which matters because LP solvers use
absolute tolerances.

Numerics, so that a fit is invariant to positive column scaling of X:

* ``Xt`` is the projection ``sqrt(N) diag(1/s) U.T @ X`` of X on its leading
  left singular vectors, a product with each column alone, so each column's
  direction is accurate relative to its own norm (the right singular vectors
  of an SVD or a QR are only accurate relative to the whole matrix).
* Nothing squares X unscaled: when its entries' squares would leave the
  floating-point range (beyond about 1e±75), the Gram matrix and ARPACK work
  on X divided by a power of two (exact), one block of columns at a time.
* Memory: no M x N temporary (blocks of about 2**18 entries, r x N and
  M x r arrays only).
* Passes: X is read through :mod:`cvxvolmin.data` (dense or sparse alike).
  Large dense data with M <= N are read twice here (the Gram matrix; the
  projection with the column norms and residuals; the Gram matrix is also
  the finiteness check), so that a fit of exact, well-conditioned data
  reads X twice and not after the LPs; ill-conditioned or noisy data add a refinement step
  (two passes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import (
    BLOCK_ENTRIES,
    DataMatrix,
    as_data,
    dense_column_norms,
    nonfinite_message,
    power_of_two_scale,
    square_safe_scale,
)
from .exceptions import InvalidParameterError


@dataclass(frozen=True)
class Reduction:
    """A rank-r view of the data, shared by every row update.

    Attributes
    ----------
    Xt : ndarray of shape (r, N)
        Reduced data; the columns are the samples.
    basis : ndarray of shape (M, r)
        Maps the reduced frame back: ``X ≈ basis @ Xt``.
    singular_values : ndarray
        Leading singular values of X (at least ``r``; one more when X has it).
    column_scale : ndarray of shape (N,)
        Positive factor that each column of the original X was divided by
        before the reduction (ones when no normalization was applied).
    column_norms : ndarray of shape (N,), optional
        ``||x_n||`` of the (normalized) columns when the reduction measured
        them, so that later checks need no further pass over X.
    residual_norms : ndarray of shape (N,), optional
        ``||x_n - basis @ Xt[:, n]||`` (the full norm for the columns the
        reduction zeroed) when the reduction measured them as differences of
        vectors, exact to rounding: then the noisy-column check and the fit's
        residual need no further pass over X.
    Xt_chunks : dask array of shape (r, N), optional
        Dask data only: ``Xt`` again, lazily, chunked like X's columns and
        computed from the projection persisted on the workers (no pass over
        X), so that H can be formed there.
    """

    Xt: np.ndarray
    basis: np.ndarray
    singular_values: np.ndarray
    column_scale: np.ndarray
    column_norms: np.ndarray | None = None
    residual_norms: np.ndarray | None = None
    Xt_chunks: object | None = None

    @property
    def rank(self) -> int:
        return self.Xt.shape[0]

    @property
    def n_samples(self) -> int:
        return self.Xt.shape[1]


def numerical_rank(singular_values: np.ndarray, shape: tuple[int, int]) -> int:
    """Number of singular values above ``max(M, N) * eps * s_max``.

    The threshold is the one of ``numpy.linalg.matrix_rank``.
    """
    s = np.asarray(singular_values)
    if s.size == 0 or s[0] == 0:
        return 0
    return int(np.sum(s > max(shape) * np.finfo(float).eps * s[0]))


def _format_values(values: np.ndarray) -> str:
    return ", ".join(f"{v:.3g}" for v in values)


# Below this many entries a plain thin SVD is cheap and the most accurate.
_SMALL = 1_000_000
# Columns per block when X must be scaled on the fly (blocks of X / c only).
_BLOCK_ENTRIES = BLOCK_ENTRIES


def max_abs(X) -> float:
    """The largest absolute entry of X (dense or sparse), without a copy of X."""
    return as_data(X).max_abs()


def _column_blocks(X, scale: float):
    """Yield ``(columns, X[:, columns] / scale)`` as dense blocks of about 2**18 entries."""
    yield from as_data(X).column_blocks(scale)


def column_norms(X) -> np.ndarray:
    """``||x_n||`` for every column of X (dense or sparse), without a copy of X.

    Columns whose squares would overflow or underflow are divided by a power
    of two near their own largest entry first, so the norm is accurate for
    every column whatever the magnitudes of the others (1e-300 beside 1e300
    included); the others cost one product.
    """
    return as_data(X).column_norms()


# A column whose part in the rank-r subspace is at most this fraction of its
# norm has no direction there that the reduction resolves: the computed
# subspace is off by about eps * s_1 / s_r, and a product adds about
# sqrt(M) * eps. Such a column is off the model by a factor of 1e8 or more.
_NO_DIRECTION = float(np.sqrt(np.finfo(float).eps))


def _orthonormal_refinement(
    data: DataMatrix, U: np.ndarray, Y: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One subspace-iteration step from a basis U of the column space.

    Returns ``(U, s)``: an orthonormal basis of the column space and the
    singular values, accurate to working precision for data of exact rank r
    even when U came from a Gram matrix (whose eigenvectors carry errors of
    order ``eps * (s_1 / s_r)^2``). Only r x N and M x r temporaries are
    formed, and no product squares the entries of X. Two passes over X (one
    when ``Y = U.T @ X`` is given).
    """
    if Y is None:
        Y = data.project(U)  # r x N
    V = np.linalg.qr(Y.T)[0]  # N x r, orthonormal columns
    Ub, s, _ = np.linalg.svd(data.times(V), full_matrices=False)
    return Ub, s


def _gram_basis(data: DataMatrix, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """The leading eigenvectors of the Gram matrix of the smaller side, and its spectrum.

    Returns ``(start, spectrum)``: an orthonormal M x r basis (for M > N
    through one product with X) and ``rank + 1`` singular values read from
    the eigenvalues (accurate only to about ``sqrt(eps) * s_1``).
    """
    m, n = data.shape
    G, scale = data.gram()
    eigenvalues, vectors = np.linalg.eigh(G)
    start = vectors[:, ::-1][:, :rank]
    if m > n:
        start = np.linalg.qr(data.times(start))[0]  # orthonormal: X.T @ start squares nothing
    spectrum = scale * np.sqrt(np.clip(eigenvalues[::-1][: rank + 1], 0.0, None))
    return start, spectrum


def leading_triplets(X, rank: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Leading left singular vectors and values of X without a full SVD of a large matrix.

    Small dense X: a thin SVD. Larger X: the Gram matrix of the smaller
    side (M x M or N x N with the smaller of M, N), then one refinement step.
    Sparse X: ARPACK (``scipy.sparse.linalg.svds``, deterministic start),
    then the same refinement. Never forms an M x N temporary; data whose
    squares leave the floating-point range are scaled by a power of two
    where squares are formed (the Gram matrix, ARPACK).

    The right singular vectors are not returned: :func:`svd_reduction`
    projects X on U instead, which is accurate column by column.

    Returns
    -------
    U : ndarray (M, r)
    s : ndarray (r,)
    spectrum : ndarray
        Leading singular values, ``rank + 1`` of them when available, for
        the numerical-rank check.
    """
    data = as_data(X)
    m, n = data.shape
    if data.kind == "sparse" or (data.kind == "dense" and m * n <= _SMALL):
        # Cheap here (nonzeros, or at most _SMALL entries); the Gram paths check
        # in their own pass (DataMatrix.gram).
        bad = data.count_nonfinite()
        if bad:
            raise InvalidParameterError(nonfinite_message("X", bad))
    if data.kind == "sparse":
        k = min(rank + 1, min(m, n) - 1)
        if k < rank:  # too small for ARPACK
            return leading_triplets(data.array.toarray(), rank)
        from scipy.sparse.linalg import svds

        scale = square_safe_scale(data.max_abs())
        U0, spectrum, _ = svds(data.scaled(scale), k=k, random_state=0)
        order = np.argsort(spectrum)[::-1]
        U, s = _orthonormal_refinement(data, U0[:, order[:rank]])
        return U, s, np.concatenate([s, scale * spectrum[order[rank:]]])
    if data.kind == "dense" and m * n <= _SMALL:
        # LAPACK scales internally: exact for entries of any magnitude.
        U, s, _ = np.linalg.svd(data.array, full_matrices=False)
        return U[:, :rank], s[:rank], s[: rank + 1]
    start, spectrum = _gram_basis(data, rank)
    U, s = _orthonormal_refinement(data, start)
    # The refined s is accurate; the (r+1)-th value only informs messages.
    return U, s, np.concatenate([s, spectrum[rank:]])


def _wide_basis(data: DataMatrix, rank: int) -> tuple[np.ndarray, np.ndarray] | None:
    """For large data with M <= N: the Gram matrix's leading eigenvectors, unrefined.

    One pass over X. For data of exact rank r any basis of the column space
    gives an exact reduction (``U.T @ X`` is a linear image of H.T), so the
    refinement of :func:`leading_triplets` (two more passes and an N x r QR)
    is not needed; the singular values are then read from the projection
    (see :func:`svd_reduction`). None when another strategy applies.
    """
    m, n = data.shape
    if data.kind == "sparse" or m > n or (data.kind == "dense" and m * n <= _SMALL):
        return None
    return _gram_basis(data, rank)


# The unrefined Gram basis is kept when the data's part off it is at most this
# (relative to ||X||_F): rounding for exact, well-conditioned data (about
# 1e-15). Above it (ill-conditioned W: 4e-13 at cond 1e4; noise) one
# refinement step restores the accuracy of the old path.
_REFINE_ABOVE = 1e-14


def _relative_residual(projection) -> float:
    """``||X - U U.T X||_F / ||X||_F`` from a projection's norms (inf without residuals)."""
    if projection.residual_norms is None:
        return float("inf")
    scale = power_of_two_scale(float(projection.norms.max(initial=0.0)))
    total = float(np.sum((projection.norms / scale) ** 2))
    off = float(np.sum((projection.residual_norms / scale) ** 2))
    return float(np.sqrt(off / total)) if total > 0 else 0.0


# Singular values read from the r x r Gram matrix of the projection are
# accurate to about eps * s_1^2 / s_k; above this ratio s_r / s_1 that is a
# millionth of s_r, and the rank decision (at max(M, N) eps s_1) is far away.
_GRAM_ACCURATE = 1e3 * float(np.sqrt(np.finfo(float).eps))


def _projected_singular_values(Y: np.ndarray) -> np.ndarray:
    """The singular values of ``Y = U.T @ X`` (r x N), without an N x r QR where it can.

    From the r x r matrix ``Y Y.T`` (one product) when Y is well conditioned
    (``s_r / s_1`` above ``_GRAM_ACCURATE``) and its squares stay in range;
    otherwise from the R factor of ``Y.T`` (backward stable like an SVD of X
    restricted to span(U): errors of about ``eps * s_1``, as the
    numerical-rank check needs near a rank deficiency).
    """
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        G = Y @ Y.T
    if np.all(np.isfinite(G)):
        eigenvalues = np.linalg.eigvalsh(G)[::-1]
        top = eigenvalues[0]
        if np.finfo(float).tiny < top and eigenvalues[-1] > (_GRAM_ACCURATE**2) * top:
            return np.sqrt(eigenvalues)
    R = np.linalg.qr(Y.T, mode="r")
    return np.linalg.svd(R, compute_uv=False)


def svd_reduction(X, rank: int, column_scale: np.ndarray | None = None) -> Reduction:
    """Reduce X (M x N, dense or sparse) to rank ``rank`` by its leading singular triplets.

    See :func:`leading_triplets` for how the leading left singular vectors
    U and values s are computed at each size; large data with M <= N use
    the Gram matrix's eigenvectors without refinement (:func:`_wide_basis`),
    so that X is read twice (the Gram matrix; the projection with the
    column statistics), unless the data's part off that basis exceeds
    rounding (ill-conditioned or noisy data): then one refinement step
    costs two more passes. The reduced data are the
    projection ``Xt = sqrt(N) diag(1/s) U.T @ X``: each column is a product
    with that column alone, so its direction is accurate relative to its
    own norm, however small. (The right singular vectors of an SVD or a QR
    factorization are accurate only relative to the whole matrix: a column
    of norm 1e-8 relative to the others would get a direction error of
    about 1e-8.) The column-sum criteria depend only on the columns'
    directions, so this keeps the fit invariant to positive column scaling.
    Zero columns of X give exactly zero columns of ``Xt``, and so do columns
    whose part in the rank-r subspace is below ``sqrt(eps)`` of their own
    norm: the computed projection of such a column is rounding, a direction
    the exact criterion would otherwise take as a constraint (measured: five
    documents of the Classic corpus share no term with any other; their
    projections, about 1e-25 of their norms, were the fit's only active
    constraints). Like zero columns they get zero rows of H, and
    :func:`cvxvolmin.fit` names them in its ``NoisyColumnsWarning``.

    Raises
    ------
    InvalidParameterError
        If X has numerical rank below ``rank``; the message lists the
        singular values so that the user can pick a rank. If X has NaN or
        infinite entries: found by the Gram matrix's pass on the Gram paths
        (no pass of their own), counted on the others, where that is cheap.
    """
    data = as_data(X)
    _, n = data.shape
    wide = _wide_basis(data, rank)
    if wide is None:
        U, s, spectrum = leading_triplets(data, rank)
        projection = data.projection(U)
    else:
        U, eigen_spectrum = wide
        projection = data.projection(U)
        if _relative_residual(projection) > _REFINE_ABOVE:
            # Off the subspace beyond rounding: an ill-conditioned basis (errors of
            # eps (s_1 / s_r)^2) or noise; one refinement step, two more passes.
            U, s = _orthonormal_refinement(data, U, projection.Y)
            projection = data.projection(U)
        else:
            s = _projected_singular_values(projection.Y)
        spectrum = np.concatenate([s, eigen_spectrum[rank:]])
    if not np.all(np.isfinite(s)):
        raise InvalidParameterError(
            "the singular values of X overflow (entries too large); rescale X, e.g. by "
            "its largest absolute entry."
        )
    # Decide on the r leading values only: they are accurate on every path,
    # while a (r+1)-th value from a Gram matrix carries noise of sqrt(eps).
    found = numerical_rank(s, data.shape)
    if found == 0:
        raise InvalidParameterError("X is numerically zero: it has no nonzero singular value.")
    if found < rank:
        raise InvalidParameterError(
            f"X has numerical rank {found}, less than rank={rank} (leading singular "
            f"values: {_format_values(spectrum)}); choose rank <= {found}."
        )
    root_n = np.sqrt(n)
    norms = projection.norms
    # Rows of norm sqrt(N) (U.T X = diag(s) V.T): LP entries of order one.
    factors = root_n / s
    Xt, lost = _reduced_columns(projection.Y, norms, factors)
    residuals = projection.residual_norms
    if residuals is not None:
        residuals = np.where(lost, norms, residuals)  # basis @ Xt loses all of them
    return Reduction(
        Xt=Xt,
        basis=U * (s / root_n),
        singular_values=spectrum.copy(),
        column_scale=np.ones(n) if column_scale is None else column_scale,
        column_norms=norms,
        residual_norms=residuals,
        Xt_chunks=None if projection.persisted is None else _lazy_xt(projection, factors),
    )


def _reduced_columns(Y: np.ndarray, norms: np.ndarray, factors: np.ndarray):
    """``(Xt, lost)`` from ``Y = U.T @ X`` (overwritten): rows times ``factors``,
    zero columns where X's part in the subspace has no resolved direction."""
    # U is orthonormal: the norm of U.T x_n is that of x_n's part in the subspace.
    inside = dense_column_norms(Y)
    Y *= factors[:, None]
    # Zero columns (some projections may be -0.0: make them +0) and columns with
    # no resolved direction in the subspace.
    lost = inside <= _NO_DIRECTION * norms
    Y[:, lost] = 0.0
    return Y, lost


def _lazy_xt(projection, factors: np.ndarray):
    """Xt as a dask array over the projection's persisted chunks (the same operations)."""
    stacked, rank = projection.persisted, factors.size

    def chunk(block):
        # A copy: the persisted chunk is shared and must not be overwritten.
        return _reduced_columns(np.array(block[:rank]), block[rank], factors)[0]

    return stacked.map_blocks(chunk, chunks=((rank,), stacked.chunks[1]), dtype=float)


def l1_column_scale(X: np.ndarray) -> np.ndarray:
    """The l1 norm of each column of X, with 1 for zero columns.

    Dividing by it puts the columns of a nonnegative X on the unit simplex;
    zero columns carry no information and are left as they are.
    """
    norms = as_data(X).column_sums(absolute=True)
    return np.where(norms > 0, norms, 1.0)


def affine_set_reduction(
    X: np.ndarray, rank: int, column_scale: np.ndarray | None = None
) -> Reduction:
    """Reduce X (M x N) by fitting an affine set of dimension ``rank - 1``.

    This is the affine set fitting of MVES (Chan, Chi, Huang and Ma, IEEE
    TSP 57(11), 2009): with ``d`` the mean of the nonzero columns and ``C``
    the ``rank - 1`` leading principal directions of the centered columns,
    each column is written ``x ≈ d + C @ alpha``. Lifting ``alpha`` with a row
    of ones gives ``X ≈ basis @ Xt`` with ``basis = [C, d]`` (scaled) and the
    last row of ``Xt`` equal to one, so that ``Xt.T @ e_r = 1`` holds exactly.

    Zero columns are left out of the fit and get zero columns in ``Xt``.
    ``singular_values`` holds those of the centered nonzero columns.

    Raises
    ------
    InvalidParameterError
        If the nonzero columns span an affine set of dimension below
        ``rank - 1``, or an affine set through the origin.
    """
    _, n = X.shape
    nonzero = np.any(X != 0, axis=0)
    Y = X[:, nonzero]
    d = Y.mean(axis=1) if Y.size else np.zeros(X.shape[0])
    U, s, Vt = np.linalg.svd(Y - d[:, None], full_matrices=False)
    found = numerical_rank(s, X.shape) if s.size else 0
    if found < rank - 1:
        shown = s[: min(rank, s.size)]
        raise InvalidParameterError(
            f"the (normalized) columns of X span an affine set of dimension {found}, "
            f"less than rank - 1 = {rank - 1} (leading singular values of the centered "
            f"columns: {_format_values(shown)}); choose rank <= {max(found + 1, 1)}."
        )
    C = U[:, : rank - 1]
    # The lift is invertible only if the offset leaves the span of C.
    offset = d - C @ (C.T @ d)
    scale = max(np.linalg.norm(d), s[0] / np.sqrt(Y.shape[1]) if s.size else 0.0)
    # Relative to the data's size (a zero scale means no data: refused too).
    if np.linalg.norm(offset) <= max(X.shape) * np.finfo(float).eps * scale:
        raise InvalidParameterError(
            "the fitted affine set of X's (normalized) columns passes through the origin, "
            f"so X has rank below {rank} there; choose a smaller rank."
        )
    root_n = np.sqrt(n)
    # Rows of Xt of norm sqrt(N), as in svd_reduction: LP entries of order one.
    coords = np.zeros((rank, n))
    coords[: rank - 1, nonzero] = Vt[: rank - 1] * root_n
    coords[rank - 1, nonzero] = 1.0
    basis = np.column_stack([C * (s[: rank - 1] / root_n), d])
    return Reduction(
        Xt=coords,
        basis=basis,
        singular_values=s[: min(rank, s.size)].copy(),
        column_scale=np.ones(n) if column_scale is None else column_scale,
    )


def offsubspace_fraction(X, reduction: Reduction) -> np.ndarray:
    """Per column, the fraction of its norm that lies outside the rank-r subspace.

    The subspace is the span of ``reduction.basis`` (for an affine reduction,
    the linear span of the affine set). Zero for exact rank-r data; near one
    for a column that is pure noise (and one for a column the reduction
    zeroed). Zero columns get zero. Read from the reduction's
    ``residual_norms`` when it has them (no pass over X); otherwise from the
    projection's norms (precise to about 1e-8, a difference of squares),
    with no M x N array formed and squares scaled where they would overflow
    or underflow.
    """
    norms = reduction.column_norms
    own = norms is not None and np.all(reduction.column_scale == 1.0)  # this X's norms
    if own and reduction.residual_norms is not None:
        return reduction.residual_norms / np.where(norms > 0, norms, 1.0)
    data = as_data(X)
    ortho, _ = np.linalg.qr(reduction.basis)
    inside = dense_column_norms(data.project(ortho))  # r x N; no square formed yet
    if not own:
        norms = data.column_norms()
    # Relative to each column's own norm: the same fraction at any magnitude.
    ratio = inside / np.where(norms > 0, norms, 1.0)
    return np.where(norms > 0, np.sqrt(np.clip(1.0 - ratio**2, 0.0, None)), 0.0)
