"""The side measurements behind the noisy-data docs, one subcommand each.

``cvxvolmin reproduce noise`` makes the SNR table; this script makes the
figures quoted around it (docs/howto/noisy_data.rst, the fit_robust
docstring, docs/real_data/moffet.rst and the issue notes):

* ``lam``: MSE of H of fit_robust for ``lam = s ||X - W0 H0.T||^2 / r``
  (s = 0.1, 0.3, 1, 3; the rule's unit of misfit), cases 1 to 3 at 20 and
  40 dB, seeds 0 to 2, with eps = ||X - W0 H0.T|| / ||X||.
* ``oracle``: case 1, the MSE of H given the true W (the robust solver's H
  update) beside plain NMF and fit_robust.
* ``weak-samples``: exact l1 row-sum VolMin on case 2 at 60 dB, with all
  samples and without those whose true abundances sum to under 5% of the
  median.
* ``mismatch``: the affine-set / rank-r residual ratio behind
  ModelMismatchWarning (Frobenius, and median over columns), per case and
  SNR, after l1 normalization.
* ``moffet``: fit_robust on the Moffett Field image with its defaults, with
  ``tol=1e-4`` (OSQP and CLARABEL): time, iterations, angles of the
  endmembers to the default fit's.

Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/noise_checks.py CHECK
(CHECK one of lam, oracle, weak-samples, mismatch, moffet)
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import cvxvolmin
from cvxvolmin.baselines import plain_nmf
from cvxvolmin.metrics import match_columns
from cvxvolmin.polytopes import Simplex
from cvxvolmin.reduction import affine_set_reduction, l1_column_scale
from cvxvolmin.robust import add_noise, fit_robust
from cvxvolmin.robust.h_step import ProjectedGradient

R = 5


def noisy_case(case: int, snr: float, seed: int):
    X, W, H = cvxvolmin.make_paper_data(R, case=case, random_state=seed)
    return add_noise(X, snr, random_state=100 + seed), W, H


def lam() -> None:
    print("| SNR | case | seed | eps | s = 0.1 | 0.3 | 1 | 3 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for snr in (20.0, 40.0):
        for case in (1, 2, 3):
            for seed in range(3):
                noisy, _, H = noisy_case(case, snr, seed)
                try:
                    eps = cvxvolmin.fit(noisy, R, random_state=seed).fit_error
                except (cvxvolmin.InfeasibleError, cvxvolmin.DegenerateError) as error:
                    print(f"| {snr:g} | {case} | {seed} | exact fit: {type(error).__name__} |")
                    continue
                cells = []
                for s in (0.1, 0.3, 1.0, 3.0):
                    # lam = s ||X - W0 H0.T||^2 / r  <=>  lam_scale = s * eps
                    result = fit_robust(noisy, R, lam_scale=s * eps, random_state=seed)
                    cells.append(f"{cvxvolmin.matched_mse(H, result.H):.2g}")
                print(f"| {snr:g} | {case} | {seed} | {eps:.3f} | " + " | ".join(cells) + " |")


def oracle() -> None:
    print("| SNR | seed | oracle W | plain NMF | robust |")
    print("| --- | --- | --- | --- | --- |")
    for snr in (20.0, 40.0):
        for seed in range(3):
            noisy, W, H = noisy_case(1, snr, seed)
            n = noisy.shape[1]
            W_true = W * H.sum(axis=0)  # the scaling for which H's columns sum to one
            update = ProjectedGradient(Simplex(1.0))
            start = np.full((n, R), 1.0 / n)
            # H given the true W, to the rounding floor (the robust solver's H update).
            oracle_H = update.solve(W_true.T @ W_true, noisy.T @ W_true, start, 0.0).H
            nmf = plain_nmf(noisy, R, random_state=seed).H
            robust = fit_robust(noisy, R, random_state=seed).H
            mses = [cvxvolmin.matched_mse(H, est) for est in (oracle_H, nmf, robust)]
            print(f"| {snr:g} | {seed} | " + " | ".join(f"{m:.3e}" for m in mses) + " |")


def weak_samples() -> None:
    criterion = cvxvolmin.get_formulation("row-sum", normalize="l1")
    print("| seed | weak samples | MSE, all samples | MSE, without the weak |")
    print("| --- | --- | --- | --- |")
    for seed in range(2):
        noisy, _, H = noisy_case(2, 60.0, seed)
        weight = H.sum(axis=1)
        keep = weight > 0.05 * np.median(weight)
        every = cvxvolmin.fit(noisy, R, formulation=criterion, random_state=0).H
        kept = cvxvolmin.fit(noisy[:, keep], R, formulation=criterion, random_state=0).H
        print(
            f"| {seed} | {int((~keep).sum())} | {cvxvolmin.matched_mse(H, every):.2e} | "
            f"{cvxvolmin.matched_mse(H[keep], kept):.2e} |"
        )


def mismatch() -> None:
    print("| case | SNR | Frobenius ratio (3 seeds) | median-column ratio (3 seeds) |")
    print("| --- | --- | --- | --- |")
    for case in (1, 2, 3):
        for snr in (10.0, 20.0, 40.0, 60.0):
            frob, median = [], []
            for seed in range(3):
                noisy, _, _ = noisy_case(case, snr, seed)
                data = noisy / l1_column_scale(noisy)
                reduction = affine_set_reduction(data, R)
                affine = np.linalg.norm(data - reduction.basis @ reduction.Xt, axis=0)
                U, s, Vt = np.linalg.svd(data, full_matrices=False)
                linear = np.linalg.norm(data - (U[:, :R] * s[:R]) @ Vt[:R], axis=0)
                frob.append(np.linalg.norm(affine) / np.linalg.norm(linear))
                median.append(np.median(affine) / np.median(linear))
            print(
                f"| {case} | {snr:g} | {' '.join(f'{v:.3g}' for v in frob)} | "
                f"{' '.join(f'{v:.3g}' for v in median)} |"
            )


def moffet() -> None:
    from cvxvolmin.datasets import load_moffet

    X = load_moffet().X
    print("| setting | time (s) | iterations | objective | angles to the default (degrees) |")
    print("| --- | --- | --- | --- | --- |")
    reference = None
    settings = {
        "default": {},
        "tol 1e-4": {"tol": 1e-4},
        "tol 1e-4, CLARABEL": {"tol": 1e-4, "solver": "CLARABEL"},
    }
    for name, options in settings.items():
        start = time.perf_counter()
        result = fit_robust(X, 3, random_state=0, **options)
        elapsed = time.perf_counter() - start
        if reference is None:
            reference, angles = result.W, "-"
        else:
            _, errors = match_columns(reference, result.W)  # squared chord of unit columns
            angles = " ".join(f"{np.degrees(2 * np.arcsin(np.sqrt(e) / 2)):.2f}" for e in errors)
        print(f"| {name} | {elapsed:.1f} | {result.n_iter} | {result.objective:.8g} | {angles} |")


def main() -> None:
    commands = {
        "lam": lam,
        "oracle": oracle,
        "weak-samples": weak_samples,
        "mismatch": mismatch,
        "moffet": moffet,
    }
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("check", choices=commands)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # noise warnings are expected: they are the subject
        commands[args.check]()


if __name__ == "__main__":
    main()
