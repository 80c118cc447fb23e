"""
Row-sum and column-sum VolMin on the same mixed-sign W
======================================================

One data set, two volume criteria, step by step. ``X = W @ H.T`` with the
paper's Gaussian W (case 3: entries of both signs) and a sufficiently
scattered H, r = 3.

* **Column-sum VolMin** (Fu, Huang, Sidiropoulos, IEEE SPL 2018) asks
  ``H.T 1 = 1``, a scaling of H that any data allow: it recovers H to
  rounding error.
* **Row-sum VolMin** (the classic criterion, with every column of X divided
  by its l1 norm as in the paper's Table 2) asks ``H 1 = 1`` of the
  normalized data. The l1 norm makes that hold when ``||W h||_1`` is linear
  in ``h >= 0`` (W nonnegative, or each row of W of one sign), not for this
  W; the fit says so with a :class:`~cvxvolmin.ModelMismatchWarning` and
  returns a wrong H. A normalization that would work exists (divide
  ``x_n`` by ``a.x_n`` with ``W.T a > 0``), but it needs W; the class
  (:ref:`sphx_glr_auto_tutorial_class.py`) computes it.

Both maximize ``|det Q|`` by alternating optimization, and
``FitResult.logdet_history`` shows ``log|det Q|`` rising sweep after sweep
in both: a rising objective says nothing about whether the criterion fits
the data.
"""

# %%
# The data
# --------

import warnings

import cvxpy as cp
import matplotlib.pyplot as plt
import numpy as np

import cvxvolmin
from cvxvolmin import RowSumVolMin

R = 3
X, W, H = cvxvolmin.make_paper_data(R, case=3, random_state=0)
print(f"X is {X.shape[0]} x {X.shape[1]}; W has {np.sum(W < 0)} negative entries of {W.size}")

# %%
# Step 1: one column-sum sweep by hand
# ------------------------------------
#
# What ``fit`` does, written out with cvxpy. Reduce X by its thin SVD to
# ``Xt`` (r x N); then ``H.T = Q @ Xt`` and the criterion becomes
# ``max |det Q|`` subject to ``Q @ Xt >= 0`` and ``Q @ Xt @ 1 = N`` (H in
# the LP units of :doc:`/numerics`). Row i of Q gives column i of H, so the
# constraints decouple by rows of Q (the paper's text says "columns of Q";
# in this form it is the rows). With every row of Q but row i fixed,
# ``det Q`` is linear in row i, along the direction ``solve(Q, e_i)``: each
# row update is two LPs over the same polytope. Every row the update keeps
# is feasible, so from a feasible start ``|det Q|`` can only grow.

U, s, Vt = np.linalg.svd(X, full_matrices=False)
N = X.shape[1]
Xt = np.sqrt(N) * Vt[:R]

q = cp.Variable(R)
direction = cp.Parameter(R)
polytope = [Xt.T @ q >= 0, cp.sum(Xt.T @ q) == N]
lp_max = cp.Problem(cp.Maximize(direction @ q), polytope)
lp_min = cp.Problem(cp.Minimize(direction @ q), polytope)


def best_row(p: np.ndarray) -> np.ndarray:
    """The feasible row q with the largest |p @ q|: two LPs."""
    direction.value = p / np.linalg.norm(p)  # LP tolerances are absolute
    candidates = []
    for lp in (lp_max, lp_min):
        lp.solve(solver=cp.HIGHS)
        candidates.append(q.value.copy())
    return max(candidates, key=lambda row: abs(p @ row))


# A random feasible start. First R independent vertices of the polytope:
# vertex k maximizes a random objective orthogonal to the vertices before it.
# Then each row of Q is a random convex combination of them (the polytope is
# convex, so the rows are feasible; the random weights keep Q nonsingular).
rng = np.random.default_rng(0)
vertices: list[np.ndarray] = []
for _ in range(R):
    p = rng.standard_normal(R)
    if vertices:
        basis = np.linalg.qr(np.array(vertices).T)[0]
        p -= basis @ (basis.T @ p)
    vertices.append(best_row(p))
