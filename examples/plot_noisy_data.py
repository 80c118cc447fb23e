"""
What the exact criterion does with noise
========================================

Column-sum VolMin, as cvxvolmin solves it today, is an **exact** criterion:
its constraints ``Q @ Xt >= 0`` treat the direction of every column of X as
exact. This example adds white noise to the paper's data (case 3, r = 5)
at several signal-to-noise ratios and reports, for each, what ``fit`` does:
the warnings it gives, the MSE of H, or the error it raises.

What to expect (see :doc:`/howto/noisy_data`):

* ``NoisyColumnsWarning`` names the columns with more than 10% of their
  norm outside the rank-r subspace. A column whose true part is zero or tiny
  (the paper's H has all-zero rows now and then) is pure noise pointing
  anywhere, and even one of them can move the answer far.
* When noise leaves no nonnegative H at this rank, ``fit`` raises
  ``InfeasibleError`` or ``DegenerateError`` instead of returning nonsense.
* Dropping the low-energy columns before the fit is a simple remedy at high
  SNR. For noisy data at any SNR there is the volume-regularized criterion,
  :func:`cvxvolmin.fit_robust`; ``cvxvolmin reproduce noise`` compares it
  with the exact criteria and plain NMF (see :doc:`/howto/noisy_data`).
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np

import cvxvolmin

R = 5
X, W, H = cvxvolmin.make_paper_data(R, case=3, random_state=0)
print("all-zero rows of H (samples with no signal):", int(np.sum(~H.any(axis=1))))


def noisy(snr_db: float, seed: int = 1) -> np.ndarray:
    """X plus white Gaussian noise at the given SNR (in dB, over the whole matrix)."""
    noise = np.random.default_rng(seed).standard_normal(X.shape)
    noise *= np.linalg.norm(X) / np.linalg.norm(noise) * 10 ** (-snr_db / 20)
    return X + noise


def attempt(data: np.ndarray, truth: np.ndarray) -> tuple[float, str]:
    """Fit; return the MSE (nan on an error) and what happened, in words."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = cvxvolmin.fit(data, R, random_state=0)
        except (cvxvolmin.InfeasibleError, cvxvolmin.DegenerateError) as error:
            return np.nan, type(error).__name__
    mse = cvxvolmin.matched_mse(truth, result.H)
    names = sorted({w.category.__name__ for w in caught})
    return mse, ", ".join(names) or "no warning"


# %%
# All columns, then the columns whose norm is at least a tenth of the
# median norm (which here removes the samples with no signal).

levels = [120, 80, 40, 20, 10, 0]
curves: dict[str, list[float]] = {"all columns": [], "low-energy columns dropped": []}
for snr in levels:
    Xn = noisy(snr)
    norms = np.linalg.norm(Xn, axis=0)
    keep = norms >= 0.1 * np.median(norms)
    for label, (data, truth) in {
        "all columns": (Xn, H),
        "low-energy columns dropped": (Xn[:, keep], H[keep]),
    }.items():
        mse, what = attempt(data, truth)
        curves[label].append(mse)
        print(f"{snr:>4} dB, {label:>27}: MSE {mse:8.1e}  ({what})")

# %%
# Errors show as gaps in the curves.

fig, ax = plt.subplots(figsize=(6, 3.8))
for (label, values), marker in zip(curves.items(), "os", strict=True):
    ax.semilogy(levels, values, marker=marker, label=label)
ax.set(xlabel="SNR (dB)", ylabel="MSE of H", title="column-sum VolMin on noisy data (r = 5)")
ax.invert_xaxis()
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# At 0 dB some noise draws empty the feasible set (no row of Q gives a
# nonnegative column of H: ``InfeasibleError``) or leave it too thin for a
# nonsingular Q (``DegenerateError``). ``fit`` then raises instead of
# returning an answer. Over eight noise draws:

outcomes = [attempt(noisy(0, seed=seed), H)[1] for seed in range(8)]
for seed, what in enumerate(outcomes):
    print(f"0 dB, noise seed {seed}: {what}")
