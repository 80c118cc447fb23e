"""The global stage (star.py) checked against the full facet enumeration, and in the portfolio.

Small instances (r = 3 to 8) of every class: the paper's generator (scattered
and not), separable H, the truncated simplex tangent to C ((1) holds, (2)
fails), near the boundary and beyond it, and the non-scattered H of the
checker's docstring. Each verdict must be the facets' verdict, each witness
a point of P at most as far out as the facets' top vertex, each boundary
vertex one of the truncated simplex's vertices known in closed form.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_scattering import capped, capped_norm
from test_scattering_crosscheck import cap_at, paper, separable
from test_scattering_global_split import first_box_of_q0

from cvxvolmin.scattering import check as check_module
from cvxvolmin.scattering import check_scattering, star
from cvxvolmin.scattering.exact import enumerate_facets
from cvxvolmin.scattering.necessary import run_necessary
from cvxvolmin.scattering.prepare import prepare
from cvxvolmin.scattering.star import GlobalOutcome, decide_global

TOL = 1e-9


def not_scattered_3() -> np.ndarray:
    a = 0.45  # the checker's docstring: (1) fails for a > 1/3
    return np.array(
        [(0, a, 1 - a), (0, 1 - a, a), (a, 0, 1 - a), (1 - a, 0, a), (a, 1 - a, 0), (1 - a, a, 0)]
    )


#: name -> H; every one passes the necessary checks (the stage's precondition)
CASES = {
    "paper35 r=5": paper(5, 0.35, 200, 1),
    "paper35 r=6 N=100": paper(6, 0.35, 100, 0),
    "paper35 r=7 N=60": paper(7, 0.35, 60, 0),
    "paper35 r=8 N=60": paper(8, 0.35, 60, 1),
    "paper35 r=6 N=30 (not SSC)": paper(6, 0.35, 30, 1),
    "paper20 r=4 N=30 (not SSC)": paper(4, 0.20, 30, 0),
    "separable r=5": separable(5, 60, 0),
    "docstring r=3 (not SSC)": not_scattered_3(),
    "capped-on r=3": capped(3, 2 / 3),
    "capped-on r=4": capped(4, 2 / 4),
    "capped-near r=5": capped(5, cap_at(5, 1 - 1e-4)),
    "capped-out r=5": capped(5, cap_at(5, 1 + 1e-4)),
    "capped-out r=7": capped(7, cap_at(7, 1 + 1e-4)),
}


def facets_class(rows: np.ndarray) -> tuple[str, float]:
    summary = enumerate_facets(rows)
    if summary.halfspace_witness is not None or summary.top_norm > 1 + TOL:
        return "refuted", summary.top_norm
    return ("boundary" if summary.top_norm >= 1 - TOL else "scattered"), summary.top_norm


@pytest.fixture(scope="module")
def decided() -> dict:
    out = {}
    for name, H in CASES.items():
        prepared = prepare(H)
        assert run_necessary(prepared, TOL).passed, name
        out[name] = (prepared.rows, facets_class(prepared.rows), decide_global(prepared.rows, TOL))
    return out


def test_the_cases_cover_every_class(decided):
    assert {cls for _, (cls, _), _ in decided.values()} == {"scattered", "refuted", "boundary"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_verdict_is_the_facets_verdict(name, decided):
    rows, (expected, _), found = decided[name]
    assert found.error is None
    assert found.status == expected
    assert found.n_done == (rows.shape[1] if expected != "refuted" else found.n_done)
    assert found.n_boxes >= rows.shape[1] or expected == "refuted"


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_witness_is_a_point_of_p_no_farther_than_the_top_vertex(name, decided):
    rows, (expected, top), found = decided[name]
    if expected == "scattered":
        assert found.witness is None
        return
    y = found.witness
    norm = np.linalg.norm(y)
    assert y.sum() == pytest.approx(1.0, abs=1e-12)
    unit_rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    assert (unit_rows @ y).min() >= -1e-9 * norm
    assert norm <= top * (1 + 1e-9)
    if expected == "refuted":
        assert norm > 1 + TOL
    else:
        assert norm == pytest.approx(1.0, abs=TOL)


@pytest.mark.parametrize("r", [3, 4])
def test_the_vertex_on_the_boundary_is_a_vertex_of_the_truncated_simplex(r, decided):
    """The cut x_i <= 2/r is tangent to C; its dual vertex is 2/r 1 - e_i."""
    _, _, found = decided[f"capped-on r={r}"]
    vertices = 2.0 / r - np.eye(r)
    assert np.abs(vertices - found.witness).max(axis=1).min() <= 1e-9
    assert capped_norm(r, 2.0 / r) == pytest.approx(1.0, rel=1e-12)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["paper35 r=6 N=30 (not SSC)", "paper35 r=5", "capped-on r=4"]),
    seed=st.integers(0, 2**32 - 1),
    tighten=st.booleans(),
)
def test_row_order_and_scale_do_not_change_the_answer(name, seed, tighten):
    """cone(H.T) is unchanged by permuting rows and scaling them by 1e-8 to 1e8 (with the
    secant bound alone and with the RLT bound)."""
    H = CASES[name]
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.uniform(-8, 8, (H.shape[0], 1))
    shuffled = H[rng.permutation(H.shape[0])] * scales
    expected = {"paper35 r=6 N=30 (not SSC)": "refuted", "paper35 r=5": "scattered"}
    again = decide_global(prepare(shuffled).rows, TOL, tighten=tighten)
    assert again.status == expected.get(name, "boundary")


def test_a_deadline_in_the_past_times_out():
    rows = prepare(CASES["paper35 r=5"]).rows
    found = decide_global(rows, TOL, deadline=0.0)
    assert found.status == "timeout" and found.witness is None and found.n_done == 0


def test_r_below_three_is_refused():
    with pytest.raises(ValueError, match="r >= 3"):
        decide_global(np.eye(2), TOL)


# ------------------------------------------------------------------- the polisher


def cut_vertices(r: int, b: float) -> np.ndarray:
    """The dual vertices of the cuts x_i <= b of the truncated simplex: (b 1 - e_i) / (r b - 1)."""
    return (b - np.eye(r)) / (r * b - 1)


def assert_refutes(rows: np.ndarray, y: np.ndarray) -> None:
    """y is a point of P (exactly, up to rounding) beyond 1 + TOL."""
    norm = np.linalg.norm(y)
    assert y.sum() == pytest.approx(1.0, abs=1e-12)
    unit_rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    assert (unit_rows @ y).min() >= -1e-12 * norm
    assert norm > 1 + TOL


def polish_stop(polisher: star._Polisher, y: np.ndarray) -> np.ndarray:
    with pytest.raises(star._Stop) as stop:
        polisher.polish(y)
    assert stop.value.status == "refuted"
    return stop.value.witness


@pytest.fixture(scope="module")
def beyond():
    """A truncated simplex whose cuts' dual vertices have norm 1.3: rows, vertices, centre."""
    b = cap_at(4, 1.3)
    return prepare(capped(4, b)).rows, cut_vertices(4, b), np.full(4, 0.25)


