"""Contracts of the scattering checker's parts, one level below ``check_scattering``.

tests/test_scattering.py checks verdicts on constructions with known answers;
a wrong helper often leaves those verdicts intact (a later stage, or the
exact refinement, repairs what it got wrong) while the evidence, the counts
or the certificates it reports are wrong. These tests state what each part
promises in its docstring: what a certificate must satisfy, which thresholds
are relative to what, what the exact stage's summary describes, and what the
JSON form of a result holds. (Written against the mutants of
benchmarks/mutation.py, but each asserts a documented property.)
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import re
import time
import warnings

import numpy as np
import pytest
from scipy.optimize import nnls
from scipy.spatial import QhullError
from test_scattering import (
    INC,
    LOCAL_FAIL,
    NOT,
    SSC,
    _centre_case,
    capped,
    capped_norm,
    hexagon,
    hexagon_top_norm,
    pairs,
    shrink,
)

from cvxvolmin.scattering import NecessaryReport, check_scattering, necessary_conditions
from cvxvolmin.scattering import exact as exact_module
from cvxvolmin.scattering.exact import (
    _common_zeros,
    _facet_equations,
    _refine_one,
    _satisfies,
    _solve_defining,
    _tightest_independent,
    enumerate_facets,
    outer_approximation,
)
from cvxvolmin.scattering.geometry import (
    cone_projection,
    inner_radius,
    primal_point,
    refutes_one,
    scale_witness,
)
from cvxvolmin.scattering.prepare import prepare
from cvxvolmin.scattering.sample import boundary_points, sample_screen
from cvxvolmin.synthetic import make_paper_data


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


# ------------------------------------------------------------ the JSON form

RESULT_KEYS = {
    "verdict",
    "condition1",
    "condition2",
    "witness",
    "witness_point",
    "margin",
    "gap",
    "on_boundary",
    "method",
    "time_s",
    "reason",
    "tol",
    "stats",
}


@pytest.mark.parametrize(
    ("H", "kwargs"),
    [
        (hexagon(0.25), {"method": "exact"}),  # scattered: no witness, a finite gap
        (pairs(4), {"method": "exact"}),  # on the boundary
        (hexagon(0.45), {"random_state": 0}),  # refuted by sampling, gap unknown
        (np.ones((4, 3)), {}),  # rank-deficient: infinite margin
    ],
)
def test_to_dict_holds_every_field_with_its_value(H, kwargs):
    res = check_scattering(H, **kwargs)
    d = json.loads(json.dumps(res.to_dict()))
    assert set(d) == RESULT_KEYS
    for key in ("verdict", "condition1", "condition2", "method", "reason"):
        assert d[key] == getattr(res, key)
    assert d["on_boundary"] is res.on_boundary
    assert d["tol"] == res.tol and d["time_s"] == res.time_s
    for key in ("witness", "witness_point"):
        value = getattr(res, key)
        assert d[key] == (None if value is None else [float(v) for v in value])
    for key in ("margin", "gap"):
        value = getattr(res, key)
        expected = None if value is None else ("inf" if np.isinf(value) else float(value))
        assert d[key] == expected
    assert d["stats"]["stages"] == res.stats["stages"]
    assert d["stats"] == json.loads(json.dumps(res.stats, default=float))


@pytest.mark.parametrize("H", [np.eye(4), LOCAL_FAIL.astype(float)])
def test_necessary_report_to_dict_holds_every_field(H):
    report = necessary_conditions(H)
    d = json.loads(json.dumps(report.to_dict()))
    assert set(d) == {
        "passed",
        "failure",
        "witness",
        "zeros_per_column",
        "checks",
        "stats",
        "time_s",
    }
    assert d["passed"] is report.passed and d["failure"] == report.failure
    expected = None if report.witness is None else [float(v) for v in report.witness]
    assert d["witness"] == expected
    assert d["zeros_per_column"] == report.zeros_per_column
    assert d["checks"] == report.checks
    assert d["stats"] == report.stats and d["time_s"] == report.time_s


# ------------------------------------------------------- reasons and margins


def test_a_necessary_refutation_says_which_check_and_its_margin():
    res = check_scattering(LOCAL_FAIL, method="exact")
    assert res.method == "necessary"
    assert res.reason.startswith("a necessary condition for (1) fails: tangent_cones")
    # the witness is scaled to 1.y = 1, so the margin is its norm (not inf)
    assert res.witness.sum() == pytest.approx(1.0)
    assert res.margin == pytest.approx(np.linalg.norm(res.witness), rel=1e-12)
    assert res.margin == pytest.approx(3.0, rel=1e-12)


def test_the_tangent_cone_witness_is_the_far_end_of_the_edge():
    # from e_k along the edge of the dual slice as far as the slice allows: the
    # witness is a vertex of P (r - 1 independent rows active), not a point inside
    report = necessary_conditions(LOCAL_FAIL)
    y = report.witness
    slack = LOCAL_FAIL @ y
    assert slack.min() >= -1e-12 and y.sum() == pytest.approx(1.0)
    active = LOCAL_FAIL[np.abs(slack) <= 1e-12 * np.linalg.norm(LOCAL_FAIL, axis=1)]
    assert np.linalg.matrix_rank(active) == LOCAL_FAIL.shape[1] - 1


@pytest.mark.parametrize("delta", [1e-4, 1e-5])
def test_no_stage_refutes_within_tol_of_the_boundary(delta):
    # (1) fails by about 2 delta, less than tol: every stage leaves it to the
    # exact one, which says "on the boundary" ((1) with equality up to tol)
    H = hexagon(1 / 3 + delta)
    tol = 10 * (hexagon_top_norm(1 / 3 + delta) - 1)
    assert necessary_conditions(H, tol=tol).passed
    sampled = check_scattering(H, method="sample", tol=tol, random_state=0)
    assert sampled.verdict == INC
    for method in ("exact", "auto"):
        res = check_scattering(H, method=method, tol=tol, random_state=0)
        assert res.verdict == NOT and res.on_boundary and res.condition1 is True


# ----------------------------------------------------- certificates (geometry)

#: Rows (1, 0, 1), (1, 0, 0), (0, 1, 0) and y = (1.5, 1, -1.5): 1.y = 1,
#: ||y|| = 2.35, the first row active. Moving y by -delta along that row's
#: direction violates it by delta.
_CERT_ROWS = np.array([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
_CERT_Y = np.array([1.5, 1.0, -1.5])


def _violating(delta: float) -> np.ndarray:
    return _CERT_Y - delta * _CERT_ROWS[0] / np.sqrt(2)


@pytest.mark.parametrize("row_scales", [(1, 1, 1), (1e-6, 1e6, 1), (1e6, 1, 1e-3)])
@pytest.mark.parametrize("y_scale", [1.0, 1e-6, 1e6])
def test_refutes_one_verifies_the_certificate_relative_to_row_and_y(row_scales, y_scale):
    # "y must lie in the dual cone up to rounding relative to ||row|| ||y||": a
    # violation of 0.64e-9 ||y|| passes, one of 1.7e-9 ||y|| does not, whatever
    # the scales of the rows and of y
    rows = _CERT_ROWS * np.array(row_scales, dtype=float)[:, None]
    norm = np.linalg.norm(_CERT_Y)
    assert refutes_one(rows, y_scale * _CERT_Y, 1e-9)
    assert refutes_one(rows, y_scale * _violating(0.64e-9 * norm), 1e-9)
    assert not refutes_one(rows, y_scale * _violating(1.7e-9 * norm), 1e-9)
    assert not refutes_one(rows, y_scale * _violating(1e-3), 1e-9)
    # a y in the dual cone with 1.y <= 0 refutes (1) outright
    assert refutes_one(rows, y_scale * np.array([1.0, 0.0, -1.0]), 1e-9)


@pytest.mark.parametrize("tol", [0.0, 1e-9])
def test_refutes_one_leaves_the_boundary_alone(tol):
    # pairs(4): the dual vertex (1, 1, 1, -1) / 2 has norm exactly 1, (1) holds
    # with equality: not a refutation at any tol, while norm 1 + 2 tol is
    rows = prepare(pairs(4)).rows
    y = np.array([0.5, 0.5, 0.5, -0.5])
    assert np.all(rows @ y >= 0) and np.linalg.norm(y) == 1.0
    assert not refutes_one(rows, y, tol)
    with np.errstate(invalid="ignore"):
        assert not refutes_one(rows, np.zeros(4), tol)  # no certificate at all
    rows3 = prepare(hexagon(0.4)).rows
    vertex = np.array([0.6, 0.6, -0.4]) / 0.8  # the cut's dual vertex, norm 1.17
    assert refutes_one(rows3, vertex, tol)


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_scale_witness_depends_on_the_direction_only(scale):
    # 1.y compared with ||y||: y = (1, -1, 1e-14) has 1.y / ||y|| = 7e-15, below
    # 1e-12, so it is scaled to unit norm at every scale
    flat = np.array([1.0, -1.0, 1e-14])
    assert scale_witness(scale * flat) == pytest.approx(flat / np.sqrt(2), rel=1e-12)
    assert scale_witness(scale * np.array([2.0, 1.0, -1.0])) == pytest.approx([1.0, 0.5, -0.5])


@pytest.mark.parametrize(
    "y",
    [
        np.array([0.5, -0.5, 0.5, -0.5]),  # ||y - mean|| exactly 1
        np.array([2.0, 1.0, -2.0]),
        np.array([1.0, 1.0, 1.0]),  # a multiple of 1: any point of bd C does
        np.array([-2.0, -2.0, -2.0, -2.0]),
    ],
)
def test_primal_point_is_the_point_of_bd_C_minimizing_y_x(y):
    x = primal_point(y)
    r = y.size
    assert x.sum() == pytest.approx(1.0, abs=1e-15)
    assert np.linalg.norm(x - 1 / r) == pytest.approx(inner_radius(r), rel=1e-12)
    # min over bd C of y.x is y.c - radius ||y - mean(y)||
    lowest = y.sum() / r - inner_radius(r) * np.linalg.norm(y - y.mean())
    assert y @ x == pytest.approx(lowest, rel=1e-12, abs=1e-15)


# ------------------------------------------------------------ the sampling


def test_sample_screen_counts_the_points_it_tested():
    rows = prepare(hexagon(0.25)).rows  # scattered: every point of bd C is inside
    full = sample_screen(rows, 40, np.random.default_rng(0), 1e-9)
    assert full.n_tested == 40 and full.point is None and full.witness is None
    # past the deadline: one point tested, then stop
    late = sample_screen(rows, 40, np.random.default_rng(0), 1e-9, deadline=-np.inf)
    assert late.n_tested == 1 and late.point is None


def test_sample_screen_reports_the_first_failing_point():
    rows = prepare(hexagon(0.36)).rows
    found = sample_screen(rows, 500, np.random.default_rng(1), 1e-9)
    points = boundary_points(3, 500, np.random.default_rng(1))
    assert found.n_tested > 1  # (a seed whose first point is inside)
    assert np.array_equal(found.point, points[found.n_tested - 1])
    assert refutes_one(rows, found.witness, 1e-9)
    assert found.residual > 1e-9 * np.linalg.norm(found.point)
    earlier = sample_screen(rows, found.n_tested - 1, np.random.default_rng(1), 1e-9)
    assert earlier.point is None


# ------------------------------------------------ the exact stage's helpers


@pytest.mark.parametrize("joggle", [False, True])
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_facet_equations_are_unit_normals_through_their_points(dim, joggle, monkeypatch):
    monkeypatch.setattr(exact_module, "_FORCE_JOGGLE", joggle)
    Z = np.random.default_rng(dim).standard_normal((12, dim))
    equations, simplices, joggled = _facet_equations(Z)
    assert joggled is (joggle and dim > 1)
    normals, offsets = equations[:, :-1], equations[:, -1]
    assert np.linalg.norm(normals, axis=1) == pytest.approx(1.0, rel=1e-12)
    values = Z @ normals.T + offsets  # n.z + c <= 0 for every point
    assert values.max() <= 1e-9
    on_facet = np.take_along_axis(values.T, simplices, axis=1)
    assert np.abs(on_facet).max() <= 1e-9  # joggling moves points by about 1e-11
    assert simplices.shape == (len(equations), dim)


def test_solve_defining_marks_singular_sets_and_solves_the_others():
    rows = prepare(hexagon(0.25)).rows
    sets = np.array([[0, 0], [0, 1], [2, 4]])  # the first repeats a row: singular
    Y = _solve_defining(rows, sets)
    assert np.all(np.isnan(Y[0]))
    for s, y in zip(sets[1:], Y[1:], strict=True):
        assert rows[s] @ y == pytest.approx(0.0, abs=1e-15) and y.sum() == pytest.approx(1.0)


def test_satisfies_is_relative_to_each_y():
    directions = _unit_rows(_CERT_ROWS)
    norm = np.linalg.norm(_CERT_Y)
    inside = _violating(0.5e-12 * norm)  # within 1e-12 ||y|| of the cone
    outside = _violating(1e-10 * norm)
    for a, b in [(1.0, 1.0), (1e6, 1e-6), (1e-6, 1e6)]:
        Y = np.array([a * inside, b * outside])
        assert _satisfies(directions, Y).tolist() == [True, False]


def test_tightest_independent_skips_rows_dependent_on_ones_and_the_chosen():
    ones = np.full(3, 1 / 3)
    a, b = np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
    combination = (3 * ones - a) / 2  # (0, 1/2, 1/2): in span(1, a)
    barely = ones + 1e-9 * np.array([1.0, -1.0, 0.0]) / np.sqrt(2)  # 1.7e-9 of its norm off 1
    rows = np.array([ones, a, combination, b, barely])
    assert _tightest_independent(rows, np.arange(5)) == [1, 3]
    assert _tightest_independent(rows, np.array([0, 4, 2, 1])) == [4, 2]
    # r = 4: three rows, and the fourth independent one is never reached
    rows4 = np.vstack([np.eye(4), np.full(4, 0.25)])
    assert _tightest_independent(rows4, np.array([4, 0, 1, 2, 3])) == [0, 1, 2]


def _hexagon_refine_case():
    rows = prepare(hexagon(0.25)).rows
    vertex = np.array([0.6, -0.2, 0.6])  # the dual vertex of a cut
    assert rows @ vertex == pytest.approx(np.maximum(rows @ vertex, 0), abs=1e-15)
    return rows, _unit_rows(rows), vertex


@pytest.mark.parametrize("factor", [0.3, 0.95])
def test_refine_one_pins_the_vertex_a_nearby_normal_approximates(factor):
    rows, directions, vertex = _hexagon_refine_case()
    offset = np.array([1.0, -2.0, 1.0]) / np.sqrt(6)  # along the slice
    y = vertex + factor * 1e-6 * np.linalg.norm(vertex) * offset
    refined, k = _refine_one(rows, directions, y, 1e-6)
    assert k == -1
    assert refined == pytest.approx(vertex, abs=1e-15)


def test_refine_one_keeps_a_normal_too_far_from_any_vertex():
    rows, directions, vertex = _hexagon_refine_case()
    offset = np.array([1.0, -2.0, 1.0]) / np.sqrt(6)
    y = vertex + 1.05e-6 * np.linalg.norm(vertex) * offset  # beyond close = 1e-6 ||y||
    refined, k = _refine_one(rows, directions, y, 1e-6)
    assert k == -2 and np.array_equal(refined, y)


def test_refine_one_recognizes_a_unit_vector_by_its_zero_rows():
    rows, directions, _ = _hexagon_refine_case()
    y = np.eye(3)[1] + 1e-8 * np.array([0.3, -0.5, 0.2])
    refined, k = _refine_one(rows, directions, y, 1e-6)
    assert k == 1 and np.array_equal(refined, np.eye(3)[1])


@pytest.mark.parametrize(
    "rows",
    [
        np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.25, 0.25, 0.5]]),
        np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 0.5, 0.5], [0.5, 0, 0.25, 0.25]]),
    ],
)
def test_refine_one_gives_up_on_rows_that_pin_nothing(rows):
    # rows spanning only r - 1 dimensions with the ones vector: no r - 1
    # independent rows to solve with 1.y = 1
    y = np.full(rows.shape[1], 1.0 / rows.shape[1]) + 0.01 * np.eye(rows.shape[1])[0]
    refined, k = _refine_one(rows, _unit_rows(rows), y, 1e-6)
    assert k == -2 and np.array_equal(refined, y)


@pytest.mark.parametrize("r", [5, 63, 70])
def test_common_zeros_of_each_facet(r):
    rng = np.random.default_rng(r)
    rows = rng.uniform(size=(100, r)) * (rng.uniform(size=(100, r)) < 0.5)
    rows[:, 0] = 0.0  # a column zero in every row
    rows[:80, 1] = 0.0  # and one zero in most of them
    simplices = np.array([rng.choice(100, size=r - 1, replace=False) for _ in range(30)])
    simplices[:10] = [rng.choice(80, size=r - 1, replace=False) for _ in range(10)]
    common = _common_zeros(rows, simplices)
    expected = np.array([np.all(rows[s] == 0, axis=0) for s in simplices])
    assert common.shape == (30, r) and np.array_equal(common, expected)
    assert common[:, 0].all() and common[:10, 1].all()


# ------------------------------------------------ what the exact stage reports


def test_exact_stats_count_what_it_enumerated():
    res = check_scattering(hexagon(0.25), method="sample", n_samples=50, random_state=0)
    assert res.stats["stages"] == ["sample"] and res.stats["n_samples_tested"] == 50
    res = check_scattering(hexagon(0.25), n_samples=50, random_state=0)
    assert res.stats["stages"] == ["necessary", "exact"] and res.stats["subprocess"] is False
    # a forked child only for r >= 7 under a time limit (Qhull cannot be interrupted),
    # which the facets' first second before the search is, even without time_limit
    assert check_scattering(pairs(7), time_limit=None).stats["subprocess"] is True
    assert check_scattering(pairs(6), method="exact").stats["subprocess"] is False
    # three cut vertices and the three e_k, from the six facets of the hexagon
    assert res.stats["n_facets"] == 6
    assert res.stats["n_vertices"] == 6 and res.stats["n_unit_vertices"] == 3
    assert res.stats["n_rows_used"] == 6 and res.stats["iterations"] == 1
    assert res.stats["qhull_joggled"] is False and res.stats["n_unrefined_vertices"] == 0


@pytest.mark.parametrize(("r", "factor"), [(5, 1.01), (6, 1.01), (6, 1.05)])
def test_joggled_normals_are_replaced_by_exact_vertices(r, factor, monkeypatch):
    # joggled, Qhull's normals near the top are 1e-11 to 1e-8 off; the top is
    # solved from its rows, so the gap is exact to rounding
    monkeypatch.setattr(exact_module, "_FORCE_JOGGLE", True)
    b = 2 / r * factor
    summary = enumerate_facets(prepare(capped(r, b)).rows)
    assert summary.joggled and summary.n_unrefined == 0
    assert summary.top_norm == pytest.approx(capped_norm(r, b), abs=1e-13)


def test_unrefined_vertices_are_counted(joggled_refines):
    # capped(7), joggled: some facets' rows pin no vertex (pieces of a
    # triangulated facet that, unjoggled, do not lie on one facet); those found
    # by neither their rows nor the rows nearly active keep Qhull's normal
    failed = joggled_refines  # per refined candidate: whether no row pinned a vertex
    b = 2 / 7 * 1.01
    summary = enumerate_facets(prepare(capped(7, b)).rows)
    assert summary.n_unrefined == sum(failed) > 0 and not all(failed)
    assert summary.top_norm == pytest.approx(capped_norm(7, b), abs=1e-13)


@pytest.mark.parametrize("joggle", [False, True])
def test_enumerate_facets_reports_a_centre_outside_the_cone(joggle, monkeypatch):
    # the all-ones direction outside cone(H.T): a facet normal with 1.y <= 0
    monkeypatch.setattr(exact_module, "_FORCE_JOGGLE", joggle)
    rows = prepare(np.array([[0, 1, 0], [0, 0, 1], [1, 0, 3], [1, 3, 0]], dtype=float)).rows
    summary = enumerate_facets(rows)
    y = summary.halfspace_witness
    assert summary.strategy == "facets" and summary.error is None
    assert y.sum() <= 0 and np.linalg.norm(y) == pytest.approx(1.0)
    assert np.all(rows @ y >= -1e-9)  # Qhull's normal (of joggled points, 1e-11 off)
    assert summary.top_vertex is None and summary.top_norm == np.inf
    assert (summary.n_facets, summary.n_vertices, summary.n_unit) == (4, 0, 0)
    assert summary.n_rows_used == 4 and summary.joggled is joggle and summary.n_unrefined == 0


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("QH6154 Qhull precision error: initial simplex is flat\nmore details", "QH6154"),
        ("", "QhullError"),
    ],
)
def test_a_qhull_failure_is_inconclusive_and_says_so(message, expected, monkeypatch):
    def failing(rows, floor=np.inf):
        raise QhullError(message)

    monkeypatch.setattr(exact_module, "_dual_vertices", failing)
    summary = enumerate_facets(prepare(hexagon(0.25)).rows)
    assert summary.strategy == "facets" and summary.top_vertex is None
    assert summary.error.startswith(f"Qhull failed: {expected}")
    assert "more details" not in summary.error  # its first line only
    res = check_scattering(hexagon(0.25), method="exact")
    assert res.verdict == INC and res.method == "exact" and res.reason == summary.error
    assert (res.condition1, res.condition2, res.witness, res.margin) == (None, None, None, None)


def test_r2_pure_rows_anywhere_in_H():
    # at r = 2, C is the orthant: scattered iff both axes hold a row (gap 1)
    rng = np.random.default_rng(2)
    H = np.vstack([rng.uniform(0.1, 1, size=(6, 2)), [[0.0, 3.0], [2.0, 0.0]]])
    res = check_scattering(H, method="exact")
    assert res.verdict == SSC and res.gap == 1.0
    assert res.stats["n_unit_vertices"] == 2 and res.stats["n_vertices"] == 2
    assert res.stats["qhull_joggled"] is False


OUTER = {
    "capped(6) scattered": lambda: capped(6, 1 / 3 * 1.01),
    "capped(6) fails (1)": lambda: capped(6, 1 / 3 * 0.99),
    "capped(7) fails (1)": lambda: capped(7, 2 / 7 * 0.99),
    "capped(6) tangent": lambda: capped(6, 1 / 3),
    "paper r=7": lambda: make_paper_data(7, random_state=1)[2],
    "pairs(5)": lambda: pairs(5),
    "hexagon(0.3)": lambda: hexagon(0.3),
    "centre fails": lambda: np.array([[0, 1, 0], [0, 0, 1], [1, 0, 3], [1, 3, 0]], dtype=float),
}
#: (case, joggle, tol): several rounds, one round, Q = P, 1.y <= 0; joggled or
#: not; a tol so large that P's top vertex (norm 0.984) is within it of 1
OUTER_RUNS = [(name, False, 1e-9) for name in sorted(OUTER)] + [
    ("capped(6) scattered", True, 1e-9),
    ("capped(6) tangent", True, 1e-9),
    ("paper r=7", True, 1e-9),
    ("capped(6) scattered", False, 0.05),
]


def _documented_start(rows: np.ndarray) -> list[int]:
    """The rows S starts from: the largest in each column, and on each face
    ``x_k = 0`` the largest in each other column (the corners of the face)."""
    r = rows.shape[1]
    start = {int(np.argmax(rows[:, j])) for j in range(r)}
    for k in range(r):
        face = np.flatnonzero(rows[:, k] == 0)
        if face.size:
            start.update(int(face[np.argmax(rows[face, j])]) for j in range(r) if j != k)
    return sorted(start)


@pytest.mark.parametrize(("name", "joggle", "tol"), OUTER_RUNS)
def test_outer_summary_describes_its_last_polytope(name, joggle, tol, monkeypatch):
    # the summary's counts are those of the last round's Q, its rows those of the
    # last subset; each round solves every vertex of norm >= 1 - tol exactly
    rows = prepare(OUTER[name]()).rows
    rounds = []
    original = exact_module._dual_vertices

    def recording(subset_rows, floor=np.inf):
        found = original(subset_rows, floor=floor)
        # a distinct count per round, to see which round the summary reports
        found = dataclasses.replace(found, n_unrefined=len(rounds) + 3)
        rounds.append((subset_rows, floor, found))
        return found

    monkeypatch.setattr(exact_module, "_FORCE_JOGGLE", joggle)
    monkeypatch.setattr(exact_module, "_dual_vertices", recording)
    summary = outer_approximation(rows, tol)
    n_rows, last = rounds[-1][0].shape[0], rounds[-1][2]
    assert summary.strategy == "outer" and summary.error is None
    assert np.array_equal(rounds[0][0], rows[_documented_start(rows)])
    assert all(floor == 1.0 - tol for _, floor, _ in rounds)
    assert summary.iterations == len(rounds) and summary.n_rows_used == n_rows
    assert summary.n_facets == last.n_facets and summary.n_unit == last.n_unit
    assert summary.n_vertices == last.others.shape[0] + last.n_unit
    assert summary.n_unrefined == last.n_unrefined == len(rounds) + 2
    assert summary.joggled is any(found.joggled for _, _, found in rounds)
    assert summary.joggled is joggle
    monkeypatch.setattr(exact_module, "_dual_vertices", original)
    full = enumerate_facets(rows)
    if full.halfspace_witness is not None:
        assert summary.halfspace_witness is not None and summary.top_vertex is None
        assert summary.top_norm == np.inf
        assert np.linalg.norm(summary.halfspace_witness) == pytest.approx(1.0)
        assert summary.halfspace_witness.sum() <= 0
        return
    assert summary.halfspace_witness is None
    assert summary.top_norm == pytest.approx(np.linalg.norm(summary.top_vertex), rel=1e-12)
    if summary.top_norm < 1 - tol:  # Q's own top vertex: then so is P's below 1 - tol
        assert np.array_equal(summary.top_vertex, last.others[0])
        assert summary.top_norm == last.norms[0] and full.top_norm < 1 - tol
    else:  # a vertex of P itself (a lower bound on P's top)
        assert np.all(rows @ summary.top_vertex >= -1e-12)
        assert summary.top_norm <= full.top_norm * (1 + 1e-12)
        assert (summary.top_norm > 1 + tol) is (full.top_norm > 1 + tol)


def test_outer_falls_back_to_all_facets_when_qhull_fails_on_a_subset(monkeypatch):
    rows = prepare(capped(6, 1 / 3 * 1.01)).rows
    original = exact_module._dual_vertices

    def failing_on_subsets(subset_rows, floor=np.inf):
        if subset_rows.shape[0] < rows.shape[0]:
            raise QhullError("QH6154 Qhull precision error: initial simplex is flat")
        return original(subset_rows, floor=floor)

    monkeypatch.setattr(exact_module, "_dual_vertices", failing_on_subsets)
    summary = outer_approximation(rows, 1e-9)
    assert summary.strategy == "facets" and summary.n_rows_used == rows.shape[0]
    assert summary.top_norm < 1 - 1e-9 and summary.error is None


def test_outer_takes_all_rows_when_its_start_is_rank_deficient():
    # (1/2, 1/2, 0) is the largest in columns 0 and 1 and the only row of its
    # face, (0, 0, 1) the rest of the start: two rows, rank 2 < r = 3
    rows = prepare(np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.4, 0.3, 0.3]])).rows
    summary = outer_approximation(rows, 1e-9)
    assert summary.strategy == "facets" and summary.n_rows_used == 3
    assert summary.halfspace_witness is not None  # (1) fails: 1.y <= 0 in the dual cone


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_outer_needs_few_rows_and_rounds_on_the_paper_H(seed):
    # the module's figures for the paper's H: 25-50 rows and 2-8 rounds; at
    # r = 8, 2 rounds (each round adds every violated row it meets, up to 50:
    # one row per round took 3 or 4)
    rows = prepare(make_paper_data(8, random_state=seed)[2]).rows
    summary = outer_approximation(rows, 1e-9)
    assert summary.strategy == "outer" and summary.top_norm < 1 - 1e-9
    assert summary.iterations <= 2 and summary.n_rows_used <= 50


# ------------------------------------------------------ messages and reasons
# Each regex covers where a literal piece of the message begins or ends (the
# parameter's name first, the hint last), so a garbled or dropped piece shows.


@pytest.mark.parametrize(
    ("H", "kwargs", "pattern"),
    [
        (np.eye(3), {"method": "magic"}, r"^method must be one of .*'auto' for both\.$"),
        (np.eye(3), {"tol": -1.0}, r"^tol must be a finite nonnegative number"),
        (np.eye(3), {"n_samples": 0}, r"^n_samples must be a positive integer"),
        (None, {}, r"^H is None; .*\(N x r, one row per sample, one column per factor\)\.$"),
        (
            np.array([[1.0, -1.0], [0.0, -2.0]]),
            {},
            r"or of H's largest entry\); the sufficiently scattered condition is defined for "
            r"nonnegative H only: pass the nonnegative factor \(N x r\)\.$",
        ),
        (
            np.ones((2, 3)),
            {},
            r"looks transposed: pass the N x r factor \(H\.T\), one row per sample and one "
            r"column per factor\. \(An H .* can never be sufficiently scattered\.\)$",
        ),
    ],
)
def test_messages_name_the_parameter_and_end_with_the_hint(H, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        check_scattering(H, **kwargs)


@pytest.mark.parametrize(
    ("H", "kwargs", "pattern"),
    [
        (
            np.array([[2.0], [0.0]]),
            {},
            r"^r = 1: a nonzero column is trivially sufficiently scattered$",
        ),
        (
            np.eye(3),
            {"method": "exact"},
            r"^the dual slice is the simplex itself \(H has a pure row for every factor\)$",
        ),
        (
            hexagon(0.25),
            {"method": "sample"},
            r"sampling cannot prove \(1\) and never tests \(2\): use method='exact'$",
        ),
        (
            pairs(4),
            {"method": "exact"},
            r"away from the orthant's facets, so \(1\) holds with equality and \(2\) fails "
            r"\(up to tol\)$",
        ),
        (
            np.ones((5, 3)),
            {},
            r"rank: H has rank 1 < r = 3, so cone\(H\.T\) is not full-dimensional and cannot "
            r"contain C$",
        ),
        (shrink(pairs(5), 0.05), {}, r"so e_0 is not a vertex of the dual slice$"),
        (
            LOCAL_FAIL,
            {},
            r"along which \|\|y\|\| grows \(the ones vector is not inside the cone of the rows "
            r"with a zero in column 0\)$",
        ),
        (
            np.array([[0, 1, 0], [0, 0, 1], [1, 0, 3], [1, 3, 0]], dtype=float),
            {},
            r"from cone\(H\.T\), so the dual cone holds a y with 1\.y < 0$",
        ),
    ],
)
def test_reasons_say_why_in_full(H, kwargs, pattern):
    res = check_scattering(H, random_state=0, **kwargs)
    assert re.search(pattern, res.reason), res.reason


@pytest.mark.parametrize(
    ("H", "expected", "pattern"),
    [
        (
            hexagon(0.4),
            (NOT, False, None, False),
            r"^a vertex of the dual slice has \|\|y\|\| = 1\.1726\d* > 1: \(1\) fails$",
        ),
        (
            pairs(4),
            (NOT, True, False, True),
            r"^a vertex of the dual slice other than the e_k has \|\|y\|\| = 1, within tol = "
            r"1e-09 of 1: C touches",
        ),
        (
            hexagon(0.25),
            (SSC, True, True, False),
            r"^every vertex of the dual slice other than the e_k has \|\|y\|\| <= 0\.87178 < 1$",
        ),
    ],
)
def test_the_exact_stage_answer_in_full(H, expected, pattern):
    # every field of the answer on each side of the boundary: margin max ||y||
    # over P (1 when (1) holds), gap 1 - m2, the witness a vertex of P of norm m2
    res = check_scattering(H, method="exact")
    assert (res.verdict, res.condition1, res.condition2, res.on_boundary) == expected
    assert res.method == "exact" and re.search(pattern, res.reason), res.reason
    m2 = 1 - res.gap
    if res.verdict == SSC:
        assert res.witness is None and res.witness_point is None and res.margin == 1.0
        return
    assert np.linalg.norm(res.witness) == pytest.approx(m2, rel=1e-12)
    assert res.margin == pytest.approx(max(m2, 1.0), rel=1e-12)
    assert np.array_equal(res.witness_point, primal_point(res.witness))


def test_the_outer_stage_reports_its_certificate_gap():
    # r = 8: the outer approximation certifies the sign of the gap only, its own
    # margin is stats["certificate_gap"]
    H = make_paper_data(8, random_state=0)[2]
    res = check_scattering(H, method="exact")
    prepared = prepare(H)
    outer = outer_approximation(prepared.rows, 1e-9)
    assert res.verdict == SSC and res.gap is None and res.stats["exact_strategy"] == "outer"
    assert res.stats["certificate_gap"] == pytest.approx(1 - outer.top_norm, rel=1e-12)
    assert re.search(
        rf"^every vertex other than the e_k of an outer approximation of the dual slice "
        rf"\(from {outer.n_rows_used} of {prepared.rows.shape[0]} rows\) has \|\|y\|\| <= ",
        res.reason,
    ), res.reason


def test_the_exact_stage_refutes_a_centre_outside_the_cone_on_its_own(monkeypatch):
    # the necessary checks are a shortcut: without them the exact stage finds the
    # facet normal with 1.y <= 0 itself
    def passing(prepared, tol):
        return NecessaryReport(True, None, None, [0] * prepared.r, {})

    monkeypatch.setattr("cvxvolmin.scattering.check.run_necessary", passing)
    H = np.array([[0, 1, 0], [0, 0, 1], [1, 0, 3], [1, 3, 0]], dtype=float)
    res = check_scattering(H, method="exact")
    assert (res.verdict, res.condition1, res.condition2, res.method) == (NOT, False, None, "exact")
    assert res.margin == np.inf and res.witness.sum() <= 0
    assert np.linalg.norm(res.witness) == pytest.approx(1.0)
    assert np.array_equal(res.witness_point, primal_point(res.witness))
    assert res.reason == "the all-ones direction is not inside cone(H.T): (1) fails"


# ------------------------------------------- the necessary checks' evidence
# Each failing check names itself, marks itself False and the later ones None,
# and returns a certificate of the kind its docstring promises.

#: Rank-deficient H: the null space of the rows is a line in the dual cone, and
#: the witness is the direction on it with 1.y <= 0 (whichever sign the SVD gives).
RANK_DEFICIENT = {
    "a plane, r = 3": np.array([[1, 1, 0], [0, 1, 1], [1, 2, 1], [2, 3, 1]], dtype=float),
    "a facet of the orthant, r = 4": np.array(
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [1, 1, 1, 0], [1, 2, 3, 0]], dtype=float
    ),
    "one direction, r = 2": np.array([[1, 2], [2, 4], [3, 6]], dtype=float),
}


@pytest.mark.parametrize("name", sorted(RANK_DEFICIENT))
def test_the_rank_check_returns_a_null_direction_with_nonpositive_sum(name):
    H = RANK_DEFICIENT[name]
    rank, r = np.linalg.matrix_rank(H), H.shape[1]
    report = necessary_conditions(H)
    assert report.failure.startswith(f"rank: H has rank {rank} < r = {r}")
    assert report.checks == {
        "rank": False,
        "zeros_per_column": None,
        "centre": None,
        "tangent_cones": None,
    }
    y = report.witness
    assert np.linalg.norm(y) == pytest.approx(1.0) and y.sum() <= 0
    assert np.abs(H @ y).max() <= 1e-12 * np.abs(H).max()  # both y and -y are in the dual cone


@pytest.mark.parametrize("r", [1, 3])
def test_an_all_zero_H_is_refuted_by_rank(r):
    # no rows left: rank 0, no zeros counted, and every y is in the dual cone;
    # the witness is the unit y with the most negative 1.y
    H = np.zeros((4, r))
    prepared = prepare(H)
    assert prepared.rows.shape == (0, r) and prepared.rank == 0
    report = necessary_conditions(H)
    assert report.checks["rank"] is False and report.zeros_per_column == [0] * r
    assert report.witness == pytest.approx(-np.ones(r) / np.sqrt(r))
    if r == 1:  # (check_scattering's witness_point is undefined at r = 1)
        return
    res = check_scattering(H)
    assert (res.verdict, res.method, res.margin) == (NOT, "necessary", np.inf)
    assert res.reason.endswith(
        f"rank: H has rank 0 < r = {r}, so cone(H.T) is not full-dimensional and cannot contain C"
    )


def test_zeros_per_column_counts_the_zeros_of_each_column():
    # among the distinct nonzero rows: the duplicate and the zero row do not count
    H = np.array(
        [
            [0, 1, 0.2],
            [0, 2, 0.4],
            [0, 1, 0.5],
            [0, 0.3, 1],
            [1, 0, 0],
            [1, 0, 1],
            [1, 1, 0.3],
            [0, 0, 0],
        ]
    )
    assert necessary_conditions(H).zeros_per_column == [3, 2, 1]


@pytest.mark.parametrize(
    ("a", "vertex"),
    [(0.6, [7 / 6, 1 / 3, -1 / 2]), (0.4, [1.5, -1.5, 1.0])],
)
def test_a_face_of_too_low_rank_is_refuted_by_the_far_end_of_its_edge(a, vertex):
    # column 0 has one zero, in the row (0, a, 1 - a): rank 1 < r - 1 = 2. The
    # edge from e_0 runs along the face's null direction z with 1.z <= 0 (the
    # SVD gives z with 1.z > 0 for a = 0.6, < 0 for a = 0.4) and ends where
    # another row becomes active: a vertex of P of norm above 1
    H = np.array([[0, a, 1 - a], [1, 0, 0], [0.3, 0, 0.7], [0.5, 0.5, 0]])
    report = necessary_conditions(H)
    assert report.failure.startswith(
        "zeros_per_column: column 0 has 1 zeros spanning rank 1 < r - 1 = 2, so e_0 "
    )
    assert report.checks == {
        "rank": True,
        "zeros_per_column": False,
        "centre": None,
        "tangent_cones": None,
    }
    assert report.witness == pytest.approx(vertex, rel=1e-12)


def test_r2_a_column_without_zeros_is_refuted_along_an_unbounded_edge():
    # rows (1, 0) and (1/2, 1/2): column 0 has no zero, so P = {y_0 >= 0, 1.y = 1}
    # is unbounded from e_0 along d = (1, -1) / sqrt(2); the witness is one unit step
    report = necessary_conditions(np.array([[1.0, 0.0], [1.0, 1.0]]))
    assert report.failure.startswith("zeros_per_column: column 0 has 0 zeros spanning rank 0")
    assert report.checks["zeros_per_column"] is False
    assert report.witness == pytest.approx(np.array([1.0, 0.0]) + np.array([1, -1]) / np.sqrt(2))


def test_r1_passes_every_necessary_check():
    report = necessary_conditions(np.array([[2.0], [3.0]]))
    assert report.passed and report.failure is None and report.witness is None
    assert report.checks == dict.fromkeys(
        ("rank", "zeros_per_column", "centre", "tangent_cones"), True
    )


def test_a_scattered_H_passes_every_necessary_check():
    report = necessary_conditions(hexagon(0.25))
    assert report.passed and report.failure is None and report.witness is None
    assert report.checks == dict.fromkeys(
        ("rank", "zeros_per_column", "centre", "tangent_cones"), True
    )


def _tangent_case(eps: float) -> np.ndarray:
    """LOCAL_FAIL's shape: the rows with a zero in column 0, (0, 1, 0) and
    (0, 1, 1 - eps), span a cone missing (1, 1) by about eps / sqrt(2)."""
    return np.array([[0, 1, 0], [0, 1, 1 - eps], [1, 0, 0], [1, 0, 1], [1, 1, 0]], dtype=float)


def _centre_distance(H: np.ndarray) -> float:
    rows = prepare(H).rows
    return float(nnls(rows.T, np.ones(H.shape[1]))[1])


def _tangent_distance(H: np.ndarray) -> float:
    rows = prepare(H).rows
    face = np.delete(rows[rows[:, 0] == 0], 0, axis=1)
    return float(nnls(face.T, np.ones(2))[1])


@pytest.mark.parametrize("factor", [0.85, 1.2])
@pytest.mark.parametrize(
    ("check", "H", "distance", "norm"),
    [
        ("centre", _centre_case(2 + 2e-7), _centre_distance, np.sqrt(3)),
        ("tangent_cones", _tangent_case(1e-3), _tangent_distance, np.sqrt(2)),
    ],
)
def test_a_projection_refutes_only_beyond_tol_times_the_projected_norm(
    check, H, distance, norm, factor
):
    # the all-ones vector (of length r, or r - 1 on a face) lies at distance d
    # from its cone: the check fails iff d > tol ||ones||, here tol = d / ||ones|| / factor
    tol = distance(H) / norm / factor
    report = necessary_conditions(H, tol=tol)
    assert report.checks[check] is (factor < 1)


# ---------------------------------------------------- the cone projection


def test_cone_projection_returns_a_certificate_only_beyond_the_threshold():
    gens = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    # the target a generator: distance exactly 0, no certificate at the default threshold 0
    assert cone_projection(np.eye(3), np.ones(3)) == (0.0, None)
    distance, y = cone_projection(gens, np.array([1.0, 1.0, 0.5]))  # default threshold 0
    assert distance == pytest.approx(0.5) and y == pytest.approx([0.0, 0.0, -0.5])
    assert cone_projection(gens, np.array([1.0, 1.0, 0.5]), threshold=0.5) == (
        pytest.approx(0.5),
        None,
    )
    # one generator: projected onto its ray
    distance, y = cone_projection(gens[:1], np.ones(3))
    assert distance == pytest.approx(np.sqrt(2)) and y == pytest.approx([0.0, -1.0, -1.0])


@pytest.mark.parametrize(
    ("gens", "target"),
    [
        (np.empty((0, 3)), np.array([1.0, 2.0, 2.0])),  # the cone {0}
        (np.eye(2), np.array([-1.0, -2.0])),  # at an obtuse angle to every generator
    ],
)
def test_cone_projection_onto_the_apex_returns_minus_the_target(gens, target):
    # the nearest point of the cone is 0: the distance is ||target|| and
    # y = 0 - target, which has gens y >= 0 and target.y = -||y||^2
    distance, y = cone_projection(gens, target)
    assert distance == pytest.approx(np.linalg.norm(target), rel=1e-12)
    assert np.array_equal(y, -target)
    assert np.all(gens @ y >= 0)


# ----------------------------------------------------------- thresholds


def test_zero_thresholds_are_inclusive():
    # "at most 1e-9 times the row's largest" and "down to -1e-9 times H's largest"
    H = np.array([[1.0, 1e-9, 0.5], [-1e-9, 1e-3, 1e-3], [0.0, 0.0, 1.0]])
    rows = prepare(H).rows
    assert rows[0, 1] == 0.0 and rows[1, 0] == 0.0
    assert np.count_nonzero(rows == 0) == 4


def test_a_row_on_a_face_never_merges_with_one_off_it():
    # at r = 2100 a positive entry just above the zero threshold (1.001e-9 of
    # the row's largest) is 4.8e-13 of the row's sum and rounds to 0 at 12
    # decimals, like the zero of the row on the face x_{r-1} = 0: the rows stay
    # apart (zeros get a merge key of their own)
    r = 2100
    on_face, off_face = np.ones(r), np.ones(r)
    on_face[-1], off_face[-1] = 0.0, 1.001e-9
    assert np.round(off_face[-1] / off_face.sum(), 12) == 0.0
    H = np.vstack([on_face, off_face, np.zeros((r - 2, r))])  # N >= r: zero rows
    prepared = prepare(H)
    assert prepared.rows.shape[0] == 2 and np.count_nonzero(prepared.rows[:, -1] == 0) == 1


@pytest.mark.parametrize(
    "H",
    [
        # a computed product of rank r - 1 = 4 with 200 rows: rounding of 1e-16
        np.random.default_rng(0).uniform(size=(200, 4))
        @ np.random.default_rng(1).uniform(size=(4, 5)),
        # a row off the plane of two others by 1e-15
        np.array([[0.5, 0.25, 0.25], [0.25, 0.25, 0.5], [0.375 + 1e-15, 0.25 - 1e-15, 0.375]]),
    ],
)
def test_the_rank_ignores_rounding(H):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepared = prepare(H)
    assert prepared.rank == H.shape[1] - 1
    # while a row off that plane by 1e-12 of its size counts
    if H.shape[0] == 3:
        H = H.copy()
        H[2] += 1e-12 * np.array([1.0, -1.0, 0.0])
        assert prepare(H).rank == 3


@pytest.mark.parametrize("which", ["between the rules", "above both"])
def test_the_sampling_tests_a_point_only_beyond_tol_times_its_norm(which):
    # hexagon(0.4): every point outside the cone refutes (1) with the cut's
    # normal (norm 1.17); the screen stops at the first point whose NNLS residual
    # exceeds tol ||x||. tol = the first outside point's residual rho puts it
    # above the threshold (||x|| < 1); tol between rho / ||x|| and the largest
    # relative residual skips it
    rows = prepare(hexagon(0.4)).rows
    points = boundary_points(3, 100, np.random.default_rng(1))
    residuals = np.array([nnls(rows.T, x)[1] for x in points])
    norms = np.linalg.norm(points, axis=1)
    first = int(np.flatnonzero(residuals > 0)[0])
    if which == "between the rules":
        tol = residuals[first]
    else:
        tol = (residuals[first] / norms[first] + (residuals / norms).max()) / 2
    expected = 1 + int(np.flatnonzero(residuals > tol * norms)[0])
    assert (expected == first + 1) is (which == "between the rules")
    found = sample_screen(rows, 100, np.random.default_rng(1), tol)
    assert found.n_tested == expected and found.point is not None


# ------------------------------------------------------------- the counts


def test_stats_count_the_rows_as_documented():
    # 7 rows: 2 all-zero, one a multiple of another: 4 distinct, r = 3, rank 3
    H = np.array([[0, 1, 0.2], [0, 2, 0.4], [0, 0, 0], [1, 0, 0], [1, 0, 1], [1, 1, 0], [0, 0, 0]])
    expected = {"r": 3, "n_rows": 7, "n_zero_rows": 2, "n_distinct_rows": 5 - 1, "rank": 3}
    assert prepare(H).stats() == expected
    start = time.perf_counter()
    report = necessary_conditions(H)
    elapsed = time.perf_counter() - start
    assert report.stats == expected and 0 < report.time_s <= elapsed
    res = check_scattering(H, method="exact")
    assert {key: res.stats[key] for key in expected} == expected
    assert json.loads(json.dumps(res.to_dict()))["stats"]["n_distinct_rows"] == 4


# ------------------------------------------------- answers of check_scattering


def test_r1_answer_in_full():
    res = check_scattering(np.array([[2.0], [0.0], [1.0]]))
    assert (res.verdict, res.condition1, res.condition2, res.on_boundary) == (
        SSC,
        True,
        True,
        False,
    )
    assert (res.witness, res.witness_point, res.gap) == (None, None, None)
    assert res.margin == 1.0 and res.method == "necessary" and res.stats["stages"] == []


def test_tol_zero_puts_an_exact_tangency_on_the_boundary():
    # pairs(4): the top vertex (1, 1, 1, -1) / 2 has norm exactly 1; "within tol
    # of 1" holds at tol = 0, so (1) holds with equality and (2) fails
    res = check_scattering(pairs(4), method="exact", tol=0.0)
    assert 1 - res.gap == 1.0
    assert (res.verdict, res.condition1, res.condition2, res.on_boundary) == (
        NOT,
        True,
        False,
        True,
    )


def test_a_sampling_refutation_in_full():
    res = check_scattering(hexagon(0.4), method="sample", random_state=0)
    assert (res.verdict, res.condition1, res.condition2, res.method) == (NOT, False, None, "sample")
    assert res.witness.sum() == pytest.approx(1.0)
    assert res.margin == pytest.approx(np.linalg.norm(res.witness), rel=1e-12)
    n = res.stats["n_samples_tested"]
    assert re.fullmatch(
        rf"sample {n} of bd C lies outside cone\(H\.T\) \(NNLS residual \S+\)", res.reason
    )
    # the witness point is that sample (the default from y would be another point of bd C)
    sample = boundary_points(3, 2000, np.random.default_rng(0))[n - 1]
    np.testing.assert_array_equal(res.witness_point, sample)
    assert not np.allclose(primal_point(res.witness), sample)


def test_sampling_alone_is_inconclusive_by_the_sample_method():
    res = check_scattering(hexagon(0.25), method="sample", random_state=0)
    assert res.verdict == INC and res.method == "sample"
    # n_samples defaults to 2000, as documented
    assert res.stats["n_samples_tested"] == 2000
    assert res.reason.startswith("all 2000 samples of bd C lie in cone(H.T)")


def test_a_time_limit_that_runs_out_says_so(monkeypatch):
    # the facets never finish (stubbed): with the time gone before they start,
    # each call gets a budget of 0; sampling tests one point, then stops
    from cvxvolmin.scattering import check as check_module

    budgets = []

    def never_finishes(rows, tol, time_limit):
        budgets.append(time_limit)
        return None, {}

    monkeypatch.setattr(check_module, "decide_within", never_finishes)
    res = check_scattering(hexagon(0.25), time_limit=1e-6, random_state=0)
    assert res.verdict == INC and res.method == "sample" and res.stats["n_samples_tested"] == 1
    assert res.reason.endswith("time_limit=1e-06 s ran out before the exact stage")
    budgets.clear()
    res = check_scattering(hexagon(0.25), method="exact", time_limit=1e-6)
    assert res.verdict == INC and res.method == "exact" and budgets == [0.0, 0.0]
    assert res.reason.startswith("the exact stage did not finish within time_limit=1e-06 s")


def test_the_default_time_limit_is_60_s(monkeypatch):
    """The default as the user meets it: in the reason of an exact stage that never finishes."""
    from cvxvolmin.scattering import check as check_module

    monkeypatch.setattr(check_module, "decide_within", lambda rows, tol, limit: (None, {}))
    res = check_scattering(hexagon(0.25), method="exact")
    assert res.verdict == INC and "within time_limit=60 s" in res.reason


@pytest.mark.parametrize("function", [check_scattering, necessary_conditions])
def test_documented_defaults_are_the_signature_defaults(function):
    documented = dict(re.findall(r"^    (\w+) : .*, default (.+)$", function.__doc__, re.MULTILINE))
    assert documented  # the docstring states defaults
    signature = inspect.signature(function)
    for name, value in documented.items():
        assert signature.parameters[name].default == ast.literal_eval(value), name


def test_a_rank_read_below_r_by_prepare_always_has_a_null_direction():
    """prepare's rank threshold is above scipy's null_space one; the witness must not vanish."""
    H = np.array([[0.5, 0.25, 0.25], [0.25, 0.25, 0.5], [0.375 + 1e-15, 0.25 - 1e-15, 0.375]])
    res = check_scattering(H)
    assert res.verdict == NOT and res.method == "necessary" and "rank" in res.reason
    y = res.witness
    assert np.linalg.norm(y) == pytest.approx(1.0) and y.sum() <= 1e-12
    assert np.abs(H @ y).max() <= 1e-14  # a direction of the (numerical) null space


def test_an_all_zero_column_vector_has_a_finite_witness_point():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by zero on the way
        res = check_scattering(np.zeros((3, 1)))
    assert res.verdict == NOT and res.condition1 is False
    np.testing.assert_array_equal(res.witness_point, [1.0])
