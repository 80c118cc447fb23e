"""Rank-r reduction of the data and its numerical-rank check.

The reduction writes ``X ≈ basis @ Xt`` with ``Xt`` of shape (r, N). It is
scaled so that the rows of ``Xt`` have norm ``sqrt(N)``: the entries of the
LPs built on it are then of order one, which matters because LP solvers use
absolute tolerances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
    """

    Xt: np.ndarray
    basis: np.ndarray
    singular_values: np.ndarray
    column_scale: np.ndarray

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


def _orthonormal_refinement(X, U: np.ndarray):
    """One subspace-iteration step from a basis U of the column space.

    Returns ``(U, s, Vt)`` with ``X ≈ U diag(s) Vt``, accurate to working
    precision for data of exact rank r even when U came from a Gram matrix
    (whose eigenvectors carry errors of order ``eps * (s_1 / s_r)^2``).
    Only r x N and M x r temporaries are formed.
    """
    Y = np.asarray((X.T @ U).T)  # r x N
    V = np.linalg.qr(Y.T)[0]  # N x r, orthonormal columns
    B = np.asarray(X @ V)  # M x r
    Ub, s, Rt = np.linalg.svd(B, full_matrices=False)
    return Ub, s, Rt @ V.T


def leading_triplets(X, rank: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Leading singular triplets of X without a full SVD of a large matrix.

    Small dense X: a thin SVD. Larger dense X: the Gram matrix of the smaller
    side (M x M or N x N with the smaller of M, N), then one refinement step.
    Sparse X: ARPACK (``scipy.sparse.linalg.svds``, deterministic start),
    then the same refinement. Never forms an M x N temporary.

    Returns
    -------
    U : ndarray (M, r)
    s : ndarray (r,)
    Vt : ndarray (r, N)
    spectrum : ndarray
        Leading singular values, ``rank + 1`` of them when available, for
        the numerical-rank check.
    """
    import scipy.sparse

    m, n = X.shape
    if scipy.sparse.issparse(X):
        k = min(rank + 1, min(m, n) - 1)
        if k < rank:  # too small for ARPACK
            return leading_triplets(X.toarray(), rank)
        from scipy.sparse.linalg import svds

        U0, spectrum, _ = svds(X, k=k, random_state=0)
        order = np.argsort(spectrum)[::-1]
        U, s, Vt = _orthonormal_refinement(X, U0[:, order[:rank]])
        return U, s, Vt, np.concatenate([s, spectrum[order[rank:]]])
    if m * n <= _SMALL:
        U, s, Vt = np.linalg.svd(X, full_matrices=False)
        return U[:, :rank], s[:rank], Vt[:rank], s[: rank + 1]
    if m <= n:
        eigenvalues, vectors = np.linalg.eigh(X @ X.T)
        start = vectors[:, ::-1][:, :rank]
    else:
        eigenvalues, vectors = np.linalg.eigh(X.T @ X)
        start = X @ vectors[:, ::-1][:, :rank]
    spectrum = np.sqrt(np.clip(eigenvalues[::-1][: rank + 1], 0.0, None))
    U, s, Vt = _orthonormal_refinement(X, start)
    # The refined s is accurate; the (r+1)-th value only informs messages.
    return U, s, Vt, np.concatenate([s, spectrum[rank:]])


def _zero_columns(X) -> np.ndarray:
    import scipy.sparse

    if scipy.sparse.issparse(X):
        return np.asarray(abs(X).sum(axis=0)).ravel() == 0
    return ~X.any(axis=0)


def svd_reduction(X, rank: int, column_scale: np.ndarray | None = None) -> Reduction:
    """Reduce X (M x N, dense or sparse) to rank ``rank`` by its leading singular triplets.

    See :func:`leading_triplets` for how they are computed at each size.

    Raises
    ------
    ValueError
        If X has numerical rank below ``rank``; the message lists the
        singular values so that the user can pick a rank.
    """
    _, n = X.shape
    U, s, Vt, spectrum = leading_triplets(X, rank)
    if not np.all(np.isfinite(s)):
        raise ValueError(
            "the singular values of X overflow (entries too large); rescale X, e.g. by "
            "its largest absolute entry."
        )
    # Decide on the r leading values only: they are accurate on every path,
    # while a (r+1)-th value from a Gram matrix carries noise of sqrt(eps).
    found = numerical_rank(s, X.shape)
    if found == 0:
        raise ValueError("X is numerically zero: it has no nonzero singular value.")
    if found < rank:
        raise ValueError(
            f"X has numerical rank {found}, less than rank={rank} (leading singular "
            f"values: {_format_values(spectrum)}); choose rank <= {found}."
        )
    root_n = np.sqrt(n)
    Xt = Vt * root_n
    # Rounding leaves noise (~1e-18) where X has zero columns; zero columns
    # carry no information and must give exactly zero rows of H.
    Xt[:, _zero_columns(X)] = 0.0
    return Reduction(
        Xt=Xt,
        basis=U * (s / root_n),
        singular_values=spectrum.copy(),
        column_scale=np.ones(n) if column_scale is None else column_scale,
    )


def l1_column_scale(X: np.ndarray) -> np.ndarray:
    """The l1 norm of each column of X, with 1 for zero columns.

    Dividing by it puts the columns of a nonnegative X on the unit simplex;
    zero columns carry no information and are left as they are.
    """
    norms = np.abs(X).sum(axis=0)
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
    ValueError
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
        raise ValueError(
            f"the (normalized) columns of X span an affine set of dimension {found}, "
            f"less than rank - 1 = {rank - 1} (leading singular values of the centered "
            f"columns: {_format_values(shown)}); choose rank <= {max(found + 1, 1)}."
        )
    C = U[:, : rank - 1]
    # The lift is invertible only if the offset leaves the span of C.
    offset = d - C @ (C.T @ d)
    scale = max(np.linalg.norm(d), s[0] / np.sqrt(Y.shape[1]) if s.size else 0.0)
    if np.linalg.norm(offset) <= max(X.shape) * np.finfo(float).eps * max(scale, 1e-300):
        raise ValueError(
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
    the linear span of the affine set). Zero for exact rank-r data (up to
    about 1e-8, the precision of a difference of squares); near one for a
    column that is pure noise. Zero columns get zero. Forms no M x N array.
    """
    import scipy.sparse

    ortho, _ = np.linalg.qr(reduction.basis)
    inside = np.asarray((X.T @ ortho).T)  # r x N
    if scipy.sparse.issparse(X):
        total = np.asarray(X.multiply(X).sum(axis=0)).ravel()
    else:
        total = np.einsum("ij,ij->j", X, X)
    outside = np.clip(total - np.einsum("ij,ij->j", inside, inside), 0.0, None)
    # Column scaling does not change the fraction.
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.sqrt(outside / np.where(total > 0, total, 1.0)), 0.0)
