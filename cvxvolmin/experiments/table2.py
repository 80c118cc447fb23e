"""The paper's Table 2: recovery of H by plain NMF, row-sum and column-sum VolMin.

Fu, Huang and Sidiropoulos (IEEE SPL 2018), section 5: M = N = 200, r in
{5, 10}, H sparse uniform, W in three cases (sparse nonnegative, dense
nonnegative, Gaussian), 50 trials, MSE of the unit-norm columns of H after
the best permutation. :func:`run_table2` reruns it; :class:`Table2Result`
renders it beside the published means.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ..exceptions import InvalidParameterError
from ..synthetic import CASES
from .methods import METHODS
from .study import StudyRecord, StudyRow, _check_unique_ints, run_study

PAPER_CITATION = (
    'X. Fu, K. Huang, N. D. Sidiropoulos, "On Identifiability of Nonnegative Matrix '
    'Factorization", IEEE Signal Processing Letters 25(3), 2018, Table 2'
)

#: Published mean MSE of H over 50 trials, keyed by (method, rank, case).
PAPER_TABLE2: MappingProxyType[tuple[str, int, int], float] = MappingProxyType(
    {
        ("plain-nmf", 5, 1): 5.49e-05,
        ("plain-nmf", 5, 2): 0.0147,
        ("plain-nmf", 5, 3): 0.7468,
        ("row-sum", 5, 1): 1.36e-08,
        ("row-sum", 5, 2): 7.31e-10,
        ("row-sum", 5, 3): 1.0406,
        ("column-sum", 5, 1): 7.32e-18,
        ("column-sum", 5, 2): 7.78e-18,
        ("column-sum", 5, 3): 8.44e-18,
        ("plain-nmf", 10, 1): 4.82e-04,
        ("plain-nmf", 10, 2): 0.0403,
        ("plain-nmf", 10, 3): 0.8003,
        ("row-sum", 10, 1): 8.64e-09,
        ("row-sum", 10, 2): 8.66e-09,
        ("row-sum", 10, 3): 1.2017,
        ("column-sum", 10, 1): 6.54e-18,
        ("column-sum", 10, 2): 5.02e-18,
        ("column-sum", 10, 3): 6.38e-18,
    }
)


#: One method on one trial's data (the study runner's record).
TrialRecord = StudyRecord


@dataclass(frozen=True)
class Table2Row(StudyRow):
    """Summary of one (method, rank, case) cell over its trials, with the paper's mean.

    The MSE statistics cover the ``trials - n_failed`` trials that returned
    an estimate (nan when none did); ``median_time_s`` covers all trials.
    ``warnings`` and ``errors`` count categories and messages.
    """

    @property
    def paper_mean_mse(self) -> float | None:
        """The published mean for this cell, if the paper has one."""
        return PAPER_TABLE2.get((self.method, self.rank, self.case))

    def to_dict(self) -> dict:
        """JSON-ready: nan becomes None; the paper's mean beside ours."""
        return {**super().to_dict(), "paper_mean_mse": self.paper_mean_mse}