def test_a_ray_end_beyond_one_refutes_by_itself_with_no_lp(beyond):
    rows, vertices, centre = beyond
    y = 0.9 * vertices[0] + 0.1 * centre  # in P, ||y|| about 1.2: no vertex, but a witness
    polisher = star._Polisher(rows, TOL)
    witness = polish_stop(polisher, y)
    np.testing.assert_allclose(witness, y, rtol=0, atol=1e-12)
    assert_refutes(rows, witness)
    assert polisher.lp is None and polisher.n_polished == 1


def test_a_point_inside_the_ball_ascends_to_a_vertex_that_refutes(beyond):
    rows, vertices, centre = beyond
    y = 0.5 * vertices[0] + 0.5 * centre
    assert np.linalg.norm(y) < 1  # refutes nothing by itself
    polisher = star._Polisher(rows, TOL)
    witness = polish_stop(polisher, y)
    assert np.abs(vertices - witness).max(axis=1).min() <= 1e-12  # a cut vertex, pinned
    assert_refutes(rows, witness)
    assert polisher.lp is not None and polisher.n_polished == 1


def test_an_lp_point_no_row_pins_still_refutes(monkeypatch):
    """P's vertices (-3, 2, 2) lie beyond the polisher's box |y_i| <= 2 + tol: its LP ends on
    the box, at no vertex of P, and that point itself (in P, norm about 3) is the witness."""
    rows = np.array([(0.4, 0.4, 0.2), (0.2, 0.4, 0.4), (0.4, 0.2, 0.4)])
    found, units = star._refine_one, []

    def refine(*args):
        vertex, unit = found(*args)
        units.append(unit)
        return vertex, unit

    monkeypatch.setattr(star, "_refine_one", refine)
    polisher = star._Polisher(rows, TOL)
    witness = polish_stop(polisher, np.array([0.2, 0.2, 0.6]))
    assert units == [-2]  # not pinned
    assert_refutes(rows, witness)
    assert np.abs(witness).max() == pytest.approx(2.0, rel=1e-6)


