"""The global stage: a branch and bound over the rays of the dual slice from each e_k.

The dual slice ``P = {y : H y >= 0, 1.y = 1}`` holds every e_k with
``||e_k|| = 1``, so ``max ||y||`` over P is exactly 1 when (1) holds, and a
bound on ``||y||`` can prune a region around an e_k only if it is exact
there. This stage removes that tangency by a change of coordinates (guide,
section 3; the rows are those of :func:`prepare`, summing to one).

Every y of P lies in the region of the unit vector it is nearest to,
``y_k = max_j y_j``, and with ``s = 1 - y_k > 0`` (y other than e_k) it is
``y = e_k + s (-1, w)``: w collects the other coordinates divided by s, so
``1.w = 1``. The rows with a zero in column k give ``F_k w >= 0`` whatever
s: w lies in the polytope ``Q_k = {w : F_k w >= 0, 1.w = 1}`` (bounded when
the necessary check on the tangent cone at e_k passes). The other rows
(``h_k > 0``) hold for ``s <= 1 / (1 - a.w)`` with ``a = h_(-k) / h_k``, and
y stays nearest to e_k for ``s <= 1 / (1 + w_j)``. Along the ray,
``||y||^2 = 1 - 2 s + s^2 (1 + ||w||^2)``, at most 1 exactly for
``s <= 2 / (1 + ||w||^2)``. So, with
``Phi(w) = max(max_a (1 - a.w), 1 + max_j w_j)`` (convex, piecewise linear)
and ``q(w) = (1 + ||w||^2) / 2``:

* (1) holds iff ``F(w) = Phi(w) - q(w) >= 0`` on every ``Q_k``;
* a w with ``F(w) < 0`` gives the point at ``s = 1 / Phi(w)``, in P, with
  ``||y||^2 = 1 - 2 F(w) / Phi(w)^2 > 1``: a witness;
* ``F(w) = 0`` gives a point of norm 1 other than an e_k, a vertex of P
  (it maximizes the strictly convex norm): (2) fails.

The e_k are the apexes of the rays, outside every ``Q_k``; the other e_j
are the points ``w = e_j`` of ``Q_k``, where the bound ``1 + w_j`` cuts the
ray at ``s = 1/2``, far inside the ball. So ``min F`` over the ``Q_k`` is
positive for a sufficiently scattered H, with no tangency, and a bound need
not be exact anywhere: measured on the paper's H (r = 7 to 9), every vertex
of P has ``F / Phi`` between 0.3 and 1.

Each ``Q_k`` (dimension r - 2) is searched by a spatial branch and bound on
boxes, in coordinates along its principal axes (the extents of ``Q_k``, by
LPs, give both the axes and the first box). On a box, ``q`` is at most its
secant (its concave envelope there), so the LP
``min t - secant(w) s.t. w in Q_k and the box, t >= each piece of Phi``
bounds F from below. A box is dropped when that bound, certified from the
LP's dual values (or a Farkas ray when the box misses ``Q_k``), exceeds
``tol``; otherwise it is halved along its widest axis. The LPs go to HiGHS
directly (the hot loop: only column bounds and costs change between boxes,
and HiGHS restarts from the previous basis); rows of ``Phi`` and ``Q_k``
join them lazily, when an LP's point violates them (fewer rows only weaken
the bound). An LP point whose ray ends within 1e-3 of norm 1 is handed to
the polisher: successive LPs (declared in cvxpy, as in the refutation
search) to a vertex of P, solved exactly from its active rows; above
``1 + tol`` it refutes (1), within ``tol`` of 1 it is reported as on the
boundary, and boxes whose bound exceeds ``-tol`` are then dropped too (no
point beyond ``1 + tol`` there: ``Phi >= 1``).

The cost grows with r (boxes in dimension r - 2); measured on the project's
machine, see the docs (checking H).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
from scipy.linalg import null_space
from scipy.sparse import csr_matrix

from ..lp import RowLP, new_highs, weak_duality_bound
from .exact import _CLOSE, _refine_one
from .rlt import BoxRLT
from .search import _ascend, _certified

#: Ray ends within this of norm 1 are polished to a vertex of P and classified.
_POLISH_NEAR = 1e-3
#: Most polishings per check (each a few LPs); past it only clear refutations are polished.
_MAX_POLISH = 200
#: A row of an LP point is violated beyond this (rows scaled to a largest coefficient of 1).
_VIOLATED = 1e-9
#: Violated rows added per LP re-solve, the worst first.
_ADD_PER_SOLVE = 5
#: HiGHS's feasibility tolerances in the box LPs (its smallest accepted value is 1e-10).
_LP_TOL = 1e-10
#: HiGHS's options for the box LPs, here and in :mod:`.rlt`.
_BOX_LP_OPTIONS = {
    "presolve": "off",
    "solver": "simplex",
    "primal_feasibility_tolerance": _LP_TOL,
    "dual_feasibility_tolerance": _LP_TOL,
}
#: Boxes narrower than this (relative to the first box) are not split further.
_MIN_WIDTH = 1e-10
#: From this r on, decide_global tightens the boxes the secant leaves (see the docs, checking H).
_TIGHTEN_RANK = 15


@dataclass(frozen=True)
class GlobalOutcome:
    """What the global stage found.

    ``status`` is "scattered" (F > tol certified on every box of every Q_k),
    "refuted" (``witness`` is a point of P with ``||y|| > 1 + tol``, checked),
    "boundary" (``witness`` is a vertex of P other than the e_k with ``||y||``
    within ``tol`` of 1, and no point beyond ``1 + tol`` exists), "timeout"
    or "error" (``error`` says why).
    """

    status: str
    witness: np.ndarray | None
    n_boxes: int
    n_lps: int
    n_done: int
    error: str | None = None


class _Stop(Exception):
    """Ends the search early: a refutation, the deadline, or a failure."""

    def __init__(self, status: str, witness: np.ndarray | None = None, error: str | None = None):
        super().__init__(status)
        self.status, self.witness, self.error = status, witness, error


class _Polisher:
    """Ascends from a point of P to a vertex by successive LPs, and classifies it."""

    def __init__(self, rows: np.ndarray, tol: float):
        self.rows, self.tol = rows, tol
        self.directions = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        self.lp: RowLP | None = None
        self.boundary: np.ndarray | None = None
        self.seen: list[np.ndarray] = []  # vertices found on the boundary
        self.n_polished = 0

    def polish(self, y: np.ndarray) -> None:
        """Raise ``_Stop("refuted")`` for a vertex beyond ``1 + tol``; keep one within tol."""
        clear = np.linalg.norm(y) > 1.0 + self.tol
        # a point within _refine_one's closeness of a vertex kept (relative to that vertex's
        # norm, which is 1 only to within tol) would be taken for that vertex again
        if not clear and (
            self.n_polished >= _MAX_POLISH
            or any(np.linalg.norm(y - v) <= _CLOSE * np.linalg.norm(v) for v in self.seen)
        ):
            return
        self.n_polished += 1
        if clear:  # the ray's end itself may already refute
            witness = _certified(self.rows, y, self.tol)
            if witness is not None:
                raise _Stop("refuted", witness)
        if self.lp is None:
            r = self.rows.shape[1]
            z = cp.Variable(r)
            box = 2.0 + self.tol
            constraints = [self.rows @ z >= 0, cp.sum(z) == 1, z <= box, z >= -box]
            self.lp = RowLP(z, constraints, "HIGHS", owner="the global stage")
        point = _ascend(self.lp, y)
        # unit >= 0: e_k (norm 1, neither case below); -2: not pinned, vertex is the LP point
        vertex, unit = _refine_one(self.rows, self.directions, point, _CLOSE)
        norm = float(np.linalg.norm(vertex))
        if norm > 1.0 + self.tol:
            witness = _certified(self.rows, vertex, self.tol)
            if witness is not None:
                raise _Stop("refuted", witness)
        elif norm >= 1.0 - self.tol and unit == -1:
            self.seen.append(vertex)
            if self.boundary is None or norm > np.linalg.norm(self.boundary):
                self.boundary = vertex


class _BoxLP:
    """``min t + c.v`` over ``Q_k`` in coordinates ``w = c0 + B v``, on HiGHS directly.

    Rows, all of the form ``M x >= lo`` with ``x = (v, t)`` and each scaled
    to a largest coefficient of 1: the face rows ``F_k w >= 0``, the pieces
    ``t >= 1 - a.w`` of Phi and its Voronoi pieces ``t >= 1 + w_j``. The
    Voronoi pieces are always there; the others join when violated.
    """

    def __init__(self, face: np.ndarray, pieces: np.ndarray, c0: np.ndarray, B: np.ndarray):
        import highspy

        self.highspy = highspy
        self.inf = highspy.kHighsInf
        d = B.shape[1]
        self.d = d
        fb, f0 = face @ B, -(face @ c0)
        scale = np.maximum(np.abs(fb).max(axis=1, initial=0.0), 1e-300)
        self.face_M = np.hstack([fb, np.zeros((fb.shape[0], 1))]) / scale[:, None]
        self.face_lo = f0 / scale
        ab = pieces @ B
        scale = np.maximum(np.abs(ab).max(axis=1, initial=0.0), 1.0)
        self.piece_M = np.hstack([ab, np.ones((ab.shape[0], 1))]) / scale[:, None]
        self.piece_lo = (1.0 - pieces @ c0) / scale
        self.in_face = np.zeros(fb.shape[0], bool)
        self.in_piece = np.zeros(ab.shape[0], bool)
        # the certified bound loses about the dual tolerance times the box's magnitude: at
        # HiGHS's default (1e-7) a box around a vertex on the boundary could not be dropped
        # at tol = 1e-9
        self.highs = new_highs(**_BOX_LP_OPTIONS)
        model = highspy.HighsLp()
        model.num_col_, model.num_row_ = d + 1, 0
        model.col_cost_ = np.zeros(d + 1)
        model.col_lower_ = np.full(d + 1, -self.inf)
        model.col_upper_ = np.full(d + 1, self.inf)
        model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        model.a_matrix_.start_ = np.zeros(d + 2, dtype=np.int32)
        self.highs.passModel(model)
        self.columns = np.arange(d + 1, dtype=np.int32)
        self.M = np.empty((0, d + 1))
        self.lo = np.empty(0)
        voronoi = np.hstack([-B, np.ones((B.shape[0], 1))])
        scale = np.abs(voronoi).max(axis=1)
        self._add(voronoi / scale[:, None], (1.0 + c0) / scale)
        self.n_lps = 0

    def _add(self, M: np.ndarray, lo: np.ndarray) -> None:
        if not M.shape[0]:
            return
        sparse = csr_matrix(M)
        self.highs.addRows(
            M.shape[0],
            lo,
            np.full(M.shape[0], self.inf),
            sparse.nnz,
            sparse.indptr[:-1].astype(np.int32),
            sparse.indices.astype(np.int32),
            sparse.data,
        )
        self.M = np.vstack([self.M, M])
        self.lo = np.concatenate([self.lo, lo])

    def add_face(self, index: np.ndarray) -> None:
        index = index[~self.in_face[index]]
        self.in_face[index] = True
        self._add(self.face_M[index], self.face_lo[index])

    def add_pieces(self, index: np.ndarray) -> None:
        index = index[~self.in_piece[index]]
        self.in_piece[index] = True
        self._add(self.piece_M[index], self.piece_lo[index])

    def solve(
        self, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray, pieces: bool
    ) -> tuple[np.ndarray | None, float]:
        """The LP's point and a certified lower bound of its value (``None, inf``: empty).

        ``pieces`` says whether violated pieces of Phi join (only when t is
        in the objective). The bound is computed from the dual values, valid
        for every point of the box whatever HiGHS's tolerances; for an empty
        box, from a Farkas ray (``inf`` when it certifies emptiness, else
        the box is reported as not certified: ``None, -inf``).
        """
        hs, status_of = self.highs, self.highspy.HighsModelStatus
        hs.changeColsBounds(self.d + 1, self.columns, lower, upper)
        hs.changeColsCost(self.d + 1, self.columns, cost)
        while True:
            hs.run()
            self.n_lps += 1
            status = hs.getModelStatus()
            if status == status_of.kInfeasible:
                return None, self._farkas(lower, upper)
            if status != status_of.kOptimal:
                raise _Stop("error", error=f"HiGHS: {hs.modelStatusToString(status)}")
            solution = hs.getSolution()
            x = np.array(solution.col_value)
            added = self._add_violated(x, pieces)
            if not added:
                return x, self._dual_bound(cost, np.array(solution.row_dual), lower, upper)

    def _add_violated(self, x: np.ndarray, pieces: bool) -> bool:
        """Add the rows not yet in the LP that x violates (the worst first); any added?"""
        groups = [(self.face_M, self.face_lo, self.in_face, self.add_face)]
        if pieces:
            groups.append((self.piece_M, self.piece_lo, self.in_piece, self.add_pieces))
        added = False
        for M, lo, present, add in groups:
            slack = M @ x - lo
            bad = np.flatnonzero((slack < -_VIOLATED) & ~present)
            if bad.size:
                add(bad[np.argsort(slack[bad])[:_ADD_PER_SOLVE]])
                added = True
        return added

    def _dual_bound(
        self, cost: np.ndarray, dual: np.ndarray, lower: np.ndarray, upper: np.ndarray
    ) -> float:
        """A lower bound of ``cost.x`` on the box's part of the rows, from any dual values."""
        return weak_duality_bound(cost, self.M, self.lo, dual, lower, upper)

    def _farkas(self, lower: np.ndarray, upper: np.ndarray) -> float:
        """``inf`` when a Farkas ray proves the rows empty on the box, else ``-inf``."""
        _, has_ray, ray = self.highs.getDualRay()
        if not has_ray:
            return -np.inf
        ray = np.asarray(ray, dtype=float)
        for y in (np.maximum(ray, 0.0), np.maximum(-ray, 0.0)):
            # every x of the box has (M^T y).x <= this; the rows need y.(M x) >= y.lo
            a = self.M.T @ y
            if y @ self.lo > np.maximum(a * lower, a * upper).sum() + 1e-12 * np.abs(y).sum():
                return np.inf
        return -np.inf


