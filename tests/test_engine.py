"""The alternating optimization: starts, the line search, degeneracy, error hints."""

from __future__ import annotations

import re
import time
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import ConvexHull

import cvxvolmin
from cvxvolmin import engine
from cvxvolmin.declaration import WORKING_SET_THRESHOLD, constraint_hint
from cvxvolmin.engine import (
    _check_start,
    _confirmed,
    feasible_start,
    line_search,
    maximize_volume,
    optimize,
    start_violation,
)
from cvxvolmin.formulations import (
    BoundedAbundanceVolMin,
    ColumnSumAtMostVolMin,
    ColumnSumVolMin,
    Formulation,
    RowSumVolMin,
)
from cvxvolmin.reduction import Reduction

# A polytope in R^3 on which the row-by-row AO has a stationary point that is
# not the optimum: with the other two rows fixed, each of the vertices 0, 3, 4
# is the unique best row (|det| = 29), while the vertices 2, 5, 6 give 43.
_VERTICES = np.array(
    [
        [0.0, 1.0, 3.0],
        [-1.0, 1.0, -3.0],
        [0.0, 1.0, -3.0],
        [-3.0, 0.0, -2.0],
        [-1.0, -3.0, 0.0],
        [-3.0, -3.0, -2.0],
        [-2.0, 2.0, 1.0],
    ]
)
_POOR, _BEST = _VERTICES[[0, 3, 4]], _VERTICES[[2, 5, 6]]


class _PolytopeRows(Formulation):
    """Every row of Q in the hull of ``_VERTICES``; the first start is the poor one."""

    name = "polytope-rows-test-only"
    n_starts = 3

    def __init__(self):
        hull = ConvexHull(_VERTICES)
        self.A, self.b = hull.equations[:, :3], -hull.equations[:, 3]
        self.calls = 0

    def row_constraints(self, row, reduction):
        return [self.A @ row.q <= self.b]

    def initial_Q(self, reduction, rng):
        self.calls += 1
        return _POOR.copy() if self.calls == 1 else rng.standard_normal((3, 3))


def _identity_reduction(r: int) -> Reduction:
    return Reduction(
        Xt=np.eye(r), basis=np.eye(r), singular_values=np.ones(r), column_scale=np.ones(r)
    )


@pytest.mark.parametrize("n_starts", [2, 3])
def test_the_best_start_is_kept_not_the_first(n_starts, capsys):
    form = _PolytopeRows()
    form.n_starts = n_starts  # with 2, the best start is the last one
    trace = optimize(
        form,
        _identity_reduction(3),
        np.random.default_rng(1),
        solver="HIGHS",
        max_iter=20,
        tol=1e-12,
    )
    assert capsys.readouterr() == ("", "")  # quiet unless verbose
    first, *others = trace.start_logdets
    assert first == pytest.approx(np.log(29.0), abs=1e-9)  # the first start stays poor
    assert max(others) == pytest.approx(np.log(43.0), abs=1e-9)
    assert trace.logdet_history[-1] == pytest.approx(np.log(43.0), abs=1e-9)
    assert abs(np.linalg.det(trace.Q)) == pytest.approx(43.0, rel=1e-9)
    # The kept Q is made of the best vertices (in some order and sign).
    for row in trace.Q:
        assert np.min(np.abs(_BEST - row).max(axis=1)) <= 1e-9


@pytest.mark.parametrize(
    "lam",
    [
        [2.0, -0.6],
        [3.0, -0.7],
        [1.5, -0.4],
        [1.0, -0.95],  # the maximum, t = 0.026, lies in the first grid interval
        # A third, shrinking direction: the maximum of the cubic det moves inside.
        [2.0, -0.6, -0.1],
        [3.0, -0.7, -0.1],
        [1.5, -0.4, -0.1],
        [2.5, -0.8, -0.1],  # a root finder stopping at its default 2e-12 is 7e-14 off here
    ],
)
def test_line_search_finds_an_interior_maximum_to_rounding(lam):
    # det(I + t diag(lam)) = prod_k (1 + t lam_k) has one stationary point in (0, 1),
    # off the search's grid (for two factors, t = (a - b) / (2ab)).
    det = np.poly1d([1.0])
    for value in lam:
        det *= np.poly1d([value, 1.0])
    stationary = [t.real for t in det.deriv().roots if abs(t.imag) < 1e-12 and 0 < t.real < 1]
    assert len(stationary) == 1
    t = line_search(np.eye(len(lam)), np.diag(lam))
    assert t == pytest.approx(stationary[0], abs=1e-14)


