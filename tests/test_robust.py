"""Volume-regularized column-sum VolMin (cvxvolmin.robust) on exact and noisy data."""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cvxvolmin
from cvxvolmin.robust import DEFAULT_SNR_METHODS, add_noise, fit_robust, run_snr_study
from cvxvolmin.robust import solver as robust_solver


def _exact_mse(X: np.ndarray, H: np.ndarray) -> float:
    """MSE of the exact fit, inf when noise leaves it without a feasible point."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", cvxvolmin.NoisyColumnsWarning)
            return cvxvolmin.matched_mse(H, cvxvolmin.fit(X, 5, random_state=0).H)
    except (cvxvolmin.InfeasibleError, cvxvolmin.DegenerateError):
        return np.inf


def _assert_feasible(H: np.ndarray) -> None:
    assert H.min() >= 0.0
    np.testing.assert_allclose(H.sum(axis=0), 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", [1, 2, 3])
def test_exact_on_noiseless_data(case):
    X, _, H = cvxvolmin.make_paper_data(5, case=case, random_state=0)
    result = fit_robust(X, 5, random_state=0)
    assert cvxvolmin.matched_mse(H, result.H) <= 1e-12
    assert result.init == "exact"
    assert result.fit_error < 1e-12
    _assert_feasible(result.H)


def test_beats_the_exact_criterion_at_20_db():
    # Case 3 (Gaussian W), r = 5: the exact fit is far off or infeasible here.
    exact, robust = [], []
    for seed in range(3):
        X, _, H = cvxvolmin.make_paper_data(5, case=3, random_state=seed)
        noisy = add_noise(X, 20.0, random_state=100 + seed)
        exact.append(_exact_mse(noisy, H))
        result = fit_robust(noisy, 5, random_state=0)
        robust.append(cvxvolmin.matched_mse(H, result.H))
        _assert_feasible(result.H)
        assert result.converged
        residual_sq = (result.fit_error * np.linalg.norm(noisy)) ** 2
        assert np.all(np.diff(result.objective_history) <= 1e-12 * residual_sq)
    assert np.median(exact) > 1e-2  # the exact method does fail here
    assert np.median(robust) < 1e-2
    assert np.median(robust) < np.median(exact) / 10


def _opposite_to_the_sum(X: np.ndarray) -> np.ndarray:
    # Low energy, opposite to the sum of the columns: the conic hull of the
    # data holds a line, so the exact criterion has no feasible point.
    return -0.05 * X.sum(axis=1, keepdims=True) / X.shape[1]


def _opposite_to_a_column(X: np.ndarray) -> np.ndarray:
    # -x_0 beside x_0: every feasible row is orthogonal to x_0, so the feasible
    # set lies in a hyperplane and holds no nonsingular Q.
    return -0.1 * X[:, [0]]


VANISHING = [
    pytest.param(_opposite_to_the_sum, cvxvolmin.InfeasibleError, id="infeasible"),
    pytest.param(_opposite_to_a_column, cvxvolmin.DegenerateError, id="degenerate"),
]


@pytest.mark.parametrize(("extra_column", "error"), VANISHING)
def test_vanishing_feasible_set(extra_column, error):
    X, _, H = cvxvolmin.make_paper_data(5, case=3, random_state=0)
    X_bad = np.hstack([X, extra_column(X)])
    with pytest.raises(error):
        cvxvolmin.fit(X_bad, 5, random_state=0)
    result = fit_robust(X_bad, 5, random_state=0)
    assert result.init != "exact"
    assert f"exact fit on all columns: {error.__name__}" in result.init_note
    _assert_feasible(result.H)
    # The original columns are still well recovered.
    assert cvxvolmin.matched_mse(H, result.H[:-1]) < 1e-3


# The exact path's errors point noisy-data users to fit_robust.
@pytest.mark.parametrize(("extra_column", "error"), VANISHING)
def test_exact_errors_point_to_the_robust_solver(extra_column, error):
    X, _, _ = cvxvolmin.make_paper_data(5, case=3, random_state=0)
    with pytest.raises(error, match=r"cvxvolmin\.robust\.fit_robust"):
        cvxvolmin.fit(np.hstack([X, extra_column(X)]), 5, random_state=0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"X": None}, TypeError, "X is None"),
        ({"X": np.ones(5)}, ValueError, "must be a 2-D array"),
        ({"X": np.full((4, 4), np.nan)}, ValueError, "NaN or infinite"),
        ({"X": np.zeros((6, 6))}, ValueError, "X is all zeros"),
        ({"rank": 0}, ValueError, "rank must be at least 1"),
        ({"rank": 2.0}, TypeError, "rank must be a positive integer"),
        ({"lam": -1.0}, ValueError, "lam must be a finite nonnegative number"),
        ({"lam_scale": np.inf}, ValueError, "lam_scale must be a finite nonnegative"),
        ({"delta": 0.0}, ValueError, "delta must be positive"),
        ({"max_iter": 0}, ValueError, "max_iter must be a positive integer"),
        ({"max_inner": 0}, ValueError, "max_inner must be a positive integer"),
        ({"tol": "small"}, TypeError, "tol must be a nonnegative number"),
        ({"solver": "NO_SUCH_SOLVER"}, ValueError, "not an installed cvxpy solver"),
        ({"solver": "SCIPY"}, ValueError, "cannot solve the H update, a convex QP"),
    ],
)
def test_bad_inputs_fail_before_any_solver(monkeypatch, kwargs, error, match):
    def no_solver(*args, **kwargs):
        raise AssertionError("a solver ran before the inputs were checked")

    monkeypatch.setattr(robust_solver, "_starts", no_solver)
    args = {"X": np.arange(1.0, 37.0).reshape(6, 6), "rank": 2, **kwargs}
    with pytest.raises(error, match=match):
        fit_robust(args.pop("X"), args.pop("rank"), **args)


def test_deterministic_and_leaves_input_alone():
    X, _, _ = cvxvolmin.make_paper_data(4, case=3, n_samples=80, random_state=3)
    noisy = add_noise(X, 20.0, random_state=4)
    noisy.flags.writeable = False  # any write into the user's array raises
    before = noisy.copy()
    first = fit_robust(noisy, 4, random_state=7)
    second = fit_robust(noisy, 4, random_state=np.random.default_rng(7))
    np.testing.assert_array_equal(first.H, second.H)
    np.testing.assert_array_equal(first.W, second.W)
    assert first.objective_history == second.objective_history
    np.testing.assert_array_equal(noisy, before)


def test_lam_rule_and_explicit_lam():
    X, _, H = cvxvolmin.make_paper_data(4, case=3, n_samples=80, random_state=3)
    noisy = add_noise(X, 30.0, random_state=4)
    default = fit_robust(noisy, 4, random_state=0)
    # The rule: lam_scale * ||X|| ||X - W0 H0.T|| / r, W0 H0 the exact fit; scale-invariant.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cvxvolmin.NoisyColumnsWarning)
        exact = cvxvolmin.fit(noisy, 4, random_state=0)
    start_residual = exact.fit_error * np.linalg.norm(noisy)
    assert default.lam == pytest.approx(0.01 * np.linalg.norm(noisy) * start_residual / 4, rel=1e-6)
    scaled = fit_robust(1e3 * noisy, 4, random_state=0)
    assert cvxvolmin.matched_mse(default.H, scaled.H) < 1e-8
    # Both norms in the rule scale with X: lam scales with its square.
    assert scaled.lam == pytest.approx(1e6 * default.lam, rel=1e-6)
    explicit = fit_robust(noisy, 4, lam=2.5, random_state=0)
    assert explicit.lam == 2.5
    # 2.7 times the rule's lam (0.93) is still in the good range (measured 1.4e-5).
    assert explicit.converged
    assert cvxvolmin.matched_mse(H, explicit.H) < 1e-3
    assert cvxvolmin.matched_mse(H, default.H) < 1e-3
    _assert_feasible(explicit.H)


def test_convergence_warning_when_budget_ends():
    X, _, _ = cvxvolmin.make_paper_data(5, case=3, random_state=1)
    noisy = add_noise(X, 20.0, random_state=101)
    with pytest.warns(cvxvolmin.ConvergenceWarning, match="max_iter=2"):
        result = fit_robust(noisy, 5, max_iter=2, random_state=0)
    assert not result.converged and result.n_iter == 2
    _assert_feasible(result.H)


def test_add_noise_snr():
    X = np.random.default_rng(0).standard_normal((300, 300)) + 1.0
    noisy = add_noise(X, 25.0, random_state=1)
    snr = 10 * np.log10(np.sum(X**2) / np.sum((noisy - X) ** 2))
    assert snr == pytest.approx(25.0, abs=0.05)
    with pytest.raises(ValueError, match="snr_db must be finite"):
        add_noise(X, np.inf)


def test_snr_study_smoke():
    result = run_snr_study(
        snrs_db=(20.0,), cases=(3,), trials=1, methods=["robust-column-sum"], n_samples=80
    )
    row = result.row("robust-column-sum", 3, 5, 20.0)
    assert row.n_failed == 0 and row.trials == 1 and row.snr_db == 20.0
    assert row.median_mse < 2e-3  # measured 2.6e-4; the exact fit is above 1e-2 here
    assert [record.mse for record in result.records] == [row.median_mse]
    # The Markdown cell shows this mean and median (three digits), on the SNR's line.
    line = next(x for x in result.to_markdown().splitlines() if "| robust-column-sum |" in x)
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[:3] == ["robust-column-sum", "5", "20"]
    mean, median = cells[3].split()
    assert float(mean) == pytest.approx(row.mean_mse, rel=5e-3)
    assert float(median.strip("()")) == pytest.approx(row.median_mse, rel=5e-3)


@pytest.mark.parametrize("case", [1, 2])
def test_row_sum_exact_on_noiseless_data(case):
    # Nonnegative W: after l1 normalization the columns of X are convex
    # combinations of W's normalized columns, the row-sum model. Case 1 has
    # samples with no signal (zero columns of X): their rows of H are zero.
    X, _, H = cvxvolmin.make_paper_data(5, case=case, random_state=0)
    criterion = cvxvolmin.get_formulation("row-sum", normalize="l1")
    result = fit_robust(X, 5, formulation=criterion, random_state=0)
    assert result.formulation.name == "row-sum" and result.init == "exact"
    assert cvxvolmin.matched_mse(H, result.H) <= 1e-12
    assert result.fit_error < 1e-12
    zero = ~X.any(axis=0)
    assert np.all(result.H[zero] == 0)
    # Rows of H sum to the l1 norms of the columns of X, as cvxvolmin.fit returns them.
    np.testing.assert_allclose(result.H.sum(axis=1)[~zero], np.abs(X).sum(axis=0)[~zero])


def test_row_sum_warns_on_mixed_sign_data():
    X, _, H = cvxvolmin.make_paper_data(4, case=3, n_samples=80, random_state=3)
    noisy = add_noise(X, 30.0, random_state=4)
    criterion = cvxvolmin.get_formulation("row-sum", normalize=None)
    with pytest.warns(cvxvolmin.ModelMismatchWarning, match="does not hold|cannot hold"):
        result = fit_robust(noisy, 4, formulation=criterion, random_state=0)
    assert result.H.min() >= 0
    np.testing.assert_allclose(result.H.sum(axis=1), 1.0, atol=1e-12)
    assert result.summary()["method"] == "robust-row-sum"
    # The warning is right: the answer is wrong (measured MSE 0.22), not merely noisy.
    assert cvxvolmin.matched_mse(H, result.H) > 1e-2


def test_rho_rescales_H_and_W():
    X, _, _ = cvxvolmin.make_paper_data(4, case=3, n_samples=80, random_state=3)
    noisy = add_noise(X, 30.0, random_state=4)
    one = fit_robust(noisy, 4, random_state=0)
    two = fit_robust(noisy, 4, formulation=cvxvolmin.ColumnSumVolMin(rho=2.0), random_state=0)
    np.testing.assert_allclose(two.H, 2 * one.H, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(two.W, one.W / 2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(two.H.sum(axis=0), 2.0)
    assert two.colsum_error < 1e-12  # measured against rho, as for cvxvolmin.fit


def _noisy(r=4, n=80, snr=30.0, case=3, seed=3):
    X, _, H = cvxvolmin.make_paper_data(r, case=case, n_samples=n, random_state=seed)
    return add_noise(X, snr, random_state=seed + 1), H


def _quiet_robust(X, rank, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cvxvolmin.ConvergenceWarning)
        return fit_robust(X, rank, random_state=0, **options)


@pytest.mark.parametrize(
    ("formulation", "case"),
    [
        ("column-sum", 3),
        ("column-sum-leq", 3),
        (cvxvolmin.BoundedAbundanceVolMin(upper=0.05), 3),
        (cvxvolmin.RowSumVolMin(normalize="l1"), 1),
    ],
    ids=["column-sum", "column-sum-leq", "bounded", "row-sum"],
)
def test_projected_gradient_reproduces_the_declared_qp(formulation, case):
    """The fast H update reaches the QP path's answer (the previous solver) on every built-in.

    Both run in the full frame (no approximation): the same objective to
    1e-5 relative and the same MSE of H to 10%.
    """
    noisy, H = _noisy(case=case)
    fast = _quiet_robust(noisy, 4, formulation=formulation, subspace="full")
    reference = _quiet_robust(
        noisy, 4, formulation=formulation, subspace="full", h_solver="qp", solver="CLARABEL"
    )
    assert (fast.h_solver, reference.h_solver) == ("projected-gradient", "qp")
    assert fast.lam == pytest.approx(reference.lam, rel=1e-6)
    assert fast.objective == pytest.approx(reference.objective, rel=1e-5)
    fast_mse, reference_mse = (
        cvxvolmin.matched_mse(H, fast.H),
        cvxvolmin.matched_mse(H, reference.H),
    )
    assert fast_mse == pytest.approx(reference_mse, rel=0.1)
    polytope = cvxvolmin.formulations.fast_polytope(fast.formulation)
    if isinstance(fast.formulation, cvxvolmin.RowSumVolMin):  # rows sum to the columns' l1 norms
        scale = np.abs(noisy).sum(axis=0)[:, None]
        assert polytope.feasibility_error(fast.H / scale) <= 1e-12
    else:
        assert polytope.feasibility_error(fast.H) <= 1e-12


@pytest.mark.parametrize("case", [1, 2, 3])
def test_the_principal_frame_costs_no_accuracy(case):
    """W in the span of the r leading singular vectors: MSE of H within 10% of the full frame."""
    noisy, H = _noisy(r=5, n=200, snr=20.0, case=case, seed=0)
    principal = _quiet_robust(noisy, 5)
    full = _quiet_robust(noisy, 5, subspace="full")
    assert principal.subspace == "principal" and full.subspace == "full"
    assert cvxvolmin.matched_mse(H, principal.H) == pytest.approx(
        cvxvolmin.matched_mse(H, full.H), rel=0.1
    )
    # The restriction can only raise the minimum, and by little.
    assert full.objective <= principal.objective * (1 + 1e-6)


def test_one_h_update_is_certified():
    """Projected gradient's reported bound covers its distance to the QP's optimum."""
    from cvxvolmin.polytopes import Simplex
    from cvxvolmin.reduction import Reduction
    from cvxvolmin.robust.h_step import DeclaredQP, ProjectedGradient

    rng = np.random.default_rng(0)
    V, Xt = rng.standard_normal((4, 4)), rng.standard_normal((4, 60))
    A, B = V.T @ V, (V.T @ Xt).T
    H0 = np.full((60, 4), 1 / 60)

    def f(H):
        return float(np.vdot(H @ A, H) - 2 * np.vdot(B, H))

    reduction = Reduction(Xt, np.eye(4), np.empty(0), np.ones(60))
    qp = DeclaredQP(cvxvolmin.ColumnSumVolMin(), reduction, 4, "CLARABEL")
    best = f(qp.solve(A, B, H0, 0.0).H)
    scale = abs(best)
    for tol in (1e-2, 1e-6, 1e-10):
        step = ProjectedGradient(Simplex(1.0)).solve(A, B, H0, tol * scale)
        assert step.gap <= tol * scale
        assert f(step.H) - best <= step.gap + 1e-9 * scale
    assert f(step.H) <= best + 1e-9 * scale


class _Capped(cvxvolmin.ColumnSumVolMin):
    """A researcher's variant: abundances at most 0.05 (no fast projection declared)."""

    name = "test-robust-capped"

    def row_constraints(self, row, reduction):
        return [*super().row_constraints(row, reduction), row.h <= 0.05 * row.unit]


