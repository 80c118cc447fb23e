"""Input checks shared by the public API and the command line."""

from __future__ import annotations

import numbers

import numpy as np

from .data import as_data, is_dask, is_sparse, nonfinite_message
from .exceptions import InvalidParameterError


def check_matrix(
    X,
    name: str = "X",
    orientation: str = "M x N, samples as columns",
    *,
    copy: bool = True,
    accept_sparse: bool = False,
    check_finite: bool = True,
):
    """Return a finite, nonempty 2-D float64 array (or sparse matrix), or raise.

    Parameters
    ----------
    copy : bool, default True
        Return a copy even when X is already float64. Callers that never
        write into the result pass False (no extra M x N memory); the
        caller's array is never modified either way.
    accept_sparse : bool, default False
        Accept a ``scipy.sparse`` matrix, returned in CSC format, or a
        ``dask.array`` (the ``dask`` extra), returned as float64 dask array
        (not loaded: its entries are checked in the fit's first pass).
    check_finite : bool, default True
        Count NaN and infinite entries (one pass over X). False for a caller
        whose first pass over X checks them anyway, before any solver:
        :func:`cvxvolmin.reduction.svd_reduction` does, in the Gram matrix's
        pass (:meth:`cvxvolmin.data.DenseData.gram`) or by a count where that
        is cheap.
    """
    if X is None:
        raise InvalidParameterError(f"{name} is None; pass a 2-D numeric array ({orientation}).")
    if is_sparse(X):
        if not accept_sparse:
            raise InvalidParameterError(
                f"{name} is a sparse matrix; this path needs a dense array: pass {name}.toarray()."
            )
        return _check_sparse(X, name, orientation, check_finite)
    if is_dask(X) and accept_sparse:
        return _check_dask(X, name, orientation)
    arr = np.asarray(X)
    if arr.dtype == object:
        raise InvalidParameterError(
            f"{name} has dtype object; pass a numeric array (objects are never "
            "converted implicitly)."
        )
    if np.iscomplexobj(arr):
        raise InvalidParameterError(f"{name} is complex; pass a real-valued array.")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InvalidParameterError(
            f"{name} has non-numeric dtype {arr.dtype}; pass a numeric array."
        )
    if arr.ndim != 2:
        raise InvalidParameterError(
            f"{name} must be a 2-D array ({orientation}); got shape {arr.shape}."
        )
    if arr.size == 0:
        raise InvalidParameterError(
            f"{name} is empty (shape {arr.shape}); it needs at least one entry."
        )
    arr = np.array(arr, dtype=np.float64, copy=True) if copy else arr.astype(np.float64, copy=False)
    if check_finite:
        _check_finite(arr, name)
    return arr


def _check_finite(X, name: str) -> None:
    bad = as_data(X).count_nonfinite()  # one pass, block by block
    if bad:
        raise InvalidParameterError(nonfinite_message(name, bad))


def _check_matrix_shape(X, name: str, orientation: str) -> None:
    """2-D with at least one entry: checked from the shape alone (sparse or lazy X)."""
    if X.ndim != 2:
        raise InvalidParameterError(f"{name} must be 2-D ({orientation}); got shape {X.shape}.")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise InvalidParameterError(
            f"{name} is empty (shape {X.shape}); it needs at least one entry."
        )


def _check_sparse(X, name: str, orientation: str, check_finite: bool = True):
    import scipy.sparse

    _check_matrix_shape(X, name, orientation)
    if X.dtype == object or np.iscomplexobj(X.data):
        raise InvalidParameterError(f"{name} must hold real numbers; got dtype {X.dtype}.")
    X = scipy.sparse.csc_matrix(X, dtype=np.float64)
    if check_finite:
        _check_finite(X, name)
    return X


def _check_dask(X, name: str, orientation: str):
    """Shape and dtype from the metadata; no chunk is read here.

    NaN and infinite entries are found by the fit's first pass (the Gram
    matrix is finite exactly when they are: see
    :class:`cvxvolmin.data.DaskData`), which raises the same error before any
    solver runs: a pass of its own would read the store once more.
    """
    _check_matrix_shape(X, name, orientation)
    kind = np.dtype(X.dtype).kind
    if kind not in "biuf":
        raise InvalidParameterError(f"{name} must hold real numbers; got dtype {X.dtype}.")
    return X.astype(np.float64)


