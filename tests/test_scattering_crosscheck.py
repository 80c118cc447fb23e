"""Every verdict of the benchmark's family, on its small instances, checked by a second method.

The family of ``benchmarks/bench_scattering.py`` at sizes that decide in
milliseconds: the paper's generator at 35%, 20% and 10% zeros, separable H
and the truncated simplices ``capped(r, b)`` on, near (inside by a margin
of 1e-4) and beyond the boundary. Each is decided by the full facet
enumeration and by the certified vertex enumeration (from the e_k, and from
cdd's list where cdd is installed), which must agree on the verdict and on
m2 itself; the refutation search may only refute what they refute; SCIP's
global QP (where installed) must agree on condition (1). Then the vertex
certificate's failure paths: corrupted lists are refused, and a stage that
cannot certify leaves the decision to the next.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_scattering import capped, capped_norm

from cvxvolmin.scattering import check as check_module
from cvxvolmin.scattering import check_scattering
from cvxvolmin.scattering import vertices as vertices_module
from cvxvolmin.scattering.exact import enumerate_facets
from cvxvolmin.scattering.prepare import prepare
from cvxvolmin.scattering.search import search_refutation
from cvxvolmin.scattering.vertices import certify_vertices, enumerate_vertices
from cvxvolmin.synthetic import make_paper_data

MARGIN = 1e-4


def cap_at(r: int, norm: float) -> float:
    """The cap b whose cuts' dual vertices have this norm (a quadratic in b)."""
    roots = np.roots([r - norm**2 * r * r, -2 + 2 * norm**2 * r, 1 - norm**2])
    b = float(max(roots.real))
    assert capped_norm(r, b) == pytest.approx(norm, rel=1e-13)
    return b


def paper(r: int, zeros: float, n: int, seed: int) -> np.ndarray:
    H = make_paper_data(r, n_samples=n, zero_fraction=zeros, random_state=seed)[2]
    return H / H.sum(axis=0)