def test_a_user_formulation_runs_through_the_declared_qp():
    noisy, _ = _noisy()
    result = _quiet_robust(noisy, 4, formulation=_Capped())
    assert result.h_solver == "qp"  # the parent's polytope would drop the bound
    assert result.H.max() <= 0.05 * (1 + 1e-6)
    np.testing.assert_allclose(result.H.sum(axis=0), 1.0, rtol=1e-6)
    # The same set as the shipped bounded formulation: the same answer.
    shipped = _quiet_robust(noisy, 4, formulation=cvxvolmin.BoundedAbundanceVolMin(upper=0.05))
    assert shipped.h_solver == "projected-gradient"
    assert cvxvolmin.matched_mse(shipped.H, result.H) < 1e-8


class _OnQ(cvxvolmin.ColumnSumVolMin):
    name = "test-robust-on-q"

    def row_constraints(self, row, reduction):
        return [*super().row_constraints(row, reduction), row.q[0] >= 0]


class _OwnVariable(cvxvolmin.ColumnSumVolMin):
    name = "test-robust-own-variable"

    def row_constraints(self, row, reduction):
        import cvxpy as cp

        z = cp.Variable(row.h.shape)
        return [*super().row_constraints(row, reduction), row.h >= z, z >= 0]


@pytest.mark.parametrize(
    ("formulation", "match"),
    [
        (_OnQ(), r"constraint on row\.q"),
        (_OwnVariable(), "constraint on its own variable"),
        ("no-such", "unknown formulation"),
    ],
)
def test_constraints_the_h_update_cannot_impose_are_refused(monkeypatch, formulation, match):
    def no_solver(*args, **kwargs):
        raise AssertionError("a solver ran before the formulation was checked")

    monkeypatch.setattr(robust_solver, "_starts", no_solver)
    with pytest.raises(cvxvolmin.InvalidParameterError, match=match):
        fit_robust(np.arange(1.0, 37.0).reshape(6, 6), 2, formulation=formulation)


