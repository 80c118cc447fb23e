"""The refutation search: local maxima of ``||y||`` over the dual slice, by successive LPs.

Condition (1) holds iff ``||y|| <= 1`` on the dual slice
``P = {y : H y >= 0, 1.y = 1}`` (guide, section 3). ``||y||^2`` is convex,
so from any y the LP ``max y.z`` over P gives a vertex z with
``||z|| >= ||y||`` (``y.z >= y.y`` at the optimum, and Cauchy-Schwarz);
repeated, the steps end at a vertex that is a local maximum (a KKT point of
``max ||y||^2`` over P). Any point of P with ``||y|| > 1 + tol`` refutes (1),
however it was found, so a search from many cheap starts can refute in a few
LPs where a facet enumeration must first finish; it never proves anything,
and the exact stage decides what it leaves.

Every LP is declared once in cvxpy and re-solved on HiGHS with only its
objective changed. A box ``|y_i| <= 2 + tol`` keeps P bounded whatever H;
a point on the box has ``||y|| >= 2 + tol``, a certificate like any other.
The starts are fixed by r and N (no random state), so the search and its
witness are reproducible.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from ..lp import RowLP
from .geometry import refutes_one, scale_witness

#: Ascent steps from one start; measured, a start settles in 2 to 6 LPs.
_MAX_STEPS = 30
#: A step that raises ||y|| by less than this (relative) has reached a local maximum.
_STALL = 1e-12


@dataclass(frozen=True)
class SearchOutcome:
    """What the refutation search found.

    Attributes
    ----------
    witness : ndarray or None
        A point of P (``rows y >= 0``, ``1.y = 1``) with ``||y|| > 1 + tol``,
        checked as a certificate; None when no start found one.
    n_starts : int
        Starts ascended.
    n_lps : int
        LPs solved.
    best_norm : float
        The largest ``||y||`` of a local maximum found (1 when none beat the
        unit vectors).
    """

    witness: np.ndarray | None
    n_starts: int
    n_lps: int
    best_norm: float


def search_refutation(rows: np.ndarray, tol: float, deadline: float = np.inf) -> SearchOutcome:
    """Look for a point of the dual slice with ``||y|| > 1 + tol`` by local ascent.

    Parameters
    ----------
    rows : ndarray of shape (n, r)
        Prepared rows of H (nonnegative, each summing to one).
    tol : float
        A witness must have ``||y|| > 1 + tol`` (the exact stage's criterion).
    deadline : float
        ``time.perf_counter()`` value after which no new start begins.

    Returns
    -------
    SearchOutcome
    """
    r = rows.shape[1]
    rows = rows[np.lexsort(rows.T[::-1])]  # the same starts whatever the rows' order
    y = cp.Variable(r)
    box = 2.0 + tol
    lp = RowLP(
        y,
        [rows @ y >= 0, cp.sum(y) == 1, y <= box, y >= -box],
        "HIGHS",
        owner="the refutation search",
    )
    best = 1.0
    starts = _starts(rows)
    for count, direction in enumerate(starts, start=1):
        if time.perf_counter() > deadline:
            return SearchOutcome(None, count - 1, lp.n_solves, best)
        point = _ascend(lp, direction)
        norm = float(np.linalg.norm(point))
        best = max(best, norm)
        if norm > 1.0 + tol:
            witness = _certified(rows, point, tol)
            if witness is not None:
                return SearchOutcome(witness, count, lp.n_solves, best)
    return SearchOutcome(None, len(starts), lp.n_solves, best)


def _ascend(lp: RowLP, direction: np.ndarray) -> np.ndarray:
    """A vertex of P that is a local maximum of ``||y||``, ascending from ``direction``'s."""
    point = lp.maximize(direction / np.linalg.norm(direction))
    norm = float(np.linalg.norm(point))
    for _ in range(_MAX_STEPS):
        following = lp.maximize(point / norm)
        following_norm = float(np.linalg.norm(following))
        if following_norm <= norm * (1.0 + _STALL):
            break
        point, norm = following, following_norm
    return point


def _certified(rows: np.ndarray, point: np.ndarray, tol: float) -> np.ndarray | None:
    """The LP's point moved exactly into P (towards the centre), if it still refutes (1).

    HiGHS meets ``rows y >= 0`` to about 1e-9; the convex combination
    ``(1 - s) y + s c`` with the centre c (every row gives ``1 / r`` there)
    meets each row exactly for ``s >= v / (v + 1/r)``, v the row's shortfall,
    and keeps ``1.y = 1``.
    """
    r = point.size
    point = scale_witness(point)
    shortfall = np.maximum(-(rows @ point), 0.0)
    s = float(np.max(shortfall / (shortfall + 1.0 / r)))  # never empty: rows has rank r
    if s > 0.0:
        centre = np.full(r, 1.0 / r)  # rows @ centre = 1 / r > 0: inside P
        point = (1.0 - s) * point + s * centre
    return point if refutes_one(rows, point, tol) else None


def _starts(rows: np.ndarray) -> list[np.ndarray]:
    """Objective directions of the first LP of each ascent, cheapest guesses first.

    ``+e_k`` and ``-e_k`` (the vertices farthest along each axis: (1) fails
    most often by a coordinate above 1 or below 0), then the negated rows
    that are sparsest (their facets hold the vertices next to the e_k),
    each tilted by a small fixed perturbation to break ties between the
    many vertices of a facet, then directions spread over the sphere.
    """
    n, r = rows.shape
    rng = np.random.default_rng([n, r])  # fixed by the shape: reproducible
    eye = np.eye(r)
    starts = [*eye, *(-eye)]
    sparsest = np.argsort(np.count_nonzero(rows, axis=1), kind="stable")[: 2 * r]
    for index in sparsest:
        tilt = 0.1 * rng.standard_normal(r)
        starts.append(-rows[index] / np.linalg.norm(rows[index]) + tilt)
    starts += list(rng.standard_normal((4 * r, r)))
    return starts
