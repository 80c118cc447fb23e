"""The refutation search: successive LPs that can only refute condition (1), with a certificate."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_scattering import capped, capped_norm

from cvxvolmin.exceptions import SolverFailedError
from cvxvolmin.scattering import check as check_module
from cvxvolmin.scattering import check_scattering
from cvxvolmin.scattering.check import _is_structured
from cvxvolmin.scattering.exact import FacetSummary, decide
from cvxvolmin.scattering.prepare import prepare
from cvxvolmin.scattering.search import _certified, _starts, search_refutation

A = 0.45  # rows (0, a, 1 - a) and permutations: (1) fails for a > 1/3
HEXAGON = np.array(
    [(0, A, 1 - A), (0, 1 - A, A), (A, 0, 1 - A), (1 - A, 0, A), (A, 1 - A, 0), (1 - A, A, 0)]
)


def _with_zeros(r: int, n: int, fraction: float, seed: int) -> np.ndarray:
    """Uniform entries with a given fraction of zeros, columns summing to one."""
    rng = np.random.default_rng(seed)
    H = rng.uniform(size=(n, r))
    H[rng.uniform(size=H.shape) < fraction] = 0.0
    return H / H.sum(axis=0)


@settings(max_examples=25, deadline=None)
@given(
    r=st.integers(3, 6),
    fraction=st.sampled_from([0.1, 0.3, 0.5, 0.6]),
    seed=st.integers(0, 2**16),
    tol=st.sampled_from([0.0, 1e-9, 1e-3]),
)
def test_a_refutation_is_a_certificate_and_never_contradicts_the_facets(r, fraction, seed, tol):
    """Any witness is a point of the dual slice with ||y|| > 1 + tol, checked in exact terms."""
    H = _with_zeros(r, 12 * r, fraction, seed)
    if np.linalg.matrix_rank(H) < r:
        return
    rows = prepare(H).rows
    found = search_refutation(rows, tol)
    assert found.n_starts >= 1 and found.n_lps >= found.n_starts
    if found.witness is None:
        return
    y = found.witness
    assert abs(y.sum() - 1.0) <= 1e-12
    assert (rows @ y).min() >= -1e-12 * np.abs(y).max()
    assert np.linalg.norm(y) > 1.0 + tol
    facets = decide(rows, tol)  # every vertex of the slice, r <= 6
    if facets.halfspace_witness is not None:
        return  # the dual cone leaves 1.y > 0: (1) fails outright, the slice is unbounded
    assert facets.strategy == "facets"
    assert facets.top_norm > 1.0 + tol  # the facets agree that (1) fails ...
    assert np.linalg.norm(y) <= facets.top_norm * (1 + 1e-9)  # ... and no point beats a vertex


@pytest.mark.parametrize(("r", "fraction"), [(12, 0.2), (15, 0.2)])
def test_it_refutes_where_the_facets_cannot_finish(r, fraction):
    """r = 12 and 15 at N = 200, 20% zeros: inconclusive at 60 s by facets alone (issue 14)."""
    H = _with_zeros(r, 200, fraction, 0)
    res = check_scattering(H, method="exact", time_limit=30.0)
    assert res.verdict == "not_sufficiently_scattered" and res.method == "search"
    assert res.stats["stages"] == ["necessary", "search"]
    n = res.stats["search_starts"]
    said = re.fullmatch(
        r"a local maximum of \|\|y\|\| over the dual slice has \|\|y\|\| = (\S+) > 1 "
        rf"\(found by successive LPs from {n} starts\): \(1\) fails",
        res.reason,
    )
    assert said and float(said.group(1)) == pytest.approx(res.margin, rel=1e-11)
    y = res.witness
    assert (H @ y).min() >= -1e-12 and abs(y.sum() - 1.0) <= 1e-12
    assert res.margin == pytest.approx(np.linalg.norm(y), rel=1e-12) and res.margin > 1.0
    assert res.witness_point @ y <= 0.0  # the primal point of bd C outside cone(H.T)


def test_it_finds_nothing_in_a_sufficiently_scattered_h():
    """Every local maximum of the paper's r = 10 H is a unit vector (||y|| = 1)."""
    from cvxvolmin.synthetic import make_paper_data

    _, _, H = make_paper_data(10, random_state=1)
    found = search_refutation(prepare(H).rows, 1e-9)
    assert found.witness is None and found.best_norm == pytest.approx(1.0, abs=1e-9)
    assert found.n_starts == 8 * 10  # every start ran


@settings(max_examples=10, deadline=None)
@given(exponent=st.floats(-8.0, 8.0), seed=st.integers(0, 2**16))
def test_the_search_ignores_the_rows_order_and_scales(exponent, seed):
    """Rows scaled by 10^U(-|e|, |e|) and shuffled: the same starts, the same witness."""
    H = _with_zeros(12, 200, 0.2, 0)
    rng = np.random.default_rng(seed)
    spread = abs(exponent)
    scaled = H * 10.0 ** rng.uniform(-spread, spread, size=(H.shape[0], 1))
    shuffled = scaled[rng.permutation(H.shape[0])]
    base = search_refutation(prepare(H).rows, 1e-9).witness
    other = search_refutation(prepare(shuffled).rows, 1e-9).witness
    assert base is not None and other is not None
    np.testing.assert_allclose(other, base, rtol=1e-6, atol=1e-9)


