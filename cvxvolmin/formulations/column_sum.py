"""Column-sum VolMin, the criterion of Fu, Huang and Sidiropoulos (2018).

``min det(W.T W)  s.t.  X = W H.T,  H.T 1 = rho 1,  H >= 0``: identifiable
whenever H (columns summing to one) is sufficiently scattered, with no
assumption on W beyond full column rank. Any rho > 0 gives the same W and H
up to that scaling (the paper's section 3).
"""

from __future__ import annotations

import numbers

import cvxpy as cp
import numpy as np

from ..exceptions import InvalidParameterError
from ..polytopes import Simplex
from ..reduction import Reduction
from .base import Formulation, Row, register_formulation


@register_formulation
class ColumnSumVolMin(Formulation):
    """Column-sum VolMin: each column of H is nonnegative and sums to ``rho``.

    Parameters
    ----------
    rho : float, default 1.0
        The common column sum of H. Identifiability does not depend on it,
        and neither does the LP: it is solved in units where the column sum
        is N, and rho only rescales the recovered factors.

    Examples
    --------
    By name with a parameter, or as an instance:

    >>> import cvxvolmin
    >>> cvxvolmin.get_formulation("column-sum", rho=2.0)
    ColumnSumVolMin(rho=2.0)
    >>> X, W, H = cvxvolmin.make_paper_data(3, random_state=0)
    >>> result = cvxvolmin.fit(X, 3, formulation=ColumnSumVolMin(rho=2.0), random_state=0)
    >>> bool(abs(result.H.sum(axis=0) - 2.0).max() < 1e-9)
    True
    """

    name = "column-sum"
    accepts_sparse = True
    column_separable = True

    def __init__(self, rho: float = 1.0):
        if isinstance(rho, bool) or not isinstance(rho, numbers.Real):
            raise InvalidParameterError(f"rho must be a positive number; got {rho!r}.")
        if not (np.isfinite(rho) and rho > 0):
            raise InvalidParameterError(f"rho must be positive and finite; got {rho!r}.")
        self.rho = float(rho)

    def unit(self, reduction: Reduction) -> float:
        # One unit of H is N / rho in the LP: the LP's column sum is N for every rho.
        return reduction.n_samples / self.rho

    def row_constraints(self, row: Row, reduction: Reduction) -> list[cp.Constraint]:
        return [row.h >= 0, row.total == self.rho * row.unit]

    def abundance_polytope(self) -> Simplex:
        return Simplex(self.rho)
