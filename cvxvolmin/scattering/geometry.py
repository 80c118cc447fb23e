"""Coordinates of the slice ``1.x = 1`` and conversions between certificates.

On the slice, the orthant is the simplex with vertices e_k, its centre is
``c = 1/r``, C is the ball around c of radius ``1/sqrt(r (r - 1))`` (the
inscribed ball of the simplex) and the dual slice of C* is the ball around c
of radius ``sqrt(1 - 1/r)`` (the circumscribed ball, through every e_k).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import null_space


def slice_basis(r: int) -> np.ndarray:
    """An orthonormal basis (r x (r - 1)) of the hyperplane ``1.x = 0``."""
    return null_space(np.ones((1, r)))


def inner_radius(r: int) -> float:
    """Radius of C on the slice: the inscribed ball of the simplex."""
    return 1.0 / np.sqrt(r * (r - 1.0))


def scale_witness(y: np.ndarray) -> np.ndarray:
    """Scale a dual certificate to ``1.y = 1`` if ``1.y > 0``, else to unit norm."""
    y = np.asarray(y, dtype=float)
    total = float(y.sum())
    norm = float(np.linalg.norm(y))
    if total > 1e-12 * norm:
        return y / total
    return y / norm


def primal_point(y: np.ndarray) -> np.ndarray:
    """The point x of ``bd C`` (``1.x = 1``) that minimizes ``y.x``.

    If y is in the dual cone and ``||y|| >= 1.y``, then ``y.x <= 0``: x is a
    point of bd C outside the interior of cone(H.T), the primal form of the
    same certificate.
    """
    y = np.asarray(y, dtype=float)
    r = y.size
    centre = np.full(r, 1.0 / r)
    direction = y - y.mean()
    norm = float(np.linalg.norm(direction))
    if norm == 0.0:  # y is a multiple of 1: every point of bd C does
        direction = np.eye(r)[0] - centre
        norm = float(np.linalg.norm(direction))
    return centre - inner_radius(r) * direction / norm


def is_unit_vector(y: np.ndarray, atol: float = 1e-9) -> bool:
    """Whether y (scaled to ``1.y = 1``) is one of the e_k."""
    k = int(np.argmax(y))
    e = np.zeros_like(y)
    e[k] = 1.0
    return bool(np.max(np.abs(y - e)) <= atol)
