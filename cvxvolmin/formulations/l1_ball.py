"""Polytopic matrix factorization with the l1 ball: ``sum_k |H[n, k]| <= bound`` for every sample.

Tatli and Erdogan (IEEE Trans. Signal Processing 69, 2021) factor
``X = W H.T`` with every row of H in a given polytope and any W, by
maximizing the volume spanned by H. The l1 ball (the cross-polytope) suits
sparse sources. Unlike the box (:class:`~cvxvolmin.BoxVolMin`) it couples
the components of each sample, so the criterion declares
:meth:`~cvxvolmin.Formulation.joint_constraints` and the engine moves all
rows of Q at once: the ball is written by its ``2^r`` facets,
``H @ s <= bound`` for every sign vector s, which keeps each step an LP
(no auxiliary variables), at ``2^r N`` constraints.

Identifiability: the rows of H must reach the ball's facets widely (many
samples on its boundary, spread over its facets); rows that stay inside a
smaller ball are stretched to fill it and the truth is lost. H is found up
to permutation and sign: compare with
``cvxvolmin.matched_mse(H, result.H, signs=True)``.
"""

from __future__ import annotations

import itertools

import cvxpy as cp
import numpy as np

from ..exceptions import InvalidParameterError
from ..reduction import Reduction
from .base import Formulation, Row, register_formulation

# 2^r facets per sample: beyond this rank the LP grows past what is practical.
_MAX_RANK = 12


@register_formulation
class L1BallVolMin(Formulation):
    """Volume criterion with every row of H in the l1 ball of radius ``bound``.

    Parameters
    ----------
    bound : float, default 1.0
        The radius of the ball, in the units of H.

    Notes
    -----
    The components are coupled, so the engine moves all rows of Q at once
    by conditional-gradient steps, which can need many more steps than row
    updates: on rows at the facets at N = 5000 some draws need more than
    the default ``max_iter=100`` (``python benchmarks/bench_variants.py
    l1-ball`` measures two), and the fit then stops with a
    :class:`~cvxvolmin.ConvergenceWarning`. Raise ``max_iter`` when the
    warning appears. (Updating one row with the
    others fixed stalls at once here: the ball's budget is shared.)

    Examples
    --------
    >>> import numpy as np
    >>> import cvxvolmin
    >>> rng = np.random.default_rng(0)
    >>> H = rng.dirichlet(np.ones(3), 300) * rng.choice([-1.0, 1.0], (300, 3))  # on facets
    >>> X = rng.standard_normal((20, 3)) @ H.T
    >>> result = cvxvolmin.fit(X, 3, formulation="l1-ball", random_state=0)
    >>> bool(cvxvolmin.matched_mse(H, result.H, signs=True) < 1e-20)
    True
    """

    name = "l1-ball"
    column_separable = True  # every facet inequality reads one sample: working sets stay exact

    def __init__(self, bound: float = 1.0):
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not bound > 0:
            raise InvalidParameterError(f"bound must be a positive number; got {bound!r}.")
        self.bound = float(bound)

    def unit(self, reduction: Reduction) -> float:
        return 1.0 / self.bound  # LP entries of order one

    def row_constraints(self, row: Row, reduction: Reduction) -> list[cp.Constraint]:
        return []  # every constraint couples the components: see joint_constraints

    def joint_constraints(self, H: cp.Expression, reduction: Reduction) -> list[cp.Constraint]:
        r = H.shape[1]
        if r > _MAX_RANK:
            raise InvalidParameterError(
                f"the l1 ball has 2^r facets per sample; rank {r} exceeds {_MAX_RANK}."
            )
        return [
            H @ np.array(signs) <= self.bound for signs in itertools.product((-1.0, 1.0), repeat=r)
        ]
