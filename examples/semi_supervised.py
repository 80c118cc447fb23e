"""Semi-supervised VolMin: some abundances are known, at N above the working-set size.

A few samples have known abundances (pure pixels identified on the ground,
calibration mixtures, anchor documents). Column-sum VolMin plus the
per-component constraints ``H[n, k] = known[n, k]`` for those samples: the
constraint on component k is written with ``row.index`` (the component the
row of Q produces) and ``row.at(samples)`` (the entries of that component
at given samples, valid at any N). The truth still satisfies every
constraint, so recovery is still exact when H is sufficiently scattered,
and the known entries also fix the order of the components, which plain
VolMin recovers only up to a permutation. With N = 3000 the LPs run on
working sets of samples; ``row.at`` refers to the same samples there.

A known value that is wrong moves the answer away from the truth or
leaves no solution at all: the constraints are imposed, never ignored.

Run: ``python examples/semi_supervised.py``
"""

from __future__ import annotations

import numpy as np

import cvxvolmin
from cvxvolmin import ColumnSumVolMin, InfeasibleError


class KnownAbundances(ColumnSumVolMin):
    """Column-sum VolMin with ``H[samples, k]`` fixed to ``values[:, k]`` (columns summing to 1)."""

    name = "known-abundances"
    column_separable = True  # elementwise constraints and single samples: working sets stay exact

    def __init__(self, samples, values):
        super().__init__()
        self.samples, self.values = np.asarray(samples), np.asarray(values, dtype=float)

    def row_constraints(self, row, reduction):
        known = row.at(self.samples) == self.values[:, row.index] * row.unit
        return [*super().row_constraints(row, reduction), known]


R, N = 5, 3000
X, W, H = cvxvolmin.make_paper_data(R, case=3, n_samples=N, random_state=0)
truth = H / H.sum(axis=0)  # the scaling column-sum VolMin returns
anchors = [10, 2500, 2999]
print(f"N = {N} samples (working sets above 2000), r = {R}, known rows of H: {anchors}")

plain = cvxvolmin.fit(X, R, random_state=0)
perm, _ = cvxvolmin.match_columns(truth, plain.H)
print(
    f"plain column-sum: MSE {cvxvolmin.matched_mse(H, plain.H):.2e}, components in the "
    f"order {perm.tolist()}"
)

semi = cvxvolmin.fit(X, R, formulation=KnownAbundances(anchors, truth[anchors]), random_state=0)
print(
    f"known abundances: MSE {cvxvolmin.matched_mse(H, semi.H):.2e}, largest entry error "
    f"in the true order {np.abs(semi.H - truth).max() / truth.max():.2e} of the largest entry"
)

wrong = truth[anchors].copy()
wrong[0] = wrong[0, ::-1]  # the first anchor's abundances, components reversed
try:
    moved = cvxvolmin.fit(X, R, formulation=KnownAbundances(anchors, wrong), random_state=0)
    outcome = f"MSE {cvxvolmin.matched_mse(H, moved.H):.2e}"
except InfeasibleError:
    outcome = "infeasible (no factorization meets them)"
print(f"wrong known abundances: {outcome}")