def test_projected_gradient_needs_a_polytope():
    with pytest.raises(cvxvolmin.InvalidParameterError, match="declares no abundance polytope"):
        fit_robust(np.eye(4), 2, formulation=_Capped(), h_solver="projected-gradient")


def test_only_the_best_screened_start_goes_on():
    """Every start runs the screening iterations; one continues, its history unbroken."""
    # Case 2 at 40 dB: the exact start crawls, the trimmed one needs a few more steps.
    noisy, _ = _noisy(r=5, n=200, snr=40.0, case=2, seed=0)
    steps = []
    result = _quiet_robust(noisy, 5, callback=lambda i, value: steps.append(i))
    screen = robust_solver._SCREEN
    runs = np.split(np.asarray(steps), np.flatnonzero(np.diff(steps) != 1) + 1)
    assert [run[0] for run in runs] == [1, 1]
    np.testing.assert_array_equal(runs[0], np.arange(1, screen + 1))  # cut at the screen
    # The kept start went past the screen, numbering its iterations on.
    assert result.init == "exact-trimmed" and result.n_iter == len(runs[1]) > screen
    history = np.asarray(result.objective_history)
    assert len(history) == result.n_iter + 1
    assert np.all(np.diff(history) <= 1e-12 * abs(history[0]))


def test_callback_sees_every_iteration_and_the_stop_reason_is_stated():
    noisy, _ = _noisy()
    seen = []
    result = fit_robust(noisy, 4, random_state=0, callback=lambda i, value: seen.append(value))
    assert result.stop_reason == "converged" and result.converged
    # Every start reports its iterations; the kept start's history ends the same way.
    assert len(seen) >= result.n_iter
    assert result.objective in seen
    assert result.summary()["stop_reason"] == "converged"
    exact, _, _ = cvxvolmin.make_paper_data(4, case=3, n_samples=80, random_state=3)
    assert fit_robust(exact, 4, random_state=0).stop_reason == "exact"


