"""White Gaussian noise at a prescribed signal-to-noise ratio."""

from __future__ import annotations

import numbers

import numpy as np

from ..exceptions import InvalidParameterError
from ..validation import check_matrix, check_random_state

__all__ = ["add_noise", "noise_std"]


def noise_std(X: np.ndarray, snr_db: float) -> float:
    """The standard deviation ``sigma`` with ``||X||_F^2 / (M N sigma^2) = 10^(snr_db / 10)``."""
    return float(np.linalg.norm(X) / np.sqrt(X.size * 10.0 ** (snr_db / 10.0)))


def add_noise(X, snr_db: float, random_state=None) -> np.ndarray:
    """Return ``X`` plus white Gaussian noise at a given signal-to-noise ratio.

    The noise has i.i.d. entries of standard deviation ``sigma`` with
    ``||X||_F^2 / (M N sigma^2) = 10^(snr_db / 10)``, so that
    ``||X||_F^2 / ||noise||_F^2`` is ``10^(snr_db / 10)`` in expectation.
    X is not modified.

    Parameters
    ----------
    X : array_like of shape (M, N)
    snr_db : float
        Signal-to-noise ratio in decibels.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    ndarray of shape (M, N)

    Examples
    --------
    >>> import numpy as np
    >>> X = np.ones((100, 100))
    >>> Y = add_noise(X, 20.0, random_state=0)
    >>> round(10 * np.log10((X**2).sum() / ((Y - X) ** 2).sum()))
    20
    """
    X = check_matrix(X)
    if isinstance(snr_db, bool) or not isinstance(snr_db, numbers.Real):
        raise InvalidParameterError(f"snr_db must be a real number; got {snr_db!r}.")
    if not np.isfinite(snr_db):
        raise InvalidParameterError(f"snr_db must be finite; got {snr_db!r}.")
    rng = check_random_state(random_state)
    return X + noise_std(X, snr_db) * rng.standard_normal(X.shape)
