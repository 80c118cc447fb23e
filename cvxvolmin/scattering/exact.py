"""Exact decision of (1) and (2) from facets of cone(H.T) (or of a subcone).

Facts used (guide, section 3). The vertices of the dual slice
``P = {y : H y >= 0, 1.y = 1}`` are the facet normals of cone(H.T). On the
slice ``1.x = 1`` the cone is the convex hull of the rows scaled to sum one;
Qhull (``scipy.spatial.ConvexHull``) gives its facets as ``n.z + c <= 0`` in
orthonormal coordinates ``z = B.T (x - 1/r)`` of the slice, and
``y = -(B n + c 1)`` is the facet normal in R^r, with ``1.y = -r c``. Then

* a facet with ``c >= 0`` (the centre 1/r not strictly inside) gives a y
  with ``1.y <= 0``: (1) fails;
* otherwise, with y scaled to ``1.y = 1``, let ``m2`` be the largest
  ``||y||`` over the vertices other than the unit vectors e_k. H is
  sufficiently scattered iff ``m2 < 1``; (1) holds iff ``m2 <= 1``; a vertex
  with ``||y|| = 1`` that is not an e_k violates (2). The maximum of the
  convex ``||y||`` over P sits at a vertex, and the norm is strictly convex
  across rays, so nothing between vertices can touch bd C*.

Two strategies, chosen by r (measured on this project's 2-core machine,
the paper's H: N = 200, 35% zeros, seeds 0-2):

* ``"facets"`` (r <= 7): all facets of cone(H.T); gives m2 exactly. r = 5
  in about 1 ms, r = 7 in 20-50 ms; but r = 8 takes 0.2-0.3 s, r = 9 3-6 s
  and r = 10 about 130 s (546,596 triangulated facets: Qhull splits each face
  ``x_k = 0``, which holds some 70 rows, into simplices).
* ``"outer"`` (r >= 8): an outer approximation. For a subset S of the rows,
  ``Q = {y : H[S] y >= 0, 1.y = 1}`` contains P. If every vertex of Q other
  than the e_k has norm below ``1 - tol``, so has every point of Q other
  than the e_k (a point of norm 1 would maximize the strictly convex norm,
  hence be a vertex), so H is sufficiently scattered. Otherwise every vertex
  of Q with norm at least ``1 - tol`` either satisfies all rows (it is then
  a vertex of P: the witness) or violates one, which joins S. S starts from
  the rows nearest the corners of each face ``x_k = 0``; the paper's H needs
  25-50 rows and 2-8 rounds: r = 8 in 0.03-0.06 s, r = 9 in 0.1-0.2 s,
  r = 10 in 0.6-1.4 s, r = 11 in 9 s, r = 12 in about 100 s. It certifies the
  sign of ``1 - m2`` but not m2 itself (Q's runner-up is reported as
  ``certificate_gap``). Checked against full enumeration on 400 random H
  (r = 3 to 8, 269 scattered, 131 not): no disagreement.

Tried and dropped: a conical branch and bound rooted at each e_k (so the
maximum 1 attained there needs no tolerance), bounding P in each cone by a
simplex inscribed in the ball ``||y|| <= 1`` with one LP on HiGHS per cone.
It decided r = 6 in 0.05 s but needed 800-1,700 cones at r = 7 (5-10 s) and
127,000 cones at r = 8 (580 s): chord bounds close slowly where the cones
are nearly tangent to the sphere.

Qhull cannot be interrupted, so when a time limit is set and r is not tiny
the work runs in a forked child process that is terminated at the limit
("inconclusive", never a run-on).
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from .geometry import slice_basis

#: Normals within this (max-norm) distance of an e_k count as that e_k.
UNIT_ATOL = 1e-9
#: Below this r, Qhull takes milliseconds: run in-process.
_IN_PROCESS_MAX_R = 6


@dataclass(frozen=True)
class FacetSummary:
    """What the exact stage found (small, so it crosses a pipe cheaply).

    ``top_vertex`` is the non-unit vertex of largest norm of the certifying
    polytope: the dual slice P itself ("facets"), or the outer approximation
    Q ⊇ P ("outer"). When ``top_norm >= 1 - tol`` it is checked to lie in P,
    so it is then a vertex of P.
    """

    strategy: str
    n_facets: int
    n_vertices: int
    n_unit: int
    halfspace_witness: np.ndarray | None
    top_vertex: np.ndarray | None
    top_norm: float  # largest norm over non-unit vertices (0 if none)
    n_rows_used: int = 0
    iterations: int = 1
    error: str | None = None
    joggled: bool = False


@dataclass(frozen=True)
class _Vertices:
    n_facets: int
    joggled: bool
    halfspace: np.ndarray  # unit-norm normals with 1.y <= 0, shape (h, r)
    others: np.ndarray  # non-unit vertices scaled to 1.y = 1, by decreasing norm
    norms: np.ndarray
    n_unit: int


def _facet_equations(Z: np.ndarray) -> tuple[np.ndarray, bool]:
    """Facets ``n.z + c <= 0`` of conv(Z) (rows), also in dimension 1; joggled?"""
    if Z.shape[1] == 1:  # r = 2: the hull is an interval
        lo, hi = float(Z.min()), float(Z.max())
        return np.array([[1.0, -hi], [-1.0, lo]]), False
    try:
        return ConvexHull(Z).equations, False
    except QhullError:
        # many rows on each face x_k = 0 can make Qhull's facet merging fail;
        # joggling the input (by about 1e-11, with Qhull's fixed seed, so
        # deterministic) is its documented way out of such precision errors
        return ConvexHull(Z, qhull_options="QJ").equations, True


def _dual_vertices(rows: np.ndarray) -> _Vertices:
    """Vertices of ``{y : rows y >= 0, 1.y = 1}`` from the hull of ``rows``."""
    r = rows.shape[1]
    B = slice_basis(r)
    equations, joggled = _facet_equations((rows - 1.0 / r) @ B)
    Y = -(equations[:, :-1] @ B.T + equations[:, -1:])
    sums = Y.sum(axis=1)
    norms = np.linalg.norm(Y, axis=1)
    outward = sums <= 1e-12 * norms
    halfspace = Y[outward] / norms[outward, None]
    V = Y[~outward] / sums[~outward, None]
    nearest = np.eye(r)[np.argmax(V, axis=1)]
    unit = np.max(np.abs(V - nearest), axis=1) <= UNIT_ATOL
    n_unit = int(np.unique(np.argmax(V[unit], axis=1)).size) if unit.any() else 0
    # Qhull splits non-simplicial facets into pieces with one normal: merge them
    _, first = np.unique(np.round(V[~unit], 10), axis=0, return_index=True)
    others = V[~unit][first]
    other_norms = np.linalg.norm(others, axis=1)
    order = np.argsort(-other_norms, kind="stable")
    return _Vertices(len(equations), joggled, halfspace, others[order], other_norms[order], n_unit)


def enumerate_facets(rows: np.ndarray, tol: float) -> FacetSummary:
    """Decide from all facets of cone(H.T): exact ``top_norm`` (m2).

    ``rows`` are distinct, nonzero, scaled to sum one, and of rank r >= 2.
    """
    try:
        found = _dual_vertices(rows)
    except QhullError as exc:
        return _qhull_failed("facets", exc)
    if found.halfspace.shape[0]:
        return FacetSummary(
            "facets",
            found.n_facets,
            0,
            0,
            found.halfspace[0],
            None,
            np.inf,
            n_rows_used=rows.shape[0],
            joggled=found.joggled,
        )
    top = found.others[0] if found.others.shape[0] else None
    return FacetSummary(
        strategy="facets",
        n_facets=found.n_facets,
        n_vertices=int(found.others.shape[0]) + found.n_unit,
        n_unit=found.n_unit,
        halfspace_witness=None,
        top_vertex=top,
        top_norm=float(found.norms[0]) if top is not None else 0.0,
        n_rows_used=rows.shape[0],
        joggled=found.joggled,
    )


def outer_approximation(rows: np.ndarray, tol: float, max_add: int = 50) -> FacetSummary:
    """Decide with facets of the cone of a growing subset S of the rows.

    ``Q = {y : H[S] y >= 0, 1.y = 1}`` contains P. If every vertex of Q other
    than the e_k has norm below ``1 - tol``, then so does every point of Q
    (hence of P) other than the e_k: a point of norm 1 would maximize the
    strictly convex norm over Q, so it would be a vertex. Otherwise each
    vertex of Q with norm at least ``1 - tol`` is either in P (a vertex of
    P: the witness) or violates a row, which joins S. S starts from the
    rows nearest the corners of each face ``x_k = 0``; every round adds at
    least one row, so the loop ends (at worst with S = all rows, Q = P).
    """
    r = rows.shape[1]
    chosen = {int(np.argmax(rows[:, j])) for j in range(r)}
    for k in range(r):
        face = np.flatnonzero(rows[:, k] == 0)
        if face.size:
            chosen.update(int(face[np.argmax(rows[face, j])]) for j in range(r) if j != k)
    if np.linalg.matrix_rank(rows[sorted(chosen)]) < r:
        return enumerate_facets(rows, tol)  # too few rows to start from: take them all
    iterations = 0
    joggled = False
    boundary = None
    while True:
        iterations += 1
        subset = np.array(sorted(chosen))
        try:
            found = _dual_vertices(rows[subset])
        except QhullError:
            return enumerate_facets(rows, tol)  # a degenerate subset: fall back to all
        joggled = joggled or found.joggled
        candidates = list(found.halfspace) + [
            v for v, norm in zip(found.others, found.norms, strict=True) if norm >= 1.0 - tol
        ]
        added = 0
        in_q = set(chosen)
        for y in candidates[:max_add]:
            slack = rows @ y
            worst = int(np.argmin(slack))
            if slack[worst] < -1e-10:
                if worst not in chosen:
                    chosen.add(worst)
                    added += 1
                    continue
                if worst not in in_q:  # cut off by a row added this round
                    continue
            # y is in P (up to Qhull's precision on the rows of Q): a vertex of P
            if y.sum() <= 1e-12 * np.linalg.norm(y) or np.linalg.norm(y) > 1.0 + tol:
                return _outer_summary(found, y, subset.size, iterations, joggled)
            if boundary is None or np.linalg.norm(y) > np.linalg.norm(boundary):
                boundary = y  # within tol of 1: keep looking for a clear violation
        if added == 0:  # no vertex of Q but the e_k (and boundary) reaches 1 - tol
            return _outer_summary(found, boundary, subset.size, iterations, joggled)


def _outer_summary(
    found: _Vertices, y: np.ndarray | None, n_rows: int, iterations: int, joggled: bool
) -> FacetSummary:
    halfspace = y is not None and y.sum() <= 1e-12 * np.linalg.norm(y)
    if y is None and found.others.shape[0]:
        top, top_norm = found.others[0], float(found.norms[0])
    elif y is None:
        top, top_norm = None, 0.0
    else:
        top, top_norm = (None, np.inf) if halfspace else (y, float(np.linalg.norm(y)))
    return FacetSummary(
        strategy="outer",
        n_facets=found.n_facets,
        n_vertices=int(found.others.shape[0]) + found.n_unit,
        n_unit=found.n_unit,
        halfspace_witness=y if halfspace else None,
        top_vertex=top,
        top_norm=top_norm,
        n_rows_used=n_rows,
        iterations=iterations,
        joggled=joggled,
    )


def _qhull_failed(strategy: str, exc: Exception) -> FacetSummary:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else "QhullError"
    return FacetSummary(strategy, 0, 0, 0, None, None, 0.0, error=f"Qhull failed: {first}")


#: Up to this r, enumerate all facets (exact gap, milliseconds at N = 200).
FULL_ENUMERATION_MAX_R = 7


def decide(rows: np.ndarray, tol: float) -> FacetSummary:
    """All facets for small r, the outer approximation beyond."""
    if rows.shape[1] <= FULL_ENUMERATION_MAX_R:
        return enumerate_facets(rows, tol)
    return outer_approximation(rows, tol)


def _child(conn, rows: np.ndarray, tol: float) -> None:
    try:
        conn.send(decide(rows, tol))
    except BaseException as exc:  # report, never hang the parent
        conn.send(FacetSummary("?", 0, 0, 0, None, None, 0.0, error=repr(exc)))
    finally:
        conn.close()


def decide_within(
    rows: np.ndarray, tol: float, time_limit: float
) -> tuple[FacetSummary | None, dict[str, Any]]:
    """Run :func:`decide`, giving up after ``time_limit`` seconds.

    Returns ``(None, info)`` on time-out. Uses a forked child when a limit
    applies and r is large enough for Qhull to take noticeable time; where
    ``fork`` is unavailable it runs in-process and cannot be stopped.
    """
    r = rows.shape[1]
    start = time.perf_counter()
    forkable = "fork" in multiprocessing.get_all_start_methods()
    if r <= _IN_PROCESS_MAX_R or not np.isfinite(time_limit) or not forkable:
        summary = decide(rows, tol)
        return summary, {"subprocess": False, "exact_s": time.perf_counter() - start}
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, rows, tol), daemon=True)
    proc.start()
    child.close()
    try:
        if parent.poll(max(time_limit, 0.0)):
            summary = parent.recv()
        else:
            summary = None
    except EOFError:
        summary = FacetSummary("?", 0, 0, 0, None, None, 0.0, error="the Qhull process died")
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(timeout=5)
        parent.close()
    return summary, {"subprocess": True, "exact_s": time.perf_counter() - start}
