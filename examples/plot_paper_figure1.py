"""
The paper's Figure 1: separable versus sufficiently scattered
==============================================================

The view of Fu, Huang and Sidiropoulos (IEEE SPL 2018, Figure 1) for r = 3.
Every row of H (N x 3, nonnegative) is a direction in the nonnegative
orthant; scaling each row to sum to one puts it in the slice
``x1 + x2 + x3 = 1``, where the orthant is the triangle. In that slice:

* the dots are the rows of H and the shaded polygon is cone(H.T);
* the circle is the cone ``C = {x : 1.x >= sqrt(r - 1) ||x||}``, inscribed in
  the orthant: it touches each side of the triangle at one point.

**Separable** (left): H contains the three unit vectors (pure samples), so
cone(H.T) is the whole orthant. **Sufficiently scattered** (right): no
sample is pure, but cone(H.T) still contains C and touches its boundary only
where C touches the triangle. Column-sum VolMin identifies W and H in both
cases; separability is the special case that many older methods need.
"""

# %%
# Two matrices H with N = 60 rows. The scattered one has no row near a
# corner (every entry at most 0.8), but has rows on all three sides of the
# triangle, around the points where C touches them.

import matplotlib.pyplot as plt
import numpy as np

from cvxvolmin import check_scattering
from cvxvolmin.plot import scattering

rng = np.random.default_rng(0)


def on_simplex(n: int) -> np.ndarray:
    """n points drawn uniformly from the triangle (rows summing to one)."""
    return rng.dirichlet(np.ones(3), size=n)


separable = np.vstack([np.eye(3), on_simplex(57)])

inner = on_simplex(400)
inner = inner[inner.max(axis=1) <= 0.8][:36]  # no sample close to a corner
t = rng.uniform(0.2, 0.8, size=(3, 8))  # 8 samples on each side of the triangle
sides = [np.insert(np.column_stack([t[k], 1 - t[k]]), k, 0.0, axis=1) for k in range(3)]
scattered = np.vstack([inner, *sides])

# %%
# The checker decides both exactly (facet enumeration of cone(H.T)), and
# :func:`cvxvolmin.plot.scattering` draws one panel each.

fig, axes = plt.subplots(1, 2, figsize=(8, 4.2))
cases = [("separable", separable), ("sufficiently scattered", scattered)]
for ax, (name, H) in zip(axes, cases, strict=True):
    result = check_scattering(H, method="exact")
    scattering(H, ax=ax, result=result)
    ax.set_title(f"{name}\nchecker: {result.verdict.replace('_', ' ')}", fontsize=10)
    print(f"{name:>24}: {result.verdict}, largest entry of H {H.max():.2f}")
axes[0].legend(loc="upper left", fontsize=7, frameon=False)
fig.tight_layout()
plt.show()

# %%
# For H that fail the condition (cone(H.T) misses part of C, or touches its
# boundary away from the triangle's sides) see
# :ref:`sphx_glr_auto_examples_plot_scattering.py`.
