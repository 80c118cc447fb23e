"""The abundance polytopes of the built-in criteria: exact projections and linear minimization.

A formulation whose constraints on H are one of these sets (each column of
H, or each row, in the same set) declares it with
:meth:`cvxvolmin.Formulation.abundance_polytope`; the noise-robust solver
then updates H by projected gradient (:mod:`cvxvolmin.robust.h_step`)
instead of a general QP. Each set offers

* ``project(G)``: the Euclidean projection of every slice of G (a column
  for ``axis=0``, a row for ``axis=1``), exact up to rounding;
* ``min_linear(C)``: per slice, ``min <c, s>`` over the set, the linear
  minimization that gives the Frank-Wolfe gap, an upper bound on how far a
  feasible H is from the optimum of a convex objective.

The projections solve for the threshold ``tau`` of ``clip(g - tau, 0, upper)``
whose sum is the required total. On the simplex, Michelot's iteration
(Math. Programming 1986; also Condat, Math. Programming 2016) runs on all
slices at once: ``tau`` rises monotonically to the exact value in a finite
number of steps, each a vectorized pass, usually a few of them; slices it has
not settled after ``_MICHELOT_STEPS`` are finished by the sort-based
formula. The capped simplex is solved by sorting its breakpoints.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from .exceptions import InvalidParameterError

__all__ = ["AbundancePolytope", "CappedSimplex", "Simplex", "SimplexAtMost"]

_MICHELOT_STEPS = 50


def _slices(G: np.ndarray, axis: int) -> np.ndarray:
    """The slices as rows: G's transpose (axis 0; a view) or G itself (axis 1).

    Every reduction below runs along axis 1: contiguous for an H stored in
    Fortran order (axis 0) or C order (axis 1).
    """
    return G.T if axis == 0 else G


def _simplex_threshold_by_sort(V: np.ndarray, total: float) -> np.ndarray:
    """Per row of V, the tau with ``sum(max(v - tau, 0)) = total`` (sort-based, exact)."""
    n = V.shape[1]
    ordered = -np.sort(-V, axis=1)  # descending
    cumulative = np.cumsum(ordered, axis=1) - total
    counts = np.arange(1, n + 1)
    # The support is the largest k with ordered[k-1] > (cumulative[k-1]) / k.
    support = np.maximum(np.sum(ordered * counts > cumulative, axis=1), 1)
    return cumulative[np.arange(V.shape[0]), support - 1] / support


def _simplex_threshold(
    V: np.ndarray, total: float, start: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per row of V, the tau with ``sum(max(v - tau, 0)) = total``, and ``max(V - tau, 0)``.

    ``g(tau) = sum(max(v - tau, 0)) - total`` is convex, piecewise linear and
    decreasing, so a Newton step from any point lands at or left of the
    root, and Newton steps from the left rise monotonically to it, exactly,
    once the active set ``v > tau`` stops shrinking (Michelot's iteration).
    From a nearby ``start`` (the previous threshold of an iterative method)
    that takes a few passes; rows not settled after ``_MICHELOT_STEPS`` are
    finished by sorting.
    """
    n = V.shape[1]
    tau = (V.sum(axis=1) - total) / n if start is None else np.array(start, dtype=float)
    count = np.full(V.shape[0], -1)
    kept = np.empty_like(V)  # max(V - tau, 0), one buffer for every step
    for _ in range(_MICHELOT_STEPS):
        np.subtract(V, tau[:, None], out=kept)
        np.maximum(kept, 0.0, out=kept)
        new_count = np.count_nonzero(kept, axis=1)
        if np.array_equal(new_count, count):
            return tau, kept
        # No active entry: tau is above every v, and the root is below it.
        lost = new_count == 0
        if lost.any():
            tau[lost] = (V[lost].sum(axis=1) - total) / n
            count = np.full(V.shape[0], -1)
            continue
        tau = tau + (kept.sum(axis=1) - total) / new_count
        count = new_count
    tau = _simplex_threshold_by_sort(V, total)
    return tau, np.maximum(V - tau[:, None], 0.0)


def _rescaled(S: np.ndarray, total: float) -> np.ndarray:
    """Rows of S (a fresh array, scaled in place) made to sum to ``total`` to rounding.

    The thresholded rows sum to ``total`` only up to rounding of the input's
    magnitude (``eps * max|g|``), which can exceed ``eps * total`` by far.
    """
    sums = S.sum(axis=1, keepdims=True)
    S *= total / np.where(sums > 0, sums, total)
    return S


class AbundancePolytope(ABC):
    """The set that every column (``axis=0``) or row (``axis=1``) of H must lie in."""

    total: float
    axis: int

    def __post_init__(self) -> None:
        # The dataclass subclasses call this after setting their fields.
        object.__setattr__(self, "total", _check_total(self.total))
        if self.axis not in (0, 1):
            raise InvalidParameterError(f"axis must be 0 or 1; got {self.axis!r}.")

    @abstractmethod
    def project(self, G: np.ndarray) -> np.ndarray:
        """The Euclidean projection of every slice of G (a new array)."""

    @abstractmethod
    def min_linear(self, C: np.ndarray) -> np.ndarray:
        """Per slice, ``min <c, s>`` over s in the set; shape (number of slices,)."""

    def project_from(self, G: np.ndarray, state=None) -> tuple[np.ndarray, object]:
        """The projection of G and a state that speeds up the next one of a nearby G.

        Iterative methods project a slowly changing point at every step;
        the default keeps no state.
        """
        return self.project(G), None

    def feasibility_error(self, H: np.ndarray) -> float:
        """The largest violation of the set's constraints by H, relative to its total."""
        return float(np.max(np.abs(H - self.project(H)))) / self.total


