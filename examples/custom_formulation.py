"""A volume criterion written from scratch, outside the library.

The samples of X are time steps, and we know that the abundances change
slowly: ``|H[n + 1, k] - H[n, k]| <= delta`` on top of column-sum VolMin's
``H >= 0, H.T 1 = 1``. Every constraint is linear in the row of Q being
updated, so each row update stays an LP; an absolute value is written as
two inequalities (``cp.abs`` is not affine, and the engine would refuse it).

Run: ``python examples/custom_formulation.py``
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np

import cvxvolmin
from cvxvolmin.formulations import Formulation, Row, register_formulation


@register_formulation
class SlowlyVaryingVolMin(Formulation):
    """Column-sum VolMin whose abundances change by at most ``delta`` per step."""

    name = "slowly-varying"

    def __init__(self, delta: float = 0.05):
        self.delta = delta

    def row_constraints(self, row: Row, reduction) -> list[cp.Constraint]:
        # row.h is the column of H in LP units: one unit of H is row.unit.
        step = cp.diff(row.h)
        bound = self.delta * row.unit
        return [row.h >= 0, cp.sum(row.h) == row.unit, step <= bound, -step <= bound]


def make_data(n_steps: int = 150, n_features: int = 40, seed: int = 0):
    """Three clipped, phase-shifted sines mixed by a Gaussian W (any sign)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 2.0 * np.pi, n_steps)
    H = np.column_stack([np.maximum(np.sin(t + phase), 0.0) for phase in (0.0, 2.1, 4.2)])
    W = rng.standard_normal((n_features, 3))
    return W @ H.T, W, H


def main() -> None:
    X, _, H = make_data()
    H_unit = H / H.sum(axis=0)  # the scaling the criterion recovers
    delta = 1.1 * np.abs(np.diff(H_unit, axis=0)).max()
    print(f"true largest step {np.abs(np.diff(H_unit, axis=0)).max():.4f}; delta = {delta:.4f}")

    for formulation in ("column-sum", SlowlyVaryingVolMin(delta=delta)):
        result = cvxvolmin.fit(X, 3, formulation=formulation, random_state=0)
        steps = np.abs(np.diff(result.H, axis=0)).max()
        print(
            f"{result.formulation.name:>14}: MSE {cvxvolmin.matched_mse(H, result.H):.1e}, "
            f"largest step {steps:.4f}, {result.n_lp_solves} LPs, {result.time_s:.2f} s"
        )

    # A bound tighter than the truth: the constraint holds, the answer moves.
    tight = cvxvolmin.fit(X, 3, formulation=SlowlyVaryingVolMin(delta=0.7 * delta))
    print(
        f"with delta = {0.7 * delta:.4f}: MSE {cvxvolmin.matched_mse(H, tight.H):.1e}, "
        f"largest step {np.abs(np.diff(tight.H, axis=0)).max():.4f}"
    )
    # Registered, so the name works too (here with its default delta).
    print("registered:", "slowly-varying" in cvxvolmin.available_formulations())


if __name__ == "__main__":
    main()