@pytest.mark.parametrize(
    ("r", "norm", "tol"), [(3, 1.0, TOL), (4, 1.0, TOL), (3, 0.8, 0.5), (4, 1.3, 0.5)]
)
def test_boundary_vertices_are_kept_and_only_near_duplicates_skipped(r, norm, tol):
    """Vertices within tol of norm 1 are kept, each distinct one polished; a point nearer to
    a kept vertex v than 1e-6 ||v|| is skipped. A large tol keeps vertices of norm 0.8 and
    1.3, so that the distance is relative to ||v||, not to 1."""
    b = cap_at(r, norm)
    rows, vertices = prepare(capped(r, b)).rows, cut_vertices(r, b)
    centre = np.full(r, 1.0 / r)
    polisher = star._Polisher(rows, tol)
    for i, v in enumerate(vertices[:2]):
        polisher.polish(v + 1e-4 * (centre - v))  # a ray end just inside v
        assert polisher.n_polished == i + 1 and len(polisher.seen) == i + 1
        np.testing.assert_allclose(polisher.seen[-1], v, rtol=0, atol=1e-12)
    assert np.linalg.norm(polisher.boundary) == pytest.approx(norm, rel=1e-12)
    u = np.zeros(r)
    u[1], u[2] = 1.0, -1.0  # along the slice 1.y = 1
    u *= norm / np.linalg.norm(u)  # ||u|| = ||v||
    polisher.polish(vertices[0] + 0.9e-6 * u)
    assert polisher.n_polished == 2 and len(polisher.seen) == 2
    polisher.polish(vertices[0] + 1.1e-6 * u)  # polished: back to the same vertex
    assert polisher.n_polished == 3 and len(polisher.seen) == 3
    np.testing.assert_allclose(polisher.seen[-1], vertices[0], rtol=0, atol=1e-12)


def test_a_vertex_inside_the_ball_is_not_kept():
    """Cuts whose dual vertices have norm 0.8: the ascent ends at one, (1) holds there."""
    b = cap_at(3, 0.8)
    rows, v = prepare(capped(3, b)).rows, cut_vertices(3, b)[0]
    polisher = star._Polisher(rows, TOL)
    polisher.polish(v + 1e-4 * (np.full(3, 1.0 / 3) - v))
    assert polisher.n_polished == 1 and polisher.lp.n_solves >= 1
    assert polisher.seen == [] and polisher.boundary is None


def test_past_the_most_polishings_only_clear_refutations_are_polished(beyond):
    rows, vertices, centre = beyond
    polisher = star._Polisher(rows, TOL)
    polisher.n_polished = star._MAX_POLISH
    polisher.polish(0.5 * vertices[0] + 0.5 * centre)  # would refute by its ascent
    assert polisher.n_polished == star._MAX_POLISH and polisher.lp is None
    witness = polish_stop(polisher, 0.9 * vertices[0] + 0.1 * centre)
    assert_refutes(rows, witness)
    assert polisher.n_polished == star._MAX_POLISH + 1


# ----------------------------------------------------------- the certified bounds


@pytest.fixture(scope="module")
def box_lp():
    """The box LP of Q_0 of a paper H, with every row, and its first box."""
    lp, lower, upper, *_ = first_box_of_q0(CASES["paper35 r=6 N=100"])
    return lp, lower, upper