def _check_total(total: float, name: str = "total") -> float:
    if not (isinstance(total, int | float | np.floating) and np.isfinite(total) and total > 0):
        raise InvalidParameterError(f"{name} must be a positive finite number; got {total!r}.")
    return float(total)


@dataclass(frozen=True)
class Simplex(AbundancePolytope):
    """``{s >= 0, sum(s) = total}`` for every column (``axis=0``) or row (``axis=1``).

    Examples
    --------
    >>> import numpy as np
    >>> Simplex(1.0).project(np.array([[0.5, 2.0], [0.9, -1.0]]))
    array([[0.3, 1. ],
           [0.7, 0. ]])
    """

    total: float = 1.0
    axis: int = 0

    def project(self, G: np.ndarray) -> np.ndarray:
        return self.project_from(G)[0]

    def project_from(self, G: np.ndarray, state=None) -> tuple[np.ndarray, np.ndarray]:
        V = _slices(np.asarray(G, dtype=float), self.axis)
        # Newton from a stale threshold may overshoot to the left: still exact.
        start = state if state is not None and state.shape == (V.shape[0],) else None
        tau, kept = _simplex_threshold(V, self.total, start)
        return _slices(_rescaled(kept, self.total), self.axis), tau

    def min_linear(self, C: np.ndarray) -> np.ndarray:
        return self.total * _slices(C, self.axis).min(axis=1)


@dataclass(frozen=True)
class SimplexAtMost(AbundancePolytope):
    """``{s >= 0, sum(s) <= total}`` for every column (``axis=0``) or row (``axis=1``)."""

    total: float = 1.0
    axis: int = 0

    def project(self, G: np.ndarray) -> np.ndarray:
        V = _slices(np.asarray(G, dtype=float), self.axis)
        clipped = np.maximum(V, 0.0)
        over = clipped.sum(axis=1) > self.total
        if over.any():
            clipped[over] = _rescaled(_simplex_threshold(V[over], self.total)[1], self.total)
        return _slices(clipped, self.axis)

    def min_linear(self, C: np.ndarray) -> np.ndarray:
        return self.total * np.minimum(_slices(C, self.axis).min(axis=1), 0.0)


@dataclass(frozen=True)
class CappedSimplex(AbundancePolytope):
    """``{0 <= s <= upper, sum(s) = total}`` for every column (``axis=0``) or row (``axis=1``).

    Needs ``upper * n >= total`` for slices of n entries (checked on use).
    """

    total: float = 1.0
    upper: float = 1.0
    axis: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "upper", _check_total(self.upper, "upper"))

    def _check_size(self, n: int) -> None:
        if self.upper * n < self.total:
            raise InvalidParameterError(
                f"{n} entries at most {self.upper!r} cannot sum to {self.total!r}."
            )

    def project(self, G: np.ndarray) -> np.ndarray:
        V = _slices(np.asarray(G, dtype=float), self.axis)
        k, n = V.shape
        self._check_size(n)
        # sum(clip(v - tau, 0, upper)) is piecewise linear and nonincreasing in tau,
        # with breakpoints at v and v - upper: find the piece that holds the total.
        points = np.sort(np.concatenate([V, V - self.upper], axis=1), axis=1)  # k x 2n
        rows = np.arange(k)

        def filled(tau: np.ndarray) -> np.ndarray:
            return np.clip(V - tau[:, None], 0.0, self.upper).sum(axis=1)

        # filled(points[:, j]) is nonincreasing in j; bisect for the last j with
        # filled >= total (one pass per halving: log2(2n) passes).
        lo = np.zeros(k, dtype=int)  # filled(points[:, 0]) = n * upper >= total
        hi = np.full(k, 2 * n - 1)  # filled(points[:, -1]) = 0 < total
        while np.any(hi - lo > 1):
            mid = (lo + hi) // 2
            enough = filled(points[rows, mid]) >= self.total
            lo = np.where(enough, mid, lo)
            hi = np.where(enough, hi, mid)
        left, right = points[rows, lo], points[rows, hi]
        at_left = filled(left)
        # Linear between the two breakpoints: interpolate exactly.
        slope = (filled(right) - at_left) / np.where(right > left, right - left, 1.0)
        step = (self.total - at_left) / np.where(slope < 0, slope, -1.0)
        tau = np.where(slope < 0, left + step, left)
        return _slices(np.clip(V - tau[:, None], 0.0, self.upper), self.axis)

    def min_linear(self, C: np.ndarray) -> np.ndarray:
        V = _slices(C, self.axis)
        n = V.shape[1]
        self._check_size(n)
        full = int(np.floor(self.total / self.upper))
        rest = self.total - full * self.upper
        if full >= n:
            return self.upper * V.sum(axis=1)
        # The `full` smallest entries at the bound, the next one takes the rest.
        part = np.partition(V, full, axis=1)
        return self.upper * part[:, :full].sum(axis=1) + rest * part[:, full]