@pytest.mark.parametrize("spin", [0.0, 1e-3])
def test_line_search_next_to_a_singular_point_warns_nothing(spin):
    # det(I + t D) = (1 - t) (1 + M t)^31 (1 + spin^2 t^2) is largest near
    # t = (31 M - 1) / (32 M), one grid point from t = 1, where it vanishes: the gain
    # and its slope are evaluated there (log 0, 1 / 0). A rotation block (spin > 0)
    # makes the spectrum complex, where 1 / 0 is also an invalid value.
    M = 1000.0
    D = np.diag([-1.0] + [M] * 31 + [0.0, 0.0])
    D[-2, -1], D[-1, -2] = spin, -spin
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = line_search(np.eye(len(D)), D)
    assert t == pytest.approx((31 * M - 1) / (32 * M), abs=1e-8)


class _TinyBox:
    """The polytope ``|q_k| <= size``: vertices are ``size * sign(d)``."""

    def __init__(self, size, flat_last=False):
        self.size, self.flat_last, self.n_solves = size, flat_last, 0

    def maximize(self, direction):
        self.n_solves += 1
        q = self.size * np.sign(direction)
        if self.flat_last:
            q[-1] = 0.0  # every row in the hyperplane q_r = 0: degenerate
        return q


class _RecordingBox(_TinyBox):
    """A box that records the norm of every LP objective it is given."""

    def __init__(self, size):
        super().__init__(size)
        self.norms = []

    def maximize(self, direction):
        self.norms.append(np.linalg.norm(direction))
        return super().maximize(direction)