def test_the_dual_bound_holds_at_every_point_of_the_box_and_matches_the_lp(box_lp):
    lp, lower, upper = box_lp
    d = lower.size
    rng = np.random.default_rng(1)
    mid = 0.5 * (lower + upper)
    lo, hi = np.append(lower, 1.0), np.append(mid, 50.0)
    cost = np.append(rng.standard_normal(d), 1.0)
    x, bound = lp.solve(cost, lo, hi, pieces=True)
    assert bound <= cost @ x + 1e-9 * (1 + abs(cost @ x))
    assert bound == pytest.approx(cost @ x, abs=1e-7 * (1 + abs(cost @ x)))
    # other points of the same region (LP optima in random directions): never below it
    for _ in range(20):
        other, _ = lp.solve(np.append(rng.standard_normal(d), rng.uniform()), lo, hi, pieces=True)
        assert cost @ other >= bound - 1e-9 * (1 + abs(bound))
    # a dual that is not optimal gives a smaller bound, never a larger one
    assert lp._dual_bound(cost, np.zeros(lp.lo.size), lo, hi) <= bound


def test_a_box_outside_q_is_dropped_only_with_a_farkas_certificate(box_lp):
    lp, lower, upper = box_lp
    far = upper + 10.0 * (upper - lower) + 1.0  # beyond Q's extent along every axis
    lo, hi = np.append(far, 1.0), np.append(far + 1.0, 50.0)
    x, bound = lp.solve(np.append(np.zeros(lower.size), 1.0), lo, hi, pieces=True)
    assert x is None and bound == np.inf


@pytest.mark.parametrize("name", ["paper35 r=6 N=100", "capped-near r=5"])
def test_t_at_the_lp_optimum_is_phi_at_its_point(name):
    """With every piece in, the LP's t is ``Phi(w) = max(max_a (1 - a.w), 1 + max_j w_j)``:
    t costs 1 and only the pieces bound it below (a wrong piece shifts F and drops boxes).
    capped-near's optima meet pieces whose rows are scaled down (coefficients above 1)."""
    lp, lower, upper, _, pieces, c0, B, _ = first_box_of_q0(CASES[name])
    d = B.shape[1]
    rng = np.random.default_rng(2)
    for _ in range(10):
        cost = np.append(rng.standard_normal(d), 1.0)
        x, _ = lp.solve(cost, np.append(lower, 1.0), np.append(upper, 50.0), pieces=True)
        w = c0 + B @ x[:d]
        phi = max((1.0 - pieces @ w).max(), 1.0 + w.max())
        assert x[-1] == pytest.approx(phi, rel=1e-9)


def test_a_farkas_ray_that_proves_nothing_does_not_drop_the_box(box_lp, monkeypatch):
    lp, lower, upper = box_lp

    class NoProof:  # an "infeasible" answer whose ray combines no rows
        @staticmethod
        def getDualRay():
            return None, True, np.zeros(lp.lo.size)

    monkeypatch.setattr(lp, "highs", NoProof())
    assert lp._farkas(np.append(lower, 1.0), np.append(upper, 50.0)) == -np.inf


# ------------------------------------------------------------- the search's bookkeeping