def _face_data(rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = rows.shape[1]
    others = np.delete(np.arange(r), k)
    face = rows[:, k] == 0
    pieces = rows[~face][:, others] / rows[~face, k][:, None]
    return others, rows[face][:, others], pieces


def _extents(lp: _BoxLP, d: int) -> np.ndarray:
    """The points of ``Q_k`` farthest along each axis, both ways (2d LPs)."""
    big = np.full(d + 1, np.inf)  # t is free: the Voronoi pieces hold for t large
    points = []
    for direction in (*np.eye(d), *(-np.eye(d))):
        x, _ = lp.solve(np.append(direction, 0.0), -big, big, pieces=False)
        if x is None:
            raise _Stop("error", error="a face's dual slice Q_k is empty")
        points.append(x[:d])
    return np.array(points)


def _t_cap(base: float, lo: np.ndarray, hi: np.ndarray) -> float:
    """An upper bound for t in a box's LPs: 1 above q's largest value on the box (a corner).

    Wherever ``Phi`` exceeds q's largest value, ``F > 0``: capping t there
    cuts off no point where F could be negative, and keeps the LPs bounded.
    """
    return base + 0.5 * float(np.maximum(lo**2, hi**2).sum()) + 1.0


def _secant_value(hint: tuple[np.ndarray, float], lo: np.ndarray, hi: np.ndarray) -> float:
    """The box LP's objective at ``hint = (v, F(v))``, a point of the box: at least its minimum.

    The LP bounds ``F = Phi - q`` by ``Phi - secant``; at v that is
    ``F(v) - sum_j (v_j - lo_j) (hi_j - v_j) / 2``. When it is below the
    level at which boxes are dropped, the box is split without its LP:
    skipping an LP only ever splits a box, never drops one.
    """
    v, value = hint
    return value - 0.5 * float(((v - lo) * (hi - v)).sum())


def _search_face(
    rows: np.ndarray, k: int, tol: float, deadline: float, polisher, counts, tighten: bool
) -> None:
    """Branch and bound over ``Q_k``; returns when every box is dropped, else raises _Stop.

    With ``tighten``, a box the secant LP does not drop goes to the
    reformulation-linearization bound (:mod:`.rlt`) before it is split.
    """
    others, face, pieces = _face_data(rows, k)
    m = others.size
    c0 = np.full(m, 1.0 / m)
    B = null_space(np.ones((1, m)))
    d = B.shape[1]
    lp = _BoxLP(face, pieces, c0, B)
    lp.add_face(np.arange(face.shape[0]))
    try:
        points = _extents(lp, d)
        # the principal axes of the extents fit the boxes to Q_k (measured, paper's H at
        # r = 10: half the boxes of the plain coordinates)
        _, _, axes = np.linalg.svd(points - points.mean(axis=0), full_matrices=False)
        B = B @ axes.T
        counts["lps"] += lp.n_lps
        lp = _BoxLP(face, pieces, c0, B)
        lp.add_face(np.arange(face.shape[0]))
        points = _extents(lp, d)
    except _Stop:
        counts["lps"] += lp.n_lps
        raise
    if not np.all(np.isfinite(points)):
        raise _Stop("error", error=f"the dual slice of the face x_{k} = 0 is unbounded")
    lower, upper = points[np.arange(d), np.arange(d)], points[d + np.arange(d), np.arange(d)]
    pad = 1e-9 * (1.0 + (upper - lower).max())
    lower, upper = lower - pad, upper + pad
    min_width = _MIN_WIDTH * (1.0 + (upper - lower).max())
    # start again from the rows the extents need: most face rows never bind a box
    n_lps = lp.n_lps
    active = np.abs(points @ lp.face_M[:, :d].T - lp.face_lo) <= 1e-9
    lp = _BoxLP(face, pieces, c0, B)
    lp.n_lps = n_lps
    lp.add_face(np.flatnonzero(active.any(axis=0)))
    if pieces.shape[0]:
        w = c0 + points @ B.T
        lp.add_pieces(np.unique(np.argmax(-(w @ pieces.T), axis=1)))
    base = 0.5 * (1.0 + c0 @ c0)  # q = base + ||v||^2 / 2 (c0 is orthogonal to B)

    def drop_level() -> float:
        """Boxes whose bound exceeds this are dropped: tol, or -tol once a boundary vertex
        is known (no point beyond 1 + tol is left where F > -tol, as Phi >= 1)."""
        return -tol if polisher.boundary is not None else tol

    rlt = (
        BoxRLT(
            face @ B,
            -(face @ c0),
            np.vstack([pieces @ B, -B]),
            np.concatenate([1.0 - pieces @ c0, 1.0 + c0]),
            base,
        )
        if tighten
        else None
    )
    # a box is (priority, order, lo, hi, hint, start): hint is a point of the box with its F,
    # whose value under the box's secant bounds the box's LP from above (see _secant_value);
    # start is what its RLT bound starts from (its parent's rows and basis, see .rlt)
    heap = [(-np.inf, 0, lower, upper, None, None)]
    pushed = 1
    try:
        while heap:
            if time.perf_counter() > deadline:
                raise _Stop("timeout")
            bound, _, lo, hi, hint, start = heapq.heappop(heap)
            counts["boxes"] += 1
            drop = drop_level()
            t_hi = _t_cap(base, lo, hi)
            if hint is None or _secant_value(hint, lo, hi) > drop:
                cost = np.append(-0.5 * (lo + hi), 1.0)
                x, bound = lp.solve(cost, np.append(lo, 1.0), np.append(hi, t_hi), pieces=True)
                hint = None
                if x is None and bound == np.inf:
                    continue  # the box misses Q_k (certified)
                if x is not None:
                    bound += 0.5 * (lo @ hi) - base  # F >= bound on the box
                    w = c0 + B @ x[:d]
                    phi = max(float(np.max(1.0 - pieces @ w, initial=-np.inf)), 1.0 + w.max())
                    value = phi - 0.5 * (1.0 + w @ w)
                    if 1.0 - 2.0 * value / phi**2 >= (1.0 - _POLISH_NEAR) ** 2:
                        y = np.zeros(rows.shape[1])
                        y[k], y[others] = 1.0 - 1.0 / phi, w / phi
                        polisher.polish(y)
                    if bound > drop_level():  # the polishing may have found a boundary vertex
                        continue
                    hint = (x[:d], value)
            if rlt is not None:
                drop = drop_level()
                tight, start = rlt.bound(lo, hi, t_hi, drop, start)
                if tight > drop:
                    continue
                bound = max(bound, tight)
            widest = int(np.argmax(hi - lo))
            if hi[widest] - lo[widest] <= min_width:
                why = f"a box of Q_{k} could not be decided at width {min_width:.2g}"
                raise _Stop("error", error=why)
            middle = 0.5 * (lo[widest] + hi[widest])
            left_hi, right_lo = hi.copy(), lo.copy()
            left_hi[widest], right_lo[widest] = middle, middle
            # the hint goes to the half that holds it (the bound of both halves: their parent's)
            left = hint if hint is not None and hint[0][widest] <= middle else None
            right = hint if hint is not None and left is None else None
            heapq.heappush(heap, (bound, pushed, lo, left_hi, left, start))
            heapq.heappush(heap, (bound, pushed + 1, right_lo, hi, right, start))
            pushed += 2
    finally:
        counts["lps"] += lp.n_lps + (rlt.n_lps if rlt is not None else 0)


def decide_global(
    rows: np.ndarray, tol: float, deadline: float = np.inf, tighten: bool | None = None
) -> GlobalOutcome:
    """Decide (1) and (2) by the branch and bound over each ``Q_k`` (see the module notes).

    Parameters
    ----------
    rows : ndarray of shape (n, r)
        Prepared rows of H (nonnegative, each summing to one, rank r), that
        passed the necessary checks (so that every ``Q_k`` is bounded).
    tol : float
        Witnesses beyond ``1 + tol``; vertices within ``tol`` of norm 1 are
        on the boundary.
    deadline : float
        ``time.perf_counter()`` value at which the search stops ("timeout").
    tighten : bool or None
        Whether boxes the secant LP leaves go to the reformulation-linearization
        bound (:mod:`.rlt`): far fewer boxes, each dearer. None: from
        r = ``_TIGHTEN_RANK`` on: below it the secant alone is faster (measured,
        docs: checking H).

    Returns
    -------
    GlobalOutcome

    Examples
    --------
    >>> import numpy as np
    >>> rows = np.array([[0, .3, .7], [0, .7, .3], [.3, 0, .7], [.7, 0, .3],
    ...                  [.3, .7, 0], [.7, .3, 0]])
    >>> decide_global(rows, 1e-9).status
    'scattered'
    """
    r = rows.shape[1]
    if r < 3:
        raise ValueError("the global stage needs r >= 3 (Q_k has dimension r - 2)")
    if tighten is None:
        tighten = r >= _TIGHTEN_RANK
    counts = {"boxes": 0, "lps": 0}
    polisher = _Polisher(rows, tol)
    done = 0
    try:
        for k in range(r):
            _search_face(rows, k, tol, deadline, polisher, counts, tighten)
            done += 1
    except _Stop as stop:
        # a refutation decides; a time-out or a failure leaves even a boundary vertex open
        # (a point beyond 1 + tol may lie in the boxes left)
        return GlobalOutcome(
            stop.status, stop.witness, counts["boxes"], counts["lps"], done, stop.error
        )
    if polisher.boundary is not None:
        return GlobalOutcome("boundary", polisher.boundary, counts["boxes"], counts["lps"], done)
    return GlobalOutcome("scattered", None, counts["boxes"], counts["lps"], done)
