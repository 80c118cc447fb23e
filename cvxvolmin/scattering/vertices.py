"""Exact decision from all vertices of the dual slice, certified.

The vertices of ``P = {y : H y >= 0, 1.y = 1}`` decide (1) and (2) (guide,
section 3): H is sufficiently scattered iff every vertex other than the
unit vectors e_k has ``||y|| < 1``. Where H is highly degenerate and
structured (truncated simplices, hypersimplices: hundreds of rows on each
facet of cone(H.T)) P has few vertices, and listing them takes a fraction
of a second where Qhull's triangulated facets of the rows' hull explode.

The answer rests on a certificate that ``P = conv(V)`` for the set V used:

* ``V ⊆ P``: every point of V is the vertex its own rows pin exactly (the
  rows active at it, with ``1.y = 1``, solved together) and satisfies every
  row relative to ``||row|| ||y||``; the e_k always belong to P (H is
  nonnegative) and always belong to V.
* ``P ⊆ conv(V)``: every facet of conv(V) (Qhull, on the few points of V,
  in the slice's coordinates) is valid on P. A facet is valid when some row
  of H is active, exactly, at r - 1 of its points: the row's hyperplane is
  then the facet's, and the row holds on all of P by definition. Any other
  facet gets an LP (``min g.y`` over P, HiGHS): either it holds on P, or
  the LP's optimum is a point of P beyond it, whose vertex joins V, and
  the check starts again (each round adds a vertex of P, so it ends).

V starts as the e_k. When a few rounds have not certified it, P is large,
and the double-description method (cdd, the optional extra ``cdd``) lists
its vertices in one go, which saves rounds of LPs. cdd works in floating
point here and is not trusted: measured on the truncated simplex at r = 10
with its cuts 1e-4 inside the boundary, it returned 16 of the 20 vertices,
and with some row orders it stops on a "numerical inconsistency". Its list
is pinned and certified like any other, and completed by the same loop.

With ``P = conv(V)`` the maximum of the strictly convex norm over P sits
on V, so ``m2`` (the largest norm other than the e_k) is exact, and a
vertex within ``tol`` of norm 1 is reported as on the boundary, as by full
facet enumeration.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np
from scipy.spatial import ConvexHull, QhullError, cKDTree

from ..lp import RowLP
from .exact import _CLOSE, _FEAS, FacetSummary
from .geometry import slice_basis

#: A row is active at a pinned vertex when ``|row.y| <= _ACTIVE ||row|| ||y||``:
#: pinned vertices hold their rows to rounding (about 1e-16); the inactive
#: rows of the structured H this stage is for are off by far more.
_ACTIVE = 1e-10
#: Thresholds on ``|row.y| / ||y||`` (rows of unit norm) tried in turn to find
#: the rows active at an approximate vertex: cdd's vertices were measured
#: 2e-9 off the exact ones.
_PIN_THRESHOLDS = (1e-12, 1e-10, 1e-8, 1e-6)
#: Facets whose support is counted at a time (bounds an n x chunk matrix).
_CHUNK = 4096
#: Rounds of the completion loop before giving up (each adds a vertex).
_MAX_ROUNDS = 200
#: Rounds from the e_k alone before cdd's list joins (when cdd is installed).
#: Measured (r = 10, truncated simplices, 20 vertices): 2 rounds, 10 LPs, 0.1 to
#: 0.2 s, where cdd alone takes 0.4 s; the paper's H at r = 7 (507 vertices)
#: needs 9 rounds and 24 s from the e_k, 6 s from cdd's list.
_UNIT_ROUNDS = 4


@dataclass(frozen=True)
class Certificate:
    """The outcome of checking ``P = conv(V)`` for a set V of points of P.

    ``valid`` when V lies in P and every facet of conv(V) holds on P;
    ``reason`` says what failed otherwise. ``beyond`` are points of P found
    outside conv(V) (one per facet that failed its LP), ``n_facets`` the
    facets of conv(V) and ``n_lps`` the LPs solved for them.
    """

    valid: bool
    reason: str | None
    beyond: np.ndarray
    n_facets: int
    n_lps: int


def cdd_rays(rows: np.ndarray) -> np.ndarray:
    """Extreme rays of the dual cone ``{y : rows y >= 0}`` by cdd (floating point).

    Returns an empty ``(0, r)`` array when cdd (the extra ``cdd``) is not
    installed or stops on a numerical inconsistency (it does in floating
    point): the completion then starts from the e_k alone.
    """
    r = rows.shape[1]
    try:
        import cdd
    except ImportError:
        return np.empty((0, r))
    matrix = cdd.matrix_from_array(
        np.hstack([np.zeros((rows.shape[0], 1)), rows]).tolist(),
        rep_type=cdd.RepType.INEQUALITY,
    )
    try:
        generators = cdd.copy_generators(cdd.polyhedron_from_matrix(matrix))
    except RuntimeError:  # "numerical inconsistency": no start, the completion does it all
        return np.empty((0, r))
    G = np.array(generators.array, dtype=float).reshape(-1, r + 1)
    keep = np.ones(G.shape[0], bool)
    keep[list(generators.lin_set)] = False  # lines: a rank below r, refuted before
    return G[keep, 1:]


def _pin(rows: np.ndarray, directions: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The exact vertices (``1.y = 1``) that the points Y approximate; the others dropped.

    A vertex of this degenerate P has hundreds of active rows, nearly
    dependent in any r - 1 of them, so it is solved from all the rows nearly
    active at y at once (least squares by SVD: ``rows_A y = 0, 1.y = 1``),
    for the tightest threshold at which they have rank r - 1; the solution
    is kept when it lies near y and satisfies every row.
    """
    r = rows.shape[1]
    out = []
    for y in Y:
        total = y.sum()
        norm = float(np.linalg.norm(y))
        if not total > 1e-12 * norm:
            continue
        y = y / total
        slack = np.abs(directions @ y) / np.linalg.norm(y)
        for threshold in _PIN_THRESHOLDS:
            active = rows[slack <= threshold]
            if active.shape[0] < r - 1:
                continue
            system = np.vstack([active, np.ones(r)])
            rhs = np.zeros(system.shape[0])
            rhs[-1] = 1.0
            vertex, _, rank, sv = np.linalg.lstsq(system, rhs, rcond=None)
            if rank < r or sv[-1] <= 1e-9 * sv[0]:
                continue  # not pinned yet (or already too many rows: a larger threshold fails too)
            near = np.linalg.norm(vertex - y) <= _CLOSE * np.linalg.norm(y)
            if near and (directions @ vertex).min() >= -_FEAS * np.linalg.norm(vertex):
                k = np.flatnonzero(np.all(active == 0, axis=0))
                out.append(np.eye(r)[k[0]] if k.size else vertex)
                break
    return np.array(out).reshape(-1, r)


