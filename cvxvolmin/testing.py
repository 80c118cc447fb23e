"""The plug-in contract of a formulation, as a check its author runs.

:func:`check_formulation` fits the formulation on small data and checks what
the engine relies on: the constraints mean the same on working sets as on
all samples, sparse input gives the dense answer, the start is usable, the
registry returns the class, and the criterion recovers the truth on the
paper's data where its theory says it must. The suite runs it on every
shipped formulation; a plug-in author calls it from their own tests::

    from cvxvolmin.testing import check_formulation

    def test_my_formulation_keeps_the_contract():
        check_formulation(MyFormulation(0.1))
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np

from .declaration import WORKING_SET_THRESHOLD, build_joint_lp
from .engine import start_violation
from .exceptions import ConvergenceWarning, CvxvolminError, NoisyColumnsWarning
from .factorization import fit
from .formulations import Formulation, RowSumVolMin, available_formulations
from .formulations.base import _REGISTRY, declares_own_start
from .metrics import matched_mse
from .synthetic import make_paper_data

__all__ = ["FormulationContractError", "check_formulation"]

# Relative agreement of the columns of two answers to the same LPs (working
# sets against all samples, sparse against dense), solved by HiGHS to 1e-9.
_SAME = 1e-8
# The matched MSE of an exact recovery (measured 1e-31 to 1e-22 on the paper's data).
_EXACT = 1e-18


class FormulationContractError(AssertionError):
    """A formulation breaks a clause of the plug-in contract (the message names it)."""


def check_formulation(
    formulation: Formulation,
    *,
    rank: int = 4,
    recovery_cases: Sequence[int] | None = None,
    draw: Callable[[int, int, np.random.Generator], tuple] | None = None,
    random_state: int = 0,
) -> dict[str, str]:
    """Check a formulation against the plug-in contract; raise on the first broken clause.

    Parameters
    ----------
    formulation : Formulation
        An instance, configured as it will be used.
    rank : int, default 4
        The rank of the test data.
    recovery_cases : sequence of {1, 2, 3}, optional
        The paper's cases (:func:`cvxvolmin.make_paper_data`) on which the
        fit must recover H exactly. None: where the criterion's model holds
        for the plain criteria, cases 1 to 3 for column-sum criteria and 1
        and 2 (W >= 0) for row-sum ones. Pass ``()`` for a variant whose
        constraints the paper's truth does not satisfy.
    draw : callable, optional
        ``draw(rank, n_samples, rng) -> (X, W, H)``: the data of the
        structural checks (default: the paper's case 3, or case 1 for
        row-sum criteria), drawn at N = 200 and just above the working-set
        threshold.
    random_state : int, default 0

    Returns
    -------
    dict
        Clause name to what was checked (``"skipped: ..."`` when it does
        not apply, e.g. sparse input for a formulation that refuses it).

    Raises
    ------
    FormulationContractError
        Naming the clause and what went wrong (an AssertionError, so that
        a test reports it as a failure).

    Examples
    --------
    >>> import cvxvolmin
    >>> from cvxvolmin.testing import check_formulation
    >>> report = check_formulation(cvxvolmin.ColumnSumVolMin(), recovery_cases=(3,))
    >>> sorted(report)
    ['recovery', 'registry', 'sparse', 'start', 'working sets']
    """
    if not isinstance(formulation, Formulation):
        raise FormulationContractError(f"{formulation!r} is not a Formulation instance.")
    if recovery_cases is None:
        recovery_cases = (1, 2) if isinstance(formulation, RowSumVolMin) else (1, 2, 3)
    if draw is None:
        case = 1 if isinstance(formulation, RowSumVolMin) else 3

        def draw(rank, n, rng):
            return make_paper_data(rank, case=case, n_samples=n, random_state=rng)

    report = {"registry": _registry(formulation)}
    X, _, _ = draw(rank, 200, np.random.default_rng(random_state))
    report["start"] = _start(formulation, X, rank, random_state)
    report["working sets"] = _working_sets(formulation, draw, rank, random_state)
    report["sparse"] = _sparse(formulation, X, rank, random_state)
    report["recovery"] = _recovery(formulation, recovery_cases, rank, random_state)
    return report


def _fit(formulation, X, rank, random_state, *, same_path=False, **options):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoisyColumnsWarning)
            if same_path:  # two fits compared step for step: converged or not, they must agree
                warnings.simplefilter("ignore", ConvergenceWarning)
            return fit(X, rank, formulation=formulation, random_state=random_state, **options)
    except CvxvolminError as exc:
        raise FormulationContractError(
            f"{formulation!r}: the fit raised {type(exc).__name__}: {exc}"
        ) from exc


def _registry(formulation: Formulation) -> str:
    name = formulation.name
    if not name:
        raise FormulationContractError(f"{formulation!r} has no name.")
    if name not in available_formulations():
        return f"skipped: {name!r} is not registered"
    registered = _REGISTRY[name]  # the class: its parameters may have no defaults
    if registered is not type(formulation):
        raise FormulationContractError(
            f"the registry builds {registered.__name__} for {name!r}, not "
            f"{type(formulation).__name__}: two classes share the name."
        )
    return f"get_formulation({name!r}) builds a {registered.__name__}"


def _start(formulation: Formulation, X, rank: int, random_state: int) -> str:
    reduction = formulation.reduce(X, rank)
    if formulation.coupled and not declares_own_start(formulation):
        _fit(formulation, X, rank, random_state)
        return "coupled: the engine finds a feasible start (phase one) and the fit runs"
    Q = np.asarray(formulation.initial_Q(reduction, np.random.default_rng(random_state)))
    if Q.shape != (rank, rank) or not np.all(np.isfinite(Q)):
        raise FormulationContractError(
            f"initial_Q returned shape {Q.shape} (finite: {bool(np.all(np.isfinite(Q)))}); "
            f"it must be a finite {rank} x {rank} array."
        )
    if np.linalg.matrix_rank(Q) < rank:
        raise FormulationContractError(
            "initial_Q returned a singular Q; the start must be nonsingular."
        )
    if formulation.coupled:
        lp = build_joint_lp(formulation, reduction, "HIGHS")
        violation = start_violation(lp, Q)
        if violation > 1e-9:
            raise FormulationContractError(
                f"initial_Q's start misses the constraints by {violation:.3g} (relative); a "
                "coupled formulation's own start must be feasible (or left to the engine)."
            )
    _fit(formulation, X, rank, random_state)
    return "initial_Q is a nonsingular start and the fit runs"


def _working_sets(formulation, draw, rank: int, random_state: int) -> str:
    if not formulation.column_separable:
        return "skipped: not column_separable (the LPs always hold every sample)"
    n = WORKING_SET_THRESHOLD + 100
    X, _, _ = draw(rank, n, np.random.default_rng(random_state + 1))
    on_sets = _fit(formulation, X, rank, random_state, same_path=True, working_set=True)
    whole = _fit(formulation, X, rank, random_state, same_path=True, working_set=False)
    _agree(on_sets.H, whole.H, f"working sets at N = {n}", "the LPs over all samples")
    return f"at N = {n} the working-set fit equals the fit over all samples"


def _sparse(formulation: Formulation, X, rank: int, random_state: int) -> str:
    if not formulation.accepts_sparse:
        return "skipped: accepts_sparse is False (sparse X is refused)"
    import scipy.sparse

    sparse = _fit(formulation, scipy.sparse.csc_matrix(X), rank, random_state)
    dense = _fit(formulation, X, rank, random_state)
    _agree(sparse.H, dense.H, "sparse X", "dense X")
    return "sparse X gives the dense fit"


def _recovery(formulation, cases: Sequence[int], rank: int, random_state: int) -> str:
    if not cases:
        return "skipped: no case given"
    for case in cases:
        X, _, H = make_paper_data(rank, case=case, random_state=random_state)
        error = matched_mse(H, _fit(formulation, X, rank, random_state).H)
        if not error < _EXACT:
            raise FormulationContractError(
                f"on the paper's case {case} (r = {rank}) the fit's matched MSE of H is "
                f"{error:.3g}, not an exact recovery (< {_EXACT:g}); pass recovery_cases "
                "without it if the formulation's theory does not promise recovery there."
            )
    return f"exact recovery on the paper's cases {list(cases)}"


def _agree(A: np.ndarray, B: np.ndarray, what: str, reference: str) -> None:
    # Matched up to order and sign (for a symmetric set such as the box both
    # signs of a row are optima; the engine's choice is no part of the contract),
    # and relative: unit columns, so an MSE of 1e-16 is a relative error of 1e-8.
    error = matched_mse(B, A, signs=True) if A.shape == B.shape else np.inf
    if not error <= _SAME**2:
        raise FormulationContractError(
            f"{what} gives a different H than {reference} (matched MSE {error:.3g}): the "
            "constraints do not mean the same on both (a sum or slice of row.h written for "
            "column_separable = True?)."
        )
