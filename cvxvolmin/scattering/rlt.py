"""A tighter bound of ``F = Phi - q`` on a box of ``Q_k``: the reformulation-linearization LP.

The global stage (:mod:`.star`) bounds ``q(v) = base + ||v||^2 / 2`` on a box
by its secant, which ignores where ``Q_k`` and the pieces of ``Phi`` cut the
box. Here the products ``V = v v^T`` and ``T = t v`` become variables (the
reformulation-linearization technique of Sherali and Adams), and the product
of two nonnegative factors, one a row of ``Q_k`` or a piece of ``Phi``
(``c.(v, t) - c0 >= 0``) and one a side of the box (``v_j - lo_j >= 0`` or
``hi_j - v_j >= 0``), is a linear row in ``(v, t, V, T)``. Each point of
``Q_k`` in the box, with ``t = Phi(v)``, ``V = v v^T`` and ``T = t v``, meets
every such row, and there the objective ``t - trace(V) / 2 - base`` is
``F(v)``: the LP's minimum bounds F from below on the box. The rows
``V_jj <= (lo_j + hi_j) v_j - lo_j hi_j`` are the secant; the product rows
are what makes the bound tighter.

Each factor gives ``2 d`` products, too many to solve at once, and few of
them bind: they join in rounds, the most violated at the LP's point first,
until none is violated, the bound drops the box or the rounds run out. Every
round's LP is a relaxation, so its bound, certified from its dual values
like the secant LP's, is valid whenever the rounds stop. A sub-box starts
from its parent's binding product rows and final basis (re-evaluated at its
own sides), so that its first LP is a few dual simplex steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from ..lp import new_highs, weak_duality_bound

#: Product rows added per round, per dimension of the box (the most violated first).
_ROWS_PER_ROUND = 10
#: Most LP rounds per box; the bound is valid whenever they stop.
_MAX_ROUNDS = 8
#: A product row is violated beyond this (its coefficients scaled to a largest of 1).
_VIOLATED = 1e-9


@dataclass(frozen=True)
class Start:
    """What a sub-box's LP starts from: the factors, the binding products, the basis."""

    factors: np.ndarray
    products: np.ndarray  # (side, factor, j) triples: side 0 is v_j - lo_j, 1 is hi_j - v_j
    basis: object


