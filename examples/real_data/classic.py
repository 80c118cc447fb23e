"""Classic documents: clustering text with column-sum VolMin, plain NMF and row-sum VolMin.

The Classic collection (``cvxvolmin.datasets.load_classic``) is a sparse
term x document matrix of word counts, 41681 terms x 7094 abstracts from four
collections; the file gives each document's collection (0 to 3, no names;
the class sizes 1398, 1033, 3203 and 1460 match those usually quoted for
Cranfield, Medline, CACM and CISI). No term and no document is all zero. The
script factors the matrix at r = 4 and assigns every document to one factor:

1. **Column-sum VolMin** (``cvxvolmin.fit``, the default) on the full sparse
   matrix, all documents; the library reduces it by ARPACK and never
   densifies it whole. As a check it is fitted again without the 5 isolated
   documents (below): the answer is the same.
2. **Plain NMF** (scikit-learn's ``NMF``, r = 4, ``init="nndsvda"``) on the
   whole matrix (scikit-learn takes documents as rows, so it gets ``X.T``;
   its ``W`` is our H).
3. **Row-sum VolMin** with l1 normalization (``get_formulation("row-sum",
   normalize="l1")``), the classic minimum-volume simplex. It needs a dense X
   (2.4 GB here) and its affine-set fitting takes a full SVD, so it runs on a
   subset: the 300 most frequent terms (41% of all word occurrences), and the
   6811 documents that use at least one of them (283 documents, 4%, use none
   and are dropped). All three methods are run again on that same subset so
   that the comparison is fair. Fu, Huang and Sidiropoulos (IEEE SPL 2018)
   motivate column-sum VolMin partly by the normalization row-sum VolMin
   needs, which can hurt on data such as text; this measures it.

Isolated documents. Five documents, of one or two words, use only terms
that no other document uses. X is then block diagonal (each of them with its
own terms is a block), the leading singular vectors of X are zero on their
terms, and their projections on the rank-4 subspace are exactly zero: in
exact arithmetic they impose no constraint on column-sum VolMin. Computed,
the projections are rounding, at most 5e-25 of the documents' norms (every
other document keeps at least 1.5e-5 of its norm in the subspace).
``cvxvolmin.fit`` gives a column whose part in the subspace is below
sqrt(eps) of its own norm a zero column of the reduced data, like a zero
column, so these five get zero rows of H and its ``NoisyColumnsWarning``
says that 5 columns lie in the orthogonal complement. The fit on all
documents is then the fit without them (the same W to rounding, log
det(W.T W) 71.2, accuracy 0.596). Before that rule, the library took the
five rounding directions as exact constraints: they were the fit's only
active ones, the volume was larger (log det 98.8), one factor's words
totalled -1.2e7, and the accuracy fell to 0.451, chance level.

Assignment. ``X = W @ H.T``, so the word count of document n is
``1.x_n = sum_k (1.w_k) H[n, k]``: the product ``(1.w_k) H[n, k]`` is the
number of words of document n that factor k accounts for. Each document goes
to the factor with the largest such contribution. The raw ``H[n, k]`` would
not do for column-sum VolMin: every column of H sums to one over the
documents, so a row of H compares numbers on different scales (a factor
shared by many documents has small entries everywhere). The same rule is
applied to every method (for row-sum VolMin ``1.w_k = 1``, so it changes
nothing there); the raw largest coefficient is reported too. A document whose
row of H is zero up to rounding (the 5 isolated documents: column-sum
VolMin gives them exactly zero rows, plain NMF zero rows too) is left
unassigned and counts as an error. Accuracy is the share of documents in
the best one-to-one matching of factors to collections (Hungarian
algorithm on the confusion matrix); the largest collection alone gives 0.45
(chance level).

What to expect, honestly. None of the criteria is promised to find the
collections: word counts are far from rank 4 (the best rank-4 approximation
leaves 95% of the norm of X unexplained), and the identifiability theorems
are about exact low-rank data. The library says so with a
``NoisyColumnsWarning``, recorded here rather than shown: it flags every
column (the median document has 99% of its norm outside the rank-4
subspace), so its advice to drop the flagged columns cannot be followed;
it also says that 5 of them (the isolated documents) lie in the subspace's
orthogonal complement and get zero rows of H.
Measured: column-sum VolMin clusters 60% of the documents right, plain NMF
55%, and row-sum VolMin on the subset 33%, below chance: the normalization
does hurt. The fitted H of column-sum VolMin is sufficiently scattered
(``check_scattering``, exact), so its factors are the only column-sum VolMin
solution for the rank-4 projection of the data; that projection just does
not separate the collections well. Short documents, whose directions carry
the most noise, still set most of its facets: 10 of the 12 documents with a
zero in H have at most 9 words (the other two have 121 and 167). Fitting
only the documents with at least 3, 5 or 10 words (and assigning the others
by their least-squares coefficients on W) does not help: 0.583, 0.584 and
0.564. ``cvxvolmin.fit_robust`` needs a dense X (2.4 GB here) and is not
run. Plain NMF's accuracy moves by about 0.01 with its initialization and
solver settings.

Runtime: 4 to 16 s wall-clock on the shared 2-core machine (measured; it
varies with the machine's load: the row-sum fit alone took 0.5 to 9 s),
mostly imports, NMF and the row-sum fit; each column-sum fit of the full
sparse matrix takes 0.1 to 0.3 s. The figure
``classic.png`` shows the confusion matrices (rows: collections; columns:
factors in matched order; colour: share of the collection).
"""