Q = rng.dirichlet(np.ones(R), size=R) @ np.array(vertices)
by_hand = [np.log(abs(np.linalg.det(Q)))]
print(f"feasible start: log|det Q| = {by_hand[0]:+.6f}")
for sweep in range(2):
    for i in range(R):
        # det Q = (cofactor vector) @ q_i, and the cofactors point along solve(Q, e_i).
        Q[i] = best_row(np.linalg.solve(Q, np.eye(R)[i]))
        by_hand.append(np.log(abs(np.linalg.det(Q))))
        print(f"sweep {sweep + 1}, row {i + 1}: log|det Q| = {by_hand[-1]:+.6f}")

# %%
# ``cvxvolmin.fit`` runs the same sweeps (with a compiled, persistent LP and a
# polished final vertex) and reaches the same optimum: only the permutation
# and signs of the rows of Q can differ, and ``|det Q|`` does not see them.

column = cvxvolmin.fit(X, R, random_state=0)
print("fit: log|det Q| per sweep", np.round(column.logdet_history, 6))
print(f"column-sum VolMin: MSE of H = {cvxvolmin.matched_mse(H, column.H):.1e}")

# %%
# Step 2: row-sum VolMin on the same data
# ---------------------------------------
#
# The row-sum fit warns that the l1-normalized columns of X do not lie on an
# affine set of dimension r - 1, which the model ``H 1 = 1`` requires, and
# still returns its answer. (Divided by ``a.x_n`` with the true
# ``a = W (W.T W)^{-1} 1`` instead, they would: the failure is the l1
# normalization's, not the row-sum criterion's.)

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    row = cvxvolmin.fit(X, R, formulation=RowSumVolMin(normalize="l1"), random_state=0)
for w in caught:
    print(f"{w.category.__name__}: {str(w.message)[:160]}...")
print("fit: log|det Q| per sweep", np.round(row.logdet_history, 4))
print(f"row-sum VolMin: MSE of H = {cvxvolmin.matched_mse(H, row.H):.1e}")

# %%
# Step 3: the picture
# -------------------
#
# Left: ``log|det Q|`` after every row update of the hand-made sweeps, with
# the values ``fit`` reports after each sweep. Middle: the row-sum history.
# Right: each true column of H against its matched estimate, both scaled to
# unit norm: the column-sum points lie on the diagonal, the row-sum points
# scatter around it.

fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
ax = axes[0]
ax.plot(np.arange(len(by_hand)) / R, by_hand, "o-", color="C0", label="by hand, per row")
ax.plot(
    np.arange(1, column.n_iter + 1),
    column.logdet_history,
    "s",
    ms=9,
    mfc="none",
    color="k",
    label="fit, per sweep",
)
ax.set(xlabel="sweep", ylabel="log|det Q|", title="column-sum VolMin")
ax.legend(fontsize=8)

ax = axes[1]
ax.plot(np.arange(1, row.n_iter + 1), row.logdet_history, "o-", color="C3")
ax.set(xlabel="step", ylabel="log|det Q|", title="row-sum VolMin (normalized)")

ax = axes[2]
for result, colour, label in [(column, "C0", "column-sum"), (row, "C3", "row-sum")]:
    perm, _ = cvxvolmin.match_columns(H, result.H)
    truth = H / np.linalg.norm(H, axis=0)
    estimate = result.H[:, perm] / np.linalg.norm(result.H[:, perm], axis=0)
    estimate *= np.sign(np.sum(estimate * truth, axis=0))
    ax.scatter(truth.ravel(), estimate.ravel(), s=6, color=colour, label=label, alpha=0.7)
top = 1.1 * H.max() / np.linalg.norm(H, axis=0).min()
ax.plot([0, top], [0, top], color="0.5", lw=0.8)
ax.set(xlabel="true H (unit-norm columns)", ylabel="estimate", title="recovered H")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
