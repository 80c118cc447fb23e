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

Qhull's normals are accurate only to its precision, and much less when it
joggles its input (it does when facet merging fails, e.g. with many rows on
each face ``x_k = 0``): normals of joggled slivers were measured 6e-4 off,
and the normals near each e_k 1e-9 off, which a fixed tolerance took for
vertices on the boundary. So every candidate that can matter is replaced by
the vertex its rows pin exactly: the r - 1 rows of its facet (or, failing
that, the rows nearly active at it) with ``1.y = 1`` are solved, and the
solution is kept when it satisfies every row (relative to ``||row|| ||y||``).
A candidate is e_k exactly when its rows are all zero in column k; unit
vectors are recognized by that structure, never by comparing numbers.

Tried and dropped: a conical branch and bound rooted at each e_k (so the
maximum 1 attained there needs no tolerance), bounding P in each cone by a
simplex inscribed in the ball ``||y|| <= 1`` with one LP on HiGHS per cone.
It decided r = 6 in 0.05 s but needed 800-1,700 cones at r = 7 (5-10 s) and
127,000 cones at r = 8 (580 s): chord bounds close slowly where the cones
are nearly tangent to the sphere. The global stage that replaced it for
large r (``cvxvolmin.scattering.star``) moves the e_k out of every
region it bounds, so no bound has to be exact.

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

#: Below this r, Qhull takes milliseconds: run in-process.
_IN_PROCESS_MAX_R = 6
#: A point satisfies a row of H when ``row.y >= -_FEAS ||row|| ||y||``: relative
#: to the magnitudes multiplied, since rows and y come at any scale (the size
#: of the terms, ``|row|.|y|``, would be rounding itself where y is an e_k).
#: Far above the rounding of an exactly solved vertex (about 1e-16), below any
#: violation that matters.
_FEAS = 1e-12
#: A solved vertex must lie this close to Qhull's normal, relative to its
#: norm: a guard (a solution that satisfies every row is a vertex of the dual
#: slice whatever its distance) that also bounds how far refining can move a
#: norm, so that candidates far below the ones that matter are left alone.
#: Qhull's own hyperplanes are fitted to the points of each merged facet, to
#: about 1e-13; joggled normals of sliver facets were measured 6e-4 off.
_CLOSE = 1e-6
_CLOSE_JOGGLED = 1e-2
#: Most candidates refined at a time (bounds the chunk x N slack matrix).
_CHUNK = 2048
#: Most rows the outer approximation adds per round.
_MAX_ADD = 50
#: Set by tests to make Qhull joggle its input, as it does by itself when
#: facet merging fails.
_FORCE_JOGGLE = False


@dataclass(frozen=True)
class FacetSummary:
    """What the exact stage found (small, so it crosses a pipe cheaply).

    ``top_vertex`` is the non-unit vertex of largest norm of the certifying
    polytope: the dual slice P itself ("facets"), or the outer approximation
    Q ⊇ P ("outer"). When ``top_norm >= 1 - tol`` it is checked to lie in P,
    so it is then a vertex of P. ``n_unrefined`` counts the vertices whose
    rows could not be solved exactly (kept as Qhull gave them).
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
    n_unrefined: int = 0


@dataclass(frozen=True)
class _Vertices:
    n_facets: int
    joggled: bool
    halfspace: np.ndarray  # unit-norm normals with 1.y <= 0, shape (h, r)
    others: np.ndarray  # non-unit vertices scaled to 1.y = 1, by decreasing norm
    norms: np.ndarray
    n_unit: int
    n_unrefined: int


def _facet_equations(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Facets ``n.z + c <= 0`` of conv(Z) (rows) and the points on each; joggled?

    Also in dimension 1. The points of a facet are row indices into Z, r - 1
    of them (Qhull triangulates non-simplicial facets).
    """
    if Z.shape[1] == 1:  # r = 2: the hull is an interval
        hi, lo = int(np.argmax(Z[:, 0])), int(np.argmin(Z[:, 0]))
        equations = np.array([[1.0, -float(Z[hi, 0])], [-1.0, float(Z[lo, 0])]])
        return equations, np.array([[hi], [lo]]), False
    if not _FORCE_JOGGLE:
        try:
            hull = ConvexHull(Z)
            return hull.equations, hull.simplices, False
        except QhullError:
            pass
    # many rows on each face x_k = 0 can make Qhull's facet merging fail;
    # joggling the input (by about 1e-11, with Qhull's fixed seed, so
    # deterministic) is its documented way out of such precision errors
    hull = ConvexHull(Z, qhull_options="QJ")
    return hull.equations, hull.simplices, True