import json
import os
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse.linalg
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import NMF

import cvxvolmin
from cvxvolmin.datasets import DataNotFoundError, load_classic

NAME = "classic"
SEED = 0
RANK = 4
N_TERMS = 300  # the row-sum subset; with 500 terms row-sum alone took 29 s

try:
    data = load_classic()
except DataNotFoundError as error:
    print(f"{NAME}: skipped: {error}")
    raise SystemExit(0) from None

X, labels = data.X, data.labels
words = np.asarray(X.sum(axis=0)).ravel()
RESULTS: dict = {
    "n_terms": X.shape[0],
    "n_documents": X.shape[1],
    "nnz": int(X.nnz),
    "empty_terms": int(np.sum(X.getnnz(axis=1) == 0)),
    "empty_documents": int(np.sum(X.getnnz(axis=0) == 0)),
    "chance_accuracy": float(np.bincount(labels).max() / labels.size),
}

# Isolated documents: every term they use occurs in no other document. Their
# projections on the leading singular vectors are zero in exact arithmetic.
shared_terms = X.getnnz(axis=1) > 1
isolated = np.asarray((X != 0).T @ shared_terms).ravel() == 0
RESULTS["isolated_documents"] = int(isolated.sum())
RESULTS["isolated_max_words"] = int(words[isolated].max())


def cluster_score(true: np.ndarray, assigned: np.ndarray) -> tuple[float, np.ndarray]:
    """Accuracy of the best one-to-one matching, and the confusion matrix in matched order.

    ``assigned == -1`` marks an unassigned document: it counts as an error.
    Rows of the confusion matrix are collections, columns the matched factors.
    """
    confusion = np.zeros((RANK, RANK), dtype=int)
    ok = assigned >= 0
    np.add.at(confusion, (true[ok], assigned[ok]), 1)
    rows, cols = linear_sum_assignment(-confusion)
    matched = confusion[:, cols[np.argsort(rows)]]
    return float(np.trace(matched) / true.size), matched


def assign(H: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each document's factor of largest contribution ``weights[k] * H[n, k]``.

    -1 (unassigned) where the row is zero up to rounding (a relative 1e-12;
    column-sum VolMin gives the isolated documents exactly zero rows).
    """
    contribution = H * weights
    largest = contribution.max(axis=1)
    return np.where(largest > 1e-12 * largest.max(), np.argmax(contribution, axis=1), -1)


def fit_volmin(Y, formulation) -> tuple[cvxvolmin.FitResult, int, int]:
    """Fit VolMin, recording (not showing) the NoisyColumnsWarning that text data raise.

    Returns the fit, the number of columns the warning flags and the number
    it says lie in the subspace's orthogonal complement (0 and 0 without
    it). Any other warning is passed on, so a ConvergenceWarning still surfaces.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = cvxvolmin.fit(Y, RANK, formulation=formulation, random_state=SEED)
    noisy = orthogonal = 0
    for item in caught:
        if issubclass(item.category, cvxvolmin.NoisyColumnsWarning):
            noisy = len(item.message.columns)
            orthogonal = len(item.message.no_direction)
        else:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    return result, noisy, orthogonal


def fit_nmf(Y):
    """scikit-learn's NMF on documents as rows; returns (H, W, relative residual).

    The residual is scikit-learn's, computed from the sparse X without
    densifying.
    """
    model = NMF(n_components=RANK, init="nndsvda", random_state=SEED, max_iter=1000)
    H = model.fit_transform(Y.T.tocsr())
    return H, model.components_.T, float(model.reconstruction_err_ / scipy.sparse.linalg.norm(Y))


def coefficients(W: np.ndarray) -> np.ndarray:
    """Every document's least-squares coefficients on the columns of W (N x r).

    For a document the fit used they are its row of H; for the others they
    say which factors explain it best, with either sign.
    """
    return np.linalg.solve(W.T @ W, np.asarray(X.T @ W).T).T


