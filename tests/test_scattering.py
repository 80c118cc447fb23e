"""Tests of the sufficient-scattering checker (cvxvolmin.scattering).

Hand-built cases whose answer is known by geometry:

* ``hexagon(a)``, r = 3: rows ``(0, a, 1 - a)`` and permutations. On the
  slice 1.x = 1 the hull is the triangle with its corners cut by the lines
  ``x_i = 1 - a``; the inscribed circle of C reaches ``x_i = 2/3``. So a < 1/3
  is sufficiently scattered (not separable), a = 1/3 touches the circle away
  from the triangle's sides ((1) with equality, (2) fails) and a > 1/3 cuts
  it ((1) fails). The facet normal of a cut is ``(1 - a, 1 - a, -a)`` (up to
  order), so the largest non-unit vertex norm is known in closed form.
* ``pairs(r)``: rows ``e_i + e_j`` (i < j), the hypersimplex. Its cuts are
  ``x_i <= 1/2`` and C reaches ``x_i = 2/r``: (1) fails at r = 3 (the medial
  triangle), holds with equality and (2) fails at r = 4, holds strictly at
  r >= 5 (sufficiently scattered, not separable).
* ``corners(r, a)``: rows ``(1 - a) e_i + a e_j`` (i != j), a <= 1/2: the
  simplex with its corners cut at ``x_i = 1 - a``; sufficiently scattered iff
  ``1 - a > 2/r`` (at r = 3 this is the hexagon; at r >= 4 always for
  a < 1/2, and r = 4, a = 1/2 is pairs(4)).
* ``shrink(H, s)`` moves every row towards the centre: no zeros remain, so C
  (which touches each face x_k = 0) is no longer inside: (1) fails.
* ``capped(r, b)``: the vertices of ``{x >= 0, 1.x = 1, x_i <= b}``. Its
  facets are the faces ``x_k = 0`` and the cuts ``x_i <= b``, whose dual
  vertices have norm ``capped_norm(r, b)``: C (reaching ``x_i = 2/r``) is
  tangent to every cut at ``b = 2/r`` ((1) with equality, (2) fails) at
  every r, sufficiently scattered for ``b > 2/r`` and (1) fails for
  ``b < 2/r``. At r = 3 it is ``hexagon(1 - b)``, at r = 4, ``b = 1/2``,
  ``pairs(4)``. (``corners(r, a)`` is tangent only up to r = 4: its cut
  ``x_i <= 1 - a`` with ``a <= 1/2`` stays outside C for r >= 5.)
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from cvxvolmin.exceptions import InvalidParameterError, SolverFailedError
from cvxvolmin.scattering import (
    ScatteringResult,
    check_scattering,
    necessary_conditions,
)
from cvxvolmin.scattering import exact as exact_module
from cvxvolmin.synthetic import make_paper_data

SSC = "sufficiently_scattered"
NOT = "not_sufficiently_scattered"
INC = "inconclusive"


def hexagon(a: float) -> np.ndarray:
    return np.array([p for p in itertools.permutations((0.0, a, 1.0 - a))])


def pairs(r: int) -> np.ndarray:
    eye = np.eye(r)
    return np.array([eye[i] + eye[j] for i, j in itertools.combinations(range(r), 2)])


def corners(r: int, a: float) -> np.ndarray:
    eye = np.eye(r)
    return np.array([(1 - a) * eye[i] + a * eye[j] for i in range(r) for j in range(r) if i != j])


def shrink(H: np.ndarray, s: float) -> np.ndarray:
    """Move each row (scaled to sum one) a fraction s towards the centre."""
    rows = H / H.sum(axis=1, keepdims=True)
    return (1 - s) * rows + s / H.shape[1]


def separable(r: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.vstack([np.eye(r) * rng.uniform(0.5, 2, r), rng.uniform(size=(20, r))])


def capped(r: int, b: float) -> np.ndarray:
    """The vertices of ``{x >= 0, 1.x = 1, x_i <= b}`` (``1/(r - 1) < b < 1``)."""
    m = int(np.floor(1.0 / b))  # coordinates at the cap b; one more holds the rest
    rest = 1.0 - m * b
    rows = set()
    for top in itertools.combinations(range(r), m):
        others = [j for j in range(r) if j not in top] if rest > 0 else [None]
        for j in others:
            x = np.zeros(r)
            x[list(top)] = b
            if j is not None:
                x[j] = rest
            rows.add(tuple(x))
    return np.array(sorted(rows))


def capped_norm(r: int, b: float) -> float:
    """Norm of the dual vertex of the cut ``x_i <= b``, ``(b 1 - e_i) / (r b - 1)``."""
    return float(np.sqrt((r - 1) * b**2 + (1 - b) ** 2) / (r * b - 1))


def hexagon_top_norm(a: float) -> float:
    y = np.array([1 - a, 1 - a, -a]) / (2 - 3 * a)
    return float(np.linalg.norm(y))


def assert_valid_witness(H: np.ndarray, res: ScatteringResult) -> None:
    """The witness is in the dual cone and outside (or on) C*; the point on bd C."""
    y, x = res.witness, res.witness_point
    assert y is not None and x is not None
    scale = np.abs(H).max(axis=1) * np.linalg.norm(y)
    assert np.all(H @ y >= -1e-8 * scale)
    assert np.linalg.norm(y) >= y.sum() - 1e-9
    r = H.shape[1]
    assert x.sum() == pytest.approx(1.0)
    assert np.linalg.norm(x - 1 / r) == pytest.approx(1 / np.sqrt(r * (r - 1)))
    assert y @ x <= 1e-9


# ---------------------------------------------------------------- geometry


@pytest.mark.parametrize("a", [0.1, 0.25, 0.3])
def test_hexagon_below_third_is_scattered_not_separable(a):
    res = check_scattering(hexagon(a), method="exact")
    assert res.verdict == SSC
    assert (res.condition1, res.condition2, res.on_boundary) == (True, True, False)
    assert res.witness is None and res.margin == 1.0
    assert res.gap == pytest.approx(1 - hexagon_top_norm(a), abs=1e-12)


def test_hexagon_at_third_is_on_the_boundary():
    res = check_scattering(hexagon(1 / 3), method="exact")
    assert res.verdict == NOT
    assert (res.condition1, res.condition2, res.on_boundary) == (True, False, True)
    assert abs(res.gap) <= 1e-9
    assert_valid_witness(hexagon(1 / 3), res)
    assert np.linalg.norm(res.witness) == pytest.approx(1.0)


@pytest.mark.parametrize("delta", [1e-3, 1e-6])
def test_hexagon_perturbed_both_sides(delta):
    below = check_scattering(hexagon(1 / 3 - delta), method="exact")
    above = check_scattering(hexagon(1 / 3 + delta), method="exact")
    assert below.verdict == SSC and not below.on_boundary
    assert above.verdict == NOT and above.condition1 is False and not above.on_boundary
    assert above.margin == pytest.approx(hexagon_top_norm(1 / 3 + delta), rel=1e-9)
    assert_valid_witness(hexagon(1 / 3 + delta), above)


def test_hexagon_above_third_fails_one_with_known_witness():
    a = 0.4
    res = check_scattering(hexagon(a), method="exact")
    assert res.verdict == NOT and res.condition1 is False
    assert sorted(res.witness) == pytest.approx(sorted(np.array([1 - a, 1 - a, -a]) / (2 - 3 * a)))


def test_pairs_r3_medial_triangle_fails():
    res = check_scattering(pairs(3), method="exact")
    assert res.verdict == NOT and res.condition1 is False
    assert_valid_witness(pairs(3), res)


def test_pairs_r4_one_with_equality_two_fails():
    res = check_scattering(pairs(4), method="exact")
    assert res.verdict == NOT
    assert (res.condition1, res.condition2, res.on_boundary) == (True, False, True)
    # C touches the facet x_i = 1/2 at its centre (1/2, 1/6, 1/6, 1/6)
    assert sorted(res.witness_point) == pytest.approx([1 / 6, 1 / 6, 1 / 6, 1 / 2])


@pytest.mark.parametrize("r", [5, 6])
def test_pairs_scattered_for_r_at_least_5(r):
    res = check_scattering(pairs(r), method="exact")
    assert res.verdict == SSC and res.gap > 1e-3


def test_r4_boundary_perturbed_both_sides():
    inside = check_scattering(corners(4, 0.49), method="exact")
    outside = check_scattering(shrink(pairs(4), 1e-3), method="exact")
    assert inside.verdict == SSC and not inside.on_boundary
    assert outside.verdict == NOT and outside.condition1 is False and not outside.on_boundary


@pytest.mark.parametrize(("r", "a"), [(4, 0.2), (4, 0.45), (5, 0.3), (5, 0.5)])
def test_corners_scattered_for_r_at_least_4(r, a):
    # the cut x_i <= 1 - a stays outside C (which reaches 2/r) for a <= 1/2
    res = check_scattering(corners(r, a), method="exact")
    assert res.verdict == SSC
    assert res.gap > 1e-3


@pytest.mark.parametrize("r", [2, 3, 4, 6])
def test_separable_is_scattered(r):
    res = check_scattering(separable(r, r), method="exact")
    assert res.verdict == SSC and res.gap == 1.0


def test_r2_and_r1():
    assert check_scattering(np.eye(2), method="exact").verdict == SSC
    assert check_scattering(np.array([[1.0, 1.0], [1.0, 0.0]]), method="exact").verdict == NOT
    assert check_scattering(np.array([[2.0], [0.0]])).verdict == SSC


@pytest.mark.parametrize("r", range(3, 9))
def test_capped_tangent_is_on_the_boundary(r):
    # C touches every cut x_i = 2/r away from the orthant's facets
    H = capped(r, 2 / r)
    res = check_scattering(H, method="exact", tol=1e-11)
    assert res.verdict == NOT
    assert (res.condition1, res.condition2, res.on_boundary) == (True, False, True)
    assert np.linalg.norm(res.witness) == pytest.approx(1.0, abs=1e-12)
    assert_valid_witness(H, res)


@pytest.mark.parametrize("r", range(3, 9))
@pytest.mark.parametrize("side", [-1, 1])
def test_capped_tangent_perturbed_by_1e8_both_sides(r, side):
    b = 2 / r + side * 1e-8
    H = capped(r, b)
    expected = capped_norm(r, b)  # 1 -+ about 1e-8
    res = check_scattering(H, method="exact", tol=1e-11)
    assert not res.on_boundary
    if side > 0:
        assert res.verdict == SSC and (res.condition1, res.condition2) == (True, True)
    else:
        assert res.verdict == NOT and res.condition1 is False
        # the witness is a vertex of the dual slice past the threshold
        assert np.linalg.norm(res.witness) > 1 + 1e-11
        assert_valid_witness(H, res)
    if res.stats.get("exact_strategy") == "facets":  # r <= 7: the gap is exact
        # tolerance relative to the norms compared (about 1)
        assert res.gap == pytest.approx(1 - expected, abs=1e-13)


@pytest.mark.parametrize("side", [-1, 1])
def test_tangent_hexagon_perturbed_by_1e8_both_sides(side):
    a = 1 / 3 + side * 1e-8
    res = check_scattering(hexagon(a), method="exact", tol=1e-11)
    assert not res.on_boundary
    assert res.gap == pytest.approx(1 - hexagon_top_norm(a), abs=1e-13)
    assert res.verdict == (NOT if side > 0 else SSC)
    assert res.condition1 is (side < 0)


def _force_joggle(monkeypatch) -> None:
    """Make Qhull joggle its input, as it does by itself when facet merging fails."""
    monkeypatch.setattr(exact_module, "_FORCE_JOGGLE", True)


@pytest.mark.parametrize("tol", [1e-7, 1e-9, 1e-11])
@pytest.mark.parametrize(("r", "joggle"), [(4, True), (5, True), (6, True), (7, True), (8, False)])
def test_margin_1e3_near_the_boundary_at_small_tol(r, joggle, tol, monkeypatch):
    # Cuts whose dual vertices have norm 1 - 1e-3: sufficiently scattered by a
    # margin of 1e-3. With joggled Qhull normals near each e_k off by about
    # 1e-9, an absolute unit-vector tolerance answered "on the boundary" at
    # tol = 1e-7, with e_k as the witness. At r = 8 Qhull joggles by itself.
    # b solves capped_norm(r, b) = 1 - 1e-3 (a quadratic in b)
    n2 = (1 - 1e-3) ** 2
    roots = np.roots([r - 1 + 1 - n2 * r * r, -2 + 2 * n2 * r, 1 - n2])
    b = float(max(roots.real))
    assert capped_norm(r, b) == pytest.approx(1 - 1e-3, rel=1e-14)
    if joggle:
        _force_joggle(monkeypatch)
    from cvxvolmin.scattering import check as check_module

    # the facet stage's own handling (at r = 8 the portfolio's vertex stage decides first)
    monkeypatch.setattr(check_module, "_is_structured", lambda rows: False)
    res = check_scattering(capped(r, b), method="exact", tol=tol)
    assert res.stats["qhull_joggled"]
    assert res.verdict == SSC and not res.on_boundary and res.witness is None
    if r <= 7:
        assert res.gap == pytest.approx(1e-3, rel=1e-9)
    else:
        assert res.stats["certificate_gap"] >= 1e-3 * (1 - 1e-9)


def _near_unit_vertex_case(eps: float) -> tuple[np.ndarray, np.ndarray]:
    """hexagon(0.25) plus a row just off the face x_0 = 0, sticking out past its end.

    The facet through (0, 1/4, 3/4) and that row has a dual vertex within
    about 1.6 eps of e_0 and norm about 1 - eps: a vertex that is not e_0.
    """
    row = np.array([eps, 0.2, 0.8 - eps])
    H = np.vstack([hexagon(0.25), row])
    vertex = np.linalg.solve(np.vstack([[0, 0.25, 0.75], row, np.ones(3)]), [0, 0, 1])
    return H, vertex


@pytest.mark.parametrize("joggle", [False, True])
def test_a_dual_vertex_near_e_k_is_not_taken_for_e_k(joggle, monkeypatch):
    if joggle:
        _force_joggle(monkeypatch)
    H, vertex = _near_unit_vertex_case(1e-7)
    assert 0 < np.max(np.abs(vertex - np.eye(3)[0])) < 2e-6
    gap = 1 - np.linalg.norm(vertex)
    assert gap == pytest.approx(1e-6, rel=1e-5)
    scattered = check_scattering(H, method="exact", tol=1e-9)
    assert scattered.verdict == SSC
    assert scattered.gap == pytest.approx(gap, rel=1e-8)
    # with a tolerance larger than its distance from 1 it is on the boundary
    boundary = check_scattering(H, method="exact", tol=1e-4)
    assert boundary.verdict == NOT and boundary.on_boundary
    assert (boundary.condition1, boundary.condition2) == (True, False)
    assert boundary.witness == pytest.approx(vertex, rel=1e-9, abs=1e-15)
    assert np.all(H @ boundary.witness >= -1e-12 * np.linalg.norm(H, axis=1))


def _centre_case(t: float) -> np.ndarray:
    """Rows e_1, e_2, (1, 0, t), (1, t, 0): every face x_k = 0 spanned, and the
    all-ones direction inside cone(H.T) iff t <= 2 (by about (t - 2) / 2)."""
    return np.array([[0, 1, 0], [0, 0, 1], [1, 0, t], [1, t, 0]], dtype=float)


@pytest.mark.parametrize("method", ["exact", "auto"])
def test_centre_check_is_the_deciding_one(method):
    H = _centre_case(3.0)
    res = check_scattering(H, method=method, random_state=0)
    assert res.method == "necessary" and res.stats["stages"] == ["necessary"]
    assert res.stats["necessary_checks"] == {
        "rank": True,
        "zeros_per_column": True,
        "centre": False,
        "tangent_cones": None,
    }
    assert res.verdict == NOT and res.condition1 is False and res.margin == np.inf
    y = res.witness
    assert y.sum() < 0 and np.linalg.norm(y) == pytest.approx(1.0)
    assert np.all(H @ y >= -1e-9 * np.linalg.norm(H, axis=1))


def test_centre_check_threshold_is_at_the_tolerance_scale():
    # The all-ones vector lies at distance 8.2e-8 (4.7e-8 of its norm) from the
    # cone: a violation at tol = 1e-9, not at tol = 1e-6 (the exact stage then
    # decides), and its certificate is exact enough to be verified.
    H = _centre_case(2 + 2e-7)
    assert necessary_conditions(H, tol=1e-9).checks["centre"] is False
    assert necessary_conditions(H, tol=1e-6).checks["centre"] is True
    assert check_scattering(H, method="exact", tol=1e-6).condition1 is False
    # all-ones on the boundary of the cone: (1) fails (C sticks out)
    on_boundary = check_scattering(_centre_case(2.0), method="exact")
    assert on_boundary.verdict == NOT and on_boundary.condition1 is False


def test_exact_runs_the_necessary_checks_first():
    # r = 15, 10% zeros: the exact stage alone ran 60 s into "inconclusive";
    # the necessary checks refute in milliseconds.
    _, _, H = make_paper_data(15, zero_fraction=0.1, random_state=0)
    res = check_scattering(H, method="exact", time_limit=10)
    assert res.verdict == NOT and res.method == "necessary"
    assert res.stats["stages"] == ["necessary"] and res.time_s < 1.0
    assert_valid_witness(H, res)
    decided = check_scattering(hexagon(0.25), method="exact")
    assert decided.stats["stages"] == ["necessary", "exact"]
    assert check_scattering(hexagon(0.25), method="sample").stats["stages"] == ["sample"]


def test_tiny_rows_keep_their_direction():
    # Entries 1e-9 of H's largest were read as zeros: rows scaled by 2e-9 moved
    # onto the orthant's faces and a non-scattered H became "scattered".
    H = hexagon(0.4)
    base = check_scattering(H, method="exact")
    assert base.verdict == NOT and base.condition1 is False
    for scaled in (
        np.vstack([H * 2e-9, np.ones(3)]),
        np.vstack([H * 1e-7, [1 / 3, 1 / 3, 1 / 3]]),
        H * np.logspace(-12, 0, len(H))[:, None],
        H * np.logspace(-300, 300, len(H))[:, None],
    ):
        for method in ("exact", "auto"):
            res = check_scattering(scaled, method=method, random_state=0)
            assert res.verdict == NOT and res.condition1 is False
        res = check_scattering(scaled, method="exact")
        assert res.margin == pytest.approx(base.margin, rel=1e-12)


def test_rounding_is_read_relative_to_each_row():
    # Within 1e-9 of its own row's largest an entry is a zero; beyond, it is kept
    # however small the row is compared with the others.
    rows = np.array([[0.0, 0.25, 0.75], [1e-10, 0.25, 0.75], [1e-8, 0.25, 0.75]])
    from cvxvolmin.scattering.prepare import prepare

    for scale in (1.0, 1e-12):
        kept = prepare(np.vstack([np.ones(3), rows * scale])).rows
        # the 1e-10 entry is a zero (its row merges with the first), 1e-8 is not
        assert kept.shape[0] == 3 and np.count_nonzero(kept[:, 0] == 0) == 1
        assert kept[2, 0] == pytest.approx(1e-8, rel=1e-12)


# ------------------------------------------------------ methods and invariance


def test_necessary_conditions_report():
    assert necessary_conditions(np.eye(4)).passed
    report = necessary_conditions(shrink(pairs(5), 0.05))
    assert not report.passed and report.failure.startswith("zeros_per_column")
    assert report.zeros_per_column == [0] * 5
    json.dumps(report.to_dict())
    rank_def = necessary_conditions(np.ones((5, 3)))
    assert rank_def.failure.startswith("rank") and rank_def.witness.sum() <= 0


#: The rows with a zero in column 0 span a cone in (x_1, x_2) that misses (1, 1).
LOCAL_FAIL = np.array([[0, 1, 0.2], [0, 1, 0.5], [1, 0, 0], [1, 0, 1], [1, 1, 0]])


def test_tangent_cone_check_refutes_one():
    report = necessary_conditions(LOCAL_FAIL)
    assert report.checks == {
        "rank": True,
        "zeros_per_column": True,
        "centre": True,
        "tangent_cones": False,
    }
    y = report.witness
    assert np.all(LOCAL_FAIL @ y >= -1e-12) and y.sum() == pytest.approx(1)
    assert np.linalg.norm(y) > 1
    assert check_scattering(LOCAL_FAIL, method="exact").condition1 is False


FAILING = {
    "hexagon(0.4)": hexagon(0.4),
    "pairs(3)": pairs(3),
    "shrunk pairs(4)": shrink(pairs(4), 0.02),
    "shrunk corners(5, 0.3)": shrink(corners(5, 0.3), 0.05),
}


@pytest.mark.parametrize("name", sorted(FAILING))
def test_sample_and_exact_agree_when_sampling_refutes(name):
    H = FAILING[name]
    sampled = check_scattering(H, method="sample", n_samples=3000, random_state=0)
    exact = check_scattering(H, method="exact")
    assert sampled.verdict == NOT and sampled.condition1 is False
    assert_valid_witness(H, sampled)
    assert exact.verdict == NOT and exact.condition1 is False


@pytest.mark.parametrize("seed", range(6))
def test_sample_and_exact_agree_on_random_small_H(seed):
    rng = np.random.default_rng(seed)
    H = rng.uniform(size=(12, 4)) * (rng.uniform(size=(12, 4)) > 0.45)
    sampled = check_scattering(H, method="sample", n_samples=1000, random_state=seed)
    exact = check_scattering(H, method="exact")
    assert sampled.verdict in (NOT, INC)
    if sampled.verdict == NOT:
        assert exact.verdict == NOT and exact.condition1 is False
    if exact.verdict == SSC:
        assert sampled.verdict == INC


def test_sampling_alone_is_inconclusive_on_scattered_and_boundary_H():
    for H in (hexagon(0.25), pairs(4)):  # pairs(4): (1) holds, (2) fails
        res = check_scattering(H, method="sample", random_state=0)
        assert res.verdict == INC and res.condition1 is None and res.witness is None


def test_sampling_is_deterministic():
    a = check_scattering(hexagon(0.34), method="sample", random_state=3)
    b = check_scattering(hexagon(0.34), method="sample", random_state=3)
    assert np.array_equal(a.witness_point, b.witness_point)


def test_auto_stops_at_the_first_decisive_stage(monkeypatch):
    """Below r = 10 the facets come first; from it the search, then sampling, then facets."""
    from cvxvolmin.scattering import check as check_module
    from cvxvolmin.scattering.search import SearchOutcome

    assert check_scattering(LOCAL_FAIL).method == "necessary"
    res = check_scattering(hexagon(0.45), random_state=0)  # r = 3: facets in milliseconds
    assert res.method == "exact" and res.stats["stages"] == ["necessary", "exact"]
    monkeypatch.setattr(check_module, "_SEARCH_FIRST_RANK", 3)  # as for r >= 10
    res = check_scattering(hexagon(0.45), random_state=0)
    assert res.method == "search" and res.stats["stages"] == ["necessary", "search"]
    assert res.stats["search_starts"] >= 1 and res.stats["search_lps"] >= 1
    # A search that finds nothing leaves the refutation to sampling, then to the facets.
    monkeypatch.setattr(
        check_module, "search_refutation", lambda rows, tol, deadline: SearchOutcome(None, 0, 0, 1)
    )
    res = check_scattering(hexagon(0.45), random_state=0)
    assert res.method == "sample" and res.stats["stages"] == ["necessary", "search", "sample"]
    res = check_scattering(hexagon(0.25), random_state=0)
    assert res.method == "exact"
    assert res.stats["stages"] == ["necessary", "search", "sample", "exact"]


def test_facets_that_are_slow_at_small_r_leave_the_search_its_turn(monkeypatch):
    """The facets get 1 s before the search below r = 10; undecided, they run again after."""
    from cvxvolmin.scattering import check as check_module

    budgets = []
    real = check_module.decide_within

    def first_times_out(rows, tol, time_limit):
        budgets.append(time_limit)
        return (None, {}) if len(budgets) == 1 else real(rows, tol, time_limit)

    monkeypatch.setattr(check_module, "decide_within", first_times_out)
    res = check_scattering(hexagon(0.25), method="exact", time_limit=30.0)
    assert res.verdict == "sufficiently_scattered" and res.method == "exact"
    assert res.stats["stages"] == ["necessary", "exact", "search", "exact"]
    assert budgets[0] == 1.0 and 28.0 < budgets[1] <= 30.0  # the rest of the time limit
    budgets.clear()
    res = check_scattering(hexagon(0.45), method="exact", time_limit=30.0)
    assert res.method == "search" and res.stats["stages"] == ["necessary", "exact", "search"]


@pytest.mark.parametrize("H", [hexagon(0.3), pairs(4), hexagon(0.36), separable(4, 0)])
def test_invariance_to_row_order_scaling_duplicates_and_zero_rows(H):
    base = check_scattering(H, method="exact")
    rng = np.random.default_rng(0)
    variants = [
        H[rng.permutation(len(H))],
        H * rng.uniform(0.1, 10, size=(len(H), 1)),
        np.vstack([H, H[:3] * 7.0, H[:2]]),
        np.vstack([np.zeros((2, H.shape[1])), H]),
    ]
    for variant in variants:
        res = check_scattering(variant, method="exact")
        assert res.verdict == base.verdict
        assert (res.condition1, res.condition2, res.on_boundary) == (
            base.condition1,
            base.condition2,
            base.on_boundary,
        )
        assert res.gap == pytest.approx(base.gap, abs=1e-10)


def test_input_is_not_modified():
    H = hexagon(0.3)
    H[0] *= 5
    copy = H.copy()
    check_scattering(H)
    assert np.array_equal(H, copy)


def test_to_dict_is_json_ready():
    for res in (check_scattering(hexagon(0.4), method="exact"), check_scattering(pairs(4))):
        d = res.to_dict()
        text = json.dumps(d)
        assert json.loads(text)["verdict"] == res.verdict
        assert isinstance(d["witness"], list) and all(type(v) is float for v in d["witness"])
    rank_def = check_scattering(np.ones((4, 3))).to_dict()
    assert rank_def["margin"] == "inf"
    json.dumps(rank_def)


def test_time_limit_gives_inconclusive_not_a_run_on():
    _, _, H = make_paper_data(12, random_state=0)  # about 100 s at r = 12
    res = check_scattering(H, method="exact", time_limit=0.3)
    assert res.verdict == INC and res.condition1 is None
    from cvxvolmin.scattering.prepare import prepare

    n_rows = prepare(H).rows.shape[0]
    assert res.reason.endswith(f"(r = 12, {n_rows} distinct rows); raise time_limit")
    assert res.time_s < 3.0


def _classify(summary) -> str:
    assert summary.error is None
    if summary.halfspace_witness is not None or summary.top_norm > 1 + 1e-9:
        return "fails (1)"
    return "boundary" if summary.top_norm >= 1 - 1e-9 else "scattered"


OUTER_CASES = {
    "hexagon(0.3)": hexagon(0.3),
    "hexagon(1/3)": hexagon(1 / 3),
    "hexagon(0.4)": hexagon(0.4),
    "pairs(4)": pairs(4),
    "pairs(5)": pairs(5),
    "corners(4, 0.45)": corners(4, 0.45),
    "shrunk pairs(4)": shrink(pairs(4), 1e-3),
    "local fail": LOCAL_FAIL,
    "paper r=7": make_paper_data(7, random_state=1)[2],
    "paper r=7, 60% zeros": make_paper_data(7, zero_fraction=0.6, random_state=0)[2],
    "paper r=6, 15% zeros": make_paper_data(6, zero_fraction=0.15, random_state=0)[2],
}


@pytest.mark.parametrize("name", sorted(OUTER_CASES))
def test_outer_approximation_agrees_with_all_facets(name):
    from cvxvolmin.scattering.exact import enumerate_facets, outer_approximation
    from cvxvolmin.scattering.prepare import prepare

    rows = prepare(OUTER_CASES[name]).rows
    full, outer = enumerate_facets(rows), outer_approximation(rows, 1e-9)
    assert _classify(outer) == _classify(full)
    if outer.top_vertex is not None and outer.top_norm >= 1 - 1e-9:
        assert np.all(rows @ outer.top_vertex >= -1e-9)  # a vertex of P itself


@pytest.mark.parametrize("seed", [0, 1])
def test_paper_H_r10_decided_exactly(seed):
    _, _, H = make_paper_data(10, random_state=seed)
    res = check_scattering(H, method="exact")
    assert res.verdict == SSC and res.stats["exact_strategy"] == "outer"
    assert res.time_s < 20


# ------------------------------------------------------------- paper and data


def is_separable(H: np.ndarray) -> bool:
    """Whether H has, for every k, a row that is a multiple of e_k."""
    single = (H > 0).sum(axis=1) == 1
    return len(set(np.argmax(H[single], axis=1))) == H.shape[1]


@pytest.mark.parametrize("seed", [0, 1, 8, 10])
def test_paper_H_r5_is_scattered(seed):
    # seeds 1, 8, 10 give H that are not separable (one e_k direction missing)
    _, _, H = make_paper_data(5, random_state=seed)
    res = check_scattering(H, method="exact")
    assert res.verdict == SSC and res.time_s < 2.0
    assert is_separable(H) == (seed == 0)
    assert (res.gap < 0.5) == (seed != 0)


def test_raman_ground_truth_is_not_scattered(shared_data):
    from cvxvolmin.datasets import load_raman

    H = load_raman(shared_data).H  # N x r, the project's orientation
    assert H.shape == (151, 5)
    for method in ("exact", "auto"):
        res = check_scattering(H, method=method, random_state=0)
        assert res.verdict == NOT and res.condition1 is False
        assert_valid_witness(H, res)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("H", "kwargs", "message"),
    [
        (
            np.array([[1.0, -1.0], [0.0, -2.0]]),
            {},
            "H has 2 negative entries (the first at index (0, 1), value -1)",
        ),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), {}, "H contains 1 NaN or infinite"),
        (np.ones(3), {}, "H must be a 2-D array"),
        (np.zeros((0, 3)), {}, "H is empty"),
        (np.array([["a"]]), {}, "H has non-numeric dtype"),
        (np.array([[1, None]], dtype=object), {}, "H has dtype object"),
        (np.eye(2) * 1j, {}, "H is complex"),
        (None, {}, "H is None"),
        (np.eye(3), {"method": "magic"}, "method must be one of"),
        (np.eye(3), {"method": None}, "method must be one of"),
        (np.eye(3), {"n_samples": 0}, "n_samples must be a positive integer"),
        (np.eye(3), {"n_samples": 2.5}, "n_samples must be a positive integer"),
        (np.eye(3), {"tol": -1.0}, "tol must be a finite nonnegative number"),
        (np.eye(3), {"tol": np.inf}, "tol must be a finite nonnegative number"),
        (np.eye(3), {"tol": "1e-9"}, "tol must be a nonnegative number"),
        (np.eye(3), {"time_limit": 0}, "time_limit must be positive"),
        (np.eye(3), {"time_limit": "1"}, "time_limit must be a positive number"),
        (np.eye(3), {"time_limit": True}, "time_limit must be a positive number"),
        (np.eye(3), {"random_state": "x"}, "random_state must be None"),
        (np.eye(3), {"random_state": -1}, "random_state (the seed) must be >= 0"),
        (np.eye(3), {"progress": 42}, "progress must be a callable"),
    ],
)
def test_bad_inputs(H, kwargs, message):
    with pytest.raises(InvalidParameterError) as info:
        check_scattering(H, **kwargs)
    assert type(info.value) is InvalidParameterError
    assert message in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


def test_sparse_H_is_refused_with_what_to_do():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(InvalidParameterError, match=r"sparse matrix.*H\.toarray\(\)"):
        check_scattering(scipy_sparse.csr_matrix(np.eye(3)))


@pytest.mark.parametrize("shape", [(5, 200), (2, 3), (1, 2)])
def test_transposed_H_is_refused_before_any_work(shape, monkeypatch):
    # An r x N coefficient matrix (N > r) was answered "rank 5 < r = 200"
    # with a 200-entry witness; no stage may run.
    def no_stage(*args, **kwargs):
        raise AssertionError("a stage ran")

    monkeypatch.setattr("cvxvolmin.scattering.check.run_necessary", no_stage)
    H = np.random.default_rng(0).uniform(size=shape)
    expected = (
        f"H (shape {shape[0]} x {shape[1]}) has fewer rows than columns, so it looks "
        "transposed: pass the N x r factor (H.T)"
    )
    for call in (check_scattering, necessary_conditions):
        with pytest.raises(InvalidParameterError) as info:
            call(H)
        assert type(info.value) is InvalidParameterError
        assert expected in str(info.value)
        assert "never be sufficiently scattered" in str(info.value)
    monkeypatch.undo()
    assert check_scattering(H.T, method="exact").verdict in (SSC, NOT)  # H.T is fine


def test_necessary_conditions_bad_tol():
    with pytest.raises(InvalidParameterError, match="tol must be a finite nonnegative"):
        necessary_conditions(np.eye(3), tol=-1e-9)


def test_result_with_unknown_verdict_is_refused():
    with pytest.raises(InvalidParameterError, match="verdict must be one of"):
        ScatteringResult("maybe", None, None, None, None, None, None, False, "exact", 0, "", 0)


def test_nnls_failure_is_a_solver_error_not_bad_input(monkeypatch):
    def stalled(*args, **kwargs):
        raise RuntimeError("Maximum number of iterations reached.")

    monkeypatch.setattr("cvxvolmin.scattering.geometry.nnls", stalled)
    for method in ("exact", "sample"):
        with pytest.raises(SolverFailedError, match="NNLS failed on a scattering check"):
            check_scattering(hexagon(0.25), method=method)


# ------------------------------------------------------------------ the plot


def test_plot_draws_and_marks_witness():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cvxvolmin.plot import scattering

    fig, axes = plt.subplots(1, 2)
    res = check_scattering(hexagon(0.4), method="exact")
    ax = scattering(hexagon(0.4), ax=axes[0], result=res)
    labels = [artist.get_label() for artist in ax.get_children()]
    assert "witness" in labels and "C" in labels and "cone(H.T)" in labels
    ax2 = scattering(hexagon(0.25), ax=axes[1])
    assert "witness" not in [a.get_label() for a in ax2.get_children()]
    plt.close(fig)


def test_progress_names_each_stage_as_it_starts():
    _, _, H = make_paper_data(5, random_state=1)
    seen: list[str] = []
    result = check_scattering(H, random_state=0, progress=seen.append)
    assert seen == result.stats["stages"] == ["necessary", "exact"]


def test_lp_rounding_of_zeros_is_read_as_zero():
    # A fitted H of the Swimmer data has largest entry 1/64 and its zeros come
    # back from the LP as about -6e-14, 4e-12 of the largest entry.
    _, _, H = make_paper_data(4, case=1, random_state=0)
    H = H / H.sum(axis=0) / 4
    rounded = np.where(H == 0, -6e-14 * (np.arange(H.size).reshape(H.shape) % 3), H)
    assert rounded.min() < 0
    clean = check_scattering(H, method="exact")
    noisy = check_scattering(rounded, method="exact")
    assert noisy.verdict == clean.verdict
    with pytest.raises(ValueError, match="negative entries"):
        check_scattering(np.where(H == 0, -1e-6 * H.max(), H), method="exact")


@pytest.mark.parametrize("r", [3, 5, 8])
def test_pure_rows_for_every_factor_say_so(r):
    # With a row on every axis cone(H.T) is the orthant: no vertex but the e_k.
    rows = np.vstack([np.eye(r), np.random.default_rng(r).random((30, r))])
    result = check_scattering(rows, method="exact")
    assert result.verdict == "sufficiently_scattered"
    assert "pure row for every factor" in result.reason
