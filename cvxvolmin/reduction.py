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


def svd_reduction(X: np.ndarray, rank: int, column_scale: np.ndarray | None = None) -> Reduction:
    """Reduce X (M x N) to rank ``rank`` by a thin SVD.

    Raises
    ------
    ValueError
        If X has numerical rank below ``rank``; the message lists the
        singular values so that the user can pick a rank.
    """
    _, n = X.shape
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    found = numerical_rank(s, X.shape)
    if found < rank:
        shown = s[: min(rank + 1, s.size)]
        raise ValueError(
            f"X has numerical rank {found}, less than rank={rank} (leading singular "
            f"values: {_format_values(shown)}); choose rank <= {max(found, 1)}."
        )
    root_n = np.sqrt(n)
    Xt = Vt[:rank] * root_n
    # The SVD leaves rounding noise (~1e-18) where X has zero columns; zero
    # columns carry no information and must give exactly zero rows of H.
    Xt[:, ~X.any(axis=0)] = 0.0
    return Reduction(
        Xt=Xt,
        basis=U[:, :rank] * (s[:rank] / root_n),
        singular_values=s[: min(rank + 1, s.size)].copy(),
        column_scale=np.ones(n) if column_scale is None else column_scale,
    )


def offsubspace_fraction(X: np.ndarray, reduction: Reduction) -> np.ndarray:
    """Per column, the fraction of its norm that lies outside the rank-r subspace.

    Zero for exact rank-r data; near one for a column that is pure noise.
    Zero columns get zero.
    """
    scaled = X / reduction.column_scale
    total = np.einsum("ij,ij->j", scaled, scaled)
    inside = np.einsum("ij,ij->j", reduction.basis.T @ reduction.basis @ reduction.Xt, reduction.Xt)
    outside = np.clip(total - inside, 0.0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(total > 0, np.sqrt(outside / np.where(total > 0, total, 1.0)), 0.0)
    return frac