def zeros_of(H: np.ndarray) -> np.ndarray:
    """Documents with a zero in a nonzero row of H: the active constraints ``H >= 0``.

    Zero means at most 1e-9 times the row's largest entry (the checker's rule).
    """
    largest = np.abs(H).max(axis=1, keepdims=True)
    return np.flatnonzero(((H <= 1e-9 * largest) & (largest > 0)).any(axis=1))


def run(prefix: str, Y, true: np.ndarray, methods: dict, fitted=None) -> dict:
    """Fit each method on Y, score it, and store the numbers under ``prefix``.

    ``fitted`` (a boolean mask) restricts the VolMin fits to those columns;
    the others get zero rows of H, so they are unassigned.
    """
    confusions = {}
    for key, method in methods.items():
        start = time.perf_counter()
        if key == "nmf":
            H, W, RESULTS[f"{prefix}_{key}_fit_error"] = fit_nmf(Y)
        else:
            columns = slice(None) if fitted is None else fitted
            result, noisy, orthogonal = fit_volmin(Y[:, columns], method)
            H, W = np.zeros((Y.shape[1], RANK)), result.W
            H[columns] = result.H
            RESULTS[f"{prefix}_{key}_fit_error"] = cvxvolmin.metrics.relative_residual(Y, W, H)
            RESULTS[f"{prefix}_{key}_noisy_columns"] = noisy
            RESULTS[f"{prefix}_{key}_orthogonal_columns"] = orthogonal
            RESULTS[f"{prefix}_{key}_zero_rows_H"] = int(np.sum(~result.H.any(axis=1)))
            RESULTS[f"{prefix}_{key}_converged"] = result.converged
            RESULTS[f"{prefix}_{key}_logdet_WtW"] = float(np.linalg.slogdet(W.T @ W)[1])
        RESULTS[f"{prefix}_{key}_time_s"] = time.perf_counter() - start
        weights = W.sum(axis=0)
        # The weights are word counts only if positive (W may have either sign).
        RESULTS[f"{prefix}_{key}_min_weight"] = float(weights.min())
        labels_k = assign(H, weights)
        accuracy, confusion = cluster_score(true, labels_k)
        RESULTS[f"{prefix}_{key}_accuracy"] = accuracy
        RESULTS[f"{prefix}_{key}_accuracy_raw_H"] = cluster_score(true, assign(H, 1.0))[0]
        RESULTS[f"{prefix}_{key}_unassigned"] = int(np.sum(labels_k < 0))
        sizes = np.bincount(labels_k[labels_k >= 0], minlength=RANK)
        RESULTS[f"{prefix}_{key}_largest_cluster_share"] = float(sizes.max() / true.size)
        factor_words = (H * weights).sum(axis=0)
        share = factor_words.min() / factor_words.sum()
        RESULTS[f"{prefix}_{key}_smallest_factor_word_share"] = float(share)
        RESULTS[f"{prefix}_{key}_negative_share_W"] = float(np.mean(W < 0))
        ASSIGNMENTS[f"{prefix}_{key}"] = labels_k
        FACTORS[f"{prefix}_{key}"] = (H, W)
        confusions[key] = confusion
    return confusions


ASSIGNMENTS: dict = {}
FACTORS: dict = {}

# %% The full matrix, all documents: column-sum VolMin (sparse, ARPACK
# reduction) and plain NMF.
full = run("full", X, labels, {"column_sum": "column-sum", "nmf": None})

# Is the fitted H sufficiently scattered? Then the rank-4 projection of the
# data has a unique column-sum factorization (the exact check: r = 4 is small).
H_full, W_full = FACTORS["full_column_sum"]
scattering = cvxvolmin.check_scattering(H_full, method="exact")
RESULTS["full_column_sum_scattering"] = scattering.verdict
# Which documents set the fit's facets (a zero in a nonzero row of H)?
pinning = zeros_of(H_full)
RESULTS["full_column_sum_pinning_documents"] = int(pinning.size)
RESULTS["full_column_sum_pinning_words"] = json.dumps(sorted(int(n) for n in words[pinning]))
RESULTS["full_column_sum_zero_rows_are_isolated"] = bool(
    np.array_equal(~H_full.any(axis=1), isolated)
)

# %% Check: the same fit without the isolated documents gives the same answer.
run("without_isolated", X, labels, {"column_sum": "column-sum"}, fitted=~isolated)
H_without, W_without = FACTORS["without_isolated_column_sum"]
RESULTS["without_isolated_W_difference"] = float(
    np.linalg.norm(W_without - W_full) / np.linalg.norm(W_full)
)
RESULTS["without_isolated_same_assignments"] = bool(
    np.array_equal(ASSIGNMENTS["without_isolated_column_sum"], ASSIGNMENTS["full_column_sum"])
)


def inside_fraction(W: np.ndarray) -> np.ndarray:
    """Per document, the share of its norm inside span(W), the rank-4 subspace."""
    inside = np.asarray(X.T @ np.linalg.qr(W)[0])
    return np.linalg.norm(inside, axis=1) / np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel())