class _ScheduledBox:
    """Q of size 1 x 1 in the box ``|q| <= sizes[k]`` at step k: log|det Q| = log(sizes[k])."""

    def __init__(self, sizes, n_solves=0):
        self.sizes, self.n_solves, self.before = np.asarray(sizes), n_solves, n_solves

    def maximize(self, direction):
        step = min((self.n_solves - self.before) // 2, len(self.sizes) - 1)  # 2 LPs a step
        self.n_solves += 1
        return self.sizes[step] * np.sign(direction)


class _OneVertex:
    """A joint LP whose answer is always the vertex V."""

    def __init__(self, V):
        self.V, self.n_solves = V, 0

    def maximize(self, direction):
        self.n_solves += 1
        return self.V.ravel().copy()


class _NanRows:
    """An LP whose answers are not finite (no real LP's; the guard of log|det Q|)."""

    n_solves = 0

    def maximize(self, direction):
        return np.full(direction.shape, np.nan)


def test_a_tiny_polytope_is_not_degenerate(capsys):
    # Rows of norm 1e-12 are as good as any: the degenerate test is relative to |q|.
    rng = np.random.default_rng(0)
    trace = maximize_volume(_TinyBox(1e-12), rng.standard_normal((4, 4)), max_iter=10, tol=1e-9)
    np.testing.assert_array_equal(np.abs(trace.Q), 1e-12)  # rows are box vertices
    assert trace.logdet_history[-1] > 4 * np.log(1e-12)  # nonsingular
    assert capsys.readouterr() == ("", "")  # quiet unless verbose


@pytest.mark.parametrize("joint", [False, True])
@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_lp_objectives_have_unit_norm_whatever_the_scale_of_Q(joint, scale):
    # LP optimality tolerances are absolute, so the cofactors of a row move (of
    # the order of 1 / |Q|) and the gradient inv(Q).T of a joint step are normalized.
    Q0 = scale * np.random.default_rng(0).standard_normal((3, 3))
    box = _RecordingBox(2.0 * scale)
    maximize_volume(box, Q0, max_iter=3, tol=1e-9, joint=joint)
    assert len(box.norms) >= 2
    np.testing.assert_allclose(box.norms, 1.0, rtol=1e-12)


@pytest.mark.parametrize("dtype", [float, int])
def test_the_start_is_copied_and_made_float(dtype):
    Q0 = np.array([[2, 1], [1, 3]], dtype=dtype)
    trace = maximize_volume(_TinyBox(0.5), Q0, max_iter=5, tol=1e-9)
    np.testing.assert_array_equal(Q0, [[2, 1], [1, 3]])  # untouched
    np.testing.assert_array_equal(np.abs(trace.Q), 0.5)  # box vertices, even from integers


def test_a_joint_step_to_the_vertex_lands_on_it_exactly():
    rng = np.random.default_rng(0)
    Q0 = np.eye(3) + rng.uniform(0.1, 0.2, (3, 3))
    V = 3.0 * Q0 + rng.uniform(0.0, 0.01, (3, 3))  # |det| grows all along the segment
    assert not np.array_equal(Q0 + (V - Q0), V)  # the rounding a step t = 1 must avoid
    trace = maximize_volume(_OneVertex(V), Q0, max_iter=5, tol=1e-12, joint=True)
    np.testing.assert_array_equal(trace.Q, V)
    assert (trace.n_iter, trace.converged) == (2, True)  # the second step stays at V


@pytest.mark.parametrize(
    ("previous", "tol", "gain", "n_iter"),
    [
        (-100.0, 1e-6, 0.5e-4, 2),  # gain <= tol * |L|: settled
        (-100.0, 1e-6, 2.0e-4, 3),
        (0.5, 1e-6, 0.5e-6, 2),  # |L| < 1: the threshold is tol itself
        (0.5, 1e-6, 1.5e-6, 3),
        (0.5, 0.0, 0.0, 2),  # tol = 0: a step that gains nothing ends the run
    ],
)
def test_the_stopping_rule_is_relative_to_the_previous_log_det(previous, tol, gain, n_iter):
    # Steps 1 and 2 reach log|det Q| = previous and previous + gain; later steps gain nothing.
    box = _ScheduledBox(np.exp([previous, previous + gain]))
    trace = maximize_volume(box, np.ones((1, 1)), max_iter=10, tol=tol)
    assert (trace.n_iter, trace.converged) == (n_iter, True)
    np.testing.assert_allclose(trace.logdet_history[:2], [previous, previous + gain], atol=1e-12)


_STEP_LINE = re.compile(r"sweep (\d+): log\|det Q\| = (\S+?)(?: \((\S+)\))?, (\d+) LPs, (\S+) s")


def test_verbose_reports_every_step_and_the_trace_counts_this_runs_lps(capsys):
    # The LP solved 7 problems before this run: counts are this run's.
    box = _ScheduledBox(np.exp([-3.0, -2.5, -1.75]), n_solves=7)
    start = time.perf_counter()
    trace = maximize_volume(box, np.ones((1, 1)), max_iter=3, tol=1e-9, verbose=True)
    elapsed = time.perf_counter() - start
    np.testing.assert_allclose(trace.logdet_history, [-3.0, -2.5, -1.75], atol=1e-12)
    assert trace.converged is False  # the budget ended while log|det Q| still rose
    assert (trace.n_iter, trace.n_lp_solves) == (3, 6)
    assert trace.start_logdets == (trace.logdet_history[-1],)
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 3
    for k, line in enumerate(lines, start=1):
        step, value, gain, lps, seconds = _STEP_LINE.fullmatch(line).groups()
        assert (int(step), int(lps)) == (k, 2 * k)  # LPs so far
        assert float(value) == pytest.approx(trace.logdet_history[k - 1], rel=1e-9)
        if k == 1:
            assert gain is None
        else:
            change = trace.logdet_history[k - 1] - trace.logdet_history[k - 2]
            assert float(gain) == pytest.approx(change, rel=1e-3)
        assert 0.0 <= float(seconds) <= elapsed + 1e-3  # time since the start (rounded)


_REMEDY = "noisy data use cvxvolmin.robust.fit_robust(X, rank), or try a smaller rank."


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("hint", ["", " HINT."])
@pytest.mark.parametrize("cause", ["flat", "not finite"])
def test_degenerate_errors_say_what_is_wrong_and_what_to_do(cause, hint):
    # A flat polytope holds no nonsingular Q; an LP answer that is not finite makes
    # Q singular. The message ends with the remedy, after the hint when there is one.
    lp, Q0 = (
        (_TinyBox(1.0, flat_last=True), np.eye(3)) if cause == "flat" else (_NanRows(), np.eye(2))
    )
    with pytest.raises(cvxvolmin.DegenerateError) as caught:
        # No hint: the default.
        maximize_volume(lp, Q0, max_iter=5, tol=1e-9, **({"hint": hint} if hint else {}))
    message = str(caught.value)
    if cause == "flat":
        assert message.startswith(
            "every feasible row is orthogonal to the cofactor direction: the feasible set lies "
            "in a hyperplane through the origin (for column-sum VolMin: the cone of the data "
            "contains a line), so no nonsingular Q meets the constraints."
        )
        then = " Otherwise, the data" if hint else " The data"
        assert f"constraints.{hint}{then} do not support an exact factorization" in message
        assert message.endswith(f"of this rank; for {_REMEDY}")
    else:
        assert message.startswith("Q became singular during a sweep; the feasible set is ")
        then = " Otherwise, for" if hint else " For"
        assert message.endswith(f"degenerate at this rank.{hint}{then} {_REMEDY}")


class _Capped(ColumnSumVolMin):
    name = "capped-test-only"
    column_separable = True  # an elementwise bound

    def __init__(self, upper):
        super().__init__()
        self.upper = upper

    def row_constraints(self, row, reduction):
        return [*super().row_constraints(row, reduction), row.h <= self.upper * row.unit]


class _PlainSubclass(ColumnSumVolMin):
    name = "plain-subclass-test-only"


def test_only_the_plain_criteria_get_no_hint():
    for form in (
        ColumnSumVolMin(),
        ColumnSumVolMin(rho=2.0),
        ColumnSumAtMostVolMin(),
        RowSumVolMin(),
    ):
        assert constraint_hint(form) == ""
    for form in (BoundedAbundanceVolMin(upper=0.5), _Capped(0.5), _PlainSubclass()):
        hint = constraint_hint(form)
        assert f"Formulation {form.name!r} adds constraints of its own" in hint
        assert "may exclude every solution" in hint and "formulation='column-sum'" in hint

    class RowSumVariant(RowSumVolMin):
        name = "row-sum-variant-test-only"

    assert "formulation='row-sum'" in constraint_hint(RowSumVariant())


@pytest.mark.parametrize("working_set", [False, True])
def test_infeasible_error_blames_the_formulations_own_constraints(working_set):
    X, _, _ = cvxvolmin.make_paper_data(3, n_samples=300, random_state=0)
    # Columns of H sum to 1 over 300 entries: a cap below 1/300 leaves no solution.
    with pytest.raises(cvxvolmin.InfeasibleError) as caught:
        cvxvolmin.fit(X, 3, formulation=_Capped(0.5 / 300), working_set=working_set)
    message = str(caught.value)
    assert "'capped-test-only' adds constraints of its own" in message
    assert "may exclude every solution" in message


def test_infeasible_error_of_the_plain_criterion_names_the_whole_space():
    X = np.hstack([np.eye(2), -np.eye(2)])  # cone(X) is the whole plane
    with pytest.raises(cvxvolmin.InfeasibleError) as caught:
        cvxvolmin.fit(X, 2)
    message = str(caught.value)
    assert "the cone of the data is the whole space" in message
    assert "constraints of its own" not in message


def test_degenerate_error_names_a_line_and_the_formulations_constraints():
    X = np.array([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.5]])  # cone holds a line
    with pytest.raises(cvxvolmin.DegenerateError) as plain:
        cvxvolmin.fit(X, 2)
    assert "contains a line" in str(plain.value)
    assert "constraints of its own" not in str(plain.value)
    with pytest.raises(cvxvolmin.DegenerateError, match="'plain-subclass-test-only' adds"):
        cvxvolmin.fit(X, 2, formulation=_PlainSubclass())


