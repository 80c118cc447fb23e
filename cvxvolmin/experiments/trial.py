"""Running one method on one trial: timed, its warnings counted, its failure recorded."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

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