def check_rank(rank, shape: tuple[int, int]) -> int:
    """Check that ``rank`` is an integer in ``[1, min(shape)]``."""
    if isinstance(rank, bool) or not isinstance(rank, numbers.Integral):
        raise InvalidParameterError(f"rank must be a positive integer; got {rank!r}.")
    rank = int(rank)
    limit = min(shape)
    if rank < 1:
        raise InvalidParameterError(f"rank must be at least 1; got {rank}.")
    if rank > limit:
        raise InvalidParameterError(
            f"rank={rank} exceeds min(M, N) = {limit} for X of shape {shape}; "
            f"choose rank <= {limit}."
        )
    return rank


def check_positive_int(value, name: str) -> int:
    """Check that ``value`` is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InvalidParameterError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


def check_nonnegative_float(value, name: str) -> float:
    """Check that ``value`` is a finite real number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(f"{name} must be a nonnegative number; got {value!r}.")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise InvalidParameterError(f"{name} must be a finite nonnegative number; got {value!r}.")
    return value


def check_solver(solver) -> str:
    """Check that ``solver`` names an installed cvxpy solver; return its name."""
    import cvxpy as cp

    installed = cp.installed_solvers()
    if not isinstance(solver, str) or solver.upper() not in installed:
        raise InvalidParameterError(
            f"solver {solver!r} is not an installed cvxpy solver; installed: "
            f"{', '.join(sorted(installed))}."
        )
    return solver.upper()


#: cvxpy solvers whose LP answers meet the exact path's contract: a simplex
#: vertex or an interior-point optimum, feasible to about 1e-8 relative.
#: First-order solvers (OSQP, SCS) stop at tolerances of 1e-4 to 1e-6 and
#: return rows of Q whose H violates ``H >= 0`` (measured: OSQP by 5e-8 on
#: entries of order 1e-2); every later row update builds on them.
LP_SOLVERS = frozenset(
    {"HIGHS", "ECOS", "CLARABEL", "SCIPY", "GLPK", "CBC", "CVXOPT", "MOSEK", "GUROBI"}
    | {"CPLEX", "SCIP", "COPT", "XPRESS", "PIQP"}
)


def check_lp_solver(solver) -> str:
    """Check that ``solver`` is an installed cvxpy solver that solves LPs accurately."""
    import cvxpy as cp

    name = check_solver(solver)
    if name not in LP_SOLVERS:
        usable = sorted(LP_SOLVERS & set(cp.installed_solvers()))
        raise InvalidParameterError(
            f"solver {name!r} is a first-order solver whose LP answers are only accurate "
            "to its tolerances (about 1e-5), not to the H >= 0 the exact criteria "
            f"promise; use one of {', '.join(usable)} (HIGHS is the default)."
        )
    return name


def check_bool(value, name: str) -> bool:
    """Check that ``value`` is a bool (numpy bools included)."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name} must be True or False; got {value!r}.")
    return bool(value)


def check_callback(callback, name: str = "callback"):
    """Check that ``callback`` is None or callable."""
    if callback is not None and not callable(callback):
        raise InvalidParameterError(
            f"{name} must be None or a callable taking (step, logdet); got {callback!r}."
        )
    return callback


def check_random_state(random_state) -> np.random.Generator:
    """Turn None, an int seed or a Generator into a ``numpy.random.Generator``."""
    if random_state is None or isinstance(random_state, numbers.Integral):
        if isinstance(random_state, bool):
            raise InvalidParameterError(
                f"random_state must be None, an int or a Generator; got {random_state!r}."
            )
        if random_state is not None and random_state < 0:
            raise InvalidParameterError(
                f"random_state (the seed) must be >= 0; got {random_state}."
            )
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**31))
    raise InvalidParameterError(
        f"random_state must be None, an int or a numpy Generator; got {random_state!r}."
    )
