"""Cheap necessary conditions for (1), usable at any size.

Each check either passes or refutes condition (1) with a certificate y in
the dual cone (``H y >= 0``) with ``||y|| > 1.y``. A check refutes only with
a certificate verified on every row that fails (1) by more than ``tol``
(scaled to ``1.y = 1``, ``||y|| > 1 + tol``, or ``1.y <= 0``), the exact
stage's own criterion, so a boundary case is left to that stage. None of
them can prove that H is sufficiently scattered. Costs: r + 1 small SVDs
and r + 1 small nonnegative least-squares problems (NNLS), well under a
millisecond each at N = 200 (HiGHS LPs took 2-4 ms each).

* rank: cone(H.T) must be full-dimensional, so rank(H) = r.
* zeros per column: every e_k must be a vertex of the dual slice
  ``P = {y : H y >= 0, 1.y = 1}`` (C touches the facet ``x_k = 0`` of the
  orthant, so cone(H.T) must contain a full facet there): the rows with a
  zero in column k, restricted to the other columns, must have rank r - 1,
  so at least r - 1 such rows.
* centre: no nonzero y with ``H y >= 0`` and ``1.y <= 0``, i.e. the
  all-ones vector lies in cone(H.T). NNLS projects it onto the cone: at a
  distance d > 0 the residual y has ``H y >= 0`` and ``1.y = -d^2``.
* tangent cone at each e_k: with ``A_k`` the rows with a zero in column k,
  the directions z of ``{z : H[A_k, -k] z >= 0}`` must all have ``1.z > 0``.
  Otherwise ``e_k + t (-(1.z), z)`` lies in P for small ``t > 0`` with norm
  above 1. Equivalently, the all-ones vector of length r - 1 lies in the
  cone of those restricted rows: the same projection, one per k.

A distance counts when it exceeds ``tol`` times the norm of the vector
projected (the rows are scaled to sum one), and then only with a verified
certificate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.linalg import null_space

from ..validation import check_nonnegative_float
from .geometry import cone_projection, refutes_one, scale_witness
from .prepare import PreparedH, prepare
from .result import _as_list, _plain


@dataclass(frozen=True, eq=False)
class NecessaryReport:
    """Outcome of the cheap necessary checks.

    Attributes
    ----------
    passed : bool
        True when no check refutes (1); this proves nothing by itself.
    failure : str or None
        Which check failed and why, in words.
    witness : ndarray of shape (r,) or None
        A y with ``H y >= 0`` and ``||y|| > 1.y`` (see ScatteringResult).
    zeros_per_column : list of int
        Zeros in each column among the distinct nonzero rows.
    checks : dict
        Each check's name mapped to True (passed), False (failed) or None
        (not run because an earlier one failed).
    stats : dict
        Row counts and rank.
    time_s : float
    """

    passed: bool
    failure: str | None
    witness: np.ndarray | None
    zeros_per_column: list[int]
    checks: dict[str, bool | None]
    stats: dict[str, int] = field(default_factory=dict)
    time_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "passed": self.passed,
            "failure": self.failure,
            "witness": _as_list(self.witness),
            "zeros_per_column": [int(z) for z in self.zeros_per_column],
            "checks": dict(self.checks),
            "stats": {k: _plain(v) for k, v in self.stats.items()},
            "time_s": float(self.time_s),
        }


CHECKS = ("rank", "zeros_per_column", "centre", "tangent_cones")


def necessary_conditions(H, *, tol: float = 1e-9) -> NecessaryReport:
    """Run the cheap necessary checks for condition (1).

    Parameters
    ----------
    H : array_like of shape (N, r)
        Nonnegative; rows are samples (the paper's orientation).
    tol : float, default 1e-9
        A check refutes (1) only when the all-ones vector lies farther than
        ``tol`` times its norm from the cone it is projected on, and only
        with a certificate y in the dual cone that, scaled to ``1.y = 1``,
        has ``||y|| > 1 + tol`` (or has ``1.y <= 0``).

    Returns
    -------
    NecessaryReport

    Examples
    --------
    >>> import numpy as np
    >>> necessary_conditions(np.eye(3)).passed
    True
    >>> necessary_conditions(np.ones((4, 3))).failure.startswith("rank")
    True
    """
    tol = check_nonnegative_float(tol, "tol")
    prepared = prepare(H)
    return run_necessary(prepared, tol)


def run_necessary(prepared: PreparedH, tol: float) -> NecessaryReport:
    """The checks on already prepared rows (used by check_scattering)."""
    start = time.perf_counter()
    rows, r = prepared.rows, prepared.r
    zeros = [int(np.sum(rows[:, k] == 0)) for k in range(r)]  # [0] * r for no rows
    checks: dict[str, bool | None] = dict.fromkeys(CHECKS)

    def done(failure: str | None, witness: np.ndarray | None) -> NecessaryReport:
        return NecessaryReport(
            passed=failure is None,
            failure=failure,
            witness=None if witness is None else scale_witness(witness),
            zeros_per_column=zeros,
            checks=checks,
            stats=prepared.stats(),
            time_s=time.perf_counter() - start,
        )

    if prepared.rank < r:
        checks["rank"] = False
        # The right singular vector of the smallest singular value: null_space's own
        # threshold (below prepare's) can find no null space for a rank read as < r.
        y = np.linalg.svd(rows)[2][-1] if rows.size else np.ones(r)
        y = -y if y.sum() > 0 else y  # the line in the dual cone: pick 1.y <= 0
        return done(
            f"rank: H has rank {prepared.rank} < r = {r}, so cone(H.T) is not "
            "full-dimensional and cannot contain C",
            y,
        )
    checks["rank"] = True
    if r == 1:
        checks.update(zeros_per_column=True, centre=True, tangent_cones=True)
        return done(None, None)

    checks["zeros_per_column"] = True
    for k in range(r):
        face = _face_rows(rows, k)
        # matrix_rank's threshold is relative to the largest singular value
        face_rank = int(np.linalg.matrix_rank(face)) if face.shape[0] else 0
        if face_rank < r - 1:
            z = null_space(face)[:, 0] if face.shape[0] else np.eye(r - 1)[0]
            z = -z if z.sum() > 0 else z
            y = _leave_unit_vector(rows, k, z)
            if refutes_one(rows, y, tol):
                checks["zeros_per_column"] = False
                return done(
                    f"zeros_per_column: column {k} has {zeros[k]} zeros spanning rank "
                    f"{face_rank} < r - 1 = {r - 1}, so e_{k} is not a vertex of the dual "
                    "slice",
                    y,
                )

    # distances relative to the norm of the vector projected; certificates are
    # checked on every row
    distance, y = cone_projection(rows, np.ones(r), threshold=tol * np.sqrt(r))
    if y is not None and refutes_one(rows, y, tol):
        checks["centre"] = False
        return done(
            f"centre: the all-ones vector lies at distance {distance:.3g} from cone(H.T), "
            "so the dual cone holds a y with 1.y < 0",
            y,
        )
    checks["centre"] = True

    for k in range(r):
        threshold = tol * np.sqrt(r - 1)
        distance, z = cone_projection(_face_rows(rows, k), np.ones(r - 1), threshold)
        if z is not None:  # farther than the threshold
            y = _leave_unit_vector(rows, k, z)
            if refutes_one(rows, y, tol):
                checks["tangent_cones"] = False
                return done(
                    f"tangent_cones: at e_{k} the dual slice has an edge along which ||y|| "
                    "grows (the ones vector is not inside the cone of the rows with a zero "
                    f"in column {k})",
                    y,
                )
    checks["tangent_cones"] = True
    return done(None, None)


def _face_rows(rows: np.ndarray, k: int) -> np.ndarray:
    """Rows with a zero in column k, without column k."""
    return np.delete(rows[rows[:, k] == 0], k, axis=1)


def _leave_unit_vector(rows: np.ndarray, k: int, z: np.ndarray) -> np.ndarray:
    """Walk from e_k along ``d = (-(1.z) at k, z)`` to the edge of the dual slice.

    With ``1.z <= 0`` and ``z != 0`` every point ``e_k + t d`` (t > 0) has
    norm above 1; going as far as the slice allows makes the certificate
    as large as this direction gives.
    """
    r = rows.shape[1]
    d = np.empty(r)
    d[k] = -z.sum()
    d[np.arange(r) != k] = z
    d /= np.linalg.norm(d)
    rate = rows @ d
    # a row limits the step when it decreases along d beyond rounding, relative to
    # its own size (||d|| = 1); face rows hold with equality
    shrinking = (rate < -1e-12 * np.linalg.norm(rows, axis=1)) & (rows[:, k] > 0)
    # unbounded along d (the slice is unbounded): any step works; take 1
    step = float(np.min(rows[shrinking, k] / -rate[shrinking])) if shrinking.any() else 1.0
    return np.eye(r)[k] + step * d
