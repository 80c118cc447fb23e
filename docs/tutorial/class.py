"""
Identifiable matrix factorization: a 45-minute class
====================================================

From the model to the theorem to the experiment, with cvxvolmin. Each part
gives a suggested time; the exercises at the end are for after class.
Reference: X. Fu, K. Huang, N. D. Sidiropoulos, "On Identifiability of
Nonnegative Matrix Factorization", IEEE Signal Processing Letters 25(3),
2018.
"""

# %% [markdown]
# Part 1 (10 min): the model and its ambiguity
# --------------------------------------------
#
# Data ``X`` (M x N) has one sample per **column**: a pixel's spectrum, a
# document's word counts. The model is ``X = W @ H.T``: each sample is a
# mixture of r sources (the columns of W, any sign) with nonnegative weights
# (the rows of H).
#
# A factorization is never unique: for any invertible r x r matrix A,
# ``W @ H.T = (W @ A) @ (H @ inv(A).T).T``. Permutations and positive
# scalings of the columns are harmless (they relabel and rescale the
# sources); every other A is a real ambiguity. *Identifiability* asks when
# the constraints of a criterion leave only the harmless ones.

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np

import cvxvolmin
from cvxvolmin.plot import scattering

FAST = os.environ.get("CVXVOLMIN_DOCS_FAST") == "1"
rng = np.random.default_rng(0)

M, N, r = 30, 100, 3
W = rng.standard_normal((M, r))  # mixed sign; full column rank is all that is assumed
H = rng.uniform(size=(N, r)) * (rng.uniform(size=(N, r)) > 0.35)  # 35% zeros, as in the paper
crowded = 0.2 + 0.4 * rng.dirichlet(np.ones(r), size=N)  # no zeros: every entry >= 0.2
X = W @ H.T

# %% [markdown]
# Take ``A = B.T`` with ``B`` a mixing matrix close to the identity, so that
# the candidate is ``(W @ B.T, H @ inv(B))``. It reproduces the data
# exactly. Whether its ``H`` is still nonnegative depends on H: that is the
# whole story.

# %%
B = 0.8 * np.eye(r) + 0.2 / r  # rows sum to one; |det B| < 1
for name, truth in [("H with zeros", H), ("crowded H", crowded)]:
    W2, H2 = W @ B.T, truth @ np.linalg.inv(B)
    print(
        f"{name:>12}: same X {np.allclose(W2 @ H2.T, W @ truth.T)}, "
        f"min of the new H {H2.min():+.3f}, volume ratio "
        f"{np.linalg.det(W2.T @ W2) / np.linalg.det(W.T @ W):.3f}"
    )

# %% [markdown]
# With zeros in H the alternative has negative entries and is ruled out by
# ``H >= 0``. With the crowded H it is as valid as the truth, and its volume
# ``det(W2.T W2) = det(B)^2 det(W.T W)`` is *smaller*: a volume criterion
# prefers it. Rows of H spread out to the boundary of the orthant are what
# pins the factorization down.
#
# Part 2 (10 min): three criteria
# -------------------------------
#
# * **Plain NMF**: ``min ||X - W H.T||^2`` with ``W >= 0, H >= 0``. Needs
#   structure in both factors, and cannot represent a W of mixed sign.
# * **Row-sum VolMin** (the classic minimum-volume enclosing simplex):
#   ``min det(W.T W)`` with ``X = W H.T``, ``H >= 0``, ``H 1 = 1``. Every
#   sample must be a convex combination of the columns of W, so the samples
#   are first divided by positive numbers. The usual choice, the l1 norm,
#   does this when ``||W h||_1`` is linear in ``h >= 0`` (W nonnegative, or
#   each row of W of one sign), not for a W like ours.
# * **Column-sum VolMin** (Fu, Huang, Sidiropoulos, IEEE SPL 2018): the same
#   volume with ``H.T 1 = 1`` instead, a scaling that any data allow.
#
# All three on our mixed-sign X, scored by the paper's MSE (the mean squared
# distance between matched unit-norm columns of the true and estimated H):

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    estimates = {
        "plain NMF": cvxvolmin.plain_nmf(X, r, random_state=0).H,
        "row-sum VolMin": cvxvolmin.fit(
            X, r, formulation=cvxvolmin.RowSumVolMin(normalize="l1"), random_state=0
        ).H,
        "column-sum VolMin": cvxvolmin.fit(X, r, random_state=0).H,
    }
for name, estimate in estimates.items():
    print(f"{name:>18}: MSE {cvxvolmin.matched_mse(H, estimate):.1e}")
print("warnings raised:", sorted({w.category.__name__ for w in caught}))

# %% [markdown]
# Only column-sum VolMin recovers H, to rounding error. Row-sum VolMin
# warned that its model does not hold on the l1-normalized data
# (``ModelMismatchWarning``).
#
# Is the row-sum criterion to blame, or the l1 normalization? Any W of full
# column rank has a vector ``a`` with ``W.T a > 0``, for instance
# ``a = W (W.T W)^{-1} 1``, for which ``W.T a = 1``. Then
# ``a.x_n = 1.h_n`` and ``x_n / (a.x_n) = W (h_n / 1.h_n)``: every
# normalized sample is a convex combination of the columns of W, and H only
# has its rows rescaled, which keeps its cone and so sufficient scattering.
# The catch is that ``a`` is computed from the true W. Normalize with it,
# fit row-sum VolMin with no normalization of its own, and multiply the rows
# of H back (samples with no signal, ``a.x_n = 0``, are dropped):