def separable(r: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    H = np.vstack([np.eye(r) * rng.uniform(0.5, 2.0, r), rng.uniform(size=(n - r, r))])
    return H / H.sum(axis=0)


#: name -> (H, the class by geometry or None where only the methods say)
FAMILY = {
    "paper35 r=5": (paper(5, 0.35, 200, 1), None),
    "paper35 r=6 N=100": (paper(6, 0.35, 100, 0), None),
    "paper20 r=5 N=60": (paper(5, 0.20, 60, 0), None),
    "paper10 r=5 N=60": (paper(5, 0.10, 60, 0), None),
    "paper10 r=6 N=40": (paper(6, 0.10, 40, 2), None),
    "separable r=5": (separable(5, 200, 0), "scattered"),
    "separable r=6": (separable(6, 60, 1), "scattered"),
    "capped-on r=5": (capped(5, 2 / 5), "boundary"),
    "capped-on r=6": (capped(6, 2 / 6), "boundary"),
    "capped-on r=8": (capped(8, 2 / 8), "boundary"),
    "capped-near r=5": (capped(5, cap_at(5, 1 - MARGIN)), "scattered"),
    "capped-near r=7": (capped(7, cap_at(7, 1 - MARGIN)), "scattered"),
    "capped-out r=6": (capped(6, cap_at(6, 1 + MARGIN)), "fails (1)"),
}


def classify(summary, tol: float = 1e-9) -> str:
    assert summary.error is None
    if summary.halfspace_witness is not None or summary.top_norm > 1 + tol:
        return "fails (1)"
    return "boundary" if summary.top_norm >= 1 - tol else "scattered"


@pytest.fixture(scope="module")
def decided() -> dict:
    """Each instance's prepared rows and its full facet enumeration (the reference)."""
    out = {}
    for name, (H, _) in FAMILY.items():
        rows = prepare(H).rows
        out[name] = (rows, enumerate_facets(rows))
    return out


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_facets_match_geometry_and_the_family_covers_every_class(name, decided):
    rows, facets = decided[name]
    known = FAMILY[name][1]
    if known is not None:
        assert classify(facets) == known
    if name.startswith("capped"):  # m2 in closed form
        b = rows.max()
        assert facets.top_norm == pytest.approx(capped_norm(rows.shape[1], b), rel=1e-12)


def test_the_family_has_every_verdict(decided):
    classes = {classify(facets) for _, facets in decided.values()}
    assert classes == {"scattered", "boundary", "fails (1)"}


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_vertices_from_the_unit_vectors_agree_with_all_facets(name, decided, monkeypatch):
    rows, facets = decided[name]
    monkeypatch.setattr(vertices_module, "cdd_rays", lambda rows: np.empty((0, rows.shape[1])))
    found, info = enumerate_vertices(rows, 1e-9)
    assert found.strategy == "vertices" and info["cdd_rays"] == 0
    assert classify(found) == classify(facets)
    assert found.top_norm == pytest.approx(facets.top_norm, rel=1e-9)
    if name.startswith("capped"):  # the faces x_k = 0 and the r cuts (or none on bd)
        assert found.n_vertices == 2 * rows.shape[1]


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_vertices_from_cdd_agree_with_all_facets(name, decided, monkeypatch):
    pytest.importorskip("cdd")
    rows, facets = decided[name]
    monkeypatch.setattr(vertices_module, "_UNIT_ROUNDS", 0)  # cdd's list from the start
    found, info = enumerate_vertices(rows, 1e-9)
    assert info["cdd_rays"] > 0
    assert classify(found) == classify(facets)
    assert found.top_norm == pytest.approx(facets.top_norm, rel=1e-9)
    if name.startswith("capped"):
        assert found.n_vertices == 2 * rows.shape[1]


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_the_search_refutes_only_what_the_facets_refute(name, decided):
    rows, facets = decided[name]
    found = search_refutation(rows, 1e-9)
    if found.witness is not None:
        assert classify(facets) == "fails (1)"
        assert np.linalg.norm(found.witness) <= facets.top_norm * (1 + 1e-9)
    assert found.best_norm <= max(facets.top_norm, 1.0) * (1 + 1e-7)  # LP points, to 1e-9


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_check_scattering_agrees_with_all_facets(name, decided):
    _, facets = decided[name]
    res = check_scattering(FAMILY[name][0], random_state=0)
    expected = {
        "scattered": ("sufficiently_scattered", True, False),
        "boundary": ("not_sufficiently_scattered", True, True),
        "fails (1)": ("not_sufficiently_scattered", False, False),
    }[classify(facets)]
    assert (res.verdict, res.condition1, res.on_boundary) == expected


SCIP_CASES = ["paper35 r=5", "paper10 r=5 N=60", "separable r=5", "capped-on r=5"]
SCIP_CASES += ["capped-near r=5", "capped-out r=6"]


@pytest.mark.parametrize("name", SCIP_CASES)
def test_scip_global_qp_agrees_on_condition_one(name, decided):
    """SCIP's max ||y||^2 over P: above 1 exactly when the facets say (1) fails."""
    pyscipopt = pytest.importorskip("pyscipopt")
    rows, facets = decided[name]
    r = rows.shape[1]
    model = pyscipopt.Model()
    model.hideOutput()
    model.setParam("limits/time", 60.0)
    y = [model.addVar(lb=-2.0, ub=2.0, name=f"y{i}") for i in range(r)]
    t = model.addVar(lb=0.0, ub=4.0 * r, name="t")
    for row in rows:
        model.addCons(pyscipopt.quicksum(float(row[i]) * y[i] for i in range(r)) >= 0)
    model.addCons(pyscipopt.quicksum(y) == 1)
    model.addCons(t <= pyscipopt.quicksum(v * v for v in y))
    model.setObjective(t, "maximize")
    model.optimize()
    assert model.getStatus() == "optimal"
    best = np.sqrt(model.getPrimalbound())
    # SCIP meets the rows to about 1e-6: compare at the margin of the family (1e-4)
    assert best == pytest.approx(max(facets.top_norm, 1.0), abs=MARGIN / 4)
    assert (best > 1 + MARGIN / 2) == (classify(facets) == "fails (1)")


# ------------------------------------------------------ the certificate's failure paths


@pytest.fixture(scope="module")
def near() -> tuple[np.ndarray, np.ndarray]:
    """A scattered truncated simplex (r = 6) and its certified vertices."""
    rows = prepare(capped(6, cap_at(6, 1 - MARGIN))).rows
    b = rows.max()
    cuts = [(b * np.ones(6) - np.eye(6)[i]) / (6 * b - 1) for i in range(6)]  # x_i <= b
    V = np.vstack([np.eye(6), cuts])
    assert certify_vertices(rows, V).valid
    return rows, V


def test_a_vertex_list_with_a_point_outside_p_is_refused(near):
    rows, V = near
    bad = V.copy()
    bad[-1] = bad[-1] + 1e-6 * (bad[-1] - 1 / 6)  # pushed out along the ray from the centre
    certificate = certify_vertices(rows, bad)
    assert not certificate.valid and "violates row" in certificate.reason
    assert "point 11 " in certificate.reason
    # refused before any hull: no facets, no LPs, no points beyond
    assert (certificate.n_facets, certificate.n_lps, certificate.beyond.shape) == (0, 0, (0, 6))


def test_a_point_off_the_slice_is_refused(near):
    rows, V = near
    certificate = certify_vertices(rows, np.vstack([V, 2 * V[-1]]))
    assert not certificate.valid and certificate.reason == "point 12 has 1.y = 2, not 1"


def test_a_list_missing_a_vertex_is_refused_with_the_point_beyond(near):
    rows, V = near
    certificate = certify_vertices(rows, V[:-1])
    assert not certificate.valid and "cut P" in certificate.reason
    assert certificate.n_lps >= 1 and certificate.beyond.shape[0] >= 1
    # the LP's optimum beyond the hull is the missing vertex
    assert np.abs(certificate.beyond - V[-1]).max(axis=1).min() <= 1e-7


def test_a_missing_vertex_with_many_active_rows_is_found(near):
    rows, V = near
    # without a cut vertex, each facet of the hull through it is carried by no row
    certificate = certify_vertices(rows, V[:6])
    assert not certificate.valid and certificate.beyond.shape[0] >= 1


def test_a_corrupted_cdd_list_still_gives_the_right_vertices(near, monkeypatch):
    """Bogus points are dropped when pinned, missing ones completed: the answer is exact."""
    rows, V = near
    noise = 1e-3 * np.random.default_rng(0).standard_normal((3, 6))
    # three of the cut vertices as rays (scaled), three points near them, one not in P
    bogus = np.vstack([V[6:9] * 1.01, V[6:9] + noise, -V[9:10]])
    monkeypatch.setattr(vertices_module, "_UNIT_ROUNDS", 0)
    monkeypatch.setattr(vertices_module, "cdd_rays", lambda rows: bogus)
    found, info = enumerate_vertices(rows, 1e-9)
    assert found.error is None and found.n_vertices == 12 and info["cdd_rays"] == 7
    assert found.top_norm == pytest.approx(1 - MARGIN, rel=1e-12)


def test_a_list_that_cannot_be_completed_is_an_error_not_a_verdict(near, monkeypatch):
    rows, _ = near
    monkeypatch.setattr(vertices_module, "_pin", lambda rows, directions, Y: np.empty((0, 6)))
    found, _ = enumerate_vertices(rows, 1e-9)
    assert found.error.startswith("the vertex list could not be certified")
    assert "a point of P beyond the hull of the vertices found" in found.error
    assert found.top_vertex is None


# ------------------------------------------------------------------- the portfolio


CAPPED_NEAR_8 = capped(8, cap_at(8, 1 - MARGIN))
CAPPED_OUT_8 = capped(8, cap_at(8, 1 + MARGIN))  # the facets decide it in a tenth of a second


def test_structured_h_is_decided_by_the_vertices_with_the_exact_gap():
    res = check_scattering(CAPPED_NEAR_8, method="exact")
    assert res.verdict == "sufficiently_scattered" and res.method == "vertices"
    assert res.stats["stages"] == ["necessary", "vertices"]
    assert res.stats["exact_strategy"] == "vertices" and res.stats["n_vertices"] == 16
    assert res.gap == pytest.approx(MARGIN, rel=1e-9)


def test_the_vertices_see_the_boundary_and_a_failure_of_one():
    on = check_scattering(capped(8, 2 / 8))
    assert (on.method, on.verdict, on.condition1, on.on_boundary) == (
        "vertices",
        "not_sufficiently_scattered",
        True,
        True,
    )
    assert np.all(capped(8, 2 / 8) @ on.witness >= -1e-12)
    assert np.linalg.norm(on.witness) == pytest.approx(1.0, abs=1e-12)
    out = check_scattering(CAPPED_OUT_8)
    assert (out.method, out.condition1) == ("vertices", False)
    assert out.margin == pytest.approx(1 + MARGIN, rel=1e-12)


def test_random_h_is_not_given_to_the_vertices():
    res = check_scattering(paper(8, 0.35, 200, 1), method="exact")
    assert res.method == "exact" and "vertices" not in res.stats["stages"]


def test_a_vertex_stage_that_runs_out_leaves_the_decision_to_the_next(monkeypatch):
    budgets = []

    def times_out(rows, tol, time_limit):
        budgets.append(time_limit)
        return None, {}

    monkeypatch.setattr(check_module, "enumerate_within", times_out)
    res = check_scattering(CAPPED_OUT_8, method="exact", time_limit=30.0)
    assert res.condition1 is False and res.method == "exact"
    assert res.stats["stages"][:3] == ["necessary", "vertices", "exact"]
    assert 14.0 < budgets[0] <= 15.0  # half the time limit


def test_a_vertex_stage_that_cannot_certify_says_why_and_passes_on(monkeypatch):
    from cvxvolmin.scattering.exact import FacetSummary

    failed = FacetSummary("vertices", 0, 0, 0, None, None, 0.0, error="no certificate")
    monkeypatch.setattr(check_module, "enumerate_within", lambda rows, tol, limit: (failed, {}))
    res = check_scattering(CAPPED_OUT_8, method="exact")
    assert res.method == "exact" and res.stats["vertices_error"] == "no certificate"
    assert res.stats["stages"] == ["necessary", "vertices", "exact"]


def test_separable_h_is_decided_without_enumeration_and_as_the_facets_decide(monkeypatch):
    """A pure row for every factor makes the dual slice the simplex: no stage after it runs."""
    small = separable(5, 60, 3)
    by_facets = enumerate_facets(prepare(small).rows)
    assert classify(by_facets) == "scattered" and by_facets.top_norm == 0.0

    def never(*args):
        raise AssertionError("no enumeration is needed")

    monkeypatch.setattr(check_module, "decide_within", never)
    monkeypatch.setattr(check_module, "search_refutation", never)
    for H, method in ((small, "auto"), (small, "exact"), (separable(20, 200, 0), "auto")):
        res = check_scattering(H, method=method)
        assert res.verdict == "sufficiently_scattered" and res.gap == 1.0
        assert res.stats["stages"] == ["necessary", "exact"]
        assert "simplex itself" in res.reason
    # one pure row missing: not separable, so the stages after run (and decide alike)
    monkeypatch.undo()
    H = separable(5, 60, 3)[1:]
    res = check_scattering(H, method="exact")
    assert res.stats["stages"] != ["necessary", "exact"] or res.stats.get("n_facets", 0) > 5
    facets = enumerate_facets(prepare(H).rows)
    assert res.sufficiently_scattered == (classify(facets) == "scattered")


def test_the_vertex_stage_is_stopped_at_its_limit_and_leaves_no_process():
    import multiprocessing

    from cvxvolmin.scattering.vertices import enumerate_within

    rows = prepare(CAPPED_NEAR_8).rows
    summary, info = enumerate_within(rows, 1e-9, 1e-3)
    assert summary is None and info["vertices_s"] < 10.0
    assert multiprocessing.active_children() == []
    summary, _ = enumerate_within(rows, 1e-9, 60.0)  # the same in a child, given the time
    assert summary.error is None and summary.top_norm == pytest.approx(1 - MARGIN, rel=1e-12)


def test_a_failing_vertex_stage_reports_instead_of_hanging(monkeypatch):
    from cvxvolmin.scattering.vertices import enumerate_within

    def failing(rows, tol):
        raise ValueError("broken")

    monkeypatch.setattr(vertices_module, "enumerate_vertices", failing)
    summary, _ = enumerate_within(prepare(CAPPED_NEAR_8).rows, 1e-9, 60.0)
    assert summary.error == "the vertex stage failed: ValueError('broken')"


# ------------------------------------------------- the vertex stage's small pieces


@pytest.mark.parametrize("scale", [1.0, 1e6])
def test_a_ray_with_no_positive_total_is_found_at_any_scale(scale):
    """cdd's rays have any length: the tests on 1.y and on each row are relative to ||y||."""
    rows = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    directions = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    # 1.y and the second row are slightly off zero, well within 1e-12 ||y|| at scale 1e6
    y = scale * np.array([1.0, -1.0, 0.0]) + np.array([0.0, 1e-7, -1e-7]) * (scale > 1)
    inside = np.array([1.0, 1.0, 1.0])  # a ray with 1.y > 0 comes first and is passed over
    ray = vertices_module._halfspace_ray(directions, np.vstack([inside, y]))
    assert ray is not None and np.linalg.norm(ray) == pytest.approx(1.0, rel=1e-15)
    assert ray == pytest.approx(np.array([1.0, -1.0, 0.0]) / np.sqrt(2), abs=1e-12)
    assert vertices_module._halfspace_ray(directions, inside[None]) is None


def test_cdd_rays_leaves_out_the_lines_of_the_dual_cone():
    pytest.importorskip("cdd")
    rays = vertices_module.cdd_rays(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    # {y1 >= 0, y2 >= 0} holds the line along e_3: only e_1 and e_2 (modulo it) are rays
    assert rays.shape == (2, 3)
    assert np.all(rays[:, :2] >= 0) and np.all(rays[:, :2].max(axis=1) > 0)


def test_cdd_rays_is_empty_without_cdd_or_when_cdd_stops(monkeypatch):
    """No start from cdd: the completion starts from the e_k alone."""
    rows = prepare(capped(5, 2 / 5)).rows
    monkeypatch.setitem(__import__("sys").modules, "cdd", None)  # import cdd fails
    assert vertices_module.cdd_rays(rows).shape == (0, 5)
    monkeypatch.undo()
    cdd = pytest.importorskip("cdd")

    def inconsistent(matrix):
        raise RuntimeError("numerical inconsistency is found")

    monkeypatch.setattr(cdd, "polyhedron_from_matrix", inconsistent)
    assert vertices_module.cdd_rays(rows).shape == (0, 5)


@pytest.mark.parametrize("fork", [True, False])
def test_without_a_limit_or_a_fork_the_vertices_run_in_process(monkeypatch, fork):
    """No limit (or no fork): the enumeration is called here, with the given rows and tol."""
    import time

    calls = []
    summary = object()

    def recorded(rows, tol):
        calls.append((rows, tol))  # lost if it ran in a forked child
        return summary, {"certificate_lps": 3}

    monkeypatch.setattr(vertices_module, "enumerate_vertices", recorded)
    if not fork:
        monkeypatch.setattr(
            vertices_module.multiprocessing, "get_all_start_methods", lambda: ["spawn"]
        )
    rows = prepare(CAPPED_NEAR_8).rows
    start = time.perf_counter()
    found, info = vertices_module.enumerate_within(rows, 1e-7, np.inf if fork else 60.0)
    elapsed = time.perf_counter() - start
    assert found is summary and len(calls) == 1
    assert calls[0][0] is rows and calls[0][1] == 1e-7
    assert info["certificate_lps"] == 3 and 0.0 <= info["vertices_s"] <= elapsed


def test_a_vertex_child_that_dies_is_reported(monkeypatch):
    import os

    def dies(rows, tol):
        os._exit(3)  # no answer, no exception: the pipe's end is all the parent sees

    monkeypatch.setattr(vertices_module, "enumerate_vertices", dies)
    summary, info = vertices_module.enumerate_within(prepare(CAPPED_NEAR_8).rows, 1e-9, 60.0)
    assert summary.error == "the vertex enumeration's process died" and "vertices_s" in info


def test_the_vertex_child_sends_the_answer_or_the_failure(monkeypatch):
    """The forked child's own code, run here (mutmut cannot see into the child)."""
    import multiprocessing

    rows = prepare(capped(5, 2 / 5)).rows
    parent, child = multiprocessing.Pipe(duplex=False)
    vertices_module._child(child, rows, 1e-9)
    summary, info = parent.recv()
    expected, expected_info = enumerate_vertices(rows, 1e-9)
    assert summary.error is None and summary.top_norm == expected.top_norm
    assert info == expected_info
    assert child.closed

    def broken(rows, tol):
        raise ValueError("broken")

    monkeypatch.setattr(vertices_module, "enumerate_vertices", broken)
    parent, child = multiprocessing.Pipe(duplex=False)
    vertices_module._child(child, rows, 1e-9)
    summary, info = parent.recv()
    assert summary.error == "the vertex stage failed: ValueError('broken')" and info == {}
    assert child.closed


def test_one_dot_y_is_checked_relative_to_the_points_norm(near):
    """A long point whose 1.y is 1 to 1e-14 of its norm is on the slice (and then out of P)."""
    rows, V = near
    far = np.eye(6)[0] + 1e4 * (np.eye(6)[1] - np.eye(6)[2]) + 1e-10 * np.eye(6)[0]
    certificate = certify_vertices(rows, np.vstack([V, far]))
    assert not certificate.valid and "point 12 violates row" in certificate.reason


def test_points_qhull_cannot_hull_are_refused_with_its_message(near):
    rows, V = near
    certificate = certify_vertices(rows, V[:2])  # two points span no hull in 5 dimensions
    assert not certificate.valid and certificate.reason.startswith("Qhull failed on the points: ")
    assert certificate.beyond.shape == (0, 6) and certificate.n_lps == 0


def test_a_hull_that_does_not_contain_the_points_is_not_trusted(near, monkeypatch):
    """Qhull's facets are checked against the points before they certify anything."""
    from types import SimpleNamespace

    rows, V = near
    real = vertices_module.ConvexHull

    def flipped(points, **options):
        hull = real(points, **options)
        return SimpleNamespace(equations=-hull.equations, simplices=hull.simplices)

    monkeypatch.setattr(vertices_module, "ConvexHull", flipped)
    certificate = certify_vertices(rows, V)
    assert not certificate.valid
    assert certificate.reason == "Qhull's hull of the points does not contain them"
    assert (certificate.n_facets, certificate.n_lps) == (0, 0)


class CountingLP:
    def __init__(self, rows):
        self.lp = vertices_module.dual_slice_lp(rows)
        self.calls = 0

    def maximize(self, direction):
        self.calls += 1
        return self.lp.maximize(direction)


def test_facets_no_row_is_known_to_carry_are_certified_by_their_lps(near, monkeypatch):
    """With no row read as active, every facet of the complete list is checked by an LP."""
    rows, V = near
    monkeypatch.setattr(vertices_module, "_ACTIVE", -1.0)
    lp = CountingLP(rows)
    certificate = certify_vertices(rows, V, lp)
    assert certificate.valid and certificate.beyond.shape == (0, 6)
    assert certificate.n_lps == lp.calls and lp.calls > 0
    missing = CountingLP(rows)
    certificate = certify_vertices(rows, V[:-1], missing)
    assert not certificate.valid and certificate.n_lps == missing.calls


def test_approximate_vertices_are_pinned_to_the_exact_ones(near):
    """cdd's vertices are off by about 1e-9: solved from their active rows, exact again."""
    rows, V = near
    directions = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    Y = V + 2e-9 * np.random.default_rng(0).standard_normal(V.shape)
    pinned = vertices_module._pin(rows, directions, Y)
    assert pinned.shape == V.shape and np.abs(pinned - V).max() <= 1e-14
    assert np.array_equal(pinned[:6], np.eye(6))  # the e_k exactly, so they are known as such


def test_the_rounds_are_counted_bounded_and_share_one_lp(near, monkeypatch):
    rows, _ = near
    declared = []
    real = vertices_module.dual_slice_lp
    monkeypatch.setattr(
        vertices_module, "dual_slice_lp", lambda rows: declared.append(1) or real(rows)
    )
    found, info = enumerate_vertices(rows, 1e-9)
    assert found.error is None and info["certificate_rounds"] == found.iterations == 2
    assert len(declared) == 1  # the LP over P is declared once for all rounds
    monkeypatch.setattr(vertices_module, "_MAX_ROUNDS", 1)
    found, _ = enumerate_vertices(rows, 1e-9)
    assert found.error == "the vertex list was still incomplete after 1 rounds"


def test_a_ray_of_cdd_with_no_positive_total_refutes_condition_one(monkeypatch):
    """cdd's list is read for a ray with 1.y <= 0 before any vertex is pinned."""
    pytest.importorskip("cdd")
    rows = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.5, 0.25, 0.25]])
    monkeypatch.setattr(vertices_module, "_UNIT_ROUNDS", 0)
    found, info = enumerate_vertices(rows, 1e-9)
    assert found.error is None and found.strategy == "vertices" and info["cdd_rays"] == 3
    assert found.halfspace_witness == pytest.approx(np.array([1, -1, 0]) / np.sqrt(2))
    assert found.top_norm == np.inf and found.n_rows_used == 3
    assert (found.n_facets, found.n_vertices, found.n_unit) == (0, 0, 0)