def test_snr_study_defaults_and_mean():
    assert DEFAULT_SNR_METHODS == ("plain-nmf", "row-sum", "column-sum", "robust-column-sum")
    result = run_snr_study(
        snrs_db=(30.0,), cases=(2,), trials=2, methods=["plain-nmf"], n_samples=60
    )
    row = result.row("plain-nmf", 2, 5, 30.0)
    mses = [r.mse for r in result.records]
    assert (row.trials, row.n_failed, len(mses)) == (2, 0, 2)
    # Plain NMF is short of exact on dense W (case 2; measured 5e-4) but not lost.
    assert 1e-6 < row.mean_mse < 1e-2
    assert row.mean_mse == pytest.approx(np.mean(mses))
    assert row.median_mse == pytest.approx(np.median(mses))
    assert result.to_dict()["rows"][0]["mean_mse"] == pytest.approx(np.mean(mses))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exponent=st.floats(-8.0, 8.0))
def test_robust_fit_is_invariant_to_the_scale_of_X(exponent):
    """c X gives the same H (lam scales with c^2), for c from 1e-8 to 1e8.

    Relative to H's own size: the trimmed start's exact fit differs across
    scales by about 3e-7 relative (measured), which the descent carries over.
    """
    noisy, _ = _noisy(r=3, n=60, snr=30.0, seed=0)
    base = _quiet_robust(noisy, 3)
    c = 10.0**exponent
    scaled = _quiet_robust(c * noisy, 3)
    assert scaled.lam == pytest.approx(c**2 * base.lam, rel=1e-9)
    assert cvxvolmin.matched_mse(base.H, scaled.H) <= 1e-5 * float(np.mean(base.H**2))
    np.testing.assert_allclose(scaled.H.sum(axis=0), 1.0, rtol=1e-12)


