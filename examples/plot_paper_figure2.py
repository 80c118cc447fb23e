"""
The paper's Figure 2: VolMin's minimum-volume enclosing simplex
===============================================================

Row-sum VolMin (Craig's criterion) in the picture of Fu, Huang and
Sidiropoulos (IEEE SPL 2018, Figure 2), for r = 3. When every row of H sums
to one, each data column ``x_n = W h_n`` is a convex combination of the three
columns of W: the data lie in the triangle (2-simplex) whose vertices are the
columns of W. VolMin looks for the simplex of smallest volume that encloses
all the data.

We fit ``formulation="row-sum"`` and draw, in the 2-D coordinates of the
plane that holds the data (the affine set of the columns of X): the data,
their convex hull, the true simplex and the simplex VolMin found.

* **Left**, H sufficiently scattered: the data reach all three sides of the
  true triangle, so no smaller triangle encloses them; VolMin finds the
  truth although no sample is pure.
* **Right**, H not scattered (every sample mixes all three sources, at least
  15% of each): a smaller triangle encloses the data, VolMin finds it, and
  it is not the truth. Identifiability needs the condition, not only the
  criterion.
"""

# %%
# The data: M = 20 features, nonnegative W with columns summing to one, and
# rows of H on the simplex, so every column of X already sums to one.

import matplotlib.pyplot as plt
import numpy as np
from scipy.spatial import ConvexHull

import cvxvolmin

rng = np.random.default_rng(1)
M, N, R = 20, 150, 3
W = rng.uniform(size=(M, R))
W /= W.sum(axis=0)


def scattered_H(n: int) -> np.ndarray:
    """Rows on the simplex: most inside, some on each side, none near a corner."""
    inner = rng.dirichlet(np.ones(R), size=4 * n)
    inner = inner[inner.max(axis=1) <= 0.8][: n - 30]
    t = rng.uniform(0.15, 0.85, size=(R, 10))
    sides = [np.insert(np.column_stack([t[k], 1 - t[k]]), k, 0.0, axis=1) for k in range(R)]
    return np.vstack([inner, *sides])


def mixed_H(n: int) -> np.ndarray:
    """Rows on the simplex with every entry at least 0.15: not scattered."""
    return 0.15 + (1 - R * 0.15) * rng.dirichlet(np.ones(R), size=n)


def plane_coordinates(X: np.ndarray):
    """A map to 2-D coordinates in the affine set of the columns of X."""
    centre = X.mean(axis=1, keepdims=True)
    U = np.linalg.svd(X - centre, full_matrices=False)[0][:, : R - 1]
    return lambda A: U.T @ (A - centre)


# %%
# Fit, score and draw each case. The columns of the fitted W are the
# vertices of the found simplex; they are scaled to sum to one (the scale
# of W and H is not identifiable) before they are drawn.

fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
cases = [("H sufficiently scattered", scattered_H(N)), ("H not scattered", mixed_H(N))]
for ax, (name, H) in zip(axes, cases, strict=True):
    X = W @ H.T
    verdict = cvxvolmin.check_scattering(H, method="exact").verdict
    result = cvxvolmin.fit(X, R, formulation="row-sum", random_state=0)
    mse = cvxvolmin.matched_mse(H, result.H)
    print(f"{name}: checker says {verdict}; row-sum VolMin MSE of H = {mse:.1e}")

    to_plane = plane_coordinates(X)
    data = to_plane(X)
    true_vertices = to_plane(W)
    found_vertices = to_plane(result.W / result.W.sum(axis=0))
    hull = data[:, ConvexHull(data.T).vertices]

    ax.scatter(*data, s=8, color="0.35", label="data columns of X", zorder=3)
    ax.fill(*hull, color="C0", alpha=0.15, label="convex hull of the data")
    ax.fill(*true_vertices, fill=False, color="k", lw=2.5, label="true simplex (columns of W)")
    ax.fill(*found_vertices, fill=False, color="C3", lw=1.5, ls="--", label="VolMin's simplex")
    ax.set_title(f"{name}\nMSE of H = {mse:.1e}", fontsize=10)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
axes[0].legend(loc="lower left", fontsize=7, frameon=False)
fig.tight_layout()
plt.show()

# %%
# Row-sum VolMin needs the model ``H 1 = 1`` to hold after normalization.
# Dividing each column of X by its l1 norm achieves that when W is
# nonnegative (or each row of W has one sign), not for W of mixed sign; a
# division that works for any W of full column rank exists (by ``a.x_n``
# with ``W.T a > 0``), but it needs W. See
# :ref:`sphx_glr_auto_examples_plot_row_vs_column_sum.py`. Column-sum VolMin,
# the paper's criterion, needs no normalization.