# %%
a = W @ np.linalg.solve(W.T @ W, np.ones(r))  # needs the true W: an oracle
signal = X.any(axis=0)
scale = a @ X[:, signal]  # a.x_n = 1.h_n > 0
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    oracle = cvxvolmin.fit(
        X[:, signal] / scale,
        r,
        formulation=cvxvolmin.RowSumVolMin(normalize=None),
        random_state=0,
    )
oracle_mse = cvxvolmin.matched_mse(H[signal], oracle.H * scale[:, None])
l1_mse = cvxvolmin.matched_mse(H, estimates["row-sum VolMin"])
print(f"samples with no signal dropped: {int(np.sum(~signal))} of {N}")
print(f"row-sum VolMin, oracle normalization x_n / (a.x_n): MSE {oracle_mse:.1e}")
print(f"row-sum VolMin, l1 normalization x_n / ||x_n||_1:   MSE {l1_mse:.1e}")
print("warnings raised (oracle):", sorted({w.category.__name__ for w in caught}) or "none")

# %% [markdown]
# With the right normalization row-sum VolMin is exact on mixed-sign data
# too; what fails is the l1 norm, which is ``a.x`` for a fixed ``a`` only
# when ``||W h||_1`` is linear in h. On real data W is unknown, and so is a
# normalization that would work. Column-sum VolMin needs none.
#
# Part 3 (10 min): the theorem
# ----------------------------
#
# Let ``C = {x : 1.x >= sqrt(r - 1) ||x||}``, a round cone inscribed in the
# nonnegative orthant. H is **sufficiently scattered** when
#
# 1. the cone generated by the rows of H contains C, and
# 2. that cone touches the boundary of C only where C touches the orthant.
#
# **Theorem** (Fu, Huang, Sidiropoulos 2018). If rank(X) = r and H, with
# its columns scaled to sum to one, is sufficiently scattered, every
# solution of column-sum VolMin equals the true (W, H) up to permutation and
# scaling of the columns. Nothing is assumed of W beyond full column rank.
# (Scaling the rows of H leaves its cone, and the condition, unchanged.)
#
# For r = 3 the condition can be drawn: scale each row of H to sum to one;
# the orthant becomes a triangle and C its inscribed circle.

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 4))
for ax, (name, candidate) in zip(axes, [("H with zeros", H), ("crowded H", crowded)], strict=True):
    result = cvxvolmin.check_scattering(candidate, method="exact")
    scattering(candidate, ax=ax, result=result)
    print(f"{name}: {result.verdict}")
fig.tight_layout()
plt.show()

# %% [markdown]
# The crowded H leaves part of C uncovered: the theorem does not apply, and
# column-sum VolMin finds a factorization of smaller volume than the truth
# (Part 1 built one by hand).

# %%
fit_crowded = cvxvolmin.fit(W @ crowded.T, r, random_state=0)
print(f"crowded H: MSE {cvxvolmin.matched_mse(crowded, fit_crowded.H):.1e}")

# %% [markdown]
# Part 4 (5 min): how it is solved
# --------------------------------
#
# Reduce X to ``Xt`` (r x N) by its SVD and write ``H.T = Q @ Xt``. The
# problem becomes ``max |det Q|`` subject to ``Q @ Xt >= 0`` and
# ``Q @ Xt @ 1 = 1``. Row i of Q gives column i of H, so the constraints
# decouple by rows of Q (the paper's text says "columns of Q"; in this form
# it is the rows). With all rows of Q but one fixed, ``det Q`` is linear
# in that row: each update is a linear program, and ``|det Q|`` never
# decreases from one sweep to the next. The problem is not convex, so
# nothing proves that the sweeps end at the global optimum; on the paper's
# data they did in every trial measured (300 of 300 in Table 2).

# %%
result = cvxvolmin.fit(X, r, random_state=0)
print("log|det Q| per sweep:", np.round(result.logdet_history, 6))
print(f"{result.n_lp_solves} LPs, fit error {result.fit_error:.1e}, min H {result.min_H:.1e}")

# %% [markdown]
# Part 5 (10 min): the experiment
# -------------------------------
#
# The paper's Table 2: M = N = 200, H with 35% zeros, W sparse nonnegative
# (case 1), dense nonnegative (case 2) or Gaussian (case 3), 50 trials. We
# run a few trials at r = 5; ``cvxvolmin reproduce table2 --trials 50`` runs
# the full table (see the documentation's Table 2 page).

# %%
from cvxvolmin.experiments import run_table2  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # counted in each row's .warnings
    table = run_table2(ranks=(5,), trials=1 if FAST else 2, seed=0)
for row in table.rows:
    print(
        f"{row.method:>11}, case {row.case}: mean MSE {row.mean_mse:.1e} "
        f"(paper {row.paper_mean_mse:.2e})"
    )

# %% [markdown]
# The pattern to look for: column-sum VolMin exact in every case; row-sum
# VolMin (l1-normalized) exact for nonnegative W (cases 1 and 2) and wrong
# for Gaussian W; plain NMF close only for sparse W (case 1), well short of
# exact for dense W (case 2), and far off for Gaussian W (case 3).
#
# Exercises
# ---------
#
# 1. Lower the fraction of zeros in ``make_paper_data(5, zero_fraction=...)``
#    until ``check_scattering`` fails. What happens to the MSE of
#    column-sum VolMin?
# 2. Prove that ``det(W2.T W2) = det(B)^2 det(W.T W)`` and that
#    ``|det B| < 1`` for the B of Part 1.
# 3. Write a formulation that also bounds the entries of H (see the how-to
#    on custom formulations) and check that it still recovers H.
