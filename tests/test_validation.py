"""Bad input through the API: a clear error before any solver runs."""

from __future__ import annotations

import numpy as np
import pytest

import cvxvolmin
from cvxvolmin import InvalidParameterError, fit, validation


@pytest.fixture
def X():
    return cvxvolmin.make_paper_data(3, case=3, n_features=20, n_samples=30, random_state=0)[0]


@pytest.fixture
def no_solver(monkeypatch):
    """Fail the test if any LP or QP is declared: bad input must be refused first."""
    import cvxvolmin.lp
    import cvxvolmin.robust.h_step

    def refuse(*args, **kwargs):
        raise AssertionError("a solver was set up before the bad input was refused")

    monkeypatch.setattr(cvxvolmin.lp.RowLP, "__init__", refuse)
    monkeypatch.setattr(cvxvolmin.robust.h_step.DeclaredQP, "__init__", refuse)
    monkeypatch.setattr(cvxvolmin.robust.h_step.ProjectedGradient, "solve", refuse)


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (None, TypeError, "X is None"),
        (np.array([[1, 2], [3, 4]], dtype=object), TypeError, "dtype object"),
        (np.ones((3, 3)) * 1j, TypeError, "complex"),
        (np.array([["a", "b"], ["c", "d"]]), TypeError, "non-numeric dtype"),
        (np.ones(5), ValueError, r"must be a 2-D array .*got shape \(5,\)"),
        (np.ones((2, 2, 2)), ValueError, "must be a 2-D array"),
        (np.ones((0, 4)), ValueError, "is empty"),
    ],
)
def test_malformed_X(data, error, message, no_solver):
    with pytest.raises(InvalidParameterError, match=message):
        fit(data, 1)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X(X, bad):
    X = X.copy()
    X[1, 2] = bad
    X[4, 5] = bad
    with pytest.raises(ValueError, match="X contains 2 NaN or infinite entries"):
        fit(X, 3)


def test_sparse_X_needs_a_formulation_that_accepts_it(X):
    import scipy.sparse

    with pytest.raises(TypeError, match=r"'row-sum' needs a dense X; pass X.toarray\(\)"):
        fit(scipy.sparse.csr_matrix(np.abs(X)), 3, formulation="row-sum")


def test_sparse_X_with_nan_is_refused(X):
    import scipy.sparse

    A = scipy.sparse.csr_matrix(X)
    A.data[3] = np.nan
    with pytest.raises(ValueError, match="X contains 1 NaN or infinite entries"):
        fit(A, 3)


@pytest.mark.parametrize(
    ("rank", "error", "message"),
    [
        (0, ValueError, "rank must be at least 1"),
        (21, ValueError, r"rank=21 exceeds min\(M, N\) = 20"),
        (2.5, TypeError, "rank must be a positive integer"),
        (True, TypeError, "rank must be a positive integer"),
        ("3", TypeError, "rank must be a positive integer"),
    ],
)
def test_bad_rank(X, rank, error, message, no_solver):
    with pytest.raises(InvalidParameterError, match=message):
        fit(X, rank)


def test_rank_above_the_numerical_rank_names_the_singular_values(X):
    with pytest.raises(ValueError, match=r"numerical rank 3, less than rank=4 \(leading singular"):
        fit(X, 4)


def test_zero_matrix_has_rank_zero():
    with pytest.raises(ValueError, match="X is numerically zero"):
        fit(np.zeros((4, 5)), 1)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"solver": "NOPE"}, ValueError, "solver 'NOPE' is not an installed cvxpy solver"),
        ({"formulation": "nope"}, ValueError, "unknown formulation 'nope'; available: "),
        ({"formulation": 3}, TypeError, "formulation must be a name"),
        ({"max_iter": 0}, ValueError, "max_iter must be a positive integer"),
        ({"tol": -1.0}, ValueError, "tol must be a finite nonnegative number"),
        ({"random_state": "seed"}, TypeError, "random_state must be None, an int"),
        ({"max_iter": "5"}, TypeError, "max_iter must be a positive integer"),
        ({"callback": 42}, TypeError, "callback must be None or a callable"),
        ({"verbose": "yes"}, TypeError, "verbose must be True or False"),
        ({"working_set": 1.5}, TypeError, "working_set must be None, True or False"),
        ({"solver": "OSQP"}, ValueError, "'OSQP' is a first-order solver .* use one of .*HIGHS"),
        ({"solver": "SCS"}, ValueError, "'SCS' is a first-order solver"),
        ({"formulation": "column-sum", "tol": float("nan")}, ValueError, "tol must be a finite"),
    ],
)
def test_bad_options(X, kwargs, error, message, no_solver):
    with pytest.raises(InvalidParameterError, match=message):
        fit(X, 3, **kwargs)


