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
    for H in (small, separable(20, 200, 0)):
        res = check_scattering(H)
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
