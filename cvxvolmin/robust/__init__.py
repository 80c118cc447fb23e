"""Noise-robust column-sum VolMin (volume-regularized fitting) and its SNR study.

The exact criterion (:func:`cvxvolmin.fit`) treats the direction of every
column of X as exact, so noise can move its answer far or leave it with no
feasible point. Fu, Huang and Sidiropoulos (IEEE SPL 2018, section 5)
regularize the fit with ``lam det(W.T W)``; this package solves the variant
with the log-det surrogate of the robust VolMin of Fu, Huang, Yang, Ma
and Sidiropoulos (IEEE TSP 64(23), 2016)::

    min_{W, H}  ||X - W H.T||_F^2 + lam * log det(W.T W + delta I)
    s.t.        H.T 1 = 1,  H >= 0

fits the data in least squares and only prefers a small volume, so a column
that is mostly noise weighs by its (small) energy, not by its direction.

* :func:`fit_robust` solves it (:class:`RobustFitResult`).
* :func:`add_noise` adds white noise at a given SNR in dB.
* :func:`run_snr_study` compares plain NMF, the exact and the robust
  criterion over SNRs on the paper's data (a configuration of
  :func:`cvxvolmin.run_study`).
"""

from .noise import add_noise, noise_std
from .solver import QP_SOLVERS, RobustFitResult, fit_robust
from .study import DEFAULT_SNR_METHODS, SNR_METHODS, run_snr_study

__all__ = [
    "DEFAULT_SNR_METHODS",
    "QP_SOLVERS",
    "SNR_METHODS",
    "RobustFitResult",
    "add_noise",
    "fit_robust",
    "noise_std",
    "run_snr_study",
]
