"""The global stage splits a box without its LP only when that LP could not drop it.

``star._secant_value`` estimates a box LP's minimum from a point of the box
(an LP point of its parent): it must equal the LP's value at the LP's own
point, and be at least the LP's value on every sub-box that holds the point;
otherwise a box the LP would drop could be split, or worse, a wrong formula
would hide its error behind extra boxes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_scattering_crosscheck import paper

from cvxvolmin.scattering import star
from cvxvolmin.scattering.prepare import prepare


def first_box_of_q0(H: np.ndarray):
    """Q_0 of H in the stage's box coordinates: its box LP with every row and its first box.

    Returns ``lp, lower, upper, face_rows, pieces, c0, B, base`` (w = c0 + B v).
    """
    rows = prepare(H).rows
    others, face_rows, pieces = star._face_data(rows, 0)
    m = others.size
    c0 = np.full(m, 1.0 / m)
    B = star.null_space(np.ones((1, m)))
    lp = star._BoxLP(face_rows, pieces, c0, B)
    lp.add_face(np.arange(face_rows.shape[0]))
    lp.add_pieces(np.arange(pieces.shape[0]))
    d = B.shape[1]
    points = star._extents(lp, d)
    lower, upper = points[np.arange(d), np.arange(d)], points[d + np.arange(d), np.arange(d)]
    return lp, lower, upper, face_rows, pieces, c0, B, 0.5 * (1.0 + c0 @ c0)


@pytest.fixture(scope="module")
def face():
    """Q_0 of a paper H (r = 6): its box LP with every row, its first box and F."""
    lp, lower, upper, _, pieces, c0, B, base = first_box_of_q0(paper(6, 0.35, 100, 0))
    d = B.shape[1]

    def F(v: np.ndarray) -> float:
        w = c0 + B @ v
        phi = max(float(np.max(1.0 - pieces @ w)), 1.0 + w.max())
        return phi - 0.5 * (1.0 + w @ w)

    def lp_bound(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, float]:
        """The box LP's point and its bound on F, as the search computes them."""
        t_hi = base + 0.5 * np.maximum(lo**2, hi**2).sum() + 1.0
        cost = np.append(-0.5 * (lo + hi), 1.0)
        x, bound = lp.solve(cost, np.append(lo, 1.0), np.append(hi, t_hi), pieces=True)
        assert x is not None
        return x[:d], bound + 0.5 * (lo @ hi) - base

    return lower, upper, F, lp_bound


@settings(max_examples=25, deadline=None)
@given(
    corners=st.lists(st.floats(0.0, 1.0), min_size=8, max_size=8),
    cut=st.floats(0.05, 0.95),
)
def test_the_estimate_is_the_lp_value_at_its_point_and_bounds_every_sub_box(face, corners, cut):
    lower, upper, F, lp_bound = face
    d = lower.size
    a, b = np.array(corners[:d]), np.array(corners[4 : 4 + d])
    # a box inside the first one, at least a fifth of its width along every axis
    lo = lower + (upper - lower) * 0.4 * np.minimum(a, b)
    hi = upper - (upper - lower) * 0.4 * (1 - np.maximum(a, b))
    v, bound = lp_bound(lo, hi)
    value = F(v)
    scale = 1.0 + abs(value)
    assert star._secant_value((v, value), lo, hi) == pytest.approx(bound, abs=1e-8 * scale)
    # the half (at a random cut of the widest axis) that holds v: its LP is no higher
    axis = int(np.argmax(hi - lo))
    middle = lo[axis] + cut * (hi[axis] - lo[axis])
    sub_lo, sub_hi = lo.copy(), hi.copy()
    if v[axis] <= middle:
        sub_hi[axis] = middle
    else:
        sub_lo[axis] = middle
    _, sub_bound = lp_bound(sub_lo, sub_hi)
    estimate = star._secant_value((v, value), sub_lo, sub_hi)
    assert sub_bound <= estimate + 1e-8 * scale
    # and the sub-box's tighter secant makes the estimate no lower than the parent's
    assert estimate >= bound - 1e-8 * scale


def test_every_hint_the_search_pushes_lies_in_its_box(monkeypatch):
    """A hint outside its box would make _secant_value no bound at all (only extra splits)."""
    pushed = []
    real_push = star.heapq.heappush

    def spy(heap, item):
        pushed.append(item)
        real_push(heap, item)

    monkeypatch.setattr(star.heapq, "heappush", spy)
    rows = prepare(paper(6, 0.35, 100, 0)).rows
    assert star.decide_global(rows, 1e-9, tighten=False).status == "scattered"
    hinted = [(lo, hi, hint) for _, _, lo, hi, hint, _ in pushed if hint is not None]
    assert hinted and len(hinted) < len(pushed)  # each split hints one half, not both
    for lo, hi, (v, _) in hinted:
        slack = 1e-9 * (1.0 + np.abs(lo).max() + np.abs(hi).max())  # HiGHS's bound tolerance
        assert np.all(v >= lo - slack) and np.all(v <= hi + slack)


@settings(max_examples=60, deadline=None)
@given(
    lo=st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3),
    width=st.lists(st.floats(0.0, 1e3), min_size=3, max_size=3),
    corner=st.lists(st.booleans(), min_size=3, max_size=3),
)
def test_the_cap_on_t_is_above_q_at_every_corner_of_the_box(lo, width, corner):
    lo = np.array(lo)
    hi = lo + np.array(width)
    base = 0.6
    v = np.where(corner, hi, lo)
    q = base + 0.5 * v @ v
    assert star._t_cap(base, lo, hi) >= q + 1.0 - 1e-12 * q
