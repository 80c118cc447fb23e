"""Seeded studies of any methods on any data: the one runner behind Table 2 and a user's own.

A study runs every method on every (rank, case, trial), on the clean data
or on noisy copies of them at given SNRs, and scores each estimated H
against the true one by :func:`cvxvolmin.matched_mse`. Methods are names
(Table 2's, the robust criteria, registered formulations), Formulation
instances (a researcher's variant) or callables; cases are the paper's case
numbers or callables that draw data.
"""

from __future__ import annotations

import json
import math
import pickle
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType

import numpy as np

from ..exceptions import InvalidParameterError
from ..factorization import fit
from ..formulations import Formulation, available_formulations
from ..metrics import matched_mse
from ..progress import terminal_bar
from ..robust.noise import add_noise
from ..synthetic import CASES, make_paper_data
from ..validation import check_positive_int
from .methods import METHODS, ROBUST_METHODS
from .trial import cell_statistics, json_float, run_method

#: ``estimate_H(X, rank, rng) -> H`` (N x r).
EstimateH = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]
#: ``draw(rank, rng) -> (X, W, H)`` with ``X = W @ H.T`` (or noisy).
DrawData = Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class StudyRecord:
    """One method on one trial; ``mse`` is nan when the method raised (``error`` says what).

    ``snr_db`` is the SNR of the noise added to the trial's data, None for clean data.
    """

    method: str
    case: int | str
    rank: int
    trial: int
    mse: float
    time_s: float
    error: str | None = None
    warnings: tuple[str, ...] = ()
    snr_db: float | None = None


@dataclass(frozen=True)
class StudyRow:
    """One (method, case, rank, SNR) cell over its trials (failed trials left out of the MSEs).

    ``snr_db`` is None for clean data.
    """

    method: str
    case: int | str
    rank: int
    mean_mse: float
    median_mse: float
    max_mse: float
    median_time_s: float
    trials: int
    n_failed: int = 0
    warnings: MappingProxyType[str, int] = field(default_factory=lambda: MappingProxyType({}))
    errors: MappingProxyType[str, int] = field(default_factory=lambda: MappingProxyType({}))
    snr_db: float | None = None

    def to_dict(self) -> dict:
        """JSON-ready: nan becomes None; ``snr_db`` only for noisy data."""
        noise = {} if self.snr_db is None else {"snr_db": self.snr_db}
        return {
            "method": self.method,
            "case": self.case,
            "rank": self.rank,
            **noise,
            "mean_mse": json_float(self.mean_mse),
            "median_mse": json_float(self.median_mse),
            "max_mse": json_float(self.max_mse),
            "median_time_s": json_float(self.median_time_s),
            "trials": self.trials,
            "n_failed": self.n_failed,
            "warnings": dict(self.warnings),
            "errors": dict(self.errors),
        }


