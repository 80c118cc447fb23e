"""Row-sum VolMin: the classic minimum-volume enclosing simplex.

``min det(W.T W)  s.t.  X = W H.T,  H 1 = 1,  H >= 0`` (Craig's criterion;
MVES, Chan, Chi, Huang and Ma, IEEE TSP 57(11), 2009). Every column of X
must be a convex combination of the columns of W. For a full-column-rank W
some normalization always gets there: with ``a = W (W.T W)^{-1} 1`` (so
``W.T a = 1``), ``x_n / (a.T x_n)`` is a convex combination of the columns
of W, with H's rows rescaled (so the cone of H, and sufficient scattering,
are kept); any other ``a`` with ``d = W.T a > 0`` works too but also scales
H's columns by d, which can change sufficient scattering. Either needs W.
The usual l1 normalization, ``x_n / ||x_n||_1``, is that map only when
``||W h||_1`` is linear in ``h >= 0`` (W >= 0, or each row of W of one
sign); on mixed-sign W it breaks the model and the criterion fails (Fu,
Huang and Sidiropoulos, IEEE SPL 2018, Table 2). Identifiability then asks
the *normalized* H to be sufficiently scattered.

``H 1 = 1`` couples the components of each sample, so it is declared as a
joint constraint (:meth:`Formulation.joint_constraints`) and the engine
moves all rows of Q at once (conditional-gradient steps, one LP over Q
each; see :mod:`cvxvolmin.engine` for why moves of one or two rows stall).
In the reduced frame it reads ``Q.T 1 = a`` with ``Xt.T a = 1``: N
equalities of rank r, which the LP layer reduces to r. MVES's affine set
fitting lifts the data with a row of ones, so that ``a = e_r``.
"""

from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np

from ..exceptions import InvalidParameterError, ModelMismatchWarning
from ..polytopes import Simplex
from ..reduction import Reduction, affine_set_reduction, l1_column_scale
from .base import Formulation, Row, register_formulation

_NORMALIZATIONS = ("auto", "l1", None)
# The data fit the row-sum model when the affine set explains them about as
# well as the linear rank-r subspace does (noise adds a factor near 1).
_MISMATCH_FACTOR = 10.0
_MISMATCH_FLOOR = 1e-8


