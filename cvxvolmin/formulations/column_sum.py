"""Column-sum VolMin, the criterion of Fu, Huang and Sidiropoulos (2018).

``min det(W.T W)  s.t.  X = W H.T,  H.T 1 = rho 1,  H >= 0``: identifiable
whenever H is sufficiently scattered, with no assumption on W.
"""

from __future__ import annotations

import cvxpy as cp

from ..reduction import Reduction
from .base import Formulation, Row, register_formulation


@register_formulation
class ColumnSumVolMin(Formulation):
    """Column-sum VolMin: each column of H is nonnegative and sums to ``rho``.

    Parameters
    ----------
    rho : float, default 1.0
        The common column sum of H. Identifiability does not depend on it.
    """

    name = "column-sum"

    def __init__(self, rho: float = 1.0):
        if not rho > 0:
            raise ValueError(f"rho must be positive; got {rho!r}.")
        self.rho = float(rho)

    def row_constraints(self, row: Row, reduction: Reduction) -> list[cp.Constraint]:
        return [row.h >= 0, cp.sum(row.h) == self.rho * row.unit]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rho={self.rho!r})"
