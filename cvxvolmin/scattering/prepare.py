"""Input checks and the normalization every method shares.

The condition depends only on the directions of the rows of H, so rows are
scaled to sum one (they are nonnegative, so this keeps their direction),
all-zero rows are dropped and duplicates are merged. Every threshold here is
relative to the row it is applied to, so that scaling rows by positive
factors (of any range) changes nothing. The user's array is copied first and
never modified.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..exceptions import InvalidParameterError
from ..validation import check_matrix

#: Rows (scaled to sum one) equal after rounding to this many decimals are
#: merged: 1e-12 of the row's sum, far below the zero threshold, so a merge
#: never joins a row on a face ``x_k = 0`` with one off it.
_DECIMALS = 12

#: An entry at most this fraction of its row's largest magnitude is a
#: rounding of zero. Relative to the row, not to H: a row's direction does not
#: depend on its scale, and a computed row (``H[n] = Q x_n`` for a fitted H)
#: carries rounding proportional to its own size. Measured on a fitted H of
#: the Swimmer data: zeros came back as -6e-14, 4e-12 of the largest entry.
_ROUNDING = 1e-9


@dataclass(frozen=True)
class PreparedH:
    """H reduced to what the condition depends on.

    Attributes
    ----------
    rows : ndarray of shape (n, r)
        The distinct nonzero rows of H, each scaled to sum one; entries are
        either exactly zero or above ``1e-9`` times the row's largest.
    r : int
        Number of columns of H.
    n_input : int
        Number of rows of the input.
    n_zero : int
        Number of all-zero rows dropped.
    rank : int
        Numerical rank of H.
    """

    rows: np.ndarray
    r: int
    n_input: int
    n_zero: int
    rank: int

    def stats(self) -> dict[str, int]:
        """Counts for the result's ``stats``."""
        return {
            "r": self.r,
            "n_rows": self.n_input,
            "n_zero_rows": self.n_zero,
            "n_distinct_rows": int(self.rows.shape[0]),
            "rank": self.rank,
        }


def read_zeros(H: np.ndarray) -> np.ndarray:
    """Set the roundings of zero in H (float array, modified in place) to 0.

    Entries at most ``1e-9`` times their row's largest magnitude are zeros,
    on either side of zero. Negative entries down to ``-1e-9`` times H's
    largest entry are zeros too: no entry of a valid H is negative, zero is
    the nearest valid value, and an LP's rounding of a zero can be that
    large on a small row. Positive entries are only ever compared with their
    own row, so the directions of small rows are kept.
    """
    magnitude = np.abs(H)
    row_scale = magnitude.max(axis=1, keepdims=True)
    zero = magnitude <= _ROUNDING * row_scale
    zero |= (H < 0) & (magnitude <= _ROUNDING * float(magnitude.max()))
    H[zero] = 0.0
    return H


def prepare(H) -> PreparedH:
    """Validate H (N x r, nonnegative) and reduce it to distinct row directions.

    Raises
    ------
    InvalidParameterError
        If H is not a real numeric array, not 2-D, empty, has NaN/inf
        entries, has fewer rows than columns (it looks transposed), or has
        negative entries beyond rounding (see :func:`read_zeros`).
    """
    H = check_matrix(H, "H", "N x r, one row per sample, one column per factor")
    n_input, r = H.shape
    if n_input < r:
        raise InvalidParameterError(
            f"H (shape {n_input} x {r}) has fewer rows than columns, so it looks transposed: "
            "pass the N x r factor (H.T), one row per sample and one column per factor. "
            f"(An H with fewer rows than columns has rank below r = {r} and can never be "
            "sufficiently scattered.)"
        )
    read_zeros(H)
    negative = H < 0
    if negative.any():
        first = tuple(int(i) for i in np.argwhere(negative)[0])
        raise InvalidParameterError(
            f"H has {int(negative.sum())} negative entries (the first at index {first}, "
            f"value {H[first]:.3g}), beyond the rounding of zeros (1e-9 of the row's or of "
            "H's largest entry); the sufficiently scattered condition is defined for "
            "nonnegative H only: pass the nonnegative factor (N x r)."
        )
    sums = H.sum(axis=1)
    nonzero = sums > 0
    rows = H[nonzero] / sums[nonzero, None]
    if rows.shape[0]:
        # Merge duplicates by a rounded key but keep the exact values (rounding
        # would make rows that lie on a face x_k = 0 only nearly coplanar).
        # Zeros get a key of their own, so a zero never merges with a nonzero.
        key = np.where(rows == 0, -1.0, np.round(rows, _DECIMALS))
        _, first = np.unique(key, axis=0, return_index=True)
        rows = rows[np.sort(first)]
        # numerical rank relative to the largest singular value (rows sum to one)
        sv = np.linalg.svd(rows, compute_uv=False)
        rank = int(np.sum(sv > sv[0] * max(rows.shape) * np.finfo(float).eps * 16))
    else:
        rank = 0
    return PreparedH(rows=rows, r=r, n_input=n_input, n_zero=int((~nonzero).sum()), rank=rank)