@register_formulation
class RowSumVolMin(Formulation):
    """Row-sum VolMin: each row of H is nonnegative and sums to one.

    Parameters
    ----------
    normalize : {"auto", "l1", None}, default "auto"
        ``"l1"`` divides each column of X by its l1 norm before fitting and
        multiplies row n of H by it after (zero columns are left alone): the
        classic criterion, as in the paper's Table 2; ``None`` fits X as it
        is (its columns must then already lie on an affine set, e.g.
        ``X = W @ H.T`` with ``H 1 = 1``); ``"auto"`` is ``None`` when X has
        negative entries and its columns already lie on such an affine set,
        else ``"l1"`` (so on the paper's data it is Table 2's criterion). On
        mixed-sign data off any affine set neither fits the model (a
        :class:`~cvxvolmin.ModelMismatchWarning` says so); l1 is then the
        better baseline on the paper's case 3 (measured in the Table 2 page
        of the docs).
    n_restarts : int, default 5
        Largest number of starts, each from a random feasible Q; the largest
        ``|det Q|`` is kept, and the starts stop as soon as two of them reach
        it. On data that fit the model the second start only confirms the
        first: measured on the paper's data (r = 5 and 10, cases 1 and 2)
        and on less scattered H (10% or 20% zeros, 72 starts), every start
        reached the best value found, so a fit runs 2 starts. On data that
        do not fit (mixed-sign W) starts end at different points and all of
        them run.

    Notes
    -----
    The reduction is MVES's affine set fitting: mean of the (normalized)
    nonzero columns plus their ``r - 1`` principal directions. When the
    affine set does not fit the (normalized) data, e.g. l1-normalized data
    of mixed sign, a :class:`~cvxvolmin.ModelMismatchWarning` says that the
    model does not hold as normalized; the fit still runs and returns the
    criterion's answer. Its
    optimum is then usually not a vertex of the feasible set, where the
    engine's conditional-gradient steps gain slowly: measured on the
    paper's case 3, most starts use all ``max_iter`` steps (a
    :class:`~cvxvolmin.ConvergenceWarning` follows): about 6 s a fit at
    r = 10 with 5 starts (pair moves took 190 s with 10 starts).

    Examples
    --------
    >>> import cvxvolmin
    >>> X, W, H = cvxvolmin.make_paper_data(3, case=2, random_state=0)
    >>> result = cvxvolmin.fit(X, 3, formulation="row-sum", random_state=0)
    >>> bool(cvxvolmin.matched_mse(H, result.H) < 1e-15)
    True
    """

    name = "row-sum"
    column_separable = True  # H >= 0 and H 1 = 1 act on each sample alone

    def __init__(self, normalize: str | None = "auto", n_restarts: int = 5):
        if normalize not in _NORMALIZATIONS:
            raise InvalidParameterError(
                f"normalize must be 'auto', 'l1' or None; got {normalize!r}."
            )
        if isinstance(n_restarts, bool) or not isinstance(n_restarts, int) or n_restarts < 1:
            raise InvalidParameterError(
                f"n_restarts must be a positive integer; got {n_restarts!r}."
            )
        self.normalize = normalize
        self.n_restarts = n_restarts

    @property
    def n_starts(self) -> int:
        return self.n_restarts

    def resolved_normalization(self, X: np.ndarray, rank: int) -> str | None:
        """The normalization applied to X at this rank: ``"l1"`` or ``None``.

        ``"auto"`` resolves to ``"l1"`` on nonnegative X; on mixed-sign X
        to ``None`` when its columns already lie on an affine set of
        dimension ``rank - 1`` (the model holds as they are), else to
        ``"l1"``, the classic baseline (which then warns that it does not fit).
        """
        if self.normalize != "auto":
            return self.normalize
        if np.all(X >= 0):
            return "l1"
        try:
            misfit = _affine_misfit(X, affine_set_reduction(X, rank))
        except InvalidParameterError:  # no affine set of that dimension: normalize
            return "l1"
        return None if misfit is None else "l1"

    def column_scale(self, X: np.ndarray, rank: int) -> np.ndarray | None:
        """The columns' l1 norms when the normalization resolves to ``"l1"``, else None."""
        return l1_column_scale(X) if self.resolved_normalization(X, rank) == "l1" else None

    def reduce(self, X: np.ndarray, rank: int) -> Reduction:
        """Normalize the columns (see ``normalize``), then fit an affine set."""
        Xn, scale = self.normalized_columns(X, rank)
        reduction = affine_set_reduction(Xn, rank, column_scale=scale)
        misfit = _affine_misfit(Xn, reduction)
        if misfit is not None:
            mode = self.resolved_normalization(X, rank)
            sign = (
                "X has negative entries (W of mixed sign?), and "
                if np.any(X < 0)
                else "after normalization, "
            )
            warnings.warn(
                f"row-sum VolMin: {sign}the columns of X (normalize={mode!r}) do not lie on "
                f"an affine set of dimension {rank - 1} (relative residual {misfit:.2e}), "
                "so the row-sum model H 1 = 1 does not hold for them and the returned H "
                "is expected to be wrong (l1 normalization fits the model only when "
                "W >= 0 or each row of W has one sign). Column-sum VolMin "
                "(formulation='column-sum') needs no normalization.",
                ModelMismatchWarning,
                stacklevel=3,
            )
        return reduction

    def unit(self, reduction: Reduction) -> float:
        # Rows of H sum to one: entries are of order 1/r already.
        return 1.0

    def row_constraints(self, row: Row, reduction: Reduction) -> list[cp.Constraint]:
        return [row.h >= 0]

    def joint_constraints(self, H: cp.Expression, reduction: Reduction) -> list[cp.Constraint]:
        """Every row of H sums to one (N equalities, one per sample).

        Except a zero column's: no convex combination of W's columns is
        zero, so its row of H is zero (its column of ``Xt`` is zero).
        """
        return [cp.sum(H, axis=1) == np.any(reduction.Xt != 0, axis=0).astype(float)]

    def abundance_polytope(self) -> Simplex:
        # H >= 0 and H 1 = 1: every row of H on the unit simplex (total 1).
        return Simplex(axis=1)

    def initial_Q(self, reduction: Reduction, rng: np.random.Generator) -> np.ndarray:
        """A random, feasible, nonsingular Q whose rows sum to ``a = e_r``.

        The affine set fitting puts a row of ones last in ``Xt``, so
        ``Xt.T a = 1``. Rows ``a / r + t d_i`` with random ``d_i`` summing
        to zero: ``a / r`` gives every sample the abundances ``1 / r``, and
        t is half the step that keeps every row's abundances nonnegative.
        The engine's joint steps move along segments of the feasible set, so
        the start must be feasible; a subclass with constraints of its own
        gets the engine's phase-one start instead, unless it defines its own
        ``initial_Q``. A random start suffices: the first joint step already
        jumps to a vertex of the feasible set, and the optimum was reached
        from every random start measured (see ``n_restarts``).
        """
        r = reduction.rank
        a = np.zeros(r)
        a[-1] = 1.0
        D = rng.standard_normal((r, r))
        D -= D.mean(axis=0)
        base = reduction.Xt.T @ a / r
        step = reduction.Xt.T @ D.T
        shrinking = step < 0
        limits = np.broadcast_to(base[:, None], step.shape)[shrinking] / -step[shrinking]
        t = 0.5 * np.min(limits) if limits.size else 1.0
        return a / r + t * D


def _affine_misfit(Xn: np.ndarray, reduction: Reduction) -> float | None:
    """The relative residual of the affine set fit when it is beyond the linear one, else None."""
    fitted = reduction.basis @ reduction.Xt
    ortho, _ = np.linalg.qr(reduction.basis)
    affine_gap = np.linalg.norm(Xn - fitted)
    linear_gap = np.linalg.norm(Xn - ortho @ (ortho.T @ Xn))
    size = np.linalg.norm(Xn)
    if affine_gap <= _MISMATCH_FACTOR * linear_gap + _MISMATCH_FLOOR * size:
        return None
    return float(affine_gap / size)