def _simplex_rows_lp(scale):
    """The joint LP of 2 x 2 matrices with rows summing to (0, scale) and Q >= -scale."""
    import cvxpy as cp

    from cvxvolmin.lp import RowLP

    q = cp.Variable(4, name="Q")
    sums = q[0:2] + q[2:4] == np.array([0.0, scale])
    return RowLP(q, [q >= -scale, sums], "HIGHS")


@settings(max_examples=20, deadline=None)
@given(exponent=st.floats(-8.0, 8.0), miss=st.sampled_from([0.0, 1e-12, 1e-6, 1e-3]))
def test_a_starts_violation_is_relative_to_its_constraints(exponent, miss):
    """The same start, scaled with the polytope from 1e-8 to 1e8, misses it by the same."""
    scale = 10.0**exponent
    lp = _simplex_rows_lp(scale)
    Q = scale * np.array([[0.25, 0.5], [-0.25, 0.5]])  # feasible, inside
    assert start_violation(lp, Q) <= 1e-15
    off = Q.copy()
    off[1, 1] += miss * scale  # the second sum misses scale by miss * scale
    assert start_violation(lp, off) == pytest.approx(miss / (1.0 + miss), rel=1e-6, abs=1e-15)
    off = Q.copy()
    off[0, 0] = -(1.0 + miss) * scale  # below the bound -scale by miss * scale
    off[1, 0] = (1.0 + miss) * scale
    assert start_violation(lp, off) == pytest.approx(miss / (1.0 + miss), rel=1e-6, abs=1e-15)