def _satisfies(directions: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Whether each y (rows of Y) satisfies every row, relative to ``||row|| ||y||``.

    ``directions`` are the rows scaled to unit norm.
    """
    return (Y @ directions.T).min(axis=1) >= -_FEAS * np.linalg.norm(Y, axis=1)


def _solve_defining(rows: np.ndarray, sets: np.ndarray) -> np.ndarray:
    """Solve ``rows[s] y = 0, 1.y = 1`` for each set s of r - 1 rows (NaN if not unique)."""
    r = rows.shape[1]
    M = np.empty((sets.shape[0], r, r))
    M[:, :-1, :] = rows[sets]
    M[:, -1, :] = 1.0
    rhs = np.zeros((sets.shape[0], r, 1))
    rhs[:, -1] = 1.0
    try:
        return np.linalg.solve(M, rhs)[..., 0]
    except np.linalg.LinAlgError:
        pass
    # an exactly singular system (a zero pivot) stops the batched solve; the
    # determinant comes from the same LU factorization, so it finds them.
    # Nearly singular ones give a far-off y that the callers' checks reject.
    Y = np.full((sets.shape[0], r), np.nan)
    regular = np.linalg.det(M) != 0
    if regular.any():
        Y[regular] = np.linalg.solve(M[regular], rhs[regular])[..., 0]
    return Y


def _tightest_independent(rows: np.ndarray, order: np.ndarray) -> list[int]:
    """The first r - 1 rows in ``order`` that, with the all-ones row, are independent."""
    r = rows.shape[1]
    basis = np.zeros((r, r))
    basis[0] = 1.0 / np.sqrt(r)
    chosen: list[int] = []
    for i in order:
        rest = rows[i] - basis.T @ (basis @ rows[i])
        norm = np.sqrt(rest @ rest)
        # independent beyond rounding, relative to the row's own size
        if norm > 1e-9 * np.sqrt(rows[i] @ rows[i]):
            chosen.append(int(i))
            basis[len(chosen)] = rest / norm
            if len(chosen) == r - 1:
                break
    return chosen


def _refine_one(
    rows: np.ndarray, directions: np.ndarray, y: np.ndarray, close: float
) -> tuple[np.ndarray, int]:
    """Pin y by the rows it nearly satisfies with equality: ``(vertex, unit k or -1)``.

    The fallback for a facet whose own points do not pin a vertex: a sliver
    of Qhull's triangulation, or joggled points that, unjoggled, are not on
    one facet. The r - 1 independent rows of smallest slack at y are the
    rows active at the vertex y approximates whenever y is nearer to it than
    half its distance to the other rows; the polisher's second order (slack
    nearest zero) covers a y slightly outside. Returns ``(y, -2)`` (Qhull's
    normal kept) when neither works.
    """
    r = rows.shape[1]
    slack = directions @ y  # only its order matters: y's scale is irrelevant
    for key in (slack, np.abs(slack)):
        chosen = _tightest_independent(rows, np.argsort(key, kind="stable"))
        if len(chosen) < r - 1:
            break
        vertex = _solve_defining(rows, np.array([chosen]))[0]
        near = np.linalg.norm(vertex - y) <= close * np.linalg.norm(y)
        if near and _satisfies(directions, vertex[None])[0]:
            zero = np.flatnonzero(np.all(rows[chosen] == 0, axis=0))
            if zero.size:  # the chosen rows pin e_k exactly
                return np.eye(r)[zero[0]], int(zero[0])
            return vertex, -1
    return y, -2


def _common_zeros(rows: np.ndarray, simplices: np.ndarray) -> np.ndarray:
    """``(n, r)`` booleans: whether all rows of each facet are zero in column k."""
    r = rows.shape[1]
    if r > 62:
        return np.all(rows[simplices] == 0, axis=1)
    # one bit per column: an AND over a facet's rows instead of an (n, r - 1, r) array
    bits = (rows == 0).astype(np.int64) @ (np.int64(1) << np.arange(r))
    common = np.bitwise_and.reduce(bits[simplices], axis=1)
    return (common[:, None] >> np.arange(r)) & 1 == 1


def _refine(
    rows: np.ndarray, candidates: np.ndarray, simplices: np.ndarray, floor: float, close: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Replace Qhull's normals by the vertices their defining rows pin exactly.

    A candidate y (scaled to ``1.y = 1``) is the normal of a facet through
    r - 1 rows. Solving ``rows[s] y = 0, 1.y = 1`` for those rows gives the
    vertex of the unjoggled rows to rounding; it is kept when it satisfies
    every row and lies near Qhull's normal. A facet whose rows are all zero
    in column k is e_k exactly when the rows zero in column k have rank
    r - 1: e_k is then a vertex and the only point of the slice where all
    of them are active (its own rows may not pin it: a sliver of the face).
    Pieces of one facet (Qhull gives them one hyperplane) take the vertex of
    any piece that pins it; for the rest the rows nearly active at y are
    tried (:func:`_refine_one`), and failing that Qhull's normal is kept.

    Only the norms at or above ``floor`` and the largest one matter, so the
    other candidates are refined by decreasing norm until the largest is
    settled: a refined vertex is within ``close`` of Qhull's normal, so a
    candidate with ``(1 + close) ||y||`` below both ``floor`` and the best
    non-unit norm found cannot change either. Those keep Qhull's normal.

    Returns ``(Y, unit, n_unrefined)``: ``unit[i]`` is the k of a unit vertex
    (e_k, whatever ``Y[i]`` holds) and -1 for the others, whose vertex is
    ``Y[i]``; ``n_unrefined`` counts the candidates tried whose rows could not
    be solved.
    """
    r = rows.shape[1]
    directions = rows / np.linalg.norm(rows, axis=1)[:, None]
    face_is_facet = np.array(
        [np.linalg.matrix_rank(rows[rows[:, k] == 0]) == r - 1 for k in range(r)]
    )
    Y = candidates.copy()
    unit = np.full(len(Y), -1)
    zero = _common_zeros(rows, simplices)  # (n, r): all of a facet's rows zero in k
    k_face = np.argmax(zero, axis=1)
    face = zero.any(axis=1) & face_is_facet[k_face]
    unit[face] = k_face[face]
    rest = np.flatnonzero(~face)
    reach = np.linalg.norm(candidates[rest], axis=1) * (1.0 + close)
    rest = rest[np.argsort(-reach, kind="stable")]
    reach = np.sort(reach)[::-1]
    best = 0.0
    solved_pieces: dict[bytes, int] = {}
    n_unrefined = 0
    lo, size = 0, 64  # growing chunks: the largest norm is often settled early
    while lo < rest.size:
        if reach[lo] < floor and reach[lo] < best:
            break
        part = rest[lo : lo + size]
        lo, size = lo + size, min(2 * size, _CHUNK)
        with np.errstate(invalid="ignore", over="ignore"):
            solved = _solve_defining(rows, simplices[part])
            distance = np.linalg.norm(solved - candidates[part], axis=1)
            ok = distance <= close * np.linalg.norm(candidates[part], axis=1)
        ok[ok] = _satisfies(directions, solved[ok])
        Y[part[ok]] = solved[ok]
        if not ok.all():
            # pieces of one facet: the same hyperplane from Qhull (rounded relative
            # to the normal's norm), so the same vertex
            norms = np.linalg.norm(candidates[part], axis=1)
            keys = np.round(candidates[part] / norms[:, None], 12)
            for i in np.flatnonzero(ok):
                solved_pieces.setdefault(keys[i].tobytes(), int(part[i]))
        for i in np.flatnonzero(~ok):
            j = solved_pieces.get(keys[i].tobytes())
            if j is None:
                j = int(part[i])
                Y[j], unit[j] = _refine_one(rows, directions, candidates[j], close)
                n_unrefined += int(unit[j] == -2)
                unit[j] = max(unit[j], -1)
                solved_pieces[keys[i].tobytes()] = j
            Y[part[i]], unit[part[i]] = Y[j], unit[j]
        non_unit = unit[part] < 0
        if non_unit.any():
            best = max(best, float(np.linalg.norm(Y[part[non_unit]], axis=1).max()))
    return Y, unit, n_unrefined


