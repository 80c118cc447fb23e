"""The sampling screen: points of bd C tested for membership in cone(H.T).

Points are drawn uniformly over the directions of bd C (on the slice, a
sphere of radius ``1/sqrt(r (r - 1))`` around ``1/r``) and each is tested by
nonnegative least squares, ``min ||H.T lam - x||, lam >= 0``. A residual
above ``tol ||x||`` puts ``x`` outside the cone; the residual itself gives
the dual certificate: at the NNLS optimum, ``y = H.T lam - x`` has
``H y >= 0`` (the KKT conditions) and ``y.x = -||residual||^2 < 0``. A point
refutes (1) only when that certificate is verified on every row and fails
(1) by more than ``tol`` (:func:`~cvxvolmin.scattering.geometry.refutes_one`,
the exact stage's criterion), so rounding is never taken for a refutation.
Passing samples prove nothing: the cone may poke inside C between them, and
condition (2) is never tested (C touches bd cone(H.T) on a set of measure
zero).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .geometry import cone_projection, inner_radius, refutes_one, slice_basis


@dataclass(frozen=True)
class SampleOutcome:
    """What the screen found: a failing point (its certificate and NNLS
    residual) or none, in ``n_tested`` samples."""

    n_tested: int
    point: np.ndarray | None = None
    witness: np.ndarray | None = None
    residual: float = 0.0


def boundary_points(r: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points of bd C on the slice ``1.x = 1``, uniform over directions."""
    g = rng.standard_normal((n, r - 1))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    return 1.0 / r + inner_radius(r) * g @ slice_basis(r).T


def sample_screen(
    rows: np.ndarray,
    n_samples: int,
    rng: np.random.Generator,
    tol: float,
    deadline: float = np.inf,
) -> SampleOutcome:
    """Test sampled points of bd C in order; stop at the first one outside.

    Parameters
    ----------
    rows : ndarray of shape (n, r)
        Distinct nonzero rows of H, scaled to sum one.
    n_samples : int
    rng : numpy.random.Generator
    tol : float
        NNLS residual, relative to the point's norm, above which a point is
        tested as outside; its certificate must also have ``||y|| > 1 + tol``.
    deadline : float
        ``time.perf_counter()`` value at which to stop.
    """
    r = rows.shape[1]
    points = boundary_points(r, n_samples, rng)
    for i, x in enumerate(points):
        residual, y = cone_projection(rows, x, threshold=tol * np.linalg.norm(x))
        if y is not None and refutes_one(rows, y, tol):
            return SampleOutcome(i + 1, x, y, float(residual))
        if time.perf_counter() > deadline:
            return SampleOutcome(i + 1)
    return SampleOutcome(n_samples)
