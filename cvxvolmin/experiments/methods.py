"""The methods compared in the paper's experiments and the noise study, by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ..baselines import plain_nmf
from ..factorization import fit
from ..formulations import available_formulations, get_formulation
from ..robust.solver import fit_robust


@dataclass(frozen=True)
class Method:
    """One method of a comparison.

    Attributes
    ----------
    name : str
        Short name (``"plain-nmf"``, ``"row-sum"``, ``"column-sum"``).
    label : str
        The paper's row label.
    estimate_H : callable
        ``estimate_H(X, rank, rng)`` returns the estimated H (N x r).
    formulation : str or None
        The ``fit`` formulation the method needs, if any.
    """

    name: str
    label: str
    estimate_H: Callable[[np.ndarray, int, np.random.Generator], np.ndarray]
    formulation: str | None = None

    def unavailable_reason(self) -> str | None:
        """Why the method cannot run in this installation, or None when it can."""
        if self.formulation is not None and self.formulation not in available_formulations():
            return (
                f"method {self.name!r} needs the {self.formulation!r} formulation, which is "
                f"not registered (available: {', '.join(available_formulations())})"
            )
        return None


def _plain_nmf(X: np.ndarray, rank: int, rng: np.random.Generator) -> np.ndarray:
    return plain_nmf(X, rank, random_state=rng).H


def _row_sum(X: np.ndarray, rank: int, rng: np.random.Generator) -> np.ndarray:
    # "Normalized" as in the paper: every column divided by its l1 norm, also
    # for mixed-sign data (the default "auto" leaves mixed-sign data alone).
    form = get_formulation("row-sum", normalize="l1")
    return fit(X, rank, formulation=form, random_state=rng).H


def _column_sum(X: np.ndarray, rank: int, rng: np.random.Generator) -> np.ndarray:
    return fit(X, rank, formulation="column-sum", random_state=rng).H


def _robust_column_sum(X: np.ndarray, rank: int, rng: np.random.Generator) -> np.ndarray:
    return fit_robust(X, rank, random_state=rng).H


def _robust_row_sum(X: np.ndarray, rank: int, rng: np.random.Generator) -> np.ndarray:
    # l1-normalized, like the exact row-sum method of Table 2.
    form = get_formulation("row-sum", normalize="l1")
    return fit_robust(X, rank, formulation=form, random_state=rng).H


#: The methods of Table 2, in the paper's row order.
METHODS: MappingProxyType[str, Method] = MappingProxyType(
    {
        "plain-nmf": Method("plain-nmf", "Plain NMF", _plain_nmf),
        "row-sum": Method("row-sum", "VolMin (row-sum, normalized)", _row_sum, "row-sum"),
        "column-sum": Method("column-sum", "Proposed (column-sum)", _column_sum, "column-sum"),
    }
)

#: The volume-regularized criteria of :func:`cvxvolmin.fit_robust`, for noisy data.
ROBUST_METHODS: MappingProxyType[str, Method] = MappingProxyType(
    {
        "robust-column-sum": Method(
            "robust-column-sum", "Robust column-sum", _robust_column_sum, "column-sum"
        ),
        "robust-row-sum": Method(
            "robust-row-sum", "Robust row-sum, normalized", _robust_row_sum, "row-sum"
        ),
    }
)