# The isolated documents' projections are rounding; everything else is far above it.
inside = inside_fraction(W_full)
RESULTS["isolated_max_inside_fraction"] = float(inside[isolated].max())
RESULTS["others_min_inside_fraction"] = float(inside[~isolated].min())
RESULTS["median_outside_fraction"] = float(np.median(np.sqrt(1 - inside**2)))

# %% Short documents: fit only those with at least `least` words, assign all.
for least in (3, 5, 10):
    kept_docs = words >= least  # the isolated documents have at most 2 words
    result, _, _ = fit_volmin(X[:, kept_docs], "column-sum")
    weights = result.W.sum(axis=0)
    RESULTS[f"min_words_{least}_documents"] = int(kept_docs.sum())
    RESULTS[f"min_words_{least}_min_weight"] = float(weights.min())
    accuracy = cluster_score(labels, assign(coefficients(result.W), weights))[0]
    RESULTS[f"min_words_{least}_accuracy"] = accuracy

# %% The subset: the most frequent terms, the documents that use any of them.
term_counts = np.asarray(X.sum(axis=1)).ravel()
top_terms = np.argsort(-term_counts, kind="stable")[:N_TERMS]
subset = X[top_terms]
kept = subset.getnnz(axis=0) > 0
subset = subset[:, kept]
labels_subset = labels[kept]
RESULTS["subset_terms"] = N_TERMS
RESULTS["subset_word_share"] = float(term_counts[top_terms].sum() / term_counts.sum())
RESULTS["subset_documents"] = int(kept.sum())
RESULTS["subset_chance_accuracy"] = float(np.bincount(labels_subset).max() / labels_subset.size)
row_sum = cvxvolmin.get_formulation("row-sum", normalize="l1")


part = run("subset", subset, labels_subset, {"column_sum": "column-sum", "nmf": None})
# Row-sum VolMin takes no sparse input; the dense subset is 16 MB.
part.update(run("subset", subset.toarray(), labels_subset, {"row_sum": row_sum}))

# %% The best method on the full matrix, and its confusion matrix.
best = max(("column_sum", "nmf"), key=lambda key: RESULTS[f"full_{key}_accuracy"])
RESULTS["best_method"] = best
RESULTS["best_confusion"] = json.dumps(full[best].tolist())

width = max(len(key) for key in RESULTS)
print(f"{NAME}: {data.description}")
for key, value in RESULTS.items():
    shown = f"{value:.4g}" if isinstance(value, float) else str(value)
    print(f"  {key:<{width}}  {shown}")

# %% Figure: confusion matrices, rows = collections, columns = matched factors.
panels = [
    [
        ("full", "column_sum", "column-sum VolMin", full),
        ("full", "nmf", "plain NMF (sklearn)", full),
        None,
    ],
    [
        ("subset", "column_sum", "column-sum VolMin", part),
        ("subset", "nmf", "plain NMF (sklearn)", part),
        ("subset", "row_sum", "row-sum VolMin, l1", part),
    ],
]
fig, axes = plt.subplots(2, 3, figsize=(11, 7.4), constrained_layout=True)
for row, panel_row in enumerate(panels):
    for col, panel in enumerate(panel_row):
        ax = axes[row, col]
        if panel is None:
            ax.axis("off")
            continue
        prefix, key, name, confusions = panel
        confusion = confusions[key]
        share = confusion / confusion.sum(axis=1, keepdims=True)
        ax.imshow(share, vmin=0, vmax=1, cmap="Blues")
        for i in range(RANK):
            for j in range(RANK):
                color = "white" if share[i, j] > 0.6 else "black"
                ax.text(j, i, str(confusion[i, j]), ha="center", va="center", color=color)
        where = f"top {N_TERMS} terms" if prefix == "subset" else "all terms"
        accuracy = RESULTS[f"{prefix}_{key}_accuracy"]
        ax.set_title(f"{name}\n{where}: accuracy {accuracy:.3f}", fontsize=10)
        ax.set_xticks(range(RANK), [f"f{j}" for j in range(RANK)])
        ax.set_yticks(range(RANK), [f"class {i}" for i in range(RANK)])
        ax.set_xlabel("factor (matched order)")
fig.suptitle(
    "Classic, r = 4: documents per collection (rows) and factor (columns); row-sum VolMin\n"
    "is run on the top terms only (dense X is 2.4 GB); the 5 isolated documents get zero rows\n"
    "of H (no direction in the rank-4 subspace) and are unassigned"
)
out = Path(os.environ.get("CVXVOLMIN_EXAMPLE_OUT", "."))
out.mkdir(parents=True, exist_ok=True)
fig.savefig(out / f"{NAME}.png", dpi=100)
plt.close(fig)