def test_a_coupled_formulations_own_start_must_be_feasible():
    lp = _simplex_rows_lp(1.0)
    form = SimpleNamespace(name="own-start-test-only")
    _check_start(lp, np.array([[0.25, 0.5], [-0.25, 0.5]]), form)  # feasible: accepted
    # the value, and the hint: what initial_Q must do, or leave the start to the engine
    hint = r"initial_Q must meet every row and joint constraint, or be left to the engine"
    with pytest.raises(
        cvxvolmin.InvalidParameterError,
        match=r"'own-start-test-only'.* misses its constraints by 0\.5 .*" + hint,
    ):
        _check_start(lp, np.array([[0.25, 0.5], [-0.25, 1.5]]), form)


@pytest.mark.parametrize(
    ("finals", "confirmed"),
    [
        ([-2.0], False),
        ([-2.0, -2.0], True),
        ([-2.0, -3.0], False),
        ([-2.0, -3.0, -2.0], True),  # any two starts on the largest value
        ([-3.0, -3.0, -2.0], False),  # two agree, but not on the largest
        ([-100.0, -100.0 + 5e-6], True),  # agree to 1e-7 of |log|det Q||, here 1e-5
        ([-100.0, -100.0 + 2e-5], False),
        ([0.5, 0.5 + 0.5e-7], True),  # ... and to 1e-7 when |log|det Q|| < 1
        ([0.5, 0.5 + 1.5e-7], False),
    ],
)
def test_two_starts_on_the_largest_value_confirm_it(finals, confirmed):
    assert _confirmed(finals) is confirmed


class _RandomStarts(Formulation):
    """Starts Q0 drawn from rng (recorded); the LP comes from the test (see _lp_from)."""

    name = "random-starts-test-only"

    def __init__(self, n_starts, column_separable=False):
        self.n_starts = n_starts
        self.column_separable = column_separable
        self.starts = []

    def row_constraints(self, row, reduction):
        return []

    def initial_Q(self, reduction, rng):
        Q = rng.standard_normal((2, 2))
        self.starts.append(Q)
        return Q.copy()


class _CoupledRandomStarts(_RandomStarts):
    """The same starts, for a formulation with joint constraints (rows moved together)."""

    name = "coupled-random-starts-test-only"

    def joint_constraints(self, H, reduction):
        return []

    def initial_Q(self, reduction, rng):  # its own start, meant for its constraints
        return super().initial_Q(reduction, rng)


