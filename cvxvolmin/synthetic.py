"""The synthetic data of the paper's experiment (Fu, Huang, Sidiropoulos 2018, Table 2)."""

from __future__ import annotations

import numpy as np

from .exceptions import InvalidParameterError
from .validation import check_positive_int, check_random_state

#: W of each case: 1 sparse nonnegative, 2 dense nonnegative, 3 Gaussian.
CASES = {1: "sparse nonnegative W", 2: "dense nonnegative W", 3: "Gaussian W"}


def sparse_uniform(
    shape: tuple[int, int], zero_fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """Uniform [0, 1] entries with a fraction ``zero_fraction`` set to zero at random."""
    A = rng.uniform(0.0, 1.0, size=shape)
    A[rng.uniform(size=shape) < zero_fraction] = 0.0
    return A


def make_paper_data(
    rank: int,
    *,
    case: int = 3,
    n_features: int = 200,
    n_samples: int = 200,
    zero_fraction: float = 0.35,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generate ``X = W @ H.T`` as in the paper's Table 2.

    H (N x r) has uniform [0, 1] entries with ``zero_fraction`` of them set to
    zero (sufficiently scattered with overwhelming probability at the
    default sizes). W (M x r) depends on ``case``: 1, the same recipe as H
    (sparse, nonnegative); 2, uniform [0, 1] (dense, nonnegative); 3,
    standard normal (mixed sign).

    Parameters
    ----------
    rank : int
        Number of factors r.
    case : {1, 2, 3}, default 3
        Which W.
    n_features, n_samples : int, default 200
        M and N.
    zero_fraction : float in [0, 1), default 0.35
        Fraction of zeros in H (and in W for case 1).
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    X : ndarray of shape (M, N)
    W : ndarray of shape (M, r)
    H : ndarray of shape (N, r)
        Not normalized; the criterion recovers it up to column scaling.

    Examples
    --------
    >>> X, W, H = make_paper_data(5, case=3, random_state=0)
    >>> X.shape, W.shape, H.shape
    ((200, 200), (200, 5), (200, 5))
    """
    rank = check_positive_int(rank, "rank")
    n_features = check_positive_int(n_features, "n_features")
    n_samples = check_positive_int(n_samples, "n_samples")
    if case not in CASES:
        raise InvalidParameterError(f"case must be 1, 2 or 3 ({CASES}); got {case!r}.")
    if not 0.0 <= zero_fraction < 1.0:
        raise InvalidParameterError(f"zero_fraction must be in [0, 1); got {zero_fraction!r}.")
    rng = check_random_state(random_state)
    H = sparse_uniform((n_samples, rank), zero_fraction, rng)
    if case == 1:
        W = sparse_uniform((n_features, rank), zero_fraction, rng)
    elif case == 2:
        W = rng.uniform(0.0, 1.0, size=(n_features, rank))
    else:
        W = rng.standard_normal((n_features, rank))
    return W @ H.T, W, H