def _halfspace_ray(directions: np.ndarray, Y: np.ndarray) -> np.ndarray | None:
    """A ray of the dual cone with ``1.y <= 0`` (then (1) fails), checked on every row."""
    norms = np.linalg.norm(Y, axis=1)
    for y, norm in zip(Y, norms, strict=True):
        if y.sum() <= 1e-12 * norm and (directions @ y).min() >= -_FEAS * norm:
            return y / norm
    return None


def certify_vertices(
    rows: np.ndarray, vertices: np.ndarray, lp: RowLP | None = None
) -> Certificate:
    """Check that ``P = {y : rows y >= 0, 1.y = 1}`` is the convex hull of ``vertices``.

    Parameters
    ----------
    rows : ndarray of shape (n, r)
        Prepared rows of H (nonnegative, each summing to one), r >= 3.
    vertices : ndarray of shape (k, r)
        Points claimed to be the vertices of P (they need not be all of them:
        the certificate then fails with the points of P they miss).
    lp : RowLP, optional
        ``maximize`` over P, reused across calls (built here if None).

    Returns
    -------
    Certificate
        ``valid`` only when every point lies in P (each row relative to
        ``||row|| ||y||``, ``1.y = 1`` relative to ``||y||``) and every facet
        of their hull holds on P.
    """
    r = rows.shape[1]
    empty = np.empty((0, r))
    directions = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    V = np.asarray(vertices, dtype=float)
    norms = np.linalg.norm(V, axis=1)
    off_slice = np.abs(V.sum(axis=1) - 1.0) > 1e-12 * np.maximum(norms, 1.0)
    if off_slice.any():
        i = int(np.argmax(off_slice))
        return Certificate(False, f"point {i} has 1.y = {V[i].sum():.12g}, not 1", empty, 0, 0)
    slack = V @ directions.T
    outside = slack < -_FEAS * norms[:, None]
    if outside.any():
        i, j = (int(v) for v in np.argwhere(outside)[0])
        return Certificate(
            False,
            f"point {i} violates row {j} (row.y = {slack[i, j]:.3g}): it is not in P",
            empty,
            0,
            0,
        )
    B = slice_basis(r)
    Z = (V - 1.0 / r) @ B
    try:
        hull = ConvexHull(Z)
    except QhullError:
        try:
            hull = ConvexHull(Z, qhull_options="QJ")
        except QhullError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "QhullError"
            return Certificate(False, f"Qhull failed on the points: {first}", empty, 0, 0)
    equations, simplices = hull.equations, hull.simplices
    # each facet of conv(V) as a homogeneous row g (g.y >= 0 on the slice), see exact.py
    G = -(equations[:, :-1] @ B.T + equations[:, -1:])
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    scale = np.maximum(norms.max(), 1.0)
    if (V @ G.T).min() < -1e-9 * scale:
        return Certificate(False, "Qhull's hull of the points does not contain them", empty, 0, 0)
    active = (np.abs(slack) <= _ACTIVE * norms[:, None]).T.astype(np.int32)  # (n, k)
    supported = np.zeros(len(simplices), bool)
    for lo in range(0, len(simplices), _CHUNK):
        part = simplices[lo : lo + _CHUNK]
        incidence = np.zeros((part.shape[0], V.shape[0]), np.int32)
        np.put_along_axis(incidence, part, 1, axis=1)
        supported[lo : lo + _CHUNK] = (active @ incidence.T).max(axis=0) == r - 1
    unsupported = np.flatnonzero(~supported)
    if unsupported.size == 0:
        return Certificate(True, None, empty, len(simplices), 0)
    if lp is None:
        lp = dual_slice_lp(rows)
    beyond, n_lps = [], 0
    # pieces of one facet share Qhull's hyperplane: one LP for each hyperplane
    _, first = np.unique(np.round(G[unsupported], 12), axis=0, return_index=True)
    for f in unsupported[np.sort(first)]:
        point = lp.maximize(-G[f])
        n_lps += 1
        if G[f] @ point < -1e-9 * max(np.linalg.norm(point), 1.0):
            beyond.append(point)
    if not beyond:
        return Certificate(True, None, empty, len(simplices), n_lps)
    return Certificate(
        False,
        f"{len(beyond)} facets of the hull of the points cut P (points of P lie beyond them)",
        np.array(beyond),
        len(simplices),
        n_lps,
    )