def test_bad_rho():
    with pytest.raises(ValueError, match="rho must be positive"):
        cvxvolmin.ColumnSumVolMin(rho=0.0)


def test_invalid_parameter_error_is_both_value_and_type_error_and_a_library_error():
    error = InvalidParameterError("bad")
    assert isinstance(error, ValueError)
    assert isinstance(error, TypeError)
    assert isinstance(error, cvxvolmin.CvxvolminError)
    # the run-time errors share the base, and are not parameter errors
    for run_time in (cvxvolmin.InfeasibleError, cvxvolmin.DegenerateError):
        assert issubclass(run_time, cvxvolmin.CvxvolminError)
        assert not issubclass(run_time, InvalidParameterError)
    assert issubclass(cvxvolmin.SolverFailedError, RuntimeError)


def test_a_bound_no_column_can_meet_is_refused_before_any_solver(X, no_solver):
    with pytest.raises(InvalidParameterError, match=r"upper=0.001 is below rho / N"):
        fit(X, 3, formulation=cvxvolmin.BoundedAbundanceVolMin(upper=0.001))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"solver": "HIGHS"}, "cannot solve the H update, a convex QP"),
        ({"verbose": 1}, "verbose must be True or False"),
        ({"delta": 0.0}, "delta must be positive"),
        ({"lam": -1.0}, "lam must be a finite nonnegative number"),
        ({"formulation": "no-such"}, "unknown formulation 'no-such'"),
        ({"h_solver": "newton"}, "h_solver must be one of 'auto', 'projected-gradient', 'qp'"),
        ({"subspace": 3}, "subspace must be one of 'principal', 'full'; got 3"),
        ({"callback": "print"}, "callback must be None or a callable"),
        ({"max_iter": 2.0}, "max_iter must be a positive integer"),
    ],
)
def test_fit_robust_bad_options(X, kwargs, message, no_solver):
    with pytest.raises(InvalidParameterError, match=message):
        cvxvolmin.fit_robust(X, 3, **kwargs)


def test_accurate_lp_solvers_other_than_highs_still_fit(X):
    """The solver check refuses first-order solvers only: ECOS and CLARABEL are exact."""
    reference = fit(X, 3, random_state=0).H
    for solver in ("ECOS", "CLARABEL"):
        H = fit(X, 3, solver=solver, random_state=0).H
        assert cvxvolmin.matched_mse(reference, H) <= 1e-12
        assert H.min() >= -1e-8 * np.abs(H).max()


# -- the checks one by one: what they accept, return and say ------------------------


def test_check_matrix_returns_float64_copies_unless_told_otherwise():
    ints = np.arange(6).reshape(2, 3)
    for given in (ints, ints.astype(bool), ints.astype(np.float32)):
        out = validation.check_matrix(given)
        assert out.dtype == np.float64 and np.array_equal(out, given)
    floats = np.ones((2, 3))
    copied = validation.check_matrix(floats)
    assert not np.shares_memory(copied, floats)
    assert np.shares_memory(validation.check_matrix(floats, copy=False), floats)
    # ints must still be converted with copy=False
    assert validation.check_matrix(ints, copy=False).dtype == np.float64


def test_check_matrix_messages_name_the_problem_and_the_fix():
    import scipy.sparse

    X = np.ones((3, 3))
    X[0, 0] = np.nan
    with pytest.raises(InvalidParameterError, match="impute them before fitting"):
        validation.check_matrix(X)
    with pytest.raises(InvalidParameterError, match=r"pass H.toarray\(\)"):
        validation.check_matrix(scipy.sparse.eye(3), "H")
    with pytest.raises(InvalidParameterError, match="objects are never converted implicitly"):
        validation.check_matrix(np.ones((2, 2), dtype=object))
    with pytest.raises(InvalidParameterError, match=r"H is None; pass a 2-D numeric array \(o\)"):
        validation.check_matrix(None, "H", "o")


@pytest.mark.parametrize("shape", [(0, 3), (3, 0)])
def test_sparse_empty_is_refused_and_thin_sparse_is_accepted(shape):
    import scipy.sparse

    with pytest.raises(InvalidParameterError, match="is empty"):
        validation.check_matrix(scipy.sparse.csr_matrix(shape), accept_sparse=True)
    for thin in [(1, 5), (5, 1)]:
        out = validation.check_matrix(scipy.sparse.csr_matrix(np.ones(thin)), accept_sparse=True)
        assert out.shape == thin


def test_sparse_input_comes_back_as_float64_csc_and_complex_is_refused():
    import scipy.sparse

    out = validation.check_matrix(
        scipy.sparse.csr_matrix(np.arange(6).reshape(2, 3)), accept_sparse=True
    )
    assert out.format == "csc" and out.dtype == np.float64
    assert np.array_equal(out.toarray(), np.arange(6).reshape(2, 3))
    with pytest.raises(InvalidParameterError, match="must hold real numbers"):
        validation.check_matrix(scipy.sparse.csr_matrix(np.eye(2) * 1j), accept_sparse=True)