def _two_tight_clusters() -> np.ndarray:
    """Two tight clusters, standardized per feature (centred): samples as columns.

    Every exact fit is infeasible (the centred cone is the whole space) and
    plain NMF (HALS) ends at a singular W.
    """
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    samples = centres[rng.integers(0, 2, 30)] + 0.1 * rng.standard_normal((30, 3))
    samples = (samples - samples.mean(axis=0)) / samples.std(axis=0)
    return samples.T


def _check_start(result, rank):
    assert np.linalg.matrix_rank(result.W) == rank
    _assert_feasible(result.H)
    history = np.asarray(result.objective_history)
    assert np.all(np.isfinite(history))
    assert np.all(np.diff(history) <= 1e-12 * abs(history[0]))


def test_a_singular_plain_nmf_start_is_replaced():
    # Plain NMF leaves a dead factor here (W of rank 1): the descent used to start from it.
    X = _two_tight_clusters()
    result = fit_robust(X, 2, random_state=0)
    assert "the plain-nmf start has a singular W: dropped" in result.init_note
    assert result.init == "spread-columns"
    _check_start(result, 2)


def test_a_zero_plain_nmf_start_raises_no_linalg_error():
    """scikit-learn's centred blobs: plain NMF gives W = 0, so delta was 0 too and
    the W step raised numpy's LinAlgError (inverting a zero matrix)."""
    datasets = pytest.importorskip("sklearn.datasets")
    samples, _ = datasets.make_blobs(
        30, centers=[[0, 0, 0], [1, 1, 1]], n_features=2, cluster_std=0.1, random_state=0
    )
    samples = (samples - samples.mean(axis=0)) / samples.std(axis=0)  # StandardScaler
    result = fit_robust(samples.T, 2, random_state=0)
    assert result.init == "spread-columns" and result.delta > 0
    _check_start(result, 2)