def _random_starts(coupled, *args, **kwargs):
    return (_CoupledRandomStarts if coupled else _RandomStarts)(*args, **kwargs)


def _lp_from(monkeypatch, build):
    monkeypatch.setattr(engine, "build_row_lps", build)
    monkeypatch.setattr(engine, "build_joint_lp", build)


class _SizedStarts(Formulation):
    """Q of size 1 x 1; start k sets the box of the LP to ``|q| <= exp(finals[k])``."""

    name = "sized-starts-test-only"

    def __init__(self, box, finals):
        self.box, self.finals, self.n_starts = box, finals, len(finals)
        self.calls = 0

    def row_constraints(self, row, reduction):
        return []

    def initial_Q(self, reduction, rng):
        self.box.size = np.exp(self.finals[self.calls])
        self.calls += 1
        return np.ones((1, 1))


@pytest.mark.parametrize("finals", [[1.0, 0.0, 2.0], [0.0, 2.0, 1.0], [2.0, 1.0, 0.0]])
def test_the_best_start_is_kept_wherever_it_comes(monkeypatch, finals):
    box = _TinyBox(1.0)
    _lp_from(monkeypatch, lambda formulation, reduction, solver, working_set: box)
    trace = optimize(
        _SizedStarts(box, finals),
        SimpleNamespace(n_samples=10),
        np.random.default_rng(0),
        solver="HIGHS",
        max_iter=10,
        tol=1e-9,
    )
    np.testing.assert_allclose(trace.start_logdets, finals, atol=1e-12)  # no two agree
    assert trace.logdet_history[-1] == pytest.approx(2.0, abs=1e-12)
    assert trace.Q[0, 0] == pytest.approx(np.exp(2.0), rel=1e-12)


def test_each_row_is_solved_by_its_own_lp_and_every_lp_is_counted_once(monkeypatch):
    """Per-component LPs (build_row_lps): row i maximizes over lps[i]; the count sums the
    distinct LPs, and one LP shared by all rows counts once."""
    own = [_TinyBox(1.0), _TinyBox(3.0)]
    trace = maximize_volume(own, np.array([[2.0, 1.0], [1.0, -2.0]]), max_iter=5, tol=1e-9)
    np.testing.assert_array_equal(np.abs(trace.Q), [[1.0, 1.0], [3.0, 3.0]])
    # Two LPs a row a step (d and -d), each on the row's own LP.
    assert own[0].n_solves == own[1].n_solves == 2 * trace.n_iter
    assert trace.n_lp_solves == 4 * trace.n_iter
    shared = _TinyBox(1.0)
    trace = maximize_volume([shared, shared], np.eye(2), max_iter=5, tol=1e-9)
    assert trace.n_lp_solves == shared.n_solves == 4 * trace.n_iter
    boxes = [_TinyBox(1.0), _TinyBox(2.0)]
    _lp_from(monkeypatch, lambda formulation, reduction, solver, working_set: boxes)
    trace = optimize(
        _RandomStarts(n_starts=2),
        SimpleNamespace(n_samples=10),
        np.random.default_rng(0),
        solver="HIGHS",
        max_iter=5,
        tol=1e-9,
    )
    assert trace.n_lp_solves == boxes[0].n_solves + boxes[1].n_solves > boxes[0].n_solves


@pytest.mark.parametrize("max_iter", [1, 10])
def test_on_a_tie_the_first_start_is_kept(monkeypatch, max_iter):
    # In the box |q_k| <= 1 (r = 2) every start ends at |det Q| = 2 exactly.
    box = _TinyBox(1.0)
    _lp_from(monkeypatch, lambda formulation, reduction, solver, working_set: box)
    form = _RandomStarts(n_starts=3)
    steps = []
    trace = optimize(
        form,
        SimpleNamespace(n_samples=10),
        np.random.default_rng(0),
        solver="HIGHS",
        max_iter=max_iter,
        tol=1e-9,
        callback=lambda step, logdet: steps.append(step),
    )
    assert trace.start_logdets == (np.log(2.0),) * 2  # the second start confirms the first
    first, second = (
        maximize_volume(_TinyBox(1.0), Q0, max_iter=max_iter, tol=1e-9) for Q0 in form.starts
    )
    assert not np.array_equal(first.Q, second.Q)
    np.testing.assert_array_equal(trace.Q, first.Q)
    assert trace.logdet_history == first.logdet_history
    # The LPs of every start count: 4 a step (2 rows, 2 LPs each).
    assert trace.n_lp_solves == box.n_solves == 4 * len(steps) > first.n_lp_solves