def test_integer_checks_accept_their_boundaries():
    assert validation.check_positive_int(1, "n") == 1
    assert validation.check_rank(3, (3, 5)) == 3
    assert validation.check_rank(1, (3, 5)) == 1
    assert validation.check_nonnegative_float(0, "tol") == 0.0
    with pytest.raises(InvalidParameterError, match=r"max_iter must be a positive integer; got 0"):
        validation.check_positive_int(0, "max_iter")


def test_bool_and_callback_checks_accept_valid_values():
    assert validation.check_bool(True, "v") is True
    assert validation.check_bool(np.False_, "v") is False
    with pytest.raises(InvalidParameterError, match="v must be True or False; got 1"):
        validation.check_bool(1, "v")

    def callback(step, logdet):
        return None

    assert validation.check_callback(callback) is callback
    assert validation.check_callback(None) is None


def test_random_states_are_deterministic():
    draw = lambda rs: validation.check_random_state(rs).standard_normal(3)  # noqa: E731
    assert np.array_equal(draw(7), draw(7))
    assert not np.array_equal(draw(7), draw(8))
    legacy = np.random.default_rng(np.random.RandomState(0).randint(2**31)).standard_normal(3)
    assert np.array_equal(draw(np.random.RandomState(0)), legacy)
    generator = np.random.default_rng(3)
    assert validation.check_random_state(generator) is generator
    with pytest.raises(InvalidParameterError, match=r"random_state \(the seed\) must be >= 0"):
        validation.check_random_state(-1)


def test_the_lp_solver_refusal_lists_only_installed_accurate_solvers():
    import cvxpy as cp

    with pytest.raises(InvalidParameterError) as caught:
        validation.check_lp_solver("OSQP")
    listed = str(caught.value).split("use one of ")[1].split(" (HIGHS")[0].split(", ")
    assert set(listed) == validation.LP_SOLVERS & set(cp.installed_solvers())
    assert "OSQP" not in listed and "HIGHS" in listed
    assert validation.check_lp_solver("highs") == "HIGHS"


@pytest.mark.parametrize("dtype", [bool, np.int32, np.uint8, np.float32])
def test_a_dask_array_comes_back_lazy_as_float64_with_its_values(dtype):
    da = pytest.importorskip("dask.array")
    from cvxvolmin.data import is_dask

    values = (np.arange(12).reshape(3, 4) % 2).astype(dtype)
    out = validation.check_matrix(da.from_array(values, chunks=(3, 2)), accept_sparse=True)
    assert is_dask(out) and out.dtype == np.float64
    assert np.array_equal(out.compute(), values.astype(np.float64))
    # where lazy input is not accepted it is read into memory as any array-like
    dense = validation.check_matrix(da.from_array(values, chunks=(3, 2)))
    assert isinstance(dense, np.ndarray) and np.array_equal(dense, values)


def test_a_dask_array_is_checked_like_any_other():
    da = pytest.importorskip("dask.array")

    def check(values):
        return validation.check_matrix(da.from_array(values), "X", "o", accept_sparse=True)

    with pytest.raises(InvalidParameterError, match=r"X must be 2-D \(o\); got shape \(4,\)"):
        check(np.ones(4))
    for shape in [(0, 3), (3, 0)]:
        with pytest.raises(InvalidParameterError, match=r"X is empty \(shape \(\d, \d\)\)"):
            check(np.ones(shape))
    for bad in [np.ones((2, 2)) * 1j, np.array([["a", "b"]])]:
        with pytest.raises(InvalidParameterError, match="X must hold real numbers; got dtype"):
            check(bad)


def test_check_matrix_names_x_and_its_orientation_by_default():
    with pytest.raises(
        InvalidParameterError, match=r"^X is None; .* \(M x N, samples as columns\)"
    ):
        validation.check_matrix(None)


@pytest.mark.parametrize(
    "formulation",
    [
        *(name for name in cvxvolmin.available_formulations() if name != "bounded-abundance"),
        cvxvolmin.BoundedAbundanceVolMin(upper=2.0),  # the one that needs a parameter
    ],
    ids=str,
)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_large_X_is_refused_before_any_solver(bad, formulation, no_solver):
    # Large and wide: for the default hooks the Gram pass is the finiteness check, the
    # formulations that read X first themselves (row-sum, bounded-abundance) count first.
    X = cvxvolmin.make_paper_data(4, case=3, n_features=40, n_samples=30_000, random_state=3)[0]
    X[5, 20_000] = bad
    with pytest.raises(InvalidParameterError, match="X contains 1 NaN or infinite entries"):
        fit(X, 4, formulation=formulation)
