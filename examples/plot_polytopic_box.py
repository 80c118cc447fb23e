"""
Bounded components: when the box identifies the truth, and when it does not
===========================================================================

Polytopic matrix factorization (Tatli and Erdogan, IEEE Trans. Signal
Processing 2021) asks every row of H, one sample's coefficients, to lie in
a known polytope, here the box ``[-1, 1]^2``, and W to be anything; it
maximizes the volume spanned by H (``cvxvolmin.BoxVolMin``, the criterion
``max |det Q|`` with ``-1 <= H <= 1``). Every linear map of the true H that
keeps its rows in the box is a candidate, and the criterion takes the one
of largest volume.

* **Rows that reach the faces** (uniform samples clipped to the box, so that
  many lie on its edges): no map of larger volume keeps them inside, and
  the fit returns the true H up to permutation and sign.
* **Rows inside a disc** of radius 0.9: stretching them until they touch
  the box gains volume, so the criterion returns a stretched H, not the
  truth. The condition fails, and so does the recovery, as theory says.
"""

# %%
# Two data sets, one criterion
# ----------------------------

import matplotlib.pyplot as plt
import numpy as np

import cvxvolmin

rng = np.random.default_rng(0)
R, N = 2, 400
W = rng.standard_normal((30, R))
on_faces = np.clip(rng.uniform(-1.3, 1.3, size=(N, R)), -1.0, 1.0)
angle = rng.uniform(0.0, 2.0 * np.pi, N)
radius = 0.9 * np.sqrt(rng.uniform(size=N))
in_disc = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])

fits = {}
for label, H in (("rows reach the faces", on_faces), ("rows inside a disc", in_disc)):
    result = cvxvolmin.fit(W @ H.T, R, formulation="box", random_state=0)
    error = cvxvolmin.matched_mse(H, result.H, signs=True)
    fits[label] = (H, result.H)
    print(f"{label}: MSE of H (up to permutation and sign) {error:.2e}")

# %%
# The rows of H, true and fitted
# ------------------------------
#
# The fitted rows are shown after matching their columns to the truth's
# (order and sign). On the left they cover the true rows; on the right they
# are the disc stretched until it touches the box.

fig, axes = plt.subplots(1, 2, figsize=(8, 4), sharex=True, sharey=True)
for ax, (label, (H, fitted)) in zip(axes, fits.items(), strict=True):
    perm, _ = cvxvolmin.match_columns(H, fitted, signs=True)
    matched = fitted[:, perm] * np.sign(np.sum(H * fitted[:, perm], axis=0))
    ax.plot(*H.T, ".", ms=3, color="0.6", label="true rows")
    ax.plot(*matched.T, "x", ms=3, color="C0", label="fitted rows")
    ax.plot([-1, 1, 1, -1, -1], [-1, -1, 1, 1, -1], "k-", lw=1)
    ax.set_title(label, fontsize=10)
    ax.set_aspect("equal")
axes[0].legend(fontsize=8, loc="lower left")
fig.tight_layout()
plt.show()