@pytest.mark.parametrize("coupled", [False, True])
def test_joint_steps_return_the_snapped_Q(monkeypatch, coupled):
    # The joint LP's vertex meets its active constraints only to the solver's
    # tolerance, so optimize returns the kept Q snapped onto them (by _snap, here a
    # stand-in that marks its answer); row moves keep their Q.
    _lp_from(monkeypatch, lambda formulation, reduction, solver, working_set: _TinyBox(1.0))
    snapped = []

    def snap(lp, Q):
        snapped.append(Q.copy())
        return Q + 1.0

    monkeypatch.setattr(engine, "_snap", snap)
    monkeypatch.setattr(engine, "_check_start", lambda lp, Q, formulation: None)  # a box: any Q
    form = _random_starts(coupled, 1)
    trace = optimize(
        form,
        SimpleNamespace(n_samples=10),
        np.random.default_rng(0),
        solver="HIGHS",
        max_iter=10,
        tol=1e-9,
    )
    kept = maximize_volume(_TinyBox(1.0), form.starts[0], max_iter=10, tol=1e-9, joint=coupled)
    if coupled:
        assert len(snapped) == 1
        np.testing.assert_array_equal(snapped[0], kept.Q)
        np.testing.assert_array_equal(trace.Q, kept.Q + 1.0)
    else:
        assert snapped == []
        np.testing.assert_array_equal(trace.Q, kept.Q)


class _TiedRows(_TinyBox):
    """A box whose vertices have equal rows (Q of size 2 x 2): every mean is singular."""

    def maximize(self, direction):
        q = super().maximize(direction)
        q[2:] = q[:2]
        return q


def test_the_phase_one_start_is_the_mean_of_vertices_along_unit_directions():
    box = _RecordingBox(1.0)
    Q = feasible_start(box, 2, np.random.default_rng(0))
    directions = np.random.default_rng(0).standard_normal((8, 4))  # 2 r^2 of size r^2
    np.testing.assert_array_equal(Q, np.sign(directions).mean(axis=0).reshape(2, 2))
    assert box.n_solves == 8
    np.testing.assert_allclose(box.norms, 1.0, rtol=1e-15)
    # The singularity test is relative to Q's size: a tiny feasible set is no reason.
    tiny = feasible_start(_TinyBox(1e-9), 2, np.random.default_rng(0))
    np.testing.assert_allclose(tiny, 1e-9 * Q, rtol=0, atol=1e-24)
    with pytest.raises(cvxvolmin.DegenerateError, match=r"constraints\. HINT\. Otherwise"):
        feasible_start(_TiedRows(1.0), 2, np.random.default_rng(0), " HINT.")
    with pytest.raises(cvxvolmin.DegenerateError, match=r"constraints\. The data"):
        feasible_start(_TiedRows(1.0), 2, np.random.default_rng(0))  # no hint: none shown


class _CoupledStarts(_RandomStarts):
    """Declares joint constraints (none here): coupled, so phase one and joint steps."""

    name = "coupled-starts-test-only"

    def joint_constraints(self, H, reduction):
        return []