@dataclass(frozen=True)
class StudyResult:
    """What :func:`run_study` measured.

    Attributes
    ----------
    rows : tuple of StudyRow
        One per (method, rank, SNR, case), each in the order given.
    records : tuple of StudyRecord
        Every (method, case, rank, SNR, trial).
    config : mapping
        What was run: methods, cases (labels), ranks, trials, seed, sizes,
        and ``snrs_db`` when noise was added.
    """

    rows: tuple[StudyRow, ...]
    records: tuple[StudyRecord, ...] = field(repr=False)
    config: MappingProxyType = field(repr=False)

    def row(self, method: str, case: int | str, rank: int, snr_db: float | None = None) -> StudyRow:
        """The row of one cell (``snr_db`` None: the clean data)."""
        snr = None if snr_db is None else float(snr_db)
        for row in self.rows:
            if (row.method, row.case, row.rank, row.snr_db) == (method, case, rank, snr):
                return row
        at = "" if snr is None else f", snr_db={snr:g}"
        raise KeyError(f"no row for method={method!r}, case={case!r}, rank={rank}{at}.")

    def to_dict(self) -> dict:
        """``{"config": ..., "rows": [...]}``, ready for ``json.dump``."""
        return {"config": dict(self.config), "rows": [row.to_dict() for row in self.rows]}

    def to_json(self) -> str:
        """The dict of :meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2)

    def to_markdown(self) -> str:
        """Mean (median) MSE of H: one line per (method, rank, SNR), one column per case."""
        cfg = self.config
        snrs = cfg.get("snrs_db") or [None]
        noisy = snrs != [None]
        header = ["method", "r", *(["SNR (dB)"] if noisy else [])]
        header += [*(f"case {c}" for c in cfg["cases"]), "median time/fit (s)"]
        lines = [
            f"Mean (median) MSE of H over {cfg['trials']} trials, M = {cfg['n_features']}, "
            f"N = {cfg['n_samples']}, seed {cfg['seed']}; failed trials excluded and counted.",
            "",
            "| " + " | ".join(header) + " |",
            "| " + " | ".join(["---"] * len(header)) + " |",
        ]
        for method in cfg["methods"]:
            for rank in cfg["ranks"]:
                for snr in snrs:
                    cells = [method, str(rank), *([f"{snr:g}"] if noisy else [])]
                    for case in cfg["cases"]:
                        row = self.row(method, case, rank, snr)
                        cell = f"{_fmt(row.mean_mse)} ({_fmt(row.median_mse)})"
                        if row.n_failed:
                            cell += f", {row.n_failed}/{row.trials} failed"
                        cells.append(cell)
                    times = [
                        r.time_s
                        for r in self.records
                        if (r.method, r.rank, r.snr_db) == (method, rank, snr)
                    ]
                    cells.append(f"{np.median(times):.3g}")
                    lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def plot(self, ax=None):
        """Median MSE of H per method and case (log scale).

        Bars per case (:func:`cvxvolmin.plot.study`) for clean data; for
        noisy data a new figure of MSE against SNR, one panel per case
        (:func:`cvxvolmin.plot.snr_study`, which draws no ``ax``).
        """
        from ..plot import snr_study, study

        if self.config.get("snrs_db"):
            if ax is not None:
                raise InvalidParameterError(
                    "a study over SNRs draws one panel per case on a new figure; call plot() "
                    "without ax."
                )
            return snr_study(self)
        return study(self, ax=ax)


def run_study(
    methods: Mapping[str, str | Formulation | EstimateH] | Sequence[str | Formulation],
    *,
    cases: Mapping[str, int | DrawData] | Sequence[int] = (1, 2, 3),
    ranks: Sequence[int] = (5,),
    trials: int = 10,
    snrs_db: Sequence[float] | None = None,
    seed: int | None = 0,
    n_features: int = 200,
    n_samples: int = 200,
    progress: bool = False,
    n_jobs: int = 1,
) -> StudyResult:
    """Run seeded trials of any methods on the paper's cases or one's own data, clean or noisy.

    Parameters
    ----------
    methods : mapping of label to method, or sequence of methods
        A method is a name (``"plain-nmf"``, ``"row-sum"``, ``"column-sum"``
        as in Table 2, ``"robust-column-sum"`` or ``"robust-row-sum"`` by
        :func:`cvxvolmin.fit_robust`, or any registered formulation), a
        :class:`~cvxvolmin.Formulation` instance (fitted by
        :func:`cvxvolmin.fit`) or a callable ``estimate_H(X, rank, rng)``
        returning H (N x r). A sequence is labelled by the names (the
        formulation's ``name`` for an instance).
    cases : mapping of label to case, or sequence of case numbers, default (1, 2, 3)
        A case is a paper case number (:data:`cvxvolmin.synthetic.CASES`,
        drawn by :func:`cvxvolmin.make_paper_data` with ``n_features`` and
        ``n_samples``) or a callable ``draw(rank, rng)`` returning
        ``(X, W, H)``.
    ranks : sequence of int, default (5,)
    trials : int, default 10
        Trials per (case, rank).
    snrs_db : sequence of float, optional
        Run every method on noisy copies of each trial's data instead, white
        Gaussian noise at each of these SNRs in dB
        (:func:`cvxvolmin.add_noise`); the SNR study
        (:func:`cvxvolmin.robust.run_snr_study`) is this study. None (the
        default): the clean data.
    seed : int or None, default 0
        Root of every random stream; None draws fresh entropy, recorded in
        ``config["seed"]`` so that the run can be repeated.
    n_features, n_samples : int, default 200
        M and N of the paper's cases.
    progress : bool, default False
        A progress bar on stderr, if tqdm is installed and stderr is a terminal.
    n_jobs : int, default 1
        Worker processes; the trials are split between them, with the same
        records as with one (each trial has its own random stream). Methods
        and cases must then be picklable (module-level functions, not
        lambdas). Each worker's BLAS runs one thread (threadpoolctl), so
        that the workers do not oversubscribe the cores.

    Returns
    -------
    StudyResult

    Raises
    ------
    cvxvolmin.InvalidParameterError
        On an unknown method name, a repeated label, an unknown case, or
        other invalid arguments; before any trial runs.

    Notes
    -----
    Every (rank, case, trial) has its own random stream (a
    ``numpy.random.SeedSequence`` child keyed by the rank, the case number,
    or the crc32 of a case's label, and the trial), so a trial's data do not
    depend on which methods, ranks, SNRs or other cases run; each method
    gets a child of it keyed by its label. With the paper's cases and
    methods this is :func:`cvxvolmin.experiments.run_table2`'s scheme: the
    same seed gives the same trials. Under noise, each SNR's noise has its
    own child of the trial's stream (keyed by the SNR), so every SNR
    perturbs the same clean data and every method sees the same noisy X,
    and each method's child is keyed by its label and the SNR. A method
    that raises is recorded and the run goes on; warnings are silenced and
    counted.

    Examples
    --------
    A researcher's variant beside the paper's criterion, three lines:

    >>> import cvxvolmin
    >>> capped = cvxvolmin.get_formulation("bounded-abundance", upper=0.05)
    >>> study = cvxvolmin.run_study({"column-sum": "column-sum", "capped": capped},
    ...                             cases=(3,), trials=2, n_samples=100)
    >>> bool(study.row("column-sum", 3, 5).mean_mse < 1e-20)
    True
    """
    labelled = _check_methods(methods)
    draws = _check_cases(cases)
    ranks = _check_unique_ints(ranks, "ranks")
    trials = check_positive_int(trials, "trials")
    n_features = check_positive_int(n_features, "n_features")
    n_samples = check_positive_int(n_samples, "n_samples")
    for rank in ranks:
        if rank > min(n_features, n_samples):
            raise InvalidParameterError(f"rank {rank} exceeds min(n_features, n_samples).")
    snrs = _check_snrs(snrs_db)
    root = np.random.SeedSequence(_check_seed(seed))

    n_jobs = check_positive_int(n_jobs, "n_jobs")
    jobs = [
        _Trial(labelled, draws[case], case, rank, t, root, n_features, n_samples, snrs)
        for rank in ranks
        for case in draws
        for t in range(trials)
    ]
    if n_jobs > 1:
        try:
            pickle.dumps(jobs[0])
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise InvalidParameterError(
                f"n_jobs={n_jobs} sends the methods and cases to worker processes, which needs "
                f"them picklable ({exc}); define callables at module level, or use n_jobs=1."
            ) from exc
    records: list[StudyRecord] = []
    for trial_records in _map(jobs, n_jobs, progress):
        records += trial_records
    cells: dict[tuple, list[StudyRecord]] = {}
    for rec in records:
        cells.setdefault((rec.method, rec.rank, rec.snr_db, rec.case), []).append(rec)
    rows = tuple(
        _summarize(cells[m, rank, snr, case])
        for m in labelled
        for rank in ranks
        for snr in snrs or (None,)
        for case in draws
    )
    config = {
        "methods": list(labelled),
        "cases": list(draws),
        "ranks": list(ranks),
        "trials": trials,
        **({} if snrs is None else {"snrs_db": list(snrs)}),
        "seed": root.entropy,
        "n_features": n_features,
        "n_samples": n_samples,
    }
    return StudyResult(rows=rows, records=tuple(records), config=MappingProxyType(config))


@dataclass(frozen=True)
class _Trial:
    """One (rank, case, trial): its data and every method on them, from its own stream."""

    methods: dict
    draw: object
    case: int | str
    rank: int
    trial: int
    root: np.random.SeedSequence
    n_features: int
    n_samples: int
    snrs: tuple[float, ...] | None = None

    def __call__(self) -> list[StudyRecord]:
        key = (self.rank, _case_key(self.case), self.trial)
        X, _, H = _draw(
            self.draw, self.case, self.rank, self._rng(*key, 0), self.n_features, self.n_samples
        )
        records = []
        for snr in self.snrs or (None,):
            noisy, snr_key = X, ()
            if snr is not None:
                snr_key = (zlib.crc32(f"{snr:.9g}".encode()),)  # an SNR of any sign
                noisy = add_noise(X, snr, random_state=self._rng(*key, 2, *snr_key))
            for label, estimate_H in self.methods.items():
                rng = self._rng(*key, 1, zlib.crc32(label.encode()), *snr_key)
                cell = (label, self.case, self.rank, self.trial, snr)
                records.append(_run_one(cell, estimate_H, noisy, H, rng))
        return records

    def _rng(self, *key: int) -> np.random.Generator:
        root = self.root
        return np.random.default_rng(
            np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, *key))
        )


def _call(trial: _Trial) -> list[StudyRecord]:
    return trial()


def _one_blas_thread() -> None:
    # n_jobs workers share the cores: each worker's BLAS runs one thread.
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


def _map(jobs: list[_Trial], n_jobs: int, progress: bool):
    """The records of each trial, in order, run here or by ``n_jobs`` worker processes."""
    bar = terminal_bar(progress, total=len(jobs), desc="study", unit="trial")
    if n_jobs == 1:
        results = map(_call, jobs)
    else:
        import concurrent.futures
        import multiprocessing

        # Spawned, not forked: a fork copies solver and BLAS state mid-use.
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=min(n_jobs, len(jobs)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_one_blas_thread,
        )
        results = pool.map(_call, jobs)
    try:
        for trial_records in results:
            if bar is not None:
                bar.update(1)
            yield trial_records
    finally:
        if n_jobs > 1:
            pool.shutdown(cancel_futures=True)
        if bar is not None:
            bar.close()


def _fitted_H(formulation, X: np.ndarray, rank: int, rng: np.random.Generator) -> np.ndarray:
    # Module level (through functools.partial), so that a method can go to a worker.
    return fit(X, rank, formulation=formulation, random_state=rng).H


def _estimator(spec, where: str) -> EstimateH:
    if isinstance(spec, str):
        named = {**METHODS, **ROBUST_METHODS}
        if spec in named:
            return named[spec].estimate_H
        if spec in available_formulations():
            return partial(_fitted_H, spec)
        raise InvalidParameterError(
            f"{where}: unknown method {spec!r}; use one of {', '.join(named)}, a registered "
            f"formulation ({', '.join(available_formulations())}), a Formulation instance "
            "or a callable estimate_H(X, rank, rng)."
        )
    if isinstance(spec, Formulation):
        return partial(_fitted_H, spec)
    if isinstance(spec, type) and issubclass(spec, Formulation):
        raise InvalidParameterError(
            f"{where}: {spec.__name__} is a class; pass an instance, e.g. {spec.__name__}()."
        )
    if callable(spec):
        return spec
    raise InvalidParameterError(
        f"{where}: a method must be a name, a Formulation instance or a callable; got {spec!r}."
    )


def _label(spec) -> str:
    if isinstance(spec, type):
        _estimator(spec, "methods")  # raises: a class, not an instance
    if isinstance(spec, str):
        return spec
    if isinstance(spec, Formulation):
        return spec.name
    raise InvalidParameterError(
        f"methods as a sequence need names or Formulation instances; label the callable "
        f"{spec!r} with a mapping: methods={{'my-method': ...}}."
    )


def _check_methods(methods) -> dict[str, EstimateH]:
    if isinstance(methods, (str, Formulation)) or callable(methods):
        methods = [methods]
    if isinstance(methods, Mapping):
        pairs = list(methods.items())
    elif isinstance(methods, Iterable):
        pairs = [(_label(spec), spec) for spec in methods]
    else:
        raise InvalidParameterError(f"methods must be a mapping or a sequence; got {methods!r}.")
    labels = [label for label, _ in pairs]
    if not pairs or len(set(labels)) != len(labels):
        raise InvalidParameterError(f"methods must be nonempty with unique labels; got {labels}.")
    for label in labels:
        if not isinstance(label, str) or not label:
            raise InvalidParameterError(f"method labels must be nonempty strings; got {label!r}.")
    return {label: _estimator(spec, f"method {label!r}") for label, spec in pairs}


def _check_cases(cases) -> dict[int | str, int | DrawData]:
    if isinstance(cases, Mapping):
        pairs = list(cases.items())
    elif isinstance(cases, Iterable) and not isinstance(cases, (str, bytes)):
        pairs = [(case, case) for case in cases]
    else:
        raise InvalidParameterError(f"cases must be a mapping or a sequence; got {cases!r}.")
    labels = [label for label, _ in pairs]
    if not pairs or len(set(labels)) != len(labels):
        raise InvalidParameterError(f"cases must be nonempty with unique labels; got {labels}.")
    for label, spec in pairs:
        if callable(spec):
            continue
        if isinstance(spec, bool) or spec not in CASES:
            raise InvalidParameterError(
                f"case {label!r}: a case is a paper case number ({sorted(CASES)}) or a "
                f"callable draw(rank, rng) -> (X, W, H); got {spec!r}."
            )
    return dict(pairs)


def _case_key(case: int | str) -> int:
    # A paper case keys the stream by its number, as in run_table2; a label by its crc32.
    return case if isinstance(case, int) else zlib.crc32(str(case).encode())


def _draw(spec, case, rank: int, rng, n_features: int, n_samples: int):
    if not callable(spec):
        return make_paper_data(
            rank, case=spec, n_features=n_features, n_samples=n_samples, random_state=rng
        )
    drawn = spec(rank, rng)
    if not (isinstance(drawn, tuple) and len(drawn) == 3):
        raise InvalidParameterError(
            f"case {case!r}: draw(rank, rng) must return (X, W, H); got {type(drawn).__name__}."
        )
    X, W, H = (np.asarray(a, dtype=float) for a in drawn)
    if X.ndim != 2 or H.shape != (X.shape[1], rank):
        raise InvalidParameterError(
            f"case {case!r}: draw(rank, rng) returned X of shape {X.shape} and H of shape "
            f"{H.shape}; H must be N x rank = ({X.shape[1] if X.ndim == 2 else '?'}, {rank})."
        )
    return X, W, H


def _run_one(cell: tuple, estimate_H, X, H, rng) -> StudyRecord:
    label, case, rank, trial, snr_db = cell
    outcome = run_method(lambda: estimate_H(X, rank, rng))
    mse, error = math.nan, None
    if outcome.error is not None:
        error = f"{type(outcome.error).__name__}: {outcome.error}"
    else:
        try:
            mse = matched_mse(H, outcome.estimate)
        except ValueError as exc:  # e.g. an all-zero column: no direction to score
            error = f"unscorable estimate: {exc}"
    return StudyRecord(
        method=label,
        case=case,
        rank=rank,
        trial=trial,
        mse=mse,
        time_s=outcome.time_s,
        error=error,
        warnings=outcome.warnings,
        snr_db=snr_db,
    )


def _summarize(records: list[StudyRecord]) -> StudyRow:
    first = records[0]
    return StudyRow(
        method=first.method,
        case=first.case,
        rank=first.rank,
        snr_db=first.snr_db,
        **cell_statistics(records),
    )


def _check_unique_ints(values, name: str) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidParameterError(
            f"{name} must be a sequence of positive integers; got {values!r}."
        )
    checked = tuple(check_positive_int(v, name) for v in values)
    if not checked or len(set(checked)) != len(checked):
        raise InvalidParameterError(
            f"{name} must be a nonempty sequence without repeats; got {values!r}."
        )
    return checked


def _check_snrs(snrs_db) -> tuple[float, ...] | None:
    if snrs_db is None:
        return None
    message = (
        "snrs_db must be a nonempty sequence of finite numbers (or None: the clean data); "
        f"got {snrs_db!r}."
    )
    if isinstance(snrs_db, (str, bytes)) or not isinstance(snrs_db, Iterable):
        raise InvalidParameterError(message)
    try:
        snrs = tuple(float(s) for s in snrs_db)
    except (TypeError, ValueError):
        raise InvalidParameterError(message) from None
    if not snrs or not all(math.isfinite(s) for s in snrs):
        raise InvalidParameterError(message)
    if len(set(snrs)) != len(snrs):
        raise InvalidParameterError(f"snrs_db must not repeat an SNR; got {snrs_db!r}.")
    return snrs


def _check_seed(seed: int | None) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidParameterError(f"seed must be a nonnegative integer or None; got {seed!r}.")
    return int(seed)


def _fmt(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.3g}"