def test_any_singular_start_is_replaced(monkeypatch):
    """Not only W = 0: a start with two equal columns is dropped too."""
    X, _, _ = cvxvolmin.make_paper_data(3, case=3, n_samples=40, random_state=0)

    def no_exact_fit(*args, **kwargs):
        raise cvxvolmin.InfeasibleError("forced")

    def repeated_column(data, rank, **kwargs):
        return types.SimpleNamespace(W=np.repeat(data[:, :1], rank, axis=1))

    monkeypatch.setattr(robust_solver, "_quiet_fit", no_exact_fit)
    monkeypatch.setattr(robust_solver, "plain_nmf", repeated_column)
    result = _quiet_robust(X, 3)
    assert result.init == "spread-columns"
    _check_start(result, 3)


def test_no_nonsingular_start_is_a_clear_error(monkeypatch):
    def no_exact_fit(*args, **kwargs):
        raise cvxvolmin.InfeasibleError("forced")

    monkeypatch.setattr(robust_solver, "_quiet_fit", no_exact_fit)
    rng = np.random.default_rng(1)
    rank_one = np.outer(rng.standard_normal(6), rng.standard_normal(20))
    with pytest.raises(cvxvolmin.DegenerateError, match="fewer than r = 2 linearly independent"):
        fit_robust(rank_one, 2, random_state=0)


