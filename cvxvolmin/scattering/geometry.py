"""Coordinates of the slice ``1.x = 1`` and conversions between certificates.

On the slice, the orthant is the simplex with vertices e_k, its centre is
``c = 1/r``, C is the ball around c of radius ``1/sqrt(r (r - 1))`` (the
inscribed ball of the simplex) and the dual slice of C* is the ball around c
of radius ``sqrt(1 - 1/r)`` (the circumscribed ball, through every e_k).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import null_space
from scipy.optimize import nnls

from ..exceptions import SolverFailedError


def slice_basis(r: int) -> np.ndarray:
    """An orthonormal basis (r x (r - 1)) of the hyperplane ``1.x = 0``."""
    return null_space(np.ones((1, r)))


def inner_radius(r: int) -> float:
    """Radius of C on the slice: the inscribed ball of the simplex."""
    return 1.0 / np.sqrt(r * (r - 1.0))


#: A certificate from NNLS satisfies a row when ``row.y >= -_CERT_FEAS ||row||
#: ||y||``: relative to the magnitudes multiplied (rows and y come at any
#: scale); far above the rounding of a certificate recomputed on its active
#: rows (see :func:`cone_projection`), and the exact stage decides whatever
#: this rejects.
_CERT_FEAS = 1e-9


def scale_witness(y: np.ndarray) -> np.ndarray:
    """Scale a dual certificate to ``1.y = 1`` if ``1.y > 0``, else to unit norm.

    ``1.y`` is compared with ``||y||``: below ``1e-12 ||y||`` the scaled norm
    would be above 1e12, a failure of (1) as plain as ``1.y <= 0``.
    """
    total = float(y.sum())
    norm = float(np.linalg.norm(y))
    if total > 1e-12 * norm:
        return y / total
    return y / norm


def cone_projection(
    generators: np.ndarray, target: np.ndarray, threshold: float = 0.0
) -> tuple[float, np.ndarray | None]:
    """Distance from ``target`` to the cone of the rows of ``generators``, and a certificate.

    Nonnegative least squares, ``min ||generators.T lam - target||`` over
    ``lam >= 0``. At its optimum ``y = generators.T lam - target`` has
    ``generators y >= 0`` (the KKT conditions: y is in the dual cone) and
    ``target.y = -||y||^2``, so a positive distance comes with a dual
    direction separating ``target`` from the cone. Computed as that
    difference, a small y carries rounding of the size of ``target``
    (relative error ``eps ||target|| / ||y||``); it is recomputed as minus
    the projection of ``target`` onto the null space of the generators
    with ``lam > 0``, which it is exactly, so that those rows hold with
    equality to rounding relative to y itself. The certificate is None when
    the distance is at most ``threshold`` (the caller will not use it).

    Raises
    ------
    SolverFailedError
        If NNLS stops at its iteration limit.
    """
    if generators.shape[0] == 0:  # the cone {0}: every direction separates
        return float(np.linalg.norm(target)), -np.asarray(target, dtype=float)
    A = np.ascontiguousarray(generators.T)
    try:
        lam, distance = nnls(A, target)
    except RuntimeError as exc:
        raise SolverFailedError(f"NNLS failed on a scattering check: {exc}") from exc
    if distance <= threshold:
        return float(distance), None
    passive = lam > 0
    if not passive.any():
        return float(distance), -np.asarray(target, dtype=float)
    basis = null_space(generators[passive])
    y = -basis @ (basis.T @ target)
    return float(np.linalg.norm(y)), y


def refutes_one(rows: np.ndarray, y: np.ndarray, tol: float) -> bool:
    """Whether y certifies that (1) fails by more than ``tol``.

    y must lie in the dual cone (``rows y >= 0`` up to rounding relative to
    ``||row|| ||y||``) and, scaled by :func:`scale_witness`, have ``1.y <= 0``
    or ``||y|| > 1 + tol``: the criterion of the exact stage, so that no
    stage refutes (1) where the exact one would say "on the boundary".
    """
    y = scale_witness(y)
    norm = float(np.linalg.norm(y))
    if not np.isfinite(norm) or norm == 0.0:
        return False
    directions = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    if float((directions @ y).min()) < -_CERT_FEAS * norm:
        return False
    return bool(y.sum() <= 1e-12 * norm or norm > 1.0 + tol)


def primal_point(y: np.ndarray) -> np.ndarray:
    """The point x of ``bd C`` (``1.x = 1``) that minimizes ``y.x``.

    If y is in the dual cone and ``||y|| >= 1.y``, then ``y.x <= 0``: x is a
    point of bd C outside the interior of cone(H.T), the primal form of the
    same certificate.
    """
    r = y.size
    if r == 1:  # the slice is the point 1, inside C = [0, inf) (its boundary is 0 alone)
        return np.ones(1)
    centre = np.full(r, 1.0 / r)
    direction = y - y.mean()
    norm = float(np.linalg.norm(direction))
    if norm == 0.0:  # y is a multiple of 1: every point of bd C does
        direction = np.eye(r)[0] - centre
        norm = float(np.linalg.norm(direction))
    return centre - inner_radius(r) * direction / norm
