"""Raman spectra with ground truth: VolMin cannot recover an H that is not scattered.

The Raman data set (``cvxvolmin.datasets.load_raman``) is exact: ``X = W @ H.T``
(2478 wavenumbers x 151 times, rank 5) with the true spectra W >= 0 and the
true concentrations H >= 0, each row of H summing to one. It fits both volume
criteria exactly: the row-sum model ``H 1 = 1`` with no normalization, and the
column-sum model after scaling the columns of H to sum to one. Yet neither
criterion is promised to return the truth, because this H is far from
sufficiently scattered, and neither does.

The script

1. checks the facts of the truth (exact rank-5 factorization, rows of H sum to
   one) and runs ``cvxvolmin.check_scattering`` on the true H: the verdict is
   "not sufficiently scattered", with a witness y (``H y >= 0`` but
   ``||y|| > 1.y``) and the point x of the boundary of the cone C that y
   separates from cone(H.T);
2. fits r = 5 with column-sum VolMin (the default) and with row-sum VolMin,
   with ``normalize=None`` (the truth satisfies that model as it is, so its
   volume is the true W's) and, for comparison, with the classic
   ``normalize="l1"``;
3. scores the estimates against the truth (``matched_mse``: unit-norm columns,
   best permutation): every MSE is between 0.2 and 0.7, where an exact
   recovery gives about 1e-20;
4. shows why: each criterion's objective, ``log det(W.T W)`` with H in the
   criterion's normalization, is smaller at the fitted factorization than at
   the truth. Both are exact factorizations of X that meet the constraints;
   the truth is simply not the minimum-volume one. For column-sum VolMin,
   ``H_fit = H_true @ M`` with ``|det M|`` about 94, which a sufficiently
   scattered H_true forbids (it would force ``|det M| <= 1``).

The estimated spectra also have negative entries (2% to 21% of them), which
no spectrum can have: neither criterion constrains the sign of W.

The checker is run twice more with ``method="exact"``: on H as it is (rows
summing to one, the row-sum model's scaling) and on H scaled to unit column
sums (the column-sum model's scaling), because sufficient scattering depends
on the scaling of the columns of H. The exact method runs the cheap
necessary checks first, and both stop at the same one: component 1 never
vanishes, so e_1 is not a vertex of the dual slice ``{y : H y >= 0,
1.y = 1}``. Such a refutation does not say how far H is from condition (1),
so the script measures that itself: for H as it is, the all-ones vector
lies outside cone(H.T) (its NNLS distance is 0.29 of its norm), so the dual
slice is unbounded; for H with unit column sums, the slice is bounded and
its vertices (enumerated with Qhull) reach ``||y|| = 7.9``, where condition
(1) allows at most 1.

What to expect: about 10 s of CPU time in all (mostly the three fits and the
imports; the checks take milliseconds). The figure ``raman.png`` shows the
true and estimated spectra and concentration profiles, each scaled to unit
norm as the MSE compares them. The wavenumber axis is the row index (the file
holds no wavenumbers).
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import nnls
from scipy.spatial import HalfspaceIntersection

import cvxvolmin
from cvxvolmin.datasets import DataNotFoundError, load_raman

NAME = "raman"
SEED = 0

try:
    data = load_raman()
except DataNotFoundError as error:
    print(f"{NAME}: skipped: {error}")
    raise SystemExit(0) from None

X, W_true, H_true = data.X, data.W, data.H
R = data.rank
RESULTS: dict = {"n_wavenumbers": X.shape[0], "n_times": X.shape[1], "rank": R}

# %% The truth: an exact factorization whose rows of H sum to one.
singular_values = np.linalg.svd(X, compute_uv=False)
RESULTS["truth_fit_error"] = cvxvolmin.metrics.relative_residual(X, W_true, H_true)
RESULTS["truth_rowsum_error"] = float(np.abs(H_true.sum(axis=1) - 1).max())
RESULTS["sigma_r_plus_1_over_sigma_1"] = float(singular_values[R] / singular_values[0])

# %% Is the true H sufficiently scattered?
# The default ("auto") check stops at the first failing necessary condition;
# so does the exact one, which runs the necessary checks first.
scattering = cvxvolmin.check_scattering(H_true, random_state=SEED)
RESULTS["scattering_verdict"] = scattering.verdict
RESULTS["scattering_method"] = scattering.method
RESULTS["scattering_reason"] = scattering.reason
RESULTS["scattering_witness"] = np.array2string(scattering.witness, precision=4)
RESULTS["scattering_witness_norm"] = float(np.linalg.norm(scattering.witness))
RESULTS["scattering_witness_point"] = np.array2string(scattering.witness_point, precision=4)
exact = cvxvolmin.check_scattering(H_true, method="exact")
RESULTS["exact_verdict"] = exact.verdict
RESULTS["exact_reason"] = exact.reason
# Sufficient scattering is not invariant to scaling the columns of H: the
# column-sum criterion's theorem needs it for H scaled to unit column sums.
H_true_cs = H_true / H_true.sum(axis=0)
exact_cs = cvxvolmin.check_scattering(H_true_cs, method="exact")
RESULTS["exact_colsum_verdict"] = exact_cs.verdict
RESULTS["exact_colsum_reason"] = exact_cs.reason
RESULTS["exact_colsum_margin"] = float(exact_cs.margin)


def dual_slice_vertices(H):
    """Vertices of the dual slice ``{y : H y >= 0, 1.y = 1}``, by Qhull; it must be bounded.

    In coordinates z of the hyperplane 1.y = 1 (``y = 1/r + B z``, B an
    orthonormal basis of the vectors orthogonal to 1) the slice is the
    intersection of the halfspaces ``-(H B) z - H 1/r <= 0``; z = 0 is inside
    (every row of H is nonzero and nonnegative).
    """
    r = H.shape[1]
    basis = np.linalg.svd(np.ones((1, r)))[2][1:].T
    centre = np.full(r, 1.0 / r)
    halfspaces = np.column_stack([-H @ basis, -H @ centre])
    return centre + HalfspaceIntersection(halfspaces, np.zeros(r - 1)).intersections @ basis.T


# %% How far from condition (1)? Condition (1) needs every y of the dual slice
# to have ||y|| <= 1.y = 1. For H as it is, the all-ones vector is outside
# cone(H.T) (a positive NNLS distance), so some d has H d >= 0 and 1.d = 0,
# and the slice is unbounded: ||y|| is unbounded on it. For H with unit
# column sums the slice is bounded, and its largest ||y|| is at a vertex.
ones = np.ones(R)
RESULTS["ones_distance_to_cone"] = float(nnls(H_true.T, ones)[1] / np.linalg.norm(ones))
RESULTS["ones_distance_to_cone_colsum"] = float(nnls(H_true_cs.T, ones)[1] / np.sqrt(R))
slice_vertices = dual_slice_vertices(H_true_cs)
RESULTS["colsum_slice_vertices"] = len(slice_vertices)
RESULTS["colsum_slice_max_norm"] = float(np.linalg.norm(slice_vertices, axis=1).max())


def logdet(W):
    """The volume criterion ``log det(W.T W)``."""
    return float(np.linalg.slogdet(W.T @ W)[1])


# %% Fit both criteria and score them. Each criterion's objective is
# evaluated at the truth in that criterion's normalization of H (W absorbs
# the inverse scaling, so X = W H.T still holds).
col_sums = H_true.sum(axis=0)
l1_norms = W_true.sum(axis=0)  # W >= 0: l1 norms of the true spectra
criteria = {
    "column_sum": ("column-sum", W_true * col_sums),
    "row_sum": (cvxvolmin.get_formulation("row-sum", normalize=None), W_true),
    "row_sum_l1": (cvxvolmin.get_formulation("row-sum", normalize="l1"), W_true / l1_norms),
}
fits = {}
for key, (formulation, W_truth_normalized) in criteria.items():
    fit = cvxvolmin.fit(X, R, formulation=formulation, random_state=SEED)
    fits[key] = fit
    RESULTS[f"{key}_mse_H"] = cvxvolmin.matched_mse(H_true, fit.H)
    RESULTS[f"{key}_mse_W"] = cvxvolmin.matched_mse(W_true, fit.W)
    RESULTS[f"{key}_fit_error"] = fit.fit_error
    RESULTS[f"{key}_logdet_truth"] = logdet(W_truth_normalized)
    RESULTS[f"{key}_logdet_fit"] = logdet(fit.W)
    # Spectra with negative entries are physically impossible, but neither
    # criterion forbids them (column-sum VolMin assumes nothing of W beyond
    # full column rank).
    negative = fit.W < -1e-9 * np.abs(fit.W).max()
    RESULTS[f"{key}_W_negative_fraction"] = float(negative.mean())
    # A pair (w_k, h_k) is one component: the figure matches pairs by H.
    RESULTS[f"{key}_same_matching"] = bool(
        np.array_equal(
            cvxvolmin.match_columns(H_true, fit.H)[0], cvxvolmin.match_columns(W_true, fit.W)[0]
        )
    )

# %% The smaller volume, as the theorem sees it: H_fit = H_true_cs @ M with
# the columns of M summing to one. If H_true_cs were sufficiently scattered,
# every column m of M (H_true_cs m >= 0) would have ||m|| <= 1.m = 1, so
# |det M| <= 1 (Hadamard); here |det M| = exp(half the log-volume gap) > 1.
M = np.linalg.lstsq(H_true_cs, fits["column_sum"].H, rcond=None)[0]
RESULTS["column_sum_abs_det_M"] = float(abs(np.linalg.det(M)))
RESULTS["column_sum_max_norm_M_column"] = float(np.linalg.norm(M, axis=0).max())

# %% Report.
width = max(len(key) for key in RESULTS)
for key, value in RESULTS.items():
    shown = f"{value:.6g}" if isinstance(value, float) else value
    print(f"{key:<{width}}  {shown}")

# %% Figure: true vs estimated spectra (top) and concentrations (bottom),
# each column scaled to unit norm as matched_mse compares them; the legends
# of the bottom row give each component's squared error in H.
shown_fits = {"column-sum": fits["column_sum"], "row-sum (normalize=None)": fits["row_sum"]}
fig, axes = plt.subplots(2, R, figsize=(15, 5.8), sharex="row")


def unit_columns(A):
    return A / np.linalg.norm(A, axis=0)


# The truth goes underneath, wide and grey, so that the estimates stay visible.
for k in range(R):
    axes[0, k].plot(unit_columns(W_true)[:, k], color="0.6", lw=2.0, label="truth")
    axes[1, k].plot(unit_columns(H_true)[:, k], color="0.6", lw=3.0, label="truth")
for (label, fit), (color, dash) in zip(
    shown_fits.items(), [("C0", "-"), ("C3", "--")], strict=True
):
    perm, errors = cvxvolmin.match_columns(H_true, fit.H)
    W_est, H_est = unit_columns(fit.W)[:, perm], unit_columns(fit.H)[:, perm]
    for k in range(R):
        axes[0, k].plot(W_est[:, k], color=color, ls=dash, lw=0.8, label=label)
        axes[1, k].plot(H_est[:, k], color=color, ls=dash, lw=1.2, label=f"{errors[k]:.2f}")
for k in range(R):
    axes[0, k].set_title(f"component {k + 1}: spectrum", fontsize=10)
    axes[1, k].set_title(f"component {k + 1}: concentration", fontsize=10)
    axes[0, k].set_xlabel("wavenumber index")
    axes[1, k].set_xlabel("time index")
    handles, labels = axes[1, k].get_legend_handles_labels()
    axes[1, k].legend(handles[1:], labels[1:], fontsize=7, title="squared error", title_fontsize=7)
fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper right", ncol=3, fontsize=9)
fig.suptitle(
    "Raman data, r = 5: VolMin estimates are not the truth (the true H is not "
    "sufficiently scattered)",
    x=0.02,
    ha="left",
)
fig.tight_layout(rect=(0, 0, 1, 0.95))
out = Path(os.environ.get("CVXVOLMIN_EXAMPLE_OUT", "."))
out.mkdir(parents=True, exist_ok=True)
fig.savefig(out / f"{NAME}.png", dpi=100)
plt.close(fig)
print(f"figure: {out / f'{NAME}.png'}")
