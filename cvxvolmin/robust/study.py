"""Recovery of H under white noise: plain NMF, exact and robust VolMin.

The paper's data (:func:`cvxvolmin.make_paper_data`) plus white Gaussian noise
at several SNRs (:func:`cvxvolmin.robust.add_noise`); every method is scored
by :func:`cvxvolmin.matched_mse` against the true H. Structured like
:mod:`cvxvolmin.experiments.table2`: one random stream per trial, records
and summary rows, markdown and JSON renderings.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ..exceptions import InvalidParameterError
from ..experiments.methods import METHODS
from ..experiments.trial import cell_statistics, json_float, run_method
from ..formulations import get_formulation
from ..metrics import matched_mse
from ..progress import terminal_bar
from ..synthetic import CASES, make_paper_data
from ..validation import check_positive_int
from .noise import add_noise
from .solver import fit_robust

__all__ = [
    "DEFAULT_SNR_METHODS",
    "SNR_METHODS",
    "SNRRecord",
    "SNRRow",
    "SNRStudyResult",
    "run_snr_study",
]


def _robust_column_sum(X: np.ndarray, rank: int, rng: np.random.Generator) -> np.ndarray:
    return fit_robust(X, rank, random_state=rng).H


def _robust_row_sum(X: np.ndarray, rank: int, rng: np.random.Generator) -> np.ndarray:
    # l1-normalized, like the exact row-sum method of Table 2.
    criterion = get_formulation("row-sum", normalize="l1")
    return fit_robust(X, rank, formulation=criterion, random_state=rng).H


#: name -> ``estimate_H(X, rank, rng)``: the exact methods of Table 2
#: (:data:`cvxvolmin.experiments.METHODS`) and the robust criteria.
SNR_METHODS: MappingProxyType[str, Callable[[np.ndarray, int, np.random.Generator], np.ndarray]]
SNR_METHODS = MappingProxyType(
    {
        "plain-nmf": METHODS["plain-nmf"].estimate_H,
        "row-sum": METHODS["row-sum"].estimate_H,
        "column-sum": METHODS["column-sum"].estimate_H,
        "robust-column-sum": _robust_column_sum,
        "robust-row-sum": _robust_row_sum,
    }
)
#: The methods run by default, in the order of the table.
DEFAULT_SNR_METHODS = ("plain-nmf", "row-sum", "column-sum", "robust-column-sum")


@dataclass(frozen=True)
class SNRRecord:
    """One method on one noisy trial; ``mse`` is nan when the method raised."""

    method: str
    snr_db: float
    case: int
    trial: int
    mse: float
    time_s: float
    error: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SNRRow:
    """One (method, SNR, case) cell: statistics over the trials that returned an H."""

    method: str
    snr_db: float
    case: int
    median_mse: float
    mean_mse: float
    max_mse: float
    median_time_s: float
    trials: int
    n_failed: int
    errors: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    warnings: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def to_dict(self) -> dict:
        """JSON-ready: nan becomes None."""
        return {
            "method": self.method,
            "snr_db": self.snr_db,
            "case": self.case,
            "median_mse": json_float(self.median_mse),
            "mean_mse": json_float(self.mean_mse),
            "max_mse": json_float(self.max_mse),
            "median_time_s": self.median_time_s,
            "trials": self.trials,
            "n_failed": self.n_failed,
            "errors": dict(self.errors),
            "warnings": dict(self.warnings),
        }


@dataclass(frozen=True)
class SNRStudyResult:
    """The study's rows, every record, and what was run."""

    rows: tuple[SNRRow, ...]
    records: tuple[SNRRecord, ...] = field(repr=False)
    config: MappingProxyType = field(repr=False)

    def row(self, method: str, snr_db: float, case: int) -> SNRRow:
        """The row of one cell."""
        for row in self.rows:
            if (row.method, row.snr_db, row.case) == (method, float(snr_db), case):
                return row
        raise KeyError(f"no row for method={method!r}, snr_db={snr_db}, case={case}.")

    def to_dict(self) -> dict:
        """``{"config": ..., "rows": [...]}``, ready for ``json.dump``."""
        return {"config": dict(self.config), "rows": [row.to_dict() for row in self.rows]}

    def to_json(self) -> str:
        """The dict of :meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2)

    def to_markdown(self) -> str:
        """Median (mean) MSE of H: one line per (SNR, method), one column per case."""
        cfg = self.config
        cases = cfg["cases"]
        header = ["SNR (dB)", "method", *(f"case {c} ({CASES[c]})" for c in cases)]
        lines = [
            f"Median (mean) MSE of H over {cfg['trials']} trials (failed trials excluded and "
            f"counted), r = {cfg['rank']}, M = {cfg['n_features']}, N = {cfg['n_samples']}, "
            f"seed {cfg['seed']}.",
            "",
            "| " + " | ".join(header) + " |",
            "| " + " | ".join(["---"] * len(header)) + " |",
        ]
        for snr in cfg["snrs_db"]:
            for method in cfg["methods"]:
                cells = [f"{snr:g}", method]
                for case in cases:
                    row = self.row(method, snr, case)
                    cell = (
                        "nan"
                        if math.isnan(row.median_mse)
                        else f"{row.median_mse:.2g} ({row.mean_mse:.2g})"
                    )
                    if row.n_failed:
                        cell += f" ({row.n_failed}/{row.trials} failed)"
                    cells.append(cell)
                lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"


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
) -> SNRStudyResult:
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

    Returns
    -------
    SNRStudyResult

    Notes
    -----
    The clean data of a (case, trial) do not depend on the SNR (a
    ``numpy.random.SeedSequence`` child keyed by case and trial), so the
    SNRs are compared on the same X; the noise and every method have their
    own child streams. A method that raises is recorded (``n_failed``,
    ``errors``) and the run goes on; warnings are silenced and counted.
    """
    snrs = tuple(float(s) for s in snrs_db)
    if not snrs or any(not math.isfinite(s) for s in snrs):
        raise InvalidParameterError(
            f"snrs_db must be a nonempty sequence of finite numbers; got {snrs_db!r}."
        )
    cases = tuple(cases)
    if not cases or any(c not in CASES for c in cases):
        raise InvalidParameterError(f"cases must be among {sorted(CASES)}; got {cases!r}.")
    rank = check_positive_int(rank, "rank")
    trials = check_positive_int(trials, "trials")
    names = DEFAULT_SNR_METHODS if methods is None else tuple(methods)
    unknown = [m for m in names if m not in SNR_METHODS]
    if unknown or not names:
        raise InvalidParameterError(f"unknown methods {unknown}; choose from {list(SNR_METHODS)}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidParameterError(f"seed must be a nonnegative integer; got {seed!r}.")
    root = np.random.SeedSequence(int(seed))

    records = []
    jobs = [(case, t) for case in cases for t in range(trials)]
    bar = terminal_bar(progress, iterable=jobs, desc="noise study", unit="trial")
    for case, t in jobs if bar is None else bar:
        data_rng = np.random.default_rng(_child(root, case, t))
        X, _, H = make_paper_data(
            rank,
            case=case,
            n_features=n_features,
            n_samples=n_samples,
            random_state=data_rng,
        )
        for snr in snrs:
            snr_key = zlib.crc32(f"{snr:.9g}".encode())  # any sign of SNR
            noisy = add_noise(
                X, snr, random_state=np.random.default_rng(_child(root, case, t, 1, snr_key))
            )
            for name in names:
                rng = np.random.default_rng(
                    _child(root, case, t, 2, snr_key, zlib.crc32(name.encode()))
                )
                records.append(_run_one(name, noisy, H, rank, snr, case, t, rng))
    rows = tuple(
        _summarize([r for r in records if (r.method, r.snr_db, r.case) == (m, snr, case)])
        for snr in snrs
        for m in names
        for case in cases
    )
    config = {
        "snrs_db": list(snrs),
        "cases": list(cases),
        "rank": rank,
        "trials": trials,
        "methods": list(names),
        "seed": seed,
        "n_features": n_features,
        "n_samples": n_samples,
    }
    return SNRStudyResult(rows=rows, records=tuple(records), config=MappingProxyType(config))


def _child(root: np.random.SeedSequence, *key: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, *key))


def _run_one(name, X, H, rank, snr, case, trial, rng) -> SNRRecord:
    outcome = run_method(lambda: matched_mse(H, SNR_METHODS[name](X, rank, rng)))
    return SNRRecord(
        method=name,
        snr_db=snr,
        case=case,
        trial=trial,
        mse=math.nan if outcome.error is not None else outcome.estimate,
        time_s=outcome.time_s,
        error=None if outcome.error is None else type(outcome.error).__name__,
        warnings=outcome.warnings,
    )


def _summarize(records: list[SNRRecord]) -> SNRRow:
    first = records[0]
    return SNRRow(
        method=first.method, snr_db=first.snr_db, case=first.case, **cell_statistics(records)
    )
