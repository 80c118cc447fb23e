"""Swimmer: column-sum VolMin at the numerical rank, against plain NMF.

The Swimmer images (Donoho and Stodden, NIPS 2003) are 256 pictures of
20 x 11 pixels: a torso with four limbs, each limb in one of four positions,
every combination once. The generating parts are 17 (16 limb positions and
the torso), but the 256 images span only 13 dimensions: in every image each
limb is in exactly one of its positions, so the activations of the four
positions of any limb add up to the torso's (always on), four linear
relations among 17 parts. This script

* derives the 17 parts from the data (pixels that are on in exactly the
  same images form one part) and prints the singular values at the cut
  (s_13 / s_1 = 0.21, then s_14 / s_1 about 5e-16: numerical rank 13);
* fits column-sum VolMin at r = 13, the largest rank it accepts, and names
  every recovered column of W by the parts its support touches;
* fits plain NMF at r = 13 and at r = 17 for comparison;
* checks the fitted H with ``cvxvolmin.check_scattering`` and refits
  VolMin from two other seeds, to see whether the answer is unique.

What to expect, honestly. No rank-13 factorization can show 17 parts, and
the theory promises nothing here: VolMin is identifiable when the H it
seeks is sufficiently scattered, and the checker refutes that for the H
found (in a fraction of a second, with a witness). The fit is exact
(relative error about 1e-15) and of a clear structure, but not a parts
decomposition: W has mixed sign; 4 columns are whole swimmers that differ
only in the position of one limb, and 9 are "limb moves" of the other three
limbs (+1 on one position, -1 on the position that limb has in the whole
swimmers); no column is a single part. Each column of H is exactly the
activation of one limb position (13 of the 16). The three seeds reach the
same optimal |det Q|, and the optimum is not unique, as the failed condition
allows: seed 1 returns another H (matched MSE 0.35 against seed 0's) with
another limb left free, while seed 2 lands on seed 0's H. Plain NMF at r = 13
cannot fit the data (about 27% relative error); at r = 17 it fits to about
1e-7 and shows the familiar "ghost torso": most limb columns carry a faint
copy of the torso. The figure shows the 17 parts and the three sets of
recovered columns, each column divided by its largest absolute value and
drawn on one diverging colour scale (red positive, blue negative). Runtime:
4 to 24 s wall-clock (4 to 8 s of CPU) measured on a shared 2-core machine,
depending on what else ran; most of it imports and the three VolMin fits.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import linear_sum_assignment

import cvxvolmin
from cvxvolmin.baselines import plain_nmf
from cvxvolmin.datasets import DataNotFoundError, load_swimmer

NAME = "swimmer"
SEED = 0
EXTRA_SEEDS = (1, 2)  # refits that probe whether the VolMin optimum is unique
# A coefficient on a part counts when it is above 1% of the column's largest one;
# the same 1% bounds what is left outside the span of the parts.
PART_TOL = 0.01

try:
    data = load_swimmer()
except DataNotFoundError as error:
    print(f"{NAME}: skipped: {error}")
    raise SystemExit(0) from None

X = data.X
n_pixels, n_images = X.shape

# --- The 17 parts, read off the data ------------------------------------------------
# Pixels that are on in exactly the same images belong to one part; the all-zero
# pattern is the background.
patterns, part_index = np.unique(X, axis=0, return_inverse=True)
part_index = part_index.ravel()
kept = [g for g in range(len(patterns)) if patterns[g].any()]
P = np.stack([(part_index == g).astype(float) for g in kept], axis=1)  # pixels x parts
activation = patterns[kept].T  # images x parts: is part j on in image n
torso = int(np.flatnonzero(activation.all(axis=0))[0])
# Two positions of one limb are never on together; positions of different limbs are.
exclusive = (activation.T @ activation) == 0
limb_of = np.full(P.shape[1], -1)
for j in range(P.shape[1]):
    if j != torso and limb_of[j] < 0:
        limb_of[exclusive[j] | (np.arange(P.shape[1]) == j)] = limb_of.max() + 1
# Order the parts limb by limb, the torso last, for display.
order = sorted(range(P.shape[1]), key=lambda j: (j == torso, limb_of[j], j))
P, activation, limb_of = P[:, order], activation[:, order], limb_of[order]
torso = P.shape[1] - 1
n_parts = P.shape[1]
n_limbs = int(limb_of.max() + 1)
# The four linear relations: in every image, each limb is in exactly one position.
limb_sums = np.stack([activation[:, limb_of == a].sum(axis=1) for a in range(n_limbs)])

# --- Numerical rank -------------------------------------------------------------------
s = np.linalg.svd(X, compute_uv=False)
numerical_rank = int(np.linalg.matrix_rank(X))  # threshold max(M, N) * eps * s_1
r = numerical_rank


def describe(w: np.ndarray) -> tuple[str, float]:
    """Name a column of W by the parts its support touches; also return its ghost level.

    The support is the set of pixels above ``PART_TOL`` of the column's peak |value|.
    The ghost level is, for one limb position plus some torso, the torso's largest
    value relative to the limb's (else 0).
    """
    peak = np.abs(w).max()
    support = np.abs(w) > PART_TOL * peak
    touched = np.flatnonzero(P.T @ support)
    limbs = set(limb_of[touched[touched != torso]])
    level = (P.T @ w) / P.sum(axis=0) / peak  # each part's mean value, relative to the peak
    close = np.allclose  # default tolerances: far tighter than PART_TOL
    if support.sum() > P[:, touched].sum():
        return "other", 0.0  # a background pixel is on
    if touched.size == 1 and support.sum() == P[:, touched[0]].sum():
        return "one part", 0.0
    if touched.size == 2 and torso not in touched and len(limbs) == 1:
        if close(sorted(level[touched]), [-1, 1]) and support.sum() == P[:, touched].sum():
            return "limb move", 0.0
    if touched.size == n_limbs + 1 and torso in touched and len(limbs) == n_limbs:
        if close(level[touched], 1) and support.sum() == P[:, touched].sum():
            return "whole swimmer", 0.0
    if touched.size == 2 and torso in touched and (w >= -PART_TOL * peak).all():
        limb = touched[touched != torso][0]
        return "part + ghost torso", float(w[P[:, torso] > 0].max() / w[P[:, limb] > 0].max())
    return "other", 0.0


def tally(W: np.ndarray) -> tuple[list[str], dict[str, int], float]:
    names, ghosts = zip(*(describe(W[:, k]) for k in range(W.shape[1])), strict=True)
    counts = {name: names.count(name) for name in sorted(set(names))}
    return list(names), counts, max(ghosts)


def volmin_structure(W: np.ndarray, names: list[str]) -> tuple[int, bool]:
    """The limb whose position varies among the whole swimmers, and whether every limb
    move starts from the position that limb has in all the whole swimmers."""
    level = (P.T @ W) / P.sum(axis=0)[:, None] / np.abs(W).max(axis=0)
    whole = [
        set(np.flatnonzero(level[:torso, k] > 0.5))
        for k, n in enumerate(names)
        if n == "whole swimmer"
    ]
    shared = set.intersection(*whole)
    free = {int(limb_of[j]) for w in whole for j in w - shared}
    moves = [int(np.argmin(level[:, k])) for k, n in enumerate(names) if n == "limb move"]
    if len(free) != 1:
        return -1, False
    return free.pop(), all(j in shared for j in moves)


# --- Column-sum VolMin at the numerical rank ------------------------------------------
volmin = cvxvolmin.fit(X, r, random_state=SEED)
vm_names, vm_counts, _ = tally(volmin.W)
# Is each column of H the activation of one part (cosine 1 with a column of `activation`)?
unit = lambda A: A / np.linalg.norm(A, axis=0)  # noqa: E731
h_single = int(np.sum((unit(volmin.H).T @ unit(activation)).max(axis=1) > 1 - 1e-9))

# The sufficiently scattered condition on the H found (the checker reads the LP's
# rounding, about -6e-14 where H is zero, as zeros).
scattering = volmin.check_scattering(method="auto", time_limit=10.0, random_state=SEED)

# Other starts: the same |det Q|, a different factorization?
refits = [cvxvolmin.fit(X, r, random_state=seed) for seed in EXTRA_SEEDS]
logdet_spread = max(abs(f.logdet - volmin.logdet) for f in refits)
h_distance = [cvxvolmin.matched_mse(volmin.H, f.H) for f in refits]
same_kind = all(tally(f.W)[1] == vm_counts for f in refits)
structures = [volmin_structure(f.W, tally(f.W)[0]) for f in [volmin, *refits]]

# Entries of W this small are LP rounding (W's largest entries are 64 here).
negligible = 1e-9 * np.abs(volmin.W).max()

# --- Plain NMF ------------------------------------------------------------------------
nmf13 = plain_nmf(X, r, random_state=SEED)
nmf17 = plain_nmf(X, n_parts, random_state=SEED)
n13_names, n13_counts, _ = tally(nmf13.W)
n17_names, n17_counts, n17_ghost = tally(nmf17.W)

RESULTS = {
    "n_pixels": int(n_pixels),
    "n_images": int(n_images),
    "n_parts_from_data": int(n_parts),
    "n_torso_pixels": int(P[:, torso].sum()),
    "n_limbs": n_limbs,
    "n_distinct_images": len({tuple(x) for x in X.T}),
    "limb_positions_sum_to_torso": bool((limb_sums == 1).all()),
    "numerical_rank": numerical_rank,
    "s13_over_s1": float(s[12] / s[0]),
    "s14_over_s1": float(s[13] / s[0]),
    "volmin_fit_error": float(volmin.fit_error),
    "volmin_logdet": float(volmin.logdet),
    "volmin_W_nonnegative": bool((volmin.W >= -negligible).all()),
    "volmin_mixed_sign_columns": int(np.sum((volmin.W < -negligible).any(axis=0))),
    "volmin_one_part": vm_counts.get("one part", 0),
    "volmin_limb_moves": vm_counts.get("limb move", 0),
    "volmin_whole_swimmers": vm_counts.get("whole swimmer", 0),
    "volmin_H_columns_one_activation": h_single,
    "scattering_verdict": scattering.verdict,
    "scattering_stage": scattering.method,
    "scattering_witness_norm": float(scattering.margin) if scattering.margin else float("nan"),
    "refits": len(refits),
    "refit_logdet_spread": float(logdet_spread),
    "refit_min_H_mse": float(min(h_distance)),
    "refit_max_H_mse": float(max(h_distance)),
    "refits_same_kind_of_columns": same_kind,
    "moves_start_from_reference": all(ok for _, ok in structures),
    "free_limbs_over_seeds": len({limb for limb, _ in structures if limb >= 0}),
    "nmf13_fit_error": float(nmf13.fit_error),
    "nmf13_one_part": n13_counts.get("one part", 0),
    "nmf13_other": n13_counts.get("other", 0),
    "nmf17_fit_error": float(nmf17.fit_error),
    "nmf17_one_part": n17_counts.get("one part", 0),
    "nmf17_ghost_torso": n17_counts.get("part + ghost torso", 0),
    "nmf17_max_ghost": float(n17_ghost),
}

print(f"Swimmer: {n_pixels} pixels x {n_images} images; {n_parts} parts read off the data")
print("singular values s_11..s_15:", np.array2string(s[10:15], precision=3))
for key, value in RESULTS.items():
    print(f"  {key:34s} {value:.3g}" if isinstance(value, float) else f"  {key:34s} {value}")
print("VolMin columns:", vm_counts)
print("NMF r=13 columns:", n13_counts)
print("NMF r=17 columns:", n17_counts)
print("scattering:", scattering.reason)


# --- Figure ---------------------------------------------------------------------------
def aligned(W: np.ndarray) -> list[int | None]:
    """Slot k of the part row gets the column of W that best matches part k (or None)."""
    positive = np.maximum(W, 0)
    cosine = unit(P).T @ (positive / np.linalg.norm(positive, axis=0))
    rows, cols = linear_sum_assignment(-cosine)
    slots: list[int | None] = [None] * n_parts
    for part, column in zip(rows, cols, strict=True):
        slots[part] = int(column)
    return slots


SHORT = {
    "one part": "part",
    "limb move": "move",
    "whole swimmer": "whole",
    "part + ghost torso": "ghost",
    "other": "other",
}
panels = [
    ("17 parts\n(from data)", P, ["part"] * n_parts, list(range(n_parts))),
    (f"VolMin\nr = {r}", volmin.W, [SHORT[n] for n in vm_names], aligned(volmin.W)),
    (f"NMF\nr = {r}", nmf13.W, [SHORT[n] for n in n13_names], aligned(nmf13.W)),
    (f"NMF\nr = {n_parts}", nmf17.W, [SHORT[n] for n in n17_names], aligned(nmf17.W)),
]
fig, axes = plt.subplots(len(panels), n_parts, figsize=(11, 5.4))
fig.subplots_adjust(left=0.06, right=0.86, top=0.88, bottom=0.1, wspace=0.15, hspace=0.35)
for row, (label, W, tags, slots) in enumerate(panels):
    for slot, ax in enumerate(axes[row]):
        ax.set_xticks([])
        ax.set_yticks([])
        k = slots[slot]
        if k is None:
            ax.set_frame_on(False)  # keeps the row's label on the first slot
            continue
        w = W[:, k] / np.abs(W[:, k]).max()
        image = ax.imshow(data.as_image(w), cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_title(tags[k], fontsize=7, pad=2)
    axes[row][0].set_ylabel(label, fontsize=8)
fig.suptitle(
    f"Swimmer: numerical rank {numerical_rank} "
    f"(s13/s1 = {s[12] / s[0]:.2f}, s14/s1 = {s[13] / s[0]:.0e}) < {n_parts} parts; "
    f"VolMin fit error {volmin.fit_error:.0e}, H {scattering.verdict.replace('_', ' ')}",
    fontsize=9,
)
fig.colorbar(image, ax=axes, shrink=0.6, label="column / max |column|")
fig.text(
    0.06,
    0.02,
    "part: one part only; move: +1 on one position of a limb, -1 on another; whole: torso "
    "and four limbs; ghost: one limb position plus a faint torso;\nother: anything else "
    f"(pixels below {PART_TOL:.0%} of a column's peak ignored). Each column sits under the "
    "part its positive pixels match best.",
    fontsize=7,
)
out = Path(os.environ.get("CVXVOLMIN_EXAMPLE_OUT", "."))
out.mkdir(parents=True, exist_ok=True)
fig.savefig(out / f"{NAME}.png", dpi=100)
plt.close(fig)
print("figure:", out / f"{NAME}.png")