def dual_slice_lp(rows: np.ndarray) -> RowLP:
    """``maximize d.y`` over P, declared once (a box ``|y_i| <= 2`` keeps it bounded)."""
    r = rows.shape[1]
    y = cp.Variable(r, name="y")
    constraints = [rows @ y >= 0, cp.sum(y) == 1, y <= 2.0, y >= -2.0]
    return RowLP(y, constraints, "HIGHS", owner="the vertex certificate")


def enumerate_vertices(rows: np.ndarray, tol: float) -> tuple[FacetSummary, dict[str, Any]]:
    """Decide from all vertices of P: cdd's list, pinned, certified and completed.

    ``rows`` are distinct, nonzero, scaled to sum one, of rank r >= 3, and
    the all-ones vector is inside cone(H.T) (the necessary checks passed),
    so P is bounded. Returns the facet stage's summary with
    ``strategy="vertices"`` (``top_norm`` is m2, exact), or one with
    ``error`` set when no certificate was reached, and counts for the
    result's ``stats``. ``tol`` is not needed to decide (every vertex is
    known); it is taken for the signature the stages share.
    """
    n, r = rows.shape
    directions = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    info: dict[str, Any] = {"cdd_rays": 0, "certificate_lps": 0}
    V = np.eye(r)
    lp = dual_slice_lp(rows)
    for rounds in range(1, _MAX_ROUNDS + 1):
        if rounds == _UNIT_ROUNDS + 1:  # a large P: cdd's list, to save rounds of LPs
            rays = cdd_rays(rows)
            info["cdd_rays"] = int(rays.shape[0])
            ray = _halfspace_ray(directions, rays)
            if ray is not None:
                return FacetSummary("vertices", 0, 0, 0, ray, None, np.inf, n_rows_used=n), info
            V = _distinct(np.vstack([V, _pin(rows, directions, rays)]))
        certificate = certify_vertices(rows, V, lp)
        info["certificate_lps"] += certificate.n_lps
        if certificate.valid:
            break
        grown = _distinct(np.vstack([V, _pin(rows, directions, certificate.beyond)]))
        if grown.shape[0] == V.shape[0]:
            why = certificate.reason
            if certificate.beyond.size:
                why = "a point of P beyond the hull of the vertices found is on no new vertex"
            return _failed(f"the vertex list could not be certified: {why}"), info
        V = grown
    else:
        return _failed(f"the vertex list was still incomplete after {_MAX_ROUNDS} rounds"), info
    info["certificate_rounds"] = rounds
    unit = (V == np.eye(r)[np.argmax(V, axis=1)]).all(axis=1)
    others = V[~unit]
    norms = np.linalg.norm(others, axis=1)
    top = int(np.argmax(norms)) if norms.size else None
    summary = FacetSummary(
        strategy="vertices",
        n_facets=certificate.n_facets,
        n_vertices=int(V.shape[0]),
        n_unit=int(unit.sum()),
        halfspace_witness=None,
        top_vertex=None if top is None else others[top],
        top_norm=0.0 if top is None else float(norms[top]),
        n_rows_used=n,
        iterations=rounds,
    )
    return summary, info


