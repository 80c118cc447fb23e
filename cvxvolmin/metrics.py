"""Recovery metrics up to the permutation and scaling ambiguity."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def relative_residual(X, W: np.ndarray, H: np.ndarray, block_entries: int = 262_144) -> float:
    """``||X - W @ H.T||_F / ||X||_F``, one block of columns at a time.

    X may be dense or ``scipy.sparse``; no M x N temporary beyond a block of
    about ``block_entries`` entries is formed, and the difference is taken
    entrywise, so errors near machine precision are resolved. For sparse X
    the expansion ``||X||^2 - 2 <X, W H.T> + <W.T W, H.T H>`` is tried first
    (it costs a product with X, not a dense M x N sweep: 16 s against 2 ms on
    the 41681 x 7094 Classic matrix); it is kept when the residual is large
    enough that its cancellation (about 1e-8 relative) does not matter.
    """
    import scipy.sparse

    sparse = scipy.sparse.issparse(X)
    if sparse:
        X = scipy.sparse.csc_matrix(X)
        total = float(X.multiply(X).sum())
        expanded = total - 2.0 * float(np.sum(H * (X.T @ W))) + float(np.sum((W.T @ W) * (H.T @ H)))
        if total > 0 and expanded > _EXPANSION_FLOOR**2 * total:
            return float(np.sqrt(expanded / total))
    m, n = X.shape
    step = max(1, block_entries // max(m, 1))
    residual = total = 0.0
    for start in range(0, n, step):
        block = X[:, start : start + step]
        block = block.toarray() if sparse else block
        residual += float(np.sum((block - W @ H[start : start + step].T) ** 2))
        total += float(np.sum(block**2))
    return float(np.sqrt(residual / total)) if total > 0 else float(np.sqrt(residual))


# Below this relative residual the expansion of relative_residual loses its
# digits to cancellation (its absolute error is about eps ||X||^2).
_EXPANSION_FLOOR = 1e-4


def _unit_columns(A: np.ndarray, name: str) -> np.ndarray:
    A = np.asarray(A, dtype=float)
    if A.ndim != 2:
        raise ValueError(f"{name} must be 2-D; got shape {A.shape}.")
    norms = np.linalg.norm(A, axis=0)
    if np.any(norms == 0):
        raise ValueError(f"{name} has an all-zero column; its direction is undefined.")
    return A / norms


def match_columns(A_true, A_est) -> tuple[np.ndarray, np.ndarray]:
    """Best matching of the columns of ``A_est`` to those of ``A_true``.

    Columns are compared after scaling to unit norm; the permutation
    minimizes the summed squared distances (Hungarian algorithm, so it is
    exact for any r).

    Returns
    -------
    perm : ndarray of int
        ``A_est[:, perm[k]]`` is matched to ``A_true[:, k]``.
    errors : ndarray
        Squared distance of each matched pair of unit columns.
    """
    A = _unit_columns(A_true, "A_true")
    B = _unit_columns(A_est, "A_est")
    if A.shape != B.shape:
        raise ValueError(f"shapes differ: A_true {A.shape}, A_est {B.shape}.")
    # Match on 2 - 2 a.b (cheap, no N x r x r temporary), then measure the
    # matched pairs directly: 2 - 2 a.b cannot resolve errors below 1e-16,
    # and recovered factors reach 1e-28.
    rows, cols = linear_sum_assignment(2.0 - 2.0 * (A.T @ B))
    perm = cols[np.argsort(rows)]
    errors = ((A - B[:, perm]) ** 2).sum(axis=0)
    return perm, errors


def matched_mse(A_true, A_est) -> float:
    """The paper's MSE: mean squared distance of matched unit-norm columns.

    ``min over permutations pi of (1/r) sum_k || a_k/||a_k|| - b_pi(k)/||b_pi(k)|| ||^2``
    (Fu, Huang, Sidiropoulos 2018, section 6).

    Examples
    --------
    >>> import numpy as np
    >>> H = np.array([[1.0, 0.0], [0.5, 2.0], [0.0, 1.0]])
    >>> matched_mse(H, 3.0 * H[:, ::-1])
    0.0
    """
    _, errors = match_columns(A_true, A_est)
    return float(errors.mean())
