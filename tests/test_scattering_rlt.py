"""The reformulation-linearization bound of the global stage (rlt.py).

On boxes of ``Q_k`` of a paper H, its certified bound must lie below F at
every point of the box's part of ``Q_k`` (points found as LP optima in random
directions), at or above the secant LP's bound on the same box, and clearly
above it on the first box (else the product rows do nothing); a half that
starts from its parent's rows and basis must still bound F from below. With
the bound on, the global stage must reach the facets' verdict on every case.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_scattering_crosscheck import paper
from test_scattering_global import CASES, TOL, facets_class
from test_scattering_global_split import first_box_of_q0

from cvxvolmin.scattering import rlt as rlt_module
from cvxvolmin.scattering.necessary import run_necessary
from cvxvolmin.scattering.prepare import prepare
from cvxvolmin.scattering.star import decide_global


@pytest.fixture(scope="module")
def face():
    """Q_0 of a paper H (r = 6) in box coordinates: the secant LP, the RLT bound, F."""
    lp, lower, upper, face_rows, pieces, c0, B, base = first_box_of_q0(paper(6, 0.35, 100, 0))
    d = B.shape[1]
    bound = rlt_module.BoxRLT(
        face_rows @ B,
        -(face_rows @ c0),
        np.vstack([pieces @ B, -B]),
        np.concatenate([1.0 - pieces @ c0, 1.0 + c0]),
        base,
    )

    def F(v: np.ndarray) -> float:
        w = c0 + B @ v
        return max(float(np.max(1.0 - pieces @ w)), 1.0 + w.max()) - 0.5 * (1.0 + w @ w)

    def t_hi(lo, hi) -> float:
        return base + 0.5 * np.maximum(lo**2, hi**2).sum() + 1.0

    def secant(lo, hi) -> float:
        cost = np.append(-0.5 * (lo + hi), 1.0)
        x, value = lp.solve(cost, np.append(lo, 1.0), np.append(hi, t_hi(lo, hi)), pieces=True)
        assert x is not None
        return value + 0.5 * (lo @ hi) - base

    def points_in(lo, hi, rng, n=12) -> list[np.ndarray]:
        """Points of Q_0 in the box: LP optima in random directions."""
        found = []
        for _ in range(n):
            cost = np.append(rng.standard_normal(d), 0.0)
            x, _ = lp.solve(cost, np.append(lo, 1.0), np.append(hi, t_hi(lo, hi)), pieces=False)
            if x is not None:
                found.append(np.clip(x[:d], lo, hi))
        return found

    return {"lower": lower, "upper": upper, "rlt": bound, "F": F, "t_hi": t_hi,
            "secant": secant, "points_in": points_in}  # fmt: skip


def sub_box(face, corners):
    lower, upper = face["lower"], face["upper"]
    d = lower.size
    a, b = np.array(corners[:d]), np.array(corners[d : 2 * d])
    lo = lower + (upper - lower) * 0.4 * np.minimum(a, b)
    hi = upper - (upper - lower) * 0.4 * (1 - np.maximum(a, b))
    return lo, hi


@settings(max_examples=15, deadline=None)
@given(corners=st.lists(st.floats(0.0, 1.0), min_size=8, max_size=8), seed=st.integers(0, 99))
def test_the_bound_lies_below_f_on_the_box_and_above_the_secant(face, corners, seed):
    lo, hi = sub_box(face, corners)
    bound, _ = face["rlt"].bound(lo, hi, face["t_hi"](lo, hi), drop=np.inf)
    points = face["points_in"](lo, hi, np.random.default_rng(seed))
    assert points, "the box should meet Q_0"
    values = [face["F"](v) for v in points]
    scale = 1.0 + max(abs(v) for v in values)
    assert bound <= min(values) + 1e-8 * scale
    assert bound >= face["secant"](lo, hi) - 1e-8 * scale


def test_the_products_tighten_the_first_box_and_its_halves_start_from_it(face):
    lo, hi = face["lower"], face["upper"]
    bound, start = face["rlt"].bound(lo, hi, face["t_hi"](lo, hi), drop=np.inf)
    secant = face["secant"](lo, hi)
    assert bound > secant + 0.05 * (1.0 + abs(secant))
    assert start is not None and len(start.products) > 0
    assert start.basis is not None and len(start.basis.row_status) == (
        start.factors.size + lo.size + len(start.products)
    )
    axis = int(np.argmax(hi - lo))
    middle = 0.5 * (lo[axis] + hi[axis])
    rng = np.random.default_rng(3)
    for half in ((lo, np.where(np.arange(lo.size) == axis, middle, hi)),
                 (np.where(np.arange(lo.size) == axis, middle, lo), hi)):  # fmt: skip
        warm, _ = face["rlt"].bound(*half, face["t_hi"](*half), drop=np.inf, start=start)
        values = [face["F"](v) for v in face["points_in"](*half, rng)]
        assert warm <= min(values) + 1e-8 * (1.0 + max(map(abs, values)))
        assert warm >= bound - 1e-8 * (1.0 + abs(bound))  # a half is no looser than its parent


def test_a_bound_past_drop_stops_the_rounds_and_gives_no_start(face):
    lo, hi = face["lower"], face["upper"]
    lps = face["rlt"].n_lps
    bound, start = face["rlt"].bound(lo, hi, face["t_hi"](lo, hi), drop=-1e6)
    assert bound > -1e6 and start is None
    assert face["rlt"].n_lps == lps + 1


def test_any_dual_values_give_a_bound_no_higher_than_the_lp(face):
    lo, hi = face["lower"], face["upper"]
    rlt = face["rlt"]
    low, high = rlt._column_bounds(lo, hi, face["t_hi"](lo, hi))
    rows, rhs = rlt._secant(lo, hi)
    bound, _ = rlt.bound(lo, hi, face["t_hi"](lo, hi), drop=np.inf)
    assert rlt._dual_bound(rows, rhs, np.zeros(rhs.size), low, high) <= bound


@pytest.mark.parametrize("name", sorted(CASES))
def test_with_the_bound_the_verdict_is_the_facets_verdict(name):
    prepared = prepare(CASES[name])
    assert run_necessary(prepared, TOL).passed
    expected, _ = facets_class(prepared.rows)
    assert decide_global(prepared.rows, TOL, tighten=True).status == expected


def full_rlt_value(rlt, lo, hi, t_hi) -> float:
    """The same LP declared whole in cvxpy: every product of a binding factor with a side."""
    import cvxpy as cp

    d = lo.size
    factors = rlt._binding_factors(lo, hi)
    C, c0 = rlt.C[factors], rlt.c0[factors]
    v, t = cp.Variable(d), cp.Variable()
    V, T = cp.Variable((d, d), symmetric=True), cp.Variable(d)
    low, high = rlt._column_bounds(lo, hi, t_hi)
    upper = rlt.V + rlt.pair  # each entry of V's column in the LP
    value = C[:, :d] @ v + C[:, d] * t - c0  # each factor, >= 0
    lifted = C[:, :d] @ V + cp.outer(C[:, d], T) - cp.outer(c0, v)  # factor times v_j
    constraints = [
        value >= 0,
        lifted - cp.outer(value, lo) >= 0,
        cp.outer(value, hi) - lifted >= 0,
        cp.diag(V) <= cp.multiply(lo + hi, v) - lo * hi,
        v >= low[:d], v <= high[:d], t >= low[rlt.t], t <= high[rlt.t],
        V >= low[upper], V <= high[upper], T >= low[rlt.T :], T <= high[rlt.T :],
    ]  # fmt: skip
    problem = cp.Problem(cp.Minimize(t - 0.5 * cp.trace(V)), constraints)
    problem.solve(solver="HIGHS")
    assert problem.status == "optimal"
    return problem.value - rlt.base


def test_the_rounds_reach_the_whole_lp_declared_in_cvxpy(face, monkeypatch):
    monkeypatch.setattr(rlt_module, "_MAX_ROUNDS", 200)  # to convergence: no row violated
    lo, hi = face["lower"], face["upper"]
    for box in ((lo, hi), (lo, 0.5 * (lo + hi)), (0.5 * (lo + hi), hi)):
        t_hi = face["t_hi"](*box)
        bound, _ = face["rlt"].bound(*box, t_hi, drop=np.inf)
        whole = full_rlt_value(face["rlt"], *box, t_hi)
        assert bound == pytest.approx(whole, abs=1e-7 * (1.0 + abs(whole)))


def test_the_factors_left_out_cannot_bind_on_the_box(face):
    rlt = face["rlt"]
    lo, hi = face["lower"], 0.5 * (face["lower"] + face["upper"])
    d = lo.size
    kept = np.zeros(rlt.C.shape[0], bool)
    kept[rlt._binding_factors(lo, hi)] = True
    corners = lo + (hi - lo) * np.random.default_rng(0).integers(0, 2, size=(400, d))
    inside = lo + (hi - lo) * np.random.default_rng(1).uniform(size=(400, d))
    f = rlt.n_face
    face_rows = corners @ rlt.C[:f, :d].T - rlt.c0[:f]
    # a row of Q_k left out holds on every corner; one kept fails on some corner
    assert np.all(face_rows[:, ~kept[:f]] >= -1e-12)
    assert np.all((face_rows[:, kept[:f]] < 0).any(axis=0))
    # a piece left out is below a kept one everywhere on the box
    pieces = (rlt.c0[f:] - inside @ rlt.C[f:, :d].T) / rlt.C[f:, d]
    left_out, kept_pieces = pieces[:, ~kept[f:]], pieces[:, kept[f:]]
    assert np.all(left_out.max(axis=1, initial=-np.inf) <= kept_pieces.max(axis=1))
    assert kept[:f].any() and kept[f:].any() and not kept[f:].all()


@settings(max_examples=10, deadline=None)
@given(corners=st.lists(st.floats(0.0, 1.0), min_size=8, max_size=8), seed=st.integers(0, 99))
def test_every_row_and_column_bound_holds_at_the_lifted_points_of_the_box(face, corners, seed):
    """(v, Phi(v), v v^T, Phi(v) v) for v of Q_0 in the box meets the LP: the bound's validity."""
    rlt = face["rlt"]
    lo, hi = sub_box(face, corners)
    t_hi = face["t_hi"](lo, hi)
    d = lo.size
    factors = rlt._binding_factors(lo, hi)
    side, a, j = np.meshgrid([0, 1], factors, np.arange(d), indexing="ij")
    products = np.stack([side.ravel(), a.ravel(), j.ravel()], axis=1)
    blocks = [rlt._secant(lo, hi), rlt._product_rows(products, lo, hi)]
    rows, rhs = np.vstack([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])
    low, high = rlt._column_bounds(lo, hi, t_hi)
    for v in face["points_in"](lo, hi, np.random.default_rng(seed)):
        phi = face["F"](v) + rlt.base + 0.5 * v @ v  # F = Phi - q
        x = np.concatenate([v, [phi], np.outer(v, v)[rlt.upper, rlt.lower], phi * v])
        scale = 1.0 + np.abs(x).max()
        assert np.all(x >= low - 1e-9 * scale) and np.all(x <= high + 1e-9 * scale)
        assert np.all(rows @ x >= rhs - 1e-9 * scale)
        # and the objective there is F itself
        assert rlt.cost @ x - rlt.base == pytest.approx(face["F"](v), abs=1e-9 * scale)