class BoxRLT:
    """The reformulation-linearization bound of F on the boxes of one ``Q_k``.

    Parameters
    ----------
    face, face_lo : ndarray
        ``Q_k``'s rows ``face @ v >= face_lo`` in the box coordinates v.
    pieces, pieces_lo : ndarray
        The pieces ``t + pieces @ v >= pieces_lo`` of ``Phi``.
    base : float
        ``q(v) = base + ||v||^2 / 2``.
    """

    def __init__(
        self,
        face: np.ndarray,
        face_lo: np.ndarray,
        pieces: np.ndarray,
        pieces_lo: np.ndarray,
        base: float,
    ):
        import highspy

        self.highspy = highspy
        self.d = d = face.shape[1]
        self.base = base
        scale = np.maximum(np.abs(face).max(axis=1, initial=0.0), 1e-300)
        face, face_lo = face / scale[:, None], face_lo / scale
        scale = np.maximum(np.abs(pieces).max(axis=1, initial=0.0), 1.0)
        pieces, pieces_lo = pieces / scale[:, None], pieces_lo / scale
        # the factors: rows C.(v, t) >= c0, Q_k's first, then the pieces of Phi
        self.C = np.vstack(
            [
                np.hstack([face, np.zeros((face.shape[0], 1))]),
                np.hstack([pieces, 1.0 / scale[:, None]]),
            ]
        )
        self.c0 = np.concatenate([face_lo, pieces_lo])
        self.n_face = face.shape[0]
        # columns: v (d), t, the upper triangle of V, T (d)
        self.upper, self.lower = np.triu_indices(d)
        self.pair = np.zeros((d, d), dtype=np.intp)
        self.pair[self.upper, self.lower] = self.pair[self.lower, self.upper] = np.arange(
            self.upper.size
        )
        self.diagonal = self.pair[np.arange(d), np.arange(d)]
        self.t, self.V, self.T = d, d + 1, d + 1 + self.upper.size
        self.n = self.T + d
        self.cost = np.zeros(self.n)
        self.cost[self.t] = 1.0
        self.cost[self.V + self.diagonal] = -0.5
        self.n_lps = 0
        self.highs = None

    def _column_bounds(self, lo: np.ndarray, hi: np.ndarray, t_hi: float):
        """Every product lies between the products of its factors' bounds."""
        d, i, j = self.d, self.upper, self.lower
        ends = np.stack([lo[i] * lo[j], lo[i] * hi[j], hi[i] * lo[j], hi[i] * hi[j]])
        low, high = np.empty(self.n), np.empty(self.n)
        low[:d], high[:d] = lo, hi
        low[self.t], high[self.t] = 1.0, t_hi
        low[self.V : self.T], high[self.V : self.T] = ends.min(axis=0), ends.max(axis=0)
        low[self.V + self.diagonal[(lo < 0) & (hi > 0)]] = 0.0  # a square is never negative
        ends = np.stack([lo, hi, t_hi * lo, t_hi * hi])
        low[self.T :], high[self.T :] = ends.min(axis=0), ends.max(axis=0)
        return low, high

    def _binding_factors(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """The factors that can bind on the box: rows of Q_k that cut it, pieces that can lead.

        A row met by the whole box, or a piece whose largest value on the box
        is below another's smallest, changes nothing there (nor on a sub-box).
        """
        C, c0, d, f = self.C, self.c0, self.d, self.n_face
        smallest = np.minimum(C[:, :d] * lo, C[:, :d] * hi).sum(axis=1)
        largest = np.maximum(C[:, :d] * lo, C[:, :d] * hi).sum(axis=1)
        keep = np.empty(C.shape[0], bool)
        keep[:f] = smallest[:f] < c0[:f]
        piece_low = (c0[f:] - largest[f:]) / C[f:, d]  # the piece's smallest value on the box
        piece_high = (c0[f:] - smallest[f:]) / C[f:, d]
        keep[f:] = piece_high >= piece_low.max(initial=-np.inf)
        return np.flatnonzero(keep)

    def _product_rows(self, products: np.ndarray, lo: np.ndarray, hi: np.ndarray):
        """The rows ``(factor a)(v_j - lo_j) >= 0`` (side 0) or ``(factor a)(hi_j - v_j) >= 0``."""
        side, a, j = products.T
        C, c0, d = self.C, self.c0, self.d
        k = np.arange(side.size)
        sign = np.where(side == 0, 1.0, -1.0)
        end = np.where(side == 0, lo[j], hi[j])
        # sign * (C_a.(V_:j, T_j) - c0_a v_j - end C_a.(v, t) + c0_a end) >= 0
        rows = np.zeros((side.size, self.n))
        rows[k[:, None], self.V + self.pair[:, j].T] += sign[:, None] * C[a, :d]
        rows[k, self.T + j] += sign * C[a, d]
        rows[k, j] -= sign * c0[a]
        rows[:, :d] -= (sign * end)[:, None] * C[a, :d]
        rows[k, self.t] -= sign * end * C[a, d]
        rhs = -sign * c0[a] * end
        scale = np.abs(rows).max(axis=1)
        return rows / scale[:, None], rhs / scale

    def _most_violated(self, x, factors, lo, hi, present: np.ndarray, count: int) -> np.ndarray:
        """The ``count`` product triples most violated at x and not yet in the LP."""
        d = self.d
        C, c0 = self.C[factors], self.c0[factors]
        v, t, V, T = x[:d], x[self.t], x[self.V : self.T][self.pair], x[self.T :]
        value = C[:, :d] @ v + C[:, d] * t - c0
        lifted = C[:, :d] @ V + np.outer(C[:, d], T) - np.outer(c0, v)  # factor * v_j
        size = np.maximum(1.0, np.maximum(np.abs(lo), np.abs(hi)))  # about each row's scale
        slack = np.concatenate(
            [(lifted - np.outer(value, lo)) / size, (np.outer(value, hi) - lifted) / size]
        ).ravel()
        order = np.argsort(slack)[: count + len(present)]
        order = order[slack[order] < -_VIOLATED]
        side, rest = np.divmod(order, factors.size * d)
        a, j = np.divmod(rest, d)
        found = np.stack([side, factors[a], j], axis=1)
        if len(present):
            known = set(map(tuple, present.tolist()))
            found = found[[tuple(p) not in known for p in found.tolist()]]
        return found[:count]

    def _secant(self, lo: np.ndarray, hi: np.ndarray):
        d = self.d
        rows = np.zeros((d, self.n))
        rows[np.arange(d), self.V + self.diagonal] = -1.0
        rows[np.arange(d), np.arange(d)] = lo + hi
        scale = np.maximum(np.abs(lo + hi), 1.0)
        return rows / scale[:, None], lo * hi / scale

    def _solver(self):
        if self.highs is None:
            from .star import _BOX_LP_OPTIONS  # the secant LP's: the same tolerances

            self.highs = new_highs(**_BOX_LP_OPTIONS)
        return self.highs

    def bound(
        self, lo: np.ndarray, hi: np.ndarray, t_hi: float, drop: float, start: Start | None = None
    ) -> tuple[float, Start | None]:
        """A certified lower bound of F on the box's part of ``Q_k``, and a start for its halves.

        ``-inf`` when no LP was solved to optimality (the box is then split,
        never dropped). The rounds stop once the bound exceeds ``drop`` (the
        start is then ``None``: the box is dropped).
        """
        highspy = self.highspy
        if start is None:
            start = Start(self._binding_factors(lo, hi), np.empty((0, 3), np.intp), None)
        factors, products = start.factors, start.products
        low, high = self._column_bounds(lo, hi, t_hi)
        blocks = [
            (
                np.hstack([self.C[factors], np.zeros((factors.size, self.n - self.d - 1))]),
                self.c0[factors],
            ),
            self._secant(lo, hi),
        ]
        if len(products):
            blocks.append(self._product_rows(products, lo, hi))
        rows = np.vstack([b[0] for b in blocks])
        rhs = np.concatenate([b[1] for b in blocks])
        hs = self._solver()
        sparse = csr_matrix(rows)
        hs.passModel(
            self.n, rows.shape[0], sparse.nnz, int(highspy.MatrixFormat.kRowwise),
            int(highspy.ObjSense.kMinimize), 0.0, self.cost, low, high, rhs,
            np.full(rhs.size, highspy.kHighsInf), sparse.indptr[:-1].astype(np.int32),
            sparse.indices.astype(np.int32), sparse.data, np.zeros(self.n, dtype=np.int32),
        )  # fmt: skip
        if start.basis is not None:
            hs.setBasis(start.basis)
        best = -np.inf
        for _ in range(_MAX_ROUNDS):
            hs.run()
            self.n_lps += 1
            if hs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return best, None
            solution = hs.getSolution()
            x = np.array(solution.col_value)
            best = max(best, self._dual_bound(rows, rhs, np.array(solution.row_dual), low, high))
            if best > drop:
                return best, None
            new = self._most_violated(x, factors, lo, hi, products, _ROWS_PER_ROUND * self.d)
            if not len(new):
                break
            added, extra = self._product_rows(new, lo, hi)
            sparse = csr_matrix(added)
            hs.addRows(
                added.shape[0], extra, np.full(extra.size, highspy.kHighsInf), sparse.nnz,
                sparse.indptr[:-1].astype(np.int32), sparse.indices.astype(np.int32), sparse.data,
            )  # fmt: skip
            rows, rhs = np.vstack([rows, added]), np.concatenate([rhs, extra])
            products = np.vstack([products, new])
        return best, self._start_for_halves(hs, factors, products, rows.shape[0])

    def _dual_bound(self, rows, rhs, dual, low, high) -> float:
        """The bound on F from any dual values (weak duality with the column bounds kept)."""
        return weak_duality_bound(self.cost, rows, rhs, dual, low, high) - self.base

    def _start_for_halves(self, hs, factors, products, n_rows: int) -> Start:
        """The binding product rows and the basis without the others (their slacks are basic)."""
        basis = hs.getBasis()
        status = list(basis.row_status)
        first = n_rows - len(products)
        if len(status) != n_rows or not len(products):
            return Start(factors, products, basis if len(status) == n_rows else None)
        basic = self.highspy.HighsBasisStatus.kBasic
        keep = np.array([s != basic for s in status[first:]], bool)
        basis.row_status = status[:first] + [
            s for s, k in zip(status[first:], keep, strict=True) if k
        ]
        return Start(factors, products[keep], basis)
