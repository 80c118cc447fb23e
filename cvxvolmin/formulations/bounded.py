"""Column-sum VolMin with bounded abundances: ``0 <= H <= upper``.

Adds ``H <= upper`` to ``H >= 0, H.T 1 = rho 1``. When the true H (with
columns scaled to sum to rho) satisfies the bound, it stays feasible and
the column-sum criterion's unique maximizer is unchanged: recovery holds
under the same sufficiently-scattered condition. A bound below the true
abundances moves the solution, but every returned H still satisfies it.
The module doubles as an example of adding one constraint to a criterion.
"""

from __future__ import annotations

import numbers

import cvxpy as cp
import numpy as np

from ..exceptions import InvalidParameterError
from ..polytopes import CappedSimplex
from ..reduction import Reduction
from .base import Row, register_formulation
from .column_sum import ColumnSumVolMin


@register_formulation
class BoundedAbundanceVolMin(ColumnSumVolMin):
    """Column-sum VolMin whose abundances are also bounded above.

    Parameters
    ----------
    upper : float
        Upper bound on every entry of H, in the units where each column of H
        sums to ``rho``. It must be at least ``rho / N`` (N samples), or no
        column can reach its sum. Required: no default could be right for
        every N, and a default of ``rho`` would bind nothing.
    rho : float, default 1.0
        The common column sum of H.

    Examples
    --------
    >>> import cvxvolmin
    >>> from cvxvolmin.formulations import BoundedAbundanceVolMin
    >>> X, W, H = cvxvolmin.make_paper_data(3, random_state=0)
    >>> result = cvxvolmin.fit(X, 3, formulation=BoundedAbundanceVolMin(upper=0.02))
    >>> bool(result.H.max() <= 0.02 + 1e-9)
    True
    """

    name = "bounded-abundance"
    column_separable = True  # elementwise constraints: working sets stay exact

    def __init__(self, upper: float, rho: float = 1.0):
        super().__init__(rho=rho)
        if isinstance(upper, bool) or not isinstance(upper, numbers.Real):
            raise InvalidParameterError(f"upper must be a positive number; got {upper!r}.")
        if not (np.isfinite(upper) and upper > 0):
            raise InvalidParameterError(f"upper must be positive and finite; got {upper!r}.")
        self.upper = float(upper)

    def check_data(self, X) -> None:
        """Refuse a bound that no column of N entries can meet, before any solver runs."""
        n = X.shape[1]
        if self.upper * n < self.rho:
            raise InvalidParameterError(
                f"upper={self.upper!r} is below rho / N = {self.rho / n:.3g}: N={n} "
                f"entries at most {self.upper!r} cannot sum to rho={self.rho!r}. "
                f"Choose upper >= {self.rho / n:.3g}."
            )

    def row_constraints(self, row: Row, reduction: Reduction) -> list[cp.Constraint]:
        return [*super().row_constraints(row, reduction), row.h <= self.upper * row.unit]

    def abundance_polytope(self) -> CappedSimplex:
        return CappedSimplex(self.rho, self.upper)