@pytest.mark.parametrize("name", ["capped-on r=4", "capped-near r=5"])
def test_every_ray_end_polished_is_a_point_of_p_near_the_sphere(name, monkeypatch):
    """The ray ends handed to the polisher: ``e_k + s (-1, w)`` at ``s = 1 / Phi(w)``, in P,
    with ``||y||`` within _POLISH_NEAR of 1 or beyond."""
    rows = prepare(CASES[name]).rows
    polish, ends = star._Polisher.polish, []

    def spy(self, y):
        ends.append(y.copy())
        return polish(self, y)

    monkeypatch.setattr(star._Polisher, "polish", spy)
    assert decide_global(rows, TOL).status in ("boundary", "scattered")
    ends = np.array(ends)
    assert len(ends) >= rows.shape[1]  # near vertices of norm 1 or 1 - 1e-4: polished
    unit_rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    np.testing.assert_allclose(ends.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (ends @ unit_rows.T).min() >= -1e-9
    assert np.linalg.norm(ends, axis=1).min() >= 1.0 - star._POLISH_NEAR


@pytest.mark.parametrize(("norm", "polished"), [(0.9988, False), (0.9995, True)])
def test_only_ray_ends_within_polish_near_of_the_sphere_are_polished(norm, polished, monkeypatch):
    """Cuts whose dual vertices have norm 0.9988 or 0.9995 (scattered): the LP points' ray
    ends reach them, and are polished only within _POLISH_NEAR (1e-3) of norm 1."""
    polish, ends = star._Polisher.polish, []
    monkeypatch.setattr(star._Polisher, "polish", lambda self, y: ends.append(y) or polish(self, y))
    found = decide_global(prepare(capped(3, cap_at(3, norm))).rows, TOL)
    assert found.status == "scattered" and bool(ends) == polished


@pytest.mark.parametrize("name", ["paper35 r=5", "capped-out r=5"])
def test_the_lp_count_is_every_lp_the_boxes_ran(name, monkeypatch):
    solve, runs = star._BoxLP.solve, []

    def counted(self, *args, **kwargs):
        before = self.n_lps
        try:
            return solve(self, *args, **kwargs)
        finally:
            runs.append(self.n_lps - before)

    monkeypatch.setattr(star._BoxLP, "solve", counted)
    found = decide_global(prepare(CASES[name]).rows, TOL)
    assert found.status in ("scattered", "refuted") and found.n_lps == sum(runs) > 0


def test_a_box_too_narrow_to_split_is_an_error(monkeypatch):
    """Past the narrowest width the search stops with an error (never a verdict)."""
    monkeypatch.setattr(star, "_MIN_WIDTH", 1.0)  # wider than the first box
    found = decide_global(prepare(CASES["capped-on r=3"]).rows, TOL)
    assert (found.status, found.witness, found.n_done) == ("error", None, 0)
    assert "a box of Q_0 could not be decided at width" in found.error


def test_an_unbounded_face_slice_is_an_error():
    """Rows that fail the necessary checks: the one row zero in column 0 gives
    ``w_1 + w_2 >= 0``, all of the line ``1.w = 1``, so Q_0 is unbounded; the stage stops
    with an error, never a verdict."""
    rows = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5]])
    found = decide_global(rows, TOL)
    assert (found.status, found.witness, found.n_done) == ("error", None, 0)
    assert "unbounded" in found.error.lower()


# ------------------------------------------------------------------- the portfolio


@pytest.fixture
def global_from_five(monkeypatch):
    """The global stage from r = 5 (no facets first), so small H reach it."""
    monkeypatch.setattr(check_module, "_SEARCH_FIRST_RANK", 5)
    monkeypatch.setattr(check_module, "_GLOBAL_RANK", 4)


@pytest.mark.parametrize("name", ["paper35 r=5", "capped-near r=5"])
def test_the_portfolio_hands_what_the_search_leaves_to_the_global_stage(name, global_from_five):
    res = check_scattering(CASES[name], method="exact")
    assert res.method == "global" and res.stats["stages"] == ["necessary", "search", "global"]
    assert res.verdict == "sufficiently_scattered" and res.condition2 is True
    assert res.stats["global_faces"] == 5 and res.stats["global_boxes"] >= 5


def test_the_portfolio_reports_the_boundary_from_the_global_stage(global_from_five, monkeypatch):
    monkeypatch.setattr(check_module, "_GLOBAL_RANK", 3)
    monkeypatch.setattr(check_module, "_SEARCH_FIRST_RANK", 3)
    res = check_scattering(CASES["capped-on r=4"], method="exact")
    assert (res.method, res.verdict, res.condition1, res.condition2, res.on_boundary) == (
        "global",
        "not_sufficiently_scattered",
        True,
        False,
        True,
    )
    assert np.linalg.norm(res.witness) == pytest.approx(1.0, abs=TOL)
    assert res.witness @ res.witness_point <= 1e-12  # x on bd C, not inside cone(H.T)


