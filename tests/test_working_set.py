"""Constraint generation: LPs on working sets of columns give the full LP's optima."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

import cvxvolmin
from cvxvolmin.lp import RowLP
from cvxvolmin.working_set import (
    _GROWTH,
    _MAX_WIDENINGS,
    Declaration,
    WorkingSetLP,
    initial_columns,
)


def _column_sum_problem(n_samples, rank=6, seed=0, redundant=0):
    X, W, H = cvxvolmin.make_paper_data(rank, case=3, n_samples=n_samples, random_state=seed)
    if redundant:
        # Many columns deep inside the data cone: redundant, never active.
        rng = np.random.default_rng(seed)
        inner = H.mean(axis=0) + 0.05 * rng.uniform(size=(redundant, rank))
        X, H = np.hstack([X, W @ inner.T]), np.vstack([H, inner])
    return X, H


def _declare(Xt):
    totals = Xt.sum(axis=1)

    def declare(columns):
        q = cp.Variable(Xt.shape[0])
        h = (Xt if columns is None else Xt[:, columns]).T @ q
        return Declaration(q, [h >= 0, totals @ q == Xt.shape[1]], {})

    return declare


@pytest.mark.parametrize("redundant", [0, 3000])
def test_working_set_lp_matches_the_full_lp(redundant):
    X, _ = _column_sum_problem(1500, redundant=redundant)
    Xt = np.linalg.svd(X, full_matrices=False)[2][:6] * np.sqrt(X.shape[1])
    declare = _declare(Xt)
    full_declaration = declare(None)
    full = RowLP(full_declaration.q, full_declaration.constraints, "HIGHS")
    working = WorkingSetLP(declare, Xt.shape[1], initial_columns(Xt, 60), "HIGHS")
    rng = np.random.default_rng(1)
    for _ in range(20):
        d = rng.standard_normal(6)
        a, b = working.maximize(d), full.maximize(d)
        assert d @ a == pytest.approx(d @ b, rel=1e-9, abs=1e-9)
        assert (Xt.T @ a).min() >= -1e-8  # feasible for every column
    # The working set stays a small part of the columns.
    assert working.columns.size < Xt.shape[1] / 2
    assert working.n_solves == 20 and working.n_inner_solves >= 20


@pytest.mark.parametrize("formulation", ["column-sum", "row-sum"])
def test_fit_on_working_sets_equals_the_full_fit(formulation):
    case = 3 if formulation == "column-sum" else 1
    X, _, H = cvxvolmin.make_paper_data(5, case=case, n_samples=2500, random_state=2)
    fast = cvxvolmin.fit(X, 5, formulation=formulation, random_state=0, working_set=True)
    plain = cvxvolmin.fit(X, 5, formulation=formulation, random_state=0, working_set=False)
    assert cvxvolmin.matched_mse(plain.H, fast.H) <= 1e-18
    order, _ = cvxvolmin.match_columns(plain.H, fast.H)
    np.testing.assert_allclose(fast.H[:, order], plain.H, atol=1e-10 * np.abs(plain.H).max())
    assert cvxvolmin.matched_mse(H, fast.H) <= 1e-18


def test_non_separable_formulations_refuse_working_sets():
    class Smooth(cvxvolmin.ColumnSumVolMin):
        name = "smooth-test-only"
        column_separable = False

    X, _, _ = cvxvolmin.make_paper_data(3, n_samples=100, random_state=0)
    with pytest.raises(ValueError, match="does not declare column_separable = True"):
        cvxvolmin.fit(X, 3, formulation=Smooth(), working_set=True)


def test_a_sum_over_h_is_caught_on_working_sets():
    class SumsH(cvxvolmin.ColumnSumVolMin):
        name = "sums-h-test-only"
        column_separable = True  # claimed, wrongly: cp.sum(row.h) is no elementwise constraint

        def row_constraints(self, row, reduction):
            return [row.h >= 0, cp.sum(row.h) == row.unit]

    X, _, _ = cvxvolmin.make_paper_data(3, n_samples=300, random_state=0)
    # Refused before any solve, at any N, working sets or not: the meaning would change.
    for working_set in (True, False):
        with pytest.raises(
            TypeError, match=r"constraint 2 of 2 changes with the set of samples .* row\.total"
        ):
            cvxvolmin.fit(X, 3, formulation=SumsH(), working_set=working_set, random_state=0)


def _paper_Xt(n_samples=300, rank=5, seed=0):
    X, _, _ = cvxvolmin.make_paper_data(rank, case=3, n_samples=n_samples, random_state=seed)
    return np.linalg.svd(X, full_matrices=False)[2][:rank] * np.sqrt(X.shape[1])


def _declare_with(Xt, totals, rhs):
    def declare(columns):
        q = cp.Variable(Xt.shape[0])
        h = (Xt if columns is None else Xt[:, columns]).T @ q
        return Declaration(q, [h >= 0, totals @ q == rhs], {})

    return declare


def test_a_column_outside_the_cone_by_1e_6_is_added():
    Xt = _paper_Xt()
    r, n = Xt.shape
    totals = Xt.sum(axis=1)
    d = np.random.default_rng(2).standard_normal(r)
    full = _declare_with(Xt, totals, n)(None)
    q_star = RowLP(full.q, full.constraints, "HIGHS").maximize(d)
    # A new column just outside the facet of the data cone that q_star supports
    # (the sum of the columns active there): the optimum misses it by 1e-6 of
    # the size of its terms.
    h = Xt.T @ q_star
    v = Xt[:, np.abs(h) <= 1e-9 * np.abs(h).max()].sum(axis=1)
    v -= (v @ q_star) / (q_star @ q_star) * q_star
    v -= 1e-6 * np.linalg.norm(v) / np.linalg.norm(q_star) * q_star
    augmented = np.column_stack([Xt, v])
    declare = _declare_with(augmented, totals, n)
    working = WorkingSetLP(declare, n + 1, initial_columns(Xt, 40), "HIGHS")
    q = working.maximize(d)
    assert n in working.columns  # the nearly feasible column was taken in
    slack = (augmented.T @ q) / (np.linalg.norm(augmented, axis=0) * np.linalg.norm(q))
    assert slack.min() >= -1e-12
    reference = RowLP(*declare(None)[:2], "HIGHS").maximize(d)
    assert d @ q == pytest.approx(d @ reference, rel=1e-9)


@pytest.mark.parametrize("sense", ["==", "<="])
def test_the_box_is_widened_when_the_optimum_lies_beyond_it(sense):
    # Xt scaled down by 1e-8: the same polytope's rows of Q are 1e8 times longer,
    # beyond the box's start 1e4 sqrt(N). With "==" the LP in the box is
    # infeasible, with "<=" its optimum is on the box: both widen it until the
    # full LP's optimum is inside.
    Xt = 1e-8 * _paper_Xt()
    r, n = Xt.shape
    totals = Xt.sum(axis=1)

    def declare(columns):
        q = cp.Variable(r)
        h = (Xt if columns is None else Xt[:, columns]).T @ q
        return Declaration(
            q, [h >= 0, (totals @ q == n) if sense == "==" else (totals @ q <= n)], {}
        )

    working = WorkingSetLP(declare, n, initial_columns(Xt, 40), "HIGHS")
    start = working.bound.value
    # A direction inside cone(Xt): positive on every feasible q, so the optimum is
    # on the column sum, far from the origin.
    d = Xt.sum(axis=1) / np.linalg.norm(Xt.sum(axis=1))
    d += 0.1 * np.random.default_rng(4).standard_normal(r) / np.sqrt(r)
    q = working.maximize(d)
    assert working.bound.value > 10 * start
    assert np.abs(q).max() > start
    reference = RowLP(*declare(None)[:2], "HIGHS").maximize(d)
    np.testing.assert_allclose(q, reference, rtol=1e-8)


def test_an_unbounded_lp_is_refused_with_its_reason():
    Xt = _paper_Xt(n_samples=100)
    r, n = Xt.shape

    def declare(columns):  # h >= 0 alone: a cone, no column sum to bound it
        q = cp.Variable(r)
        return Declaration(q, [(Xt if columns is None else Xt[:, columns]).T @ q >= 0], {})

    working = WorkingSetLP(declare, n, initial_columns(Xt, 40), "HIGHS")
    inside = Xt @ np.ones(n)  # a direction into the cone: unbounded
    with pytest.raises(cvxvolmin.SolverFailedError, match="appears unbounded"):
        working.maximize(inside)


@pytest.mark.parametrize("factor", [1e7, 1e12])
def test_the_all_columns_check_is_relative_to_the_right_hand_side(factor):
    # The column sum written with a right-hand side of N * factor (N = 1e7 did
    # this): rounding leaves about 1e-16 of it, far above any absolute threshold.
    Xt = _paper_Xt(n_samples=600)
    r, n = Xt.shape
    declare = _declare_with(Xt, factor * Xt.sum(axis=1), factor * n)
    working = WorkingSetLP(declare, n, initial_columns(Xt, 40), "HIGHS")
    full = RowLP(*_declare_with(Xt, Xt.sum(axis=1), n)(None)[:2], "HIGHS")
    rng = np.random.default_rng(5)
    for _ in range(5):
        d = rng.standard_normal(r)
        assert d @ working.maximize(d) == pytest.approx(d @ full.maximize(d), rel=1e-9)


def test_violations_are_relative_to_each_columns_size():
    # A column of norm 1e-10 violated by 1e-6 of its size counts as violated; one
    # of norm 1e10 off by rounding (1e-16 of its size) does not.
    Xt = _paper_Xt(n_samples=100)
    r, n = Xt.shape
    totals = Xt.sum(axis=1)
    q = np.random.default_rng(6).standard_normal(r)
    q *= n / (totals @ q)  # meets the column sum
    unit = q / np.linalg.norm(q)
    across = np.linalg.svd(q[None, :])[2][1:3]  # two unit vectors orthogonal to q
    tiny = 1e-10 * (across[0] - 1e-6 * unit)  # h = -1e-6 of its terms, 1e-26 absolute
    big = 1e10 * across[1]  # h is rounding of 1e10-sized terms
    augmented = np.column_stack([Xt, tiny, big])
    working = WorkingSetLP(_declare_with(augmented, totals, n), n + 2, np.arange(n), "HIGHS")
    violation = working.violations(q)
    assert violation[n] == pytest.approx(1e-6, rel=1e-6)
    assert violation[n + 1] <= 1e-15


def test_columns_already_in_the_working_set_are_not_added_again(monkeypatch):
    # The LP solver holds its own constraints only to its tolerance; a column of
    # the working set violated within it was added again and again (a hang:
    # measured with the paper's data, r = 10, N = 5000, columns scaled by 1e+-4).
    Xt = _paper_Xt(n_samples=100)
    r, n = Xt.shape
    working = WorkingSetLP(_declare_with(Xt, Xt.sum(axis=1), n), n, np.arange(n), "HIGHS")
    d = np.random.default_rng(7).standard_normal(r)
    q = working.maximize(d)
    # The same answer, moved so that an active column misses by 1e-7 of its size.
    h = Xt.T @ q
    j = int(np.argmin(np.abs(h) / np.linalg.norm(Xt, axis=0)))
    nudged = q - 1e-7 * np.linalg.norm(q) * Xt[:, j] / np.linalg.norm(Xt[:, j])
    nudged *= n / (Xt.sum(axis=1) @ nudged)  # keep the column sum
    monkeypatch.setattr(working.lp, "maximize", lambda direction: nudged)

    def no_rebuild(columns):
        raise AssertionError("the working set was rebuilt with columns it already holds")

    monkeypatch.setattr(working, "_build", no_rebuild)
    assert working.violations(nudged)[j] > 1e-9  # violated beyond the tolerance ...
    np.testing.assert_array_equal(working.maximize(d), nudged)  # ... and accepted


@pytest.mark.parametrize("size", [12, 400])
def test_initial_columns_ignore_column_scale_and_zero_columns(size):
    # The fit is invariant to positive column scaling, so the starting set is too
    # (it picks columns by direction, whatever their norm, above or below 1);
    # zero columns have no direction and are never picked.
    Xt = _paper_Xt(n_samples=300)
    zero = [5, 77, 298]
    Xt[:, zero] = 0.0
    Xt[:, [0, 150]] = Xt[:, [150, 0]]  # column 150 is extreme along no coordinate
    scale = 10.0 ** np.random.default_rng(8).uniform(-3, 3, Xt.shape[1])
    chosen = initial_columns(Xt, size)
    np.testing.assert_array_equal(initial_columns(Xt * scale, size), chosen)
    nonzero = np.setdiff1d(np.arange(Xt.shape[1]), zero)
    assert np.intersect1d(chosen, zero).size == 0
    if size >= nonzero.size:
        np.testing.assert_array_equal(chosen, nonzero)
        return
    # The columns extreme along each coordinate, by direction, and a sample
    # spread from the first nonzero column to the last.
    directions = Xt[:, nonzero] / np.linalg.norm(Xt[:, nonzero], axis=0)
    extreme = nonzero[np.concatenate([directions.argmin(axis=1), directions.argmax(axis=1)])]
    assert np.isin(extreme, chosen).all()
    assert 0 not in extreme and {0, nonzero[-1]} <= set(chosen.tolist())
    assert size <= chosen.size <= size + extreme.size


def _count_widenings(monkeypatch, working):
    # Fails fast instead of looping if the box is widened more often than allowed.
    calls = []
    widen = working._widen

    def counted():
        calls.append(working.bound.value)
        assert len(calls) <= _MAX_WIDENINGS, "widened beyond the limit"
        widen()

    monkeypatch.setattr(working, "_widen", counted)
    return calls


_LABELS = [{}, {"owner": "formulation 'capped-test'", "hint": " It caps every entry of H."}]


@pytest.mark.parametrize("labels", _LABELS)
def test_an_infeasible_lp_is_reported_after_the_last_widening(monkeypatch, labels):
    # h = (q, -q) >= 0 forces q = 0, against q == 1: empty in every box. The box
    # (starting at 1e4 sqrt(N)) is widened tenfold _MAX_WIDENINGS times, then the
    # infeasibility is reported, naming the owner and the caller's hint.
    Xt = np.array([[1.0, -1.0]])

    def declare(columns):
        q = cp.Variable(1)
        return Declaration(q, [(Xt if columns is None else Xt[:, columns]).T @ q >= 0, q == 1], {})

    working = WorkingSetLP(declare, 2, np.arange(2), "HIGHS", **labels)
    assert working.bound.value == pytest.approx(1e4 * np.sqrt(2), rel=1e-15)
    widenings = _count_widenings(monkeypatch, working)
    owner = labels.get("owner", "the formulation")
    with pytest.raises(cvxvolmin.InfeasibleError, match="infeasible") as caught:
        working.maximize(np.ones(1))
    assert len(widenings) == _MAX_WIDENINGS
    assert working.bound.value == pytest.approx(1e4 * np.sqrt(2) * 10.0**_MAX_WIDENINGS, rel=1e-12)
    message = str(caught.value)
    assert f"the row-update LP of {owner} is infeasible" in message
    expected = labels.get("hint", "") + (" Otherwise, X is" if labels else " X is")
    assert "meets the constraints." + expected in message


@pytest.mark.parametrize("labels", _LABELS)
def test_an_unbounded_lp_is_reported_after_the_last_widening(monkeypatch, labels):
    Xt = _paper_Xt(n_samples=100)
    r, n = Xt.shape

    def declare(columns):  # h >= 0 alone: a cone, no column sum to bound it
        q = cp.Variable(r)
        return Declaration(q, [(Xt if columns is None else Xt[:, columns]).T @ q >= 0], {})

    working = WorkingSetLP(declare, n, initial_columns(Xt, 40), "HIGHS", **labels)
    assert working.bound.value == pytest.approx(1e4 * np.sqrt(n), rel=1e-15)
    widenings = _count_widenings(monkeypatch, working)
    owner = labels.get("owner", "the formulation")
    with pytest.raises(cvxvolmin.SolverFailedError, match="appears unbounded") as caught:
        working.maximize(Xt @ np.ones(n))  # a direction into the cone
    assert len(widenings) == _MAX_WIDENINGS
    final = 1e4 * np.sqrt(n) * 10.0**_MAX_WIDENINGS
    assert working.bound.value == pytest.approx(final, rel=1e-12)
    message = str(caught.value)
    assert f"the row-update LP of {owner} appears unbounded (|q| reached {final:.3g}" in message
    assert message.endswith("the formulation's constraints do not bound the row of Q.")


def _declare_shifted(Xt):
    # h >= s for every column (s a declared parameter, entering additively), the
    # column sum, and q[known] == 0 with nothing known (a constraint with no rows).
    totals, n = Xt.sum(axis=1), Xt.shape[1]

    def declare(columns):
        q, s = cp.Variable(Xt.shape[0]), cp.Parameter(name="s")
        h = (Xt if columns is None else Xt[:, columns]).T @ q
        return Declaration(q, [h >= s, totals @ q == n, q[[]] == 0], {"s": s})

    return declare


def test_violations_follow_the_declared_parameters():
    # The violation of column n is (s - x_n @ q)+ / (||x_n|| ||q|| + |s|): its
    # size counts the constant term, which moves with the parameter. A zero
    # column has no terms at s = 0 (violation 0), and an empty constraint holds.
    Xt = _paper_Xt(n_samples=100)
    Xt[:, 3] = 0.0
    r, n = Xt.shape
    working = WorkingSetLP(_declare_shifted(Xt), n, np.arange(0, n, 7), "HIGHS")
    q = np.random.default_rng(9).standard_normal(r)
    q *= n / (Xt.sum(axis=1) @ q)
    h, norms = Xt.T @ q, np.linalg.norm(Xt, axis=0)
    for s in [0.5, 0.0, -2.0]:
        working.set_parameters(s=np.array(s))
        size = norms * np.linalg.norm(q) + abs(s)
        expected = np.maximum(s - h, 0.0) / np.where(size > 0, size, 1.0)
        np.testing.assert_allclose(working.violations(q), expected, rtol=1e-9, atol=1e-15)


def test_parameters_hold_across_rebuilds():
    # Parameters set before (and between) the LPs reach every rebuilt working LP.
    Xt = _paper_Xt(n_samples=400)
    r, n = Xt.shape
    declare = _declare_shifted(Xt)
    working = WorkingSetLP(declare, n, initial_columns(Xt, 10), "HIGHS")
    full = declare(None)
    reference = RowLP(full.q, full.constraints, "HIGHS", parameters=full.parameters)
    rng = np.random.default_rng(10)
    for s in [0.0, -0.5, 0.02]:
        working.set_parameters(s=np.array(s))
        reference.set_parameters(s=np.array(s))
        for _ in range(3):
            d = rng.standard_normal(r)
            assert d @ working.maximize(d) == pytest.approx(d @ reference.maximize(d), rel=1e-9)
    assert working.n_rebuilds > 1  # the set grew while parameters were set


@pytest.mark.parametrize("start", ["empty", "initial"])
def test_any_start_reaches_the_full_optimum_and_counts_its_lps(monkeypatch, start):
    # Even from no columns at all (an empty list: not an integer array) the set
    # grows to the full LP's optimum. n_rebuilds counts the working LPs built and
    # n_inner_solves the LPs solved on them, over all rebuilds.
    Xt = _paper_Xt(n_samples=400)
    r, n = Xt.shape
    declare = _declare_with(Xt, Xt.sum(axis=1), n)
    solves = []
    solve = RowLP.maximize
    monkeypatch.setattr(RowLP, "maximize", lambda lp, d: solves.append(1) or solve(lp, d))
    columns = [] if start == "empty" else initial_columns(Xt, 10)
    working = WorkingSetLP(declare, n, columns, "HIGHS")
    builds = []
    build = working._build
    monkeypatch.setattr(working, "_build", lambda cols: builds.append(cols) or build(cols))
    assert (working.n_rebuilds, working.n_inner_solves, working.n_solves) == (1, 0, 0)
    rng = np.random.default_rng(11)
    directions = rng.standard_normal((4, r))
    answers = [working.maximize(d) for d in directions]
    assert builds  # the set grew
    assert working.n_rebuilds == 1 + len(builds)
    assert working.n_inner_solves == len(solves)
    assert working.n_solves == len(directions)
    full = declare(None)
    reference = RowLP(full.q, full.constraints, "HIGHS")
    for d, q in zip(directions, answers, strict=True):
        assert d @ q == pytest.approx(d @ reference.maximize(d), rel=1e-9)


def test_one_round_adds_the_most_violated_columns(monkeypatch):
    # Of the violated columns outside the set, the _GROWTH most violated join it.
    Xt = _paper_Xt(n_samples=1000)
    r, n = Xt.shape
    working = WorkingSetLP(_declare_with(Xt, Xt.sum(axis=1), n), n, np.arange(20), "HIGHS")
    q = np.random.default_rng(12).standard_normal(r)
    q *= n / (Xt.sum(axis=1) @ q)
    relative = np.maximum(-(Xt.T @ q), 0.0) / (np.linalg.norm(Xt, axis=0) * np.linalg.norm(q))
    relative[:20] = 0.0  # already in the set
    assert np.count_nonzero(relative > 1e-9) > _GROWTH + 50
    expected = np.union1d(np.arange(20), np.argsort(relative)[::-1][:_GROWTH])
    monkeypatch.setattr(working.lp, "maximize", lambda direction: q)

    class Grown(Exception):
        pass

    def build(columns):
        np.testing.assert_array_equal(columns, expected)
        raise Grown

    monkeypatch.setattr(working, "_build", build)
    with pytest.raises(Grown):
        working.maximize(np.ones(r))


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_a_constraint_over_all_columns_is_checked_in_both_directions(scale):
    # The column sum is an equality: missing it from below is as wrong as from
    # above, and the error says what to write instead.
    Xt = _paper_Xt(n_samples=100)
    r, n = Xt.shape
    working = WorkingSetLP(_declare_with(Xt, Xt.sum(axis=1), n), n, np.arange(n), "HIGHS")
    q = np.random.default_rng(13).standard_normal(r)
    q *= scale * n / (Xt.sum(axis=1) @ q)
    with pytest.raises(
        cvxvolmin.InvalidParameterError,
        match=r"\(constraint 2 of 2\) that the working-set LP does not reproduce; .* or fit "
        r"with working_set=False\.",
    ) as caught:
        working.violations(q)
    assert "[" not in str(caught.value)  # the constraint's expression (the data) is not printed


def _points_off_some_columns(lp, count, seed):
    """Working-LP solutions moved within the constraints over all columns (not per column)."""
    from scipy.linalg import null_space

    from cvxvolmin.polish import constraint_values

    size = lp.full.q.size
    pairs = zip(lp.full.constraints, lp.scan.per_column, strict=True)
    over_all = [constraint for constraint, every in pairs if not every]

    def values(point):
        lp.full.q.value = point
        return np.concatenate([constraint_values(c)[0] for c in over_all] or [np.zeros(0)])

    base = values(np.zeros(size))
    A = np.column_stack([values(e) - base for e in np.eye(size)])
    free = null_space(A) if A.size else np.eye(size)
    rng = np.random.default_rng(seed)
    points = []
    for _ in range(count):
        q = lp.lp.maximize(rng.standard_normal(size))
        points.append(q + 0.3 * np.linalg.norm(q) * free @ rng.standard_normal(free.shape[1]))
    return points


@pytest.mark.parametrize(
    "name", ["column-sum", "column-sum-leq", "box", "l1-ball", "row-sum", "bounded-abundance"]
)
def test_the_compiled_scan_reproduces_the_declaration_s_values(name):
    from cvxvolmin.declaration import build_joint_lp, build_row_lp
    from cvxvolmin.working_set import ViolationScan

    form = cvxvolmin.get_formulation(
        name, **({"upper": 0.5} if name == "bounded-abundance" else {})
    )
    X, _, _ = cvxvolmin.make_paper_data(4, case=1, n_samples=3000, random_state=0)
    reduction = form.reduce(X, 4)
    build = build_joint_lp if form.coupled else build_row_lp
    lp = build(form, reduction, "HIGHS", True)
    per_column = [M for M, every in zip(lp.scan.matrices, lp.scan.per_column, strict=True) if every]
    assert per_column and all(M is not None for M in per_column)  # all compiled
    evaluated = ViolationScan(lp.full, lp.n_columns, None, "test")  # through cvxpy
    assert all(M is None for M in evaluated.matrices)
    points = _points_off_some_columns(lp, 3, seed=1)
    found = [lp.violations(q) for q in points]
    assert max(v.max() for v in found) > 1e-3  # the points violate some columns
    for q, violation in zip(points, found, strict=True):
        np.testing.assert_allclose(violation, evaluated.violations(q), rtol=1e-9, atol=1e-15)


def test_a_constraint_of_another_form_is_evaluated_through_cvxpy():
    # Weights that differ per column: not one small matrix for every column.
    Xt = _paper_Xt(n_samples=400)
    r, n = Xt.shape
    weights = np.linspace(1.0, 3.0, n)

    def declare(columns):
        q = cp.Variable(r)
        held = slice(None) if columns is None else columns
        h = Xt[:, held].T @ q
        return Declaration(
            q, [cp.multiply(weights[held], h) >= 0, h <= 5.0, Xt.sum(axis=1) @ q == n], {}
        )

    working = WorkingSetLP(declare, n, np.arange(0, n, 9), "HIGHS", data=Xt)
    assert [M is None for M in working.scan.matrices] == [True, False, True]
    q = working.lp.maximize(np.ones(r))
    h, norms = Xt.T @ q, np.linalg.norm(Xt, axis=0) * np.linalg.norm(q)
    expected = np.maximum(np.maximum(-h, 0.0) / norms, np.maximum(h - 5.0, 0.0) / (norms + 5.0))
    np.testing.assert_allclose(working.violations(q), expected, rtol=1e-9, atol=1e-15)


def test_both_lps_of_a_row_share_their_scans_and_reach_the_full_optima():
    Xt = _paper_Xt(n_samples=3000)
    r, n = Xt.shape
    declare = _declare_with(Xt, Xt.sum(axis=1), n)
    full = declare(None)
    reference = RowLP(full.q, full.constraints, "HIGHS")
    rng = np.random.default_rng(14)
    directions = [rng.standard_normal(r) for _ in range(4)]
    paired = WorkingSetLP(declare, n, initial_columns(Xt, 20), "HIGHS", data=Xt)
    single = WorkingSetLP(declare, n, initial_columns(Xt, 20), "HIGHS", data=Xt)
    for d in directions:
        up, down = paired.maximize_both(d)
        assert d @ up == pytest.approx(d @ reference.maximize(d), rel=1e-9)
        assert -d @ down == pytest.approx(-d @ reference.maximize(-d), rel=1e-9)
        single.maximize(d), single.maximize(-d)
    assert paired.n_solves == single.n_solves == 8
    assert paired.n_scans < single.n_scans


def test_the_most_violated_columns_are_chosen_block_by_block_as_over_all(monkeypatch):
    from cvxvolmin import working_set

    Xt = _paper_Xt(n_samples=1000)
    r, n = Xt.shape
    working = WorkingSetLP(_declare_with(Xt, Xt.sum(axis=1), n), n, np.arange(20), "HIGHS", data=Xt)
    q = np.random.default_rng(12).standard_normal(r)
    q *= n / (Xt.sum(axis=1) @ q)
    relative = np.maximum(-(Xt.T @ q), 0.0) / (np.linalg.norm(Xt, axis=0) * np.linalg.norm(q))
    relative[:20] = 0.0  # already in the set
    assert np.count_nonzero(relative > 1e-9) > _GROWTH + 50
    expected = np.sort(np.argsort(relative)[::-1][:_GROWTH])
    for block in (n, 128, 7):  # one block, several, a short last one
        monkeypatch.setattr(working_set, "_SCAN_BLOCK", block)
        (chosen,) = working.scan.most_violated(q[None, :], working._in_set)
        np.testing.assert_array_equal(np.sort(chosen), expected)


def test_a_per_column_map_that_agrees_only_on_average_is_not_compiled():
    """values[n] = (x_n + z_n).q with z orthogonal to each row of Xt: every coordinate reads
    the same coefficient 1 from the data, yet no single M reproduces the values, so the
    residual (not only the agreement across coordinates) keeps it in cvxpy."""
    Xt = _paper_Xt(n_samples=200)
    r, n = Xt.shape
    Z = np.random.default_rng(3).standard_normal((r, n))
    Z -= (Z @ Xt.T) @ np.linalg.solve(Xt @ Xt.T, Xt)  # each row of Z orthogonal to Xt's rows
    shifted = Xt + Z

    def declare(columns):
        q = cp.Variable(r)
        held = slice(None) if columns is None else columns
        return Declaration(q, [shifted[:, held].T @ q >= 0, Xt.sum(axis=1) @ q == n], {})

    working = WorkingSetLP(declare, n, np.arange(0, n, 7), "HIGHS", data=Xt)
    assert working.scan.matrices[0] is None
    q = np.random.default_rng(4).standard_normal(r)
    q *= n / (Xt.sum(axis=1) @ q)  # on the sum constraint, which must hold
    values = shifted.T @ q
    expected = np.maximum(-values, 0.0) / (np.linalg.norm(shifted, axis=0) * np.linalg.norm(q))
    np.testing.assert_allclose(working.violations(q), expected, rtol=1e-9, atol=1e-15)


def test_a_bounded_lp_leaves_the_box_as_it_was():
    """The box is widened only when a solution lies on it: never for column-sum VolMin."""
    Xt = _paper_Xt(n_samples=500)
    r, n = Xt.shape
    working = WorkingSetLP(
        _declare_with(Xt, Xt.sum(axis=1), n), n, np.arange(0, n, 25), "HIGHS", data=Xt
    )
    for d in np.random.default_rng(5).standard_normal((3, r)):
        working.maximize_both(d)
    assert working.bound.value == pytest.approx(1e4 * np.sqrt(n), rel=1e-15)


def test_a_per_column_constraint_of_several_rows_compiles_to_their_own_sizes():
    """Two values per column (h >= 0 and 3 h >= -1): each row of M has its own norm, so each
    value's violation is relative to its own terms, as cvxpy's evaluation has it."""
    from cvxvolmin.working_set import ViolationScan

    Xt = _paper_Xt(n_samples=300)
    r, n = Xt.shape

    def declare(columns):
        q = cp.Variable(r)
        h = (Xt if columns is None else Xt[:, columns]).T @ q
        return Declaration(q, [cp.vstack([h, 3 * h + 1]).T >= 0, Xt.sum(axis=1) @ q == n], {})

    working = WorkingSetLP(declare, n, np.arange(0, n, 7), "HIGHS", data=Xt)
    assert working.scan.matrices[0] is not None and working.scan.matrices[0].shape == (2, 1)
    evaluated = ViolationScan(working.full, n, None, "test")  # through cvxpy
    q = np.random.default_rng(6).standard_normal(r)
    q *= n / (Xt.sum(axis=1) @ q)
    found = working.violations(q)
    assert found.max() > 1e-3
    np.testing.assert_allclose(found, evaluated.violations(q), rtol=1e-9, atol=1e-15)