def test_the_w_step_falls_back_to_least_squares(monkeypatch):
    """Should the normal equations fail in floating point, the same minimizer comes back."""
    rng = np.random.default_rng(2)
    Xt, V, H = rng.standard_normal((4, 30)), rng.standard_normal((4, 4)), rng.random((30, 4))
    closed = robust_solver._w_step(Xt, V, H, 0.7, 1e-3)

    def singular(*args, **kwargs):
        raise np.linalg.LinAlgError("forced")

    monkeypatch.setattr(robust_solver.np.linalg, "inv", singular)
    fallback = robust_solver._w_step(Xt, V, H, 0.7, 1e-3)
    np.testing.assert_allclose(fallback, closed, rtol=1e-10, atol=1e-12 * np.abs(closed).max())


@pytest.mark.parametrize("subspace", ["principal", "full"])
def test_one_faint_noise_column_is_not_exact_data(subspace):
    """A pure-noise column at 1e-12 of the data's scale: the residual is below rounding,
    but the exact fit's cone holds the column's direction (measured MSE 0.19 when it
    was returned as is). The trimmed start recovers the other columns."""
    X, _, H = cvxvolmin.make_paper_data(4, case=3, n_samples=80, random_state=3)
    noise = np.random.default_rng(5).standard_normal((X.shape[0], 1))
    noise *= 1e-12 * np.linalg.norm(X) / np.sqrt(X.shape[1]) / np.linalg.norm(noise)
    result = _quiet_robust(np.hstack([X, noise]), 4, subspace=subspace)
    assert result.stop_reason == "converged" and result.init == "exact-trimmed"
    assert "exact fit holds noisy columns" in result.init_note
    assert cvxvolmin.matched_mse(H, result.H[:-1]) <= 1e-5 * float(np.mean(H**2))
    _assert_feasible(result.H)


def test_the_inner_budget_ends_an_ill_conditioned_fit():
    """Rank M on mixed-sign data whose cone is the whole space: W grows ever more
    ill-conditioned and every H update slows (537k inner steps at max_iter=500
    before the budget); the budget ends the fit with a warning."""
    X = np.random.RandomState(0).normal(size=(15, 4)).T
    with pytest.warns(cvxvolmin.ConvergenceWarning, match="max_inner=2000"):
        result = fit_robust(X, 4, max_inner=2000, random_state=0)
    assert result.stop_reason == "max_inner" and not result.converged
    assert result.n_iter < 500
    assert 2000 <= result.n_inner
    assert result.summary()["stop_reason"] == "max_inner"
    _check_start(result, 4)