def test_at_the_first_global_rank_the_facets_come_first_for_a_few_seconds(monkeypatch):
    budgets = []

    def facets(rows, tol, time_limit):
        budgets.append(time_limit)
        return None, {}

    monkeypatch.setattr(check_module, "_SEARCH_FIRST_RANK", 5)
    monkeypatch.setattr(check_module, "_GLOBAL_RANK", 5)
    monkeypatch.setattr(check_module, "decide_within", facets)
    res = check_scattering(CASES["paper35 r=5"], method="exact", time_limit=30.0)
    assert res.stats["stages"] == ["necessary", "search", "exact", "global"]
    assert budgets == [check_module._FACETS_BEFORE_GLOBAL_S] and res.method == "global"


def test_a_failing_global_stage_passes_on_to_the_facets(global_from_five, monkeypatch):
    failed = GlobalOutcome("error", None, 3, 7, 0, error="stuck")
    monkeypatch.setattr(check_module, "decide_global", lambda rows, tol, deadline: failed)
    res = check_scattering(CASES["paper35 r=5"], method="exact")
    assert res.stats["stages"] == ["necessary", "search", "global", "exact"]
    assert res.method == "exact" and res.stats["global_error"] == "stuck"
    assert res.verdict == "sufficiently_scattered"


def test_a_global_stage_out_of_time_is_inconclusive(global_from_five, monkeypatch):
    late = GlobalOutcome("timeout", None, 10, 20, 2)
    monkeypatch.setattr(check_module, "decide_global", lambda rows, tol, deadline: late)
    res = check_scattering(CASES["paper35 r=5"], method="exact")
    assert (res.verdict, res.method, res.condition1) == ("inconclusive", "global", None)
    assert "rays of 2 of the 5 unit vectors searched" in res.reason


def test_a_refutation_by_the_global_stage_carries_its_witness(global_from_five, monkeypatch):
    rows = prepare(CASES["paper35 r=6 N=30 (not SSC)"]).rows
    found = decide_global(rows, TOL)
    monkeypatch.setattr(check_module, "search_refutation", _no_refutation)
    res = check_scattering(CASES["paper35 r=6 N=30 (not SSC)"], method="exact")
    assert (res.method, res.condition1) == ("global", False)
    np.testing.assert_allclose(res.witness, found.witness, rtol=0, atol=1e-12)
    assert res.margin == pytest.approx(np.linalg.norm(found.witness), rel=1e-12)


def _no_refutation(rows, tol, deadline):
    from cvxvolmin.scattering.search import SearchOutcome

    return SearchOutcome(None, 0, 0, 1.0)


def capped_each(caps: list[float]) -> np.ndarray:
    """The vertices of ``{x >= 0, 1.x = 1, x_i <= caps[i]}``: one coordinate free, the rest at 0
    or at their cap."""
    r = len(caps)
    rows = set()
    for free in range(r):
        others = [j for j in range(r) if j != free]
        for at_cap in itertools.product([False, True], repeat=r - 1):
            x = np.zeros(r)
            for j, capped_j in zip(others, at_cap, strict=True):
                x[j] = caps[j] if capped_j else 0.0
            x[free] = 1.0 - x.sum()
            if -1e-12 <= x[free] <= caps[free] + 1e-12:
                rows.add(tuple(np.round(x, 15)))
    return np.array(sorted(rows))


def test_a_boundary_vertex_found_first_does_not_hide_a_refutation_in_a_later_face():
    # The cut x_3 <= 2/r is tangent to C: its dual vertex (norm 1) lies in the region of e_0
    # and is found first; the cut x_0 <= b has a dual vertex of norm 1.05, in the regions
    # of e_1 to e_3 only. Boxes dropped once a boundary vertex is known must still hold
    # no point beyond 1 + tol.
    r = 4
    H = capped_each([cap_at(r, 1.05), 0.6, 0.6, 2.0 / r])
    prepared = prepare(H)
    assert run_necessary(prepared, TOL).passed
    assert facets_class(prepared.rows)[0] == "refuted"
    outcome = decide_global(prepared.rows, TOL)
    assert outcome.status == "refuted"
    assert np.linalg.norm(outcome.witness) > 1.0 + TOL
