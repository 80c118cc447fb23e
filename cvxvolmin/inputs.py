"""The front door that :func:`cvxvolmin.fit` and :func:`cvxvolmin.robust.fit_robust` share.

Both factor ``X ≈ W @ H.T`` under a formulation's constraints, so they check
their common inputs, resolve the formulation and check the data against it
here, and report an exhausted budget alike; each then checks only the
parameters of its own solver. Both normalize the columns of X by the
formulation's :meth:`~cvxvolmin.Formulation.column_scale`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .data import is_dask, is_sparse
from .exceptions import ConvergenceWarning, InvalidParameterError
from .formulations import Formulation, get_formulation
from .validation import (
    check_bool,
    check_callback,
    check_matrix,
    check_nonnegative_float,
    check_positive_int,
    check_random_state,
    check_rank,
)


@dataclass(frozen=True)
class FitInputs:
    """The checked inputs common to every fit."""

    X: object  # float64 ndarray, or scipy.sparse CSC or dask array when the path accepts it
    rank: int
    formulation: Formulation
    max_iter: int
    tol: float
    rng: np.random.Generator
    verbose: bool
    callback: Callable[[int, float], None] | None


def check_fit_inputs(
    X,
    rank,
    *,
    formulation,
    max_iter,
    tol,
    random_state,
    verbose,
    callback,
    sparse_hint: str | None,
) -> FitInputs:
    """Check the inputs every fit takes, and the data against the formulation.

    Parameters
    ----------
    sparse_hint : str or None
        None when the caller accepts ``scipy.sparse`` X for formulations that
        do (``Formulation.accepts_sparse``); otherwise what to do instead,
        for the message that refuses sparse X.

    Raises
    ------
    cvxvolmin.InvalidParameterError
        Naming the parameter and what to pass instead; no solver has run.
    """
    form = get_formulation(formulation)
    # The default reduction's first pass, the Gram matrix, is also the finiteness check
    # (DenseData.gram; the other paths count): a separate count would read X once more.
    # A formulation with its own reduce, column_scale or check_data reads X first itself.
    default_reads = sparse_hint is None and all(
        getattr(type(form), hook) is getattr(Formulation, hook)
        for hook in ("reduce", "column_scale", "check_data")
    )
    # No fit writes into X, so no copy is needed (memory: X can be large).
    X = check_matrix(X, copy=False, accept_sparse=True, check_finite=not default_reads)
    if is_sparse(X):
        if sparse_hint is not None:
            raise InvalidParameterError(f"X is a sparse matrix; {sparse_hint}")
        if not form.accepts_sparse:
            raise InvalidParameterError(
                f"formulation {form.name!r} needs a dense X; pass X.toarray() or use "
                "formulation='column-sum', which accepts scipy.sparse input."
            )
    if is_dask(X) and (sparse_hint is not None or not form.accepts_sparse):
        # The default reduction reads any DataMatrix; other paths need numpy.
        raise InvalidParameterError(
            f"X is a dask array, which only fit with a formulation on the default "
            f"reduction reads chunk by chunk (formulation {form.name!r} here); pass "
            "X.compute() to load it, or use cvxvolmin.fit(X, rank) (column-sum)."
        )
    inputs = FitInputs(
        X=X,
        rank=check_rank(rank, X.shape),
        formulation=form,
        max_iter=check_positive_int(max_iter, "max_iter"),
        tol=check_nonnegative_float(tol, "tol"),
        rng=check_random_state(random_state),
        verbose=check_bool(verbose, "verbose"),
        callback=check_callback(callback),
    )
    form.check_data(X)
    return inputs


def warn_not_converged(max_iter: int, steps: str, objective: str, last_change: str) -> None:
    """The ConvergenceWarning of a fit whose ``max_iter`` budget ran out, at the user's line.

    Parameters
    ----------
    steps, objective : str
        What was counted and what did not settle ("steps", "log|det Q|").
    last_change : str
        The last step's change of the objective, formatted.
    """
    warnings.warn(
        f"stopped after max_iter={max_iter} {steps} before {objective} settled "
        f"({last_change}); increase max_iter or tol.",
        ConvergenceWarning,
        stacklevel=3,
    )
