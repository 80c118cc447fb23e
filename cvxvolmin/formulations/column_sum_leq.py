"""Column-sum VolMin with an inequality: ``H.T 1 <= rho 1``.

Each column of H is nonnegative and sums to at most rho. (Not the
constraint ``H^T e <= e`` of Gillis's minimum-volume NMF: written for
``X = W H`` with H of shape r x N, that one bounds each *sample's*
coefficients, i.e. ``H 1 <= 1`` in this project's N x r orientation.)
Each row's feasible set
is then the cone ``{q : Xt.T q >= 0}`` cut by ``sum(Xt.T q) <= rho``: a
polytope that contains 0 and stays bounded because the cone is pointed
whenever X has rank r.

``|det Q|`` is homogeneous of degree one in each row, so scaling a feasible
row up until its sum reaches rho only increases it: at a maximizer every
column sum equals rho, and the criterion has the same solutions as the
equality form (:class:`ColumnSumVolMin`). The module doubles as an example
of a one-line variant.
"""

from __future__ import annotations

import cvxpy as cp

from ..polytopes import SimplexAtMost
from ..reduction import Reduction
from .base import Row, register_formulation
from .column_sum import ColumnSumVolMin


@register_formulation
class ColumnSumAtMostVolMin(ColumnSumVolMin):
    """Column-sum VolMin with ``H.T 1 <= rho 1`` instead of ``= rho 1``.

    Parameters
    ----------
    rho : float, default 1.0
        Upper bound on each column sum of H.

    Examples
    --------
    >>> import cvxvolmin
    >>> X, W, H = cvxvolmin.make_paper_data(3, random_state=0)
    >>> result = cvxvolmin.fit(X, 3, formulation="column-sum-leq", random_state=0)
    >>> bool(cvxvolmin.matched_mse(H, result.H) < 1e-15)
    True
    """

    name = "column-sum-leq"
    column_separable = True  # elementwise constraints: working sets stay exact

    def row_constraints(self, row: Row, reduction: Reduction) -> list[cp.Constraint]:
        return [row.h >= 0, row.total <= self.rho * row.unit]

    def abundance_polytope(self) -> SimplexAtMost:
        return SimplexAtMost(self.rho)