def _distinct(V: np.ndarray) -> np.ndarray:
    """V without repeats: points within 1e-9 of an earlier one (relative) are dropped.

    The same vertex solved from two sets of its active rows differs by
    rounding, which a rounded key can split; the e_k come first and stay.
    """
    scale = max(float(np.abs(V).max(initial=0.0)), 1.0)
    pairs = cKDTree(V).query_pairs(1e-9 * scale, output_type="ndarray")
    keep = np.ones(V.shape[0], bool)
    keep[pairs.max(axis=1)] = False
    return V[keep]


def _failed(reason: str) -> FacetSummary:
    return FacetSummary("vertices", 0, 0, 0, None, None, 0.0, error=reason)


def _child(conn, rows: np.ndarray, tol: float) -> None:
    try:
        conn.send(enumerate_vertices(rows, tol))
    except BaseException as exc:  # report, never hang the parent
        conn.send((_failed(f"the vertex stage failed: {exc!r}"), {}))
    finally:
        conn.close()


def enumerate_within(
    rows: np.ndarray, tol: float, time_limit: float
) -> tuple[FacetSummary | None, dict[str, Any]]:
    """Run :func:`enumerate_vertices`, giving up after ``time_limit`` seconds.

    cdd cannot be interrupted, so under a finite limit the work runs in a
    forked child that is terminated at the limit; ``(None, info)`` then.
    Where ``fork`` is unavailable it runs in-process and cannot be stopped.
    """
    start = time.perf_counter()
    if not np.isfinite(time_limit) or "fork" not in multiprocessing.get_all_start_methods():
        summary, info = enumerate_vertices(rows, tol)
        return summary, {**info, "vertices_s": time.perf_counter() - start}
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, rows, tol), daemon=True)
    proc.start()
    child.close()
    summary, info = None, {}
    try:
        if parent.poll(max(time_limit, 0.0)):
            summary, info = parent.recv()
    except EOFError:
        summary = _failed("the vertex enumeration's process died")
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(timeout=5)
        parent.close()
    return summary, {**info, "vertices_s": time.perf_counter() - start}