def test_coupled_formulations_start_from_phase_one_and_take_joint_steps(monkeypatch):
    sizes = []

    class Box(_TinyBox):
        def maximize(self, direction):
            sizes.append(direction.size)
            return super().maximize(direction)

    box = Box(1.0)
    _lp_from(monkeypatch, lambda formulation, reduction, solver, working_set: box)
    monkeypatch.setattr(engine, "_snap", lambda lp, Q: Q)
    form = _CoupledStarts(1)
    trace = optimize(
        form,
        SimpleNamespace(n_samples=10, rank=2),
        np.random.default_rng(0),
        solver="HIGHS",
        max_iter=5,
        tol=1e-9,
    )
    assert form.starts == []  # initial_Q is never asked
    assert len(sizes) == trace.n_lp_solves > 8 and set(sizes) == {4}  # joint LPs only
    np.testing.assert_array_equal(np.abs(trace.Q), np.ones((2, 2)))  # a vertex, |det| = 2
    # A coupled set of singular matrices: phase one refuses it with the formulation's hint.
    _lp_from(monkeypatch, lambda formulation, reduction, solver, working_set: _TiedRows(1.0))
    with pytest.raises(cvxvolmin.DegenerateError, match=r"'coupled-starts-test-only' adds"):
        optimize(
            form,
            SimpleNamespace(n_samples=10, rank=2),
            np.random.default_rng(0),
            solver="HIGHS",
            max_iter=5,
            tol=1e-9,
        )


@pytest.mark.parametrize("n_starts", [1, 2])
def test_verbose_names_the_starts_when_there_are_several(monkeypatch, capsys, n_starts):
    _lp_from(monkeypatch, lambda formulation, reduction, solver, working_set: _TinyBox(1.0))
    optimize(
        _RandomStarts(n_starts),
        SimpleNamespace(n_samples=10),
        np.random.default_rng(0),
        solver="HIGHS",
        max_iter=10,
        tol=1e-9,
        verbose=True,
    )
    out, err = capsys.readouterr()
    assert out == ""
    lines = [line for line in err.splitlines() if not line.startswith("sweep ")]
    assert lines == ([f"start {k} of {n_starts}" for k in (1, 2)] if n_starts > 1 else [])


class _Built(Exception):
    pass


@pytest.mark.parametrize("coupled", [False, True])
@pytest.mark.parametrize(
    ("separable", "n_samples", "working_set", "expected"),
    [
        (True, WORKING_SET_THRESHOLD + 1, None, True),  # by default above the threshold ...
        (True, WORKING_SET_THRESHOLD, None, False),
        (False, WORKING_SET_THRESHOLD + 1, None, False),  # ... for separable formulations
        (True, 10, True, True),  # an explicit choice stands
        (True, WORKING_SET_THRESHOLD + 1, False, False),
    ],
)
def test_working_sets_by_default_above_the_threshold(
    monkeypatch, coupled, separable, n_samples, working_set, expected
):
    asked = []

    def build(formulation, reduction, solver, working_set):
        asked.append((formulation, reduction, solver, working_set))
        raise _Built

    _lp_from(monkeypatch, build)
    form = _random_starts(coupled, 1, column_separable=separable)
    reduction = SimpleNamespace(n_samples=n_samples)
    with pytest.raises(_Built):
        optimize(
            form,
            reduction,
            np.random.default_rng(0),
            solver="HIGHS",
            max_iter=10,
            tol=1e-9,
            working_set=working_set,
        )
    assert asked == [(form, reduction, "HIGHS", expected)]
    assert asked[0][3] is expected


def test_n_starts_below_one_is_refused():
    class NoStarts(ColumnSumVolMin):
        name = "no-starts-test-only"
        n_starts = 0

    X, _, _ = cvxvolmin.make_paper_data(3, n_samples=60, random_state=0)
    with pytest.raises(cvxvolmin.InvalidParameterError, match="n_starts=0"):
        cvxvolmin.fit(X, 3, formulation=NoStarts())


def test_the_alternating_optimization_runs_with_one_blas_thread_and_restores_the_caller_s():
    from threadpoolctl import threadpool_info, threadpool_limits

    def most_blas_threads() -> int:  # some BLAS builds are single-threaded anyway
        return max(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")

    X, _, _ = cvxvolmin.make_paper_data(3, case=3, random_state=0)
    seen: list[int] = []
    with threadpool_limits(2, user_api="blas"):
        assert most_blas_threads() == 2  # the caller's setting: not one already
        cvxvolmin.fit(X, 3, random_state=0, callback=lambda *_: seen.append(most_blas_threads()))
        after = most_blas_threads()
    assert seen and set(seen) == {1}
    assert after == 2