def test_the_search_stops_at_its_deadline():
    H = _with_zeros(10, 200, 0.0, 0)  # dense: sufficiently scattered, nothing to find
    found = search_refutation(prepare(H).rows, 1e-9, deadline=0.0)  # already past
    assert (found.witness, found.n_starts, found.n_lps, found.best_norm) == (None, 0, 0, 1.0)


def test_the_witness_is_a_vertex_of_the_slice():
    """Each ascent ends at a simplex vertex: r - 1 independent rows active to rounding."""
    rows = prepare(_with_zeros(12, 200, 0.2, 0)).rows
    found = search_refutation(rows, 1e-9)
    y = found.witness
    active = np.abs(rows @ y) <= 1e-12 * np.linalg.norm(rows, axis=1) * np.linalg.norm(y)
    assert np.linalg.matrix_rank(rows[active]) == rows.shape[1] - 1
    assert found.best_norm >= np.linalg.norm(y) > 1.0  # moving y into P never raises ||y||


@pytest.mark.parametrize("r", [3, 4])
def test_on_the_simplex_each_ascent_stops_when_its_vertex_repeats(r):
    """Every vertex of the simplex is a unit vector: two LPs a start, the second repeating it."""
    found = search_refutation(np.eye(r), 1e-9)
    assert found.witness is None and found.best_norm == 1.0
    assert found.n_lps == 2 * found.n_starts


@pytest.mark.parametrize("tol", [0.0, 1.5])
def test_an_unbounded_slice_is_refuted_on_the_box_at_any_tol(tol):
    """(-1, 1, 0) is a direction of P: the box ``|y_i| <= 2 + tol`` stops the LPs there."""
    rows = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]])
    y = search_refutation(rows, tol).witness
    assert y is not None and np.linalg.norm(y) > 1.0 + tol
    assert np.abs(y).max() == pytest.approx(2.0 + tol, rel=1e-12)


def test_a_vertex_below_zero_is_found_from_a_negative_axis():
    """The hexagon's refuting vertices have a coordinate below 0: -e_k finds one in 2r starts."""
    found = search_refutation(prepare(HEXAGON).rows, 1e-9)
    assert found.witness is not None and found.witness.min() < 0.0
    assert found.n_starts <= 2 * 3


@pytest.mark.parametrize("push", [1e-9, 1e-6, 1e-3])
def test_a_point_pushed_out_of_the_slice_is_moved_back_exactly(push):
    """Pushed away from the centre c, every row active at the vertex is short by push / r;
    the step towards c that meets them, s = push / (1 + push), lands on the vertex again."""
    rows = prepare(HEXAGON).rows
    vertex = search_refutation(rows, 1e-9).witness
    outside = vertex + push * (vertex - 1.0 / 3)  # still 1.y = 1
    assert (rows @ outside).min() < 0.0
    back = _certified(rows, outside, 1e-9)
    np.testing.assert_allclose(back, vertex, rtol=1e-12, atol=1e-15)
    # judged after the move: a tol between the two norms refutes outside but not at the vertex
    tol = (np.linalg.norm(vertex) + np.linalg.norm(outside)) / 2 - 1.0
    assert _certified(rows, outside, tol) is None