@dataclass(frozen=True)
class Table2Result:
    """The rerun of Table 2, with the published values beside it.

    Attributes
    ----------
    rows : tuple of Table2Row
        One per (method, rank, case), in the paper's order.
    records : tuple of TrialRecord
        Every (method, rank, case, trial).
    config : dict
        What was run: ranks, cases, trials, methods, seed, sizes.
    """

    rows: tuple[Table2Row, ...]
    records: tuple[TrialRecord, ...] = field(repr=False)
    config: MappingProxyType = field(repr=False)

    def row(self, method: str, rank: int, case: int) -> Table2Row:
        """The row of one cell."""
        for row in self.rows:
            if (row.method, row.rank, row.case) == (method, rank, case):
                return row
        raise KeyError(f"no row for method={method!r}, rank={rank}, case={case}.")

    def to_dict(self) -> dict:
        """``{"config": ..., "rows": [...], "paper": {...}}``, ready for ``json.dump``."""
        return {
            "config": dict(self.config),
            "rows": [row.to_dict() for row in self.rows],
            "paper": {
                "citation": PAPER_CITATION,
                "statistic": "mean MSE of H over 50 trials",
                "rows": [
                    {"method": m, "rank": r, "case": c, "mean_mse": v}
                    for (m, r, c), v in PAPER_TABLE2.items()
                ],
            },
        }

    def to_json(self) -> str:
        """The dict of :meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2)

    def to_csv(self) -> str:
        """One line per row, with the paper's mean beside ours."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        columns = [
            "method", "rank", "case", "mean_mse", "median_mse", "max_mse",
            "median_time_s", "trials", "n_failed", "paper_mean_mse", "warnings", "errors",
        ]  # fmt: skip
        writer.writerow(columns)
        for row in self.rows:
            data = row.to_dict()
            data["warnings"] = _counts_text(row.warnings)
            data["errors"] = _counts_text(row.errors)
            writer.writerow(["" if data[c] is None else data[c] for c in columns])
        return buffer.getvalue()

    def to_markdown(self) -> str:
        """The paper's layout (methods x rank by cases), ours beside the paper's."""
        cases = self.config["cases"]
        header = ["method", "r"]
        for case in cases:
            header += [f"case {case} ({_CASE_SHORT[case]}): ours", "paper"]
        header.append("median time/fit (s)")
        lines = [
            f"Mean MSE of H over {self.config['trials']} trials, M = {self.config['n_features']}, "
            f"N = {self.config['n_samples']}, seed {self.config['seed']}; paper: "
            f"{PAPER_CITATION}.",
            "",
            "| " + " | ".join(header) + " |",
            "| " + " | ".join(["---"] * len(header)) + " |",
        ]
        notes = []
        for method in self.config["methods"]:
            for rank in self.config["ranks"]:
                cells = [METHODS[method].label, str(rank)]
                for case in cases:
                    row = self.row(method, rank, case)
                    cell = _fmt(row.mean_mse)
                    if row.n_failed:
                        cell += f" ({row.n_failed}/{row.trials} failed)"
                    elif row.trials != self.config["trials"]:
                        cell += f" ({row.trials} trials)"
                    cells += [cell, _fmt(row.paper_mean_mse, published=True)]
                    for text, what in ((row.errors, "errors"), (row.warnings, "warnings")):
                        if text:
                            notes.append(
                                f"- {method}, r = {rank}, case {case}, {what}: "
                                f"{_counts_text(text, sep='; ')}"
                            )
                times = [
                    rec.time_s for rec in self.records if rec.method == method and rec.rank == rank
                ]
                cells.append(f"{np.median(times):.3g}")
                lines.append("| " + " | ".join(cells) + " |")
        if notes:
            lines += ["", "Failed trials are excluded from the means. Counted events:", *notes]
        return "\n".join(lines) + "\n"

    def write(self, path: str | Path) -> Path:
        """Write the table to ``path``: ``.md``, ``.csv`` or ``.json`` by suffix."""
        path = Path(path)
        renderers = {
            ".md": self.to_markdown,
            ".markdown": self.to_markdown,
            ".csv": self.to_csv,
            ".json": self.to_json,
        }
        suffix = path.suffix.lower()
        if suffix not in renderers:
            raise InvalidParameterError(
                f"cannot tell the format of {str(path)!r}: use a .md, .csv or .json file name."
            )
        path.write_text(renderers[suffix](), encoding="utf-8")
        return path


