"""One method on one trial (timed, warnings counted, failure recorded); a cell's statistics."""

from __future__ import annotations

import math
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np


@dataclass(frozen=True)
class Outcome:
    """What one call of a method gave.

    Attributes
    ----------
    estimate : ndarray or None
        The method's H, or None when it raised.
    error : Exception or None
        What it raised (recorded, not raised: one bad trial must not end a run).
    time_s : float
        Wall-clock time of the call.
    warnings : tuple of str
        The category name of every warning it gave.
    """

    estimate: np.ndarray | None
    error: Exception | None
    time_s: float
    warnings: tuple[str, ...]


def run_method(call: Callable[[], np.ndarray]) -> Outcome:
    """Call ``call()`` with every warning recorded and any exception caught."""
    estimate, error = None, None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        try:
            estimate = call()
        except Exception as exc:  # recorded by the caller, the run goes on
            error = exc
        elapsed = time.perf_counter() - start
    return Outcome(estimate, error, elapsed, tuple(w.category.__name__ for w in caught))


def cell_statistics(records: Sequence) -> dict:
    """The statistics of one table cell from its trial records.

    Each record has ``mse``, ``time_s``, ``error`` (None when the method
    returned an estimate) and ``warnings``. The MSE statistics cover the
    records without an error (nan when there is none); ``median_time_s``
    covers all of them. Returns the keyword arguments shared by the row
    types of Table 2 and of the SNR study.
    """
    mses = np.array([r.mse for r in records if r.error is None])
    mean, median, largest = (
        (float(mses.mean()), float(np.median(mses)), float(mses.max()))
        if mses.size
        else (math.nan,) * 3
    )
    return {
        "mean_mse": mean,
        "median_mse": median,
        "max_mse": largest,
        "median_time_s": float(np.median([r.time_s for r in records])),
        "trials": len(records),
        "n_failed": len(records) - int(mses.size),
        "warnings": MappingProxyType(dict(Counter(w for r in records for w in r.warnings))),
        "errors": MappingProxyType(dict(Counter(r.error for r in records if r.error))),
    }


def json_float(value: float) -> float | None:
    """A float for JSON: nan becomes None."""
    return None if math.isnan(value) else float(value)