def test_the_starts_are_the_axes_then_the_sparsest_rows_tilted_then_spread():
    """+-e_k, then the 2r sparsest rows negated and tilted off their ties, then 4r others;
    fixed by the shape (the same list each time)."""
    r = 10
    H = _with_zeros(r, 200, 0.0, 0)
    for i in range(2 * r):  # 2r rows with two zeros, all others dense
        H[i, [i % r, (i + 1 + i // r) % r]] = 0.0
    rows = prepare(H).rows
    starts = np.array(_starts(rows))
    assert starts.shape == (8 * r, r)
    np.testing.assert_array_equal(starts, np.array(_starts(rows)))
    np.testing.assert_array_equal(starts[:r], np.eye(r))
    np.testing.assert_array_equal(starts[r : 2 * r], -np.eye(r))
    sparse = rows[np.count_nonzero(rows, axis=1) == r - 2]
    negated = -sparse / np.linalg.norm(sparse, axis=1, keepdims=True)
    tilted = starts[2 * r : 4 * r]
    cosines = (tilted / np.linalg.norm(tilted, axis=1, keepdims=True)) @ negated.T
    nearest = cosines.argmax(axis=1)
    assert sorted(nearest) == list(range(2 * r))  # each sparse row once
    assert cosines.max(axis=1).min() >= 0.8  # a small tilt
    tilts = tilted - negated[nearest]
    across = tilts - tilts.mean(axis=1, keepdims=True)  # the part that is not constant on P
    assert np.linalg.norm(across, axis=1).min() >= 0.01 * np.linalg.norm(tilts, axis=1).max()


def test_a_solver_failure_in_the_search_names_the_search(monkeypatch):
    """P is never empty (it holds the centre) nor unbounded (the box): a failure is HiGHS's."""
    import highspy

    status = highspy.HighsModelStatus.kTimeLimit
    monkeypatch.setattr(highspy.Highs, "getModelStatus", lambda self: status)
    with pytest.raises(SolverFailedError, match=r"on a row-update LP of the refutation search;"):
        search_refutation(np.eye(3), 1e-9)


def _rows_with_values(r: int, fractions: list[float], noise: float = 0.0) -> np.ndarray:
    """The unit vectors, then (a, 1 - a, 0, ...) for each a, nudged by +-noise."""
    rows = [np.eye(r)]
    for a in fractions:
        for sign in (1.0, -1.0):  # the same value, nudged both ways
            row = np.zeros(r)
            row[:2] = a + sign * noise, 1.0 - a - sign * noise
            rows.append(row[None, :])
    return np.vstack(rows)


# 1, 0.5, 0.25, 0.75, 0.2, 0.8, 0.1, 0.9: eight distinct nonzero values, and zeros
EIGHT = [0.5, 0.25, 0.2, 0.1]


@pytest.mark.parametrize(
    ("r", "fractions", "noise", "structured"),
    [
        (8, EIGHT, 0.0, True),  # r values at r = 8, from which the vertex stage runs
        (8, EIGHT, 2e-13, True),  # rounding of a computed H: still those values
        (8, [*EIGHT, 1 / 6], 0.0, False),  # r + 2 values
        (7, [1 / 2], 0.0, False),  # two values, but below r = 8 the facets are quick
        (9, EIGHT, 0.0, True),
    ],
)
def test_structured_means_at_most_r_distinct_nonzero_entries_from_r_8(
    r, fractions, noise, structured
):
    """Zeros are not counted; entries equal to 12 decimals (they lie in [0, 1]) are one value."""
    assert _is_structured(_rows_with_values(r, fractions, noise)) is structured


@pytest.mark.parametrize(
    ("b", "verdict", "condition1"),
    [
        (0.25, "sufficiently_scattered", True),
        (0.2, "not_sufficiently_scattered", True),  # the cuts' vertices on the sphere
        (0.15, "not_sufficiently_scattered", False),
    ],
)
def test_structured_h_at_r_10_is_decided_by_the_vertices(b, verdict, condition1):
    """capped(10, b): hundreds of rows, two distinct entries. Every vertex is enumerated, so
    the gap is exact: 1 - the norm of the cuts' dual vertices."""
    res = check_scattering(capped(10, b), method="exact")
    assert (res.verdict, res.condition1, res.method) == (verdict, condition1, "vertices")
    assert res.stats["stages"] == ["necessary", "vertices"]
    assert res.stats["exact_strategy"] == "vertices" and "vertices_s" in res.stats
    assert res.gap == pytest.approx(1.0 - capped_norm(10, b), abs=1e-12)
    assert res.on_boundary is (b == 0.2)
    if condition1 is False:
        assert res.margin == pytest.approx(capped_norm(10, b), rel=1e-12)
    if verdict == "sufficiently_scattered":
        n = res.stats["n_vertices"]
        assert res.reason.endswith(
            f"< 1 (all {n} vertices, certified: every facet of their hull holds on the slice)"
        )
        assert check_scattering(capped(10, b)).stats["stages"] == ["necessary", "vertices"]  # auto


@pytest.mark.parametrize("outcome", ["runs out", "cannot certify"])
def test_a_vertex_stage_that_decides_nothing_passes_on_to_the_search(outcome, monkeypatch):
    """The vertex stage gets half the time left; without an answer the search decides."""
    budgets = []

    def stub(rows, tol, time_limit):
        budgets.append(time_limit)
        if outcome == "runs out":
            return None, {"vertices_s": time_limit}
        failed = FacetSummary("vertices", 0, 0, 0, None, None, 0.0, error="no certificate")
        return failed, {"vertices_s": 0.0}

    monkeypatch.setattr(check_module, "enumerate_within", stub)
    res = check_scattering(capped(10, 0.15), method="exact", time_limit=30.0)
    assert (res.method, res.condition1) == ("search", False)
    assert res.stats["stages"] == ["necessary", "vertices", "search"]
    assert 7.5 < budgets[0] <= 15.0 and "vertices_s" in res.stats
    assert res.stats.get("vertices_error") == (None if outcome == "runs out" else "no certificate")


def test_the_vertex_stage_runs_with_any_time_left(monkeypatch):
    budgets = []

    def runs_out(rows, tol, time_limit):
        budgets.append(time_limit)
        return None, {}

    monkeypatch.setattr(check_module, "enumerate_within", runs_out)
    res = check_scattering(capped(10, 0.15), method="exact", time_limit=1.0)
    assert res.stats["stages"][:2] == ["necessary", "vertices"] and 0 < budgets[0] <= 0.5


def test_no_vertex_stage_once_the_time_is_gone():
    res = check_scattering(capped(10, 0.15), method="exact", time_limit=1e-9)
    assert res.verdict == "inconclusive" and "vertices" not in res.stats["stages"]