def run_table2(
    *,
    ranks: Sequence[int] = (5, 10),
    cases: Sequence[int] = (1, 2, 3),
    trials: int = 50,
    methods: Sequence[str] | None = None,
    seed: int | None = 0,
    n_features: int = 200,
    n_samples: int = 200,
    progress: bool = False,
) -> Table2Result:
    """Rerun the paper's Table 2.

    For every rank, case and trial, draw ``X, W, H`` with
    :func:`cvxvolmin.make_paper_data`, run each method on X and score its H
    by :func:`cvxvolmin.matched_mse` against the true H.

    Parameters
    ----------
    ranks : sequence of int, default (5, 10)
    cases : sequence of {1, 2, 3}, default (1, 2, 3)
        Which W (see :data:`cvxvolmin.synthetic.CASES`).
    trials : int, default 50
        Trials per (rank, case).
    methods : sequence of str, optional
        Names from :data:`cvxvolmin.experiments.METHODS` (``"plain-nmf"``,
        ``"row-sum"``, ``"column-sum"``); default all, in the paper's order.
    seed : int or None, default 0
        Root of every random stream. None draws fresh entropy, recorded in
        ``config["seed"]`` so that the run can be repeated.
    n_features, n_samples : int, default 200
        M and N.
    progress : bool, default False
        Show a progress bar on stderr, if tqdm is installed
        (``pip install 'cvxvolmin[progress]'``) and stderr is a terminal;
        otherwise run silently.

    Returns
    -------
    Table2Result

    Raises
    ------
    ValueError
        On invalid arguments, or a method this installation cannot run;
        raised before any trial runs.

    Notes
    -----
    Every (rank, case, trial) has its own random stream, a
    ``numpy.random.SeedSequence`` child keyed by those values, so the data of
    a trial do not depend on which ranks, cases or methods are run; each
    method gets its own child of the trial's stream, keyed by its name.

    A method that raises on a trial is recorded (``n_failed``, ``errors``,
    MSE nan and left out of the MSE statistics) and the run goes on.
    Warnings are silenced and counted per row: some are expected, such as
    :class:`cvxvolmin.ModelMismatchWarning` for row-sum VolMin on
    mixed-sign data, or a ConvergenceWarning of plain NMF on the
    non-identifiable dense-W case.
    Times are wall-clock per call, data generation and scoring excluded.

    Examples
    --------
    >>> from cvxvolmin.experiments import run_table2
    >>> result = run_table2(ranks=(5,), cases=(3,), trials=1, methods=["column-sum"])
    >>> bool(result.row("column-sum", 5, 3).mean_mse < 1e-20)
    True
    """
    # Only the paper's case numbers here (run_study also takes a user's draws);
    # run_study checks everything else, before any trial runs.
    cases = _check_unique_ints(cases, "cases")
    for case in cases:
        if case not in CASES:
            raise InvalidParameterError(f"cases must be among {sorted(CASES)}; got {case!r}.")
    method_names = _check_methods(methods)
    study = run_study(
        {name: METHODS[name].estimate_H for name in method_names},
        cases=cases,
        ranks=ranks,
        trials=trials,
        seed=seed,
        n_features=n_features,
        n_samples=n_samples,
        progress=progress,
    )
    rows = tuple(
        Table2Row(**{f.name: getattr(row, f.name) for f in fields(StudyRow)}) for row in study.rows
    )
    return Table2Result(rows=rows, records=study.records, config=study.config)


def _check_methods(methods: Sequence[str] | None) -> tuple[str, ...]:
    if methods is None:
        names = tuple(METHODS)
    else:
        if isinstance(methods, str):
            methods = [methods]
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            raise InvalidParameterError(f"unknown methods {unknown}; choose from {list(METHODS)}.")
        if len(set(methods)) != len(methods) or not methods:
            raise InvalidParameterError(
                f"methods must be nonempty, without repeats; got {methods!r}."
            )
        names = tuple(m for m in METHODS if m in methods)  # the paper's order
    for name in names:
        reason = METHODS[name].unavailable_reason()
        if reason:
            raise InvalidParameterError(f"{reason}; pass methods= without it.")
    return names


_CASE_SHORT = {1: "sparse W", 2: "dense W", 3: "Gaussian W"}


def _fmt(value: float | None, published: bool = False) -> str:
    if value is None:
        return "-"
    if math.isnan(value):
        return "nan"
    return f"{value:g}" if published else f"{value:.3g}"  # published digits kept as printed


def _counts_text(counts, sep: str = ";") -> str:
    return sep.join(f"{k} x{v}" for k, v in counts.items())
