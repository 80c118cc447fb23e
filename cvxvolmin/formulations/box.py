"""Polytopic matrix factorization with the box: every entry of H in ``[-bound, bound]``.

Tatli and Erdogan (IEEE Trans. Signal Processing 69, 2021) factor
``X = W H.T`` with every row of H (one sample) in a given polytope P and
any W, by maximizing the volume spanned by H, i.e. ``max |det Q|``. When P
is the box ``[-1, 1]^r`` this is bounded component analysis. The box
constrains each entry on its own, so the rows of Q decouple and every
update is the LP ``-bound <= Xt.T q <= bound`` of one component: the row
engine runs it as it runs column-sum VolMin, on working sets for large N.

Identifiability (Tatli and Erdogan's sufficient scattering for P): the rows
of H must reach the box's boundary widely enough; samples that touch its
faces in every direction (e.g. clipped, or sparse-and-bounded sources) give
the truth up to permutation and sign, while samples that stay inside a
smaller ball do not (a larger box then fits them). Compare the factors with
``cvxvolmin.matched_mse(H, result.H, signs=True)``.
"""

from __future__ import annotations

import cvxpy as cp

from ..exceptions import InvalidParameterError
from ..reduction import Reduction
from .base import Formulation, Row, register_formulation


@register_formulation
class BoxVolMin(Formulation):
    """Volume criterion with every entry of H in ``[-bound, bound]`` (bounded components).

    Parameters
    ----------
    bound : float, default 1.0
        The half-width of the box, in the units of H.

    Notes
    -----
    H is identified up to permutation and the sign of each component (the
    box is symmetric), W up to the same and the inverse scaling; no
    normalization of X is involved. See the module notes for when the truth
    is recovered.

    Examples
    --------
    >>> import numpy as np
    >>> import cvxvolmin
    >>> rng = np.random.default_rng(0)
    >>> H = np.clip(rng.uniform(-1.3, 1.3, size=(300, 3)), -1, 1)  # reaches the faces
    >>> X = rng.standard_normal((20, 3)) @ H.T
    >>> result = cvxvolmin.fit(X, 3, formulation="box", random_state=0)
    >>> bool(cvxvolmin.matched_mse(H, result.H, signs=True) < 1e-20)
    True
    """

    name = "box"
    column_separable = True  # elementwise bounds: working sets stay exact

    def __init__(self, bound: float = 1.0):
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not bound > 0:
            raise InvalidParameterError(f"bound must be a positive number; got {bound!r}.")
        self.bound = float(bound)

    def unit(self, reduction: Reduction) -> float:
        # Entries of H are of order bound already: one unit of H is bound in the LP,
        # so that the LP's entries are of order one.
        return 1.0 / self.bound

    def row_constraints(self, row: Row, reduction: Reduction) -> list[cp.Constraint]:
        return [row.h <= 1.0, row.h >= -1.0]
