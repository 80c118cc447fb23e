"""Input checks and the normalization every method shares.

The condition depends only on the directions of the rows of H, so rows are
scaled to sum one (they are nonnegative, so this keeps their direction),
all-zero rows are dropped and duplicates are merged. The user's array is
copied first and never modified.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import check_matrix

#: Rows equal after rounding to this many decimals (after scaling) are merged.
_DECIMALS = 12


@dataclass(frozen=True)
class PreparedH:
    """H reduced to what the condition depends on.

    Attributes
    ----------
    rows : ndarray of shape (n, r)
        The distinct nonzero rows of H, each scaled to sum one.
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


# Entries below this fraction of the largest entry are rounding of zeros. An
# LP's zero is exact only up to its tolerances: measured on a fitted H of the
# Swimmer data (largest entry 1/64), zeros came back as -6e-14, 4e-12 relative.
_ROUNDING = 1e-9


def prepare(H) -> PreparedH:
    """Validate H (N x r, nonnegative) and reduce it to distinct row directions.

    Raises
    ------
    TypeError
        If H is not a real numeric array.
    ValueError
        If H is not 2-D, is empty, has NaN/inf or negative entries (entries
        within ``1e-9`` of zero relative to the largest are read as zeros).
    """
    H = check_matrix(H, "H", "N x r, one row per sample, one column per factor")
    # A computed H (e.g. from fit) carries rounding where the true entries are
    # zero; entries that small relative to H's largest are zeros, on either
    # side of zero.
    rounding = _ROUNDING * float(np.abs(H).max())
    H[np.abs(H) <= rounding] = 0.0
    negative = H < 0
    if negative.any():
        first = tuple(int(i) for i in np.argwhere(negative)[0])
        raise ValueError(
            f"H has {int(negative.sum())} negative entries (the first at index {first}, "
            f"value {H[first]:.3g}); the sufficiently scattered condition is defined for "
            "nonnegative H only: pass the nonnegative factor (N x r)."
        )
    n_input, r = H.shape
    sums = H.sum(axis=1)
    nonzero = sums > 0
    rows = H[nonzero] / sums[nonzero, None]
    if rows.shape[0]:
        # merge duplicates by a rounded key but keep the exact values: rounding
        # would make rows that lie on a face x_k = 0 only nearly coplanar
        _, first = np.unique(np.round(rows, _DECIMALS), axis=0, return_index=True)
        rows = rows[np.sort(first)]
        sv = np.linalg.svd(rows, compute_uv=False)
        rank = int(np.sum(sv > sv[0] * max(rows.shape) * np.finfo(float).eps * 16))
    else:
        rank = 0
    return PreparedH(rows=rows, r=r, n_input=n_input, n_zero=int((~nonzero).sum()), rank=rank)
