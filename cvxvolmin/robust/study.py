"""Recovery of H under white noise: plain NMF, exact and robust VolMin.

A configuration of :func:`cvxvolmin.run_study`: the paper's data
(:func:`cvxvolmin.make_paper_data`) plus white Gaussian noise at several
SNRs (:func:`cvxvolmin.robust.add_noise`), every method scored by
:func:`cvxvolmin.matched_mse` against the true H.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import MappingProxyType

import numpy as np

from ..exceptions import InvalidParameterError
from ..experiments.methods import METHODS, ROBUST_METHODS
from ..experiments.study import StudyResult, run_study
from ..synthetic import CASES

__all__ = ["DEFAULT_SNR_METHODS", "SNR_METHODS", "run_snr_study"]

#: name -> ``estimate_H(X, rank, rng)``: the methods of Table 2
#: (:data:`cvxvolmin.experiments.METHODS`) and the robust criteria.
SNR_METHODS: MappingProxyType[str, Callable[[np.ndarray, int, np.random.Generator], np.ndarray]]
SNR_METHODS = MappingProxyType(
    {name: method.estimate_H for name, method in {**METHODS, **ROBUST_METHODS}.items()}
)
#: The methods run by default, in the order of the table.
DEFAULT_SNR_METHODS = ("plain-nmf", "row-sum", "column-sum", "robust-column-sum")


def run_snr_study(
    *,
    snrs_db: Sequence[float] = (20.0, 30.0, 40.0),
    cases: Sequence[int] = (1, 2, 3),
    rank: int = 5,
    trials: int = 5,
    methods: Sequence[str] | None = None,
    seed: int = 0,
    n_features: int = 200,
    n_samples: int = 200,
    progress: bool = False,
    n_jobs: int = 1,
) -> StudyResult:
    """Score plain NMF, exact and robust VolMin on noisy paper data.

    Parameters
    ----------
    snrs_db : sequence of float, default (20, 30, 40)
        Signal-to-noise ratios, ``10 log10(||X||_F^2 / ||noise||_F^2)``.
    cases : sequence of {1, 2, 3}, default (1, 2, 3)
    rank : int, default 5
    trials : int, default 5
    methods : sequence of str, optional
        Names from :data:`SNR_METHODS`; default :data:`DEFAULT_SNR_METHODS`
        (plain NMF, row-sum, column-sum, robust column-sum).
    seed : int, default 0
        Root of every random stream.
    n_features, n_samples : int, default 200
    progress : bool, default False
        Show a progress bar on stderr, if tqdm is installed and stderr is a
        terminal.
    n_jobs : int, default 1
        Worker processes (see :func:`cvxvolmin.run_study`).

    Returns
    -------
    cvxvolmin.StudyResult
        One row per (method, SNR, case): ``result.row(method, case, rank,
        snr_db)``.

    Notes
    -----
    This is ``run_study(methods, cases=cases, ranks=(rank,), snrs_db=...)``
    with the paper's cases and the methods named here: the clean data of a
    (case, trial) are those of :func:`cvxvolmin.experiments.run_table2` with
    the same seed, every SNR perturbs them, and every method sees the same
    noisy X.

    Examples
    --------
    >>> from cvxvolmin.robust import run_snr_study
    >>> study = run_snr_study(snrs_db=(40,), cases=(3,), trials=1,
    ...                       methods=["column-sum", "robust-column-sum"])
    >>> bool(study.row("robust-column-sum", 3, 5, 40).median_mse < 1e-3)
    True
    """
    names = DEFAULT_SNR_METHODS if methods is None else methods
    if isinstance(names, str):
        names = [names]
    unknown = [m for m in names if m not in SNR_METHODS]
    if unknown or not names:
        raise InvalidParameterError(f"unknown methods {unknown}; choose from {list(SNR_METHODS)}.")
    cases = tuple(cases)
    if not cases or any(isinstance(c, bool) or c not in CASES for c in cases):
        raise InvalidParameterError(f"cases must be among {sorted(CASES)}; got {cases!r}.")
    return run_study(
        {name: SNR_METHODS[name] for name in names},
        cases=cases,
        ranks=(rank,),
        trials=trials,
        snrs_db=snrs_db,
        seed=seed,
        n_features=n_features,
        n_samples=n_samples,
        progress=progress,
        n_jobs=n_jobs,
    )