def _dual_vertices(rows: np.ndarray, floor: float = np.inf) -> _Vertices:
    """Vertices of ``{y : rows y >= 0, 1.y = 1}`` from the hull of ``rows``.

    Every non-unit vertex with norm at least ``floor``, and the largest, is
    solved exactly (see :func:`_refine`).
    """
    r = rows.shape[1]
    B = slice_basis(r)
    equations, simplices, joggled = _facet_equations((rows - 1.0 / r) @ B)
    Y = -(equations[:, :-1] @ B.T + equations[:, -1:])
    sums = Y.sum(axis=1)
    norms = np.linalg.norm(Y, axis=1)
    # 1.y compared with ||y||: a facet through (or beyond) the centre. Where the
    # threshold falls does not matter: a tiny positive 1.y gives a huge
    # ||y|| / 1.y, which refutes (1) just as 1.y <= 0 does.
    outward = sums <= 1e-12 * norms
    halfspace = Y[outward] / norms[outward, None]
    inward = ~outward
    close = _CLOSE_JOGGLED if joggled else _CLOSE
    V, unit, n_unrefined = _refine(
        rows, Y[inward] / sums[inward, None], simplices[inward], floor, close
    )
    n_unit = int(np.unique(unit[unit >= 0]).size)
    others = V[unit < 0]
    other_norms = np.linalg.norm(others, axis=1)
    # Qhull splits non-simplicial facets into pieces with one vertex: merge them
    # (by direction, rounded relative to the vertex's norm)
    _, first = np.unique(np.round(others / other_norms[:, None], 10), axis=0, return_index=True)
    others, other_norms = others[first], other_norms[first]
    order = np.argsort(-other_norms, kind="stable")
    return _Vertices(
        len(equations),
        joggled,
        halfspace,
        others[order],
        other_norms[order],
        n_unit,
        n_unrefined,
    )


def enumerate_facets(rows: np.ndarray) -> FacetSummary:
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
            n_unrefined=found.n_unrefined,
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
        n_unrefined=found.n_unrefined,
    )


def outer_approximation(rows: np.ndarray, tol: float) -> FacetSummary:
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
        return enumerate_facets(rows)  # too few rows to start from: take them all
    iterations = 0
    joggled = False
    boundary = None
    row_norms = np.linalg.norm(rows, axis=1)
    while True:
        iterations += 1
        subset = np.array(sorted(chosen))
        try:
            found = _dual_vertices(rows[subset], floor=1.0 - tol)
        except QhullError:
            return enumerate_facets(rows)  # a degenerate subset: fall back to all
        joggled = joggled or found.joggled
        candidates = [*found.halfspace, *found.others[found.norms >= 1.0 - tol]]
        grew = False
        in_q = set(chosen)
        for y in candidates[:_MAX_ADD]:
            # the most violated row on the slice (rows sum to one), a violation when
            # beyond rounding relative to ||row|| ||y|| (y's scale varies)
            slack = rows @ y
            worst = int(np.argmin(slack))
            if slack[worst] < -_FEAS * row_norms[worst] * np.linalg.norm(y):
                if worst not in chosen:
                    chosen.add(worst)
                    grew = True
                    continue
                if worst not in in_q:  # cut off by a row added this round
                    continue
            # y is in P (to rounding, relative to each row): a vertex of P; 1.y is
            # compared with ||y|| as in _dual_vertices
            if y.sum() <= 1e-12 * np.linalg.norm(y) or np.linalg.norm(y) > 1.0 + tol:
                return _outer_summary(found, y, subset.size, iterations, joggled)
            if boundary is None or np.linalg.norm(y) > np.linalg.norm(boundary):
                boundary = y  # within tol of 1: keep looking for a clear violation
        if not grew:  # no vertex of Q but the e_k (and boundary) reaches 1 - tol
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
        n_unrefined=found.n_unrefined,
    )


def _qhull_failed(strategy: str, exc: Exception) -> FacetSummary:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else "QhullError"
    return FacetSummary(strategy, 0, 0, 0, None, None, 0.0, error=f"Qhull failed: {first}")


#: Up to this r, enumerate all facets (exact gap, milliseconds at N = 200).
FULL_ENUMERATION_MAX_R = 7


def decide(rows: np.ndarray, tol: float) -> FacetSummary:
    """All facets for small r, the outer approximation beyond."""
    if rows.shape[1] <= FULL_ENUMERATION_MAX_R:
        return enumerate_facets(rows)
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
