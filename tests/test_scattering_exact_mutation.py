"""The exact stage's edges (cvxvolmin/scattering/exact.py), pinned by mutation testing.

The time limit and its forked child (the parent waits the limit and no more,
a child that dies or raises is reported, the child is forked whatever the
default start method), the summaries of failures, and the refinement of
Qhull's normals into exact vertices.
"""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
import multiprocessing.connection
import os
import time

import numpy as np
import pytest
from scipy.spatial import QhullError
from test_scattering import capped, hexagon, pairs

from cvxvolmin.scattering import exact as exact_module
from cvxvolmin.scattering.exact import (
    FacetSummary,
    _child,
    _qhull_failed,
    decide,
    decide_within,
)
from cvxvolmin.scattering.prepare import prepare
from cvxvolmin.synthetic import make_paper_data


def _fields(summary: FacetSummary) -> dict:
    """A summary's fields, arrays as lists: comparable with ``==``."""
    return {
        k: v.tolist() if isinstance(v, np.ndarray) else v
        for k, v in dataclasses.asdict(summary).items()
    }


def _empty(strategy: str, error: str) -> dict:
    """What a summary that found nothing says: zero counts, top_norm 0, the error."""
    return _fields(FacetSummary(strategy, 0, 0, 0, None, None, 0.0, error=error))


def _in_p(rows: np.ndarray, y: np.ndarray) -> bool:
    """Whether y satisfies every row, relative to ``||row|| ||y||``."""
    return bool(np.all(rows @ y >= -1e-12 * np.linalg.norm(rows, axis=1) * np.linalg.norm(y)))


def _rows(r: int) -> np.ndarray:
    return prepare(make_paper_data(r, random_state=0)[2]).rows


# ------------------------------------------------------ the time limit and its child


@pytest.mark.parametrize(
    ("r", "time_limit", "forkable"),
    [(5, 10.0, True), (8, np.inf, True), (7, 10.0, False)],
)
def test_decide_within_runs_in_process_when_no_child_is_needed(
    r, time_limit, forkable, monkeypatch
):
    # small r (milliseconds), no limit (nothing to stop), or no fork: in-process,
    # the same answer as decide, and the time it took
    if not forkable:
        monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    rows = _rows(r)
    begin = time.perf_counter()
    summary, info = decide_within(rows, 1e-9, time_limit)
    wall = time.perf_counter() - begin
    assert _fields(summary) == _fields(decide(rows, 1e-9))
    assert summary.strategy == ("outer" if r >= 8 else "facets")
    assert set(info) == {"subprocess", "exact_s"} and info["subprocess"] is False
    assert 0.0 <= info["exact_s"] <= wall


def test_decide_within_forks_for_r7_under_a_limit_with_the_same_answer():
    rows = _rows(7)
    begin = time.perf_counter()
    summary, info = decide_within(rows, 1e-9, 60.0)
    wall = time.perf_counter() - begin
    assert _fields(summary) == _fields(decide(rows, 1e-9))
    assert set(info) == {"subprocess", "exact_s"} and info["subprocess"] is True
    assert 0.0 <= info["exact_s"] <= wall
    assert multiprocessing.active_children() == []  # the child is gone


@pytest.mark.parametrize("time_limit", [-1.0, 0.0, 0.2])
def test_the_parent_waits_the_time_limit_and_no_longer(time_limit, monkeypatch):
    # a child that never answers (a Qhull run of minutes): the parent waits
    # max(limit, 0) for it, then stops it and reports a time-out (None)
    monkeypatch.setattr(exact_module, "decide", lambda rows, tol: time.sleep(60))
    waits = []
    real_poll = multiprocessing.connection.Connection.poll

    def poll(self, timeout=0.0):
        waits.append(timeout)
        return real_poll(self, timeout)

    monkeypatch.setattr(multiprocessing.connection.Connection, "poll", poll)
    summary, info = decide_within(_rows(7), 1e-9, time_limit)
    assert summary is None and info["subprocess"] is True
    assert waits == [max(time_limit, 0.0)]
    assert multiprocessing.active_children() == []  # stopped, not left running


def test_a_child_that_dies_is_reported_not_waited_for(monkeypatch):
    # the child exits without a word (as when Qhull crashes): an error summary
    monkeypatch.setattr(exact_module, "decide", lambda rows, tol: os._exit(3))
    summary, info = decide_within(_rows(7), 1e-9, 60.0)
    assert _fields(summary) == _empty("?", "the Qhull process died")
    assert info["subprocess"] is True


def test_the_child_is_forked_whatever_the_default_start_method(monkeypatch):
    # spawn (macOS) or forkserver (Python 3.14) would re-import the package in
    # the child, eating the time limit; only a forked child sees this patch
    marker = FacetSummary("marker", 1, 2, 3, None, None, 0.5)
    monkeypatch.setattr(exact_module, "decide", lambda rows, tol: marker)
    previous = multiprocessing.get_start_method(allow_none=True)
    multiprocessing.set_start_method("spawn", force=True)
    try:
        summary, info = decide_within(_rows(7), 1e-9, 60.0)
    finally:
        multiprocessing.set_start_method(previous, force=True)
    assert info["subprocess"] is True and summary == marker


class _Conn:
    """Records what the child sends and whether it closed its end."""

    def __init__(self):
        self.sent, self.closed = [], False

    def send(self, obj):
        self.sent.append(obj)

    def close(self):
        self.closed = True


def test_the_child_sends_decide_s_answer():
    # run in-process: what the forked child does (tol matters for the outer
    # approximation at r = 8)
    rows, conn = _rows(8), _Conn()
    _child(conn, rows, 1e-9)
    assert conn.closed and len(conn.sent) == 1
    assert conn.sent[0].error is None and conn.sent[0].strategy == "outer"
    assert _fields(conn.sent[0]) == _fields(decide(rows, 1e-9))


def test_the_child_reports_an_exception_instead_of_hanging_the_parent(monkeypatch):
    def failing(rows, tol):
        raise ValueError("boom")

    monkeypatch.setattr(exact_module, "decide", failing)
    conn = _Conn()
    _child(conn, _rows(7), 1e-9)
    assert conn.closed and len(conn.sent) == 1
    assert _fields(conn.sent[0]) == _empty("?", "ValueError('boom')")


@pytest.mark.parametrize("strategy", ["facets", "outer"])
def test_a_qhull_failure_summary_found_nothing(strategy):
    summary = _qhull_failed(strategy, QhullError("QH6154 flat\ndetails"))
    assert _fields(summary) == _empty(strategy, "Qhull failed: QH6154 flat")


# ------------------------------------------------- refining Qhull's normals: _refine

CLOSE = 1e-6


def _brute_vertices(rows: np.ndarray) -> list[tuple[np.ndarray, tuple[int, int]]]:
    """The vertices of the r = 3 dual slice by brute force, by decreasing norm, with
    the two rows that pin each (independent of Qhull)."""
    found = []
    for a in range(len(rows)):
        for b in range(a + 1, len(rows)):
            M = np.vstack([rows[a], rows[b], np.ones(3)])
            if abs(np.linalg.det(M)) < 1e-9:
                continue
            y = np.linalg.solve(M, [0.0, 0.0, 1.0])
            if np.all(rows @ y >= -1e-12 * np.linalg.norm(rows, axis=1) * np.linalg.norm(y)):
                found.append((y, (a, b)))
    return sorted(found, key=lambda t: -np.linalg.norm(t[0]))


def _off(y: np.ndarray, amount: float) -> np.ndarray:
    """y moved ``amount ||y||`` along the slice, orthogonally to y (as a Qhull normal)."""
    d = np.cross(y, np.ones(3))
    return y + amount * np.linalg.norm(y) * d / np.linalg.norm(d)


@pytest.fixture
def random_slice():
    rows = prepare(np.random.default_rng(3).uniform(size=(8, 3))).rows
    vertices = _brute_vertices(rows)
    norms = [np.linalg.norm(y) for y, _ in vertices]
    assert len(vertices) >= 4 and norms[0] > 10 and norms[-1] > 1  # norms of both kinds
    return rows, vertices


@pytest.fixture
def fallbacks(monkeypatch):
    """The candidates _refine hands to _refine_one (its fallback)."""
    calls = []
    original = exact_module._refine_one

    def recording(rows, directions, y, close):
        calls.append(y.copy())
        return original(rows, directions, y, close)

    monkeypatch.setattr(exact_module, "_refine_one", recording)
    return calls


def test_refine_solves_each_candidate_from_its_own_rows(random_slice, fallbacks):
    # each candidate within close * ||y|| of the vertex its rows pin (judged per
    # candidate, relative to its own norm: the norms here span 1.2 to 15) is
    # replaced by that vertex, with no fallback
    rows, vertices = random_slice
    cands = np.array([_off(y, 0.9 * CLOSE) for y, _ in vertices])
    simplices = np.array([pair for _, pair in vertices])
    Y, unit, n_unrefined = exact_module._refine(rows, cands, simplices, 0.0, CLOSE)
    for got, (y, _) in zip(Y, vertices, strict=True):
        assert got == pytest.approx(y, rel=1e-13)
    assert unit.tolist() == [-1] * len(vertices) and n_unrefined == 0
    assert fallbacks == []


def test_refine_keeps_a_normal_beyond_close_of_every_vertex(random_slice, fallbacks):
    # 1.05 close off its vertex: neither its rows nor the rows nearly active pin
    # a vertex that near, so Qhull's normal stays, counted; it is still a
    # non-unit vertex (-1), whatever the other candidates' norms
    rows, vertices = random_slice
    (top, top_pair), (low, low_pair) = vertices[0], vertices[-1]
    cands = np.array([_off(top, 0.1 * CLOSE), _off(low, 1.05 * CLOSE)])
    Y, unit, n_unrefined = exact_module._refine(
        rows, cands, np.array([top_pair, low_pair]), 0.0, CLOSE
    )
    assert Y[0] == pytest.approx(top, rel=1e-13)
    assert np.array_equal(Y[1], cands[1]) and n_unrefined == 1
    assert unit.tolist() == [-1, -1]
    assert len(fallbacks) == 1 and np.array_equal(fallbacks[0], cands[1])


def test_pieces_of_one_facet_share_the_vertex_any_piece_pins(random_slice, fallbacks):
    # Qhull gives the pieces of a triangulated facet one hyperplane; pieces whose
    # own rows pin nothing (here: a repeated row) take the vertex of a piece that
    # does, and without one, the fallback is tried once for all of them
    rows, vertices = random_slice
    y, (a, b) = vertices[-1]
    c = _off(y, 0.5 * CLOSE)
    pinned = np.array([[a, b], [a, a], [b, b]])
    Y, unit, n_unrefined = exact_module._refine(rows, np.array([c, c, c]), pinned, 0.0, CLOSE)
    assert np.array_equal(Y[1], Y[0]) and np.array_equal(Y[2], Y[0])
    assert Y[0] == pytest.approx(y, rel=1e-13)
    assert unit.tolist() == [-1, -1, -1] and n_unrefined == 0 and fallbacks == []
    unpinned = np.array([[a, a], [b, b]])
    Y, unit, n_unrefined = exact_module._refine(rows, np.array([c, c]), unpinned, 0.0, CLOSE)
    assert Y[0] == pytest.approx(y, rel=1e-13) and np.array_equal(Y[1], Y[0])
    assert unit.tolist() == [-1, -1] and n_unrefined == 0 and len(fallbacks) == 1


def test_a_solved_vertex_that_cuts_a_row_beyond_rounding_is_not_taken(random_slice):
    # a row c cut by the vertex its facet's rows pin, by 1e-12 ||y|| (over 1e-12
    # relative to ||c|| ||y|| since ||c|| < 1): not a vertex of the slice, so it is
    # not taken; what is kept satisfies every row, or is counted as unrefined
    rows, vertices = random_slice
    y, pair = vertices[-1]
    c0 = rows[next(i for i in range(len(rows)) if i not in pair)]
    c = c0 - (c0 @ y + 1e-12 * np.linalg.norm(y)) * y / (y @ y)
    assert 0.3 < np.linalg.norm(c) < 0.9
    rows = np.vstack([rows, c])
    Y, unit, n_unrefined = exact_module._refine(
        rows, np.array([_off(y, 0.5 * CLOSE)]), np.array([pair]), 0.0, CLOSE
    )
    assert unit.tolist() == [-1]
    assert n_unrefined == 1 or _in_p(rows, Y[0])
    assert not np.allclose(Y[0], y, rtol=1e-14, atol=0)


@pytest.mark.parametrize("at_reach", [False, True])
def test_refine_stops_below_the_floor_and_the_best_after_a_chunk(random_slice, at_reach):
    # chunks of 64 then 128 candidates, by decreasing reach = (1 + close) ||y||:
    # the first two chunks settle the best (15); at the third the reach (1.2) is
    # below it and below the floor, so the rest keep Qhull's normals; a reach
    # equal to the floor could refine to the floor itself, so is refined
    rows, vertices = random_slice
    (top, top_pair), (low, low_pair) = vertices[0], vertices[-1]
    cands = np.array([_off(top, 0.5 * CLOSE)] * 192 + [_off(low, 0.5 * CLOSE)])
    simplices = np.array([top_pair] * 192 + [low_pair])
    reach = np.linalg.norm(cands, axis=1)[-1] * (1.0 + CLOSE)
    floor = reach if at_reach else 1.5 * np.linalg.norm(cands[-1])
    Y, unit, n_unrefined = exact_module._refine(rows, cands, simplices, floor, CLOSE)
    assert all(got == pytest.approx(top, rel=1e-13) for got in Y[:-1])
    if at_reach:
        assert Y[-1] == pytest.approx(low, rel=1e-13)
    else:
        assert np.array_equal(Y[-1], cands[-1])
    assert (unit == -1).all() and n_unrefined == 0


def test_refine_tries_a_candidate_whose_reach_equals_the_best(random_slice):
    # "below both the floor and the best" is strict: after a first chunk of 64
    # copies of the top vertex, a candidate whose reach is exactly the best (and
    # below the floor) is still tried; too far from any vertex, it is counted
    rows, vertices = random_slice
    top, top_pair = vertices[0]
    best = float(
        np.linalg.norm(exact_module._solve_defining(rows, np.array([top_pair])), axis=1)[0]
    )
    c = _off(top, 0.5 * CLOSE)
    c = c * best / (np.linalg.norm(c) * (1.0 + CLOSE))
    for _ in range(100):  # to the last bit: norm(c) (1 + close) == best
        reach = np.linalg.norm(c[None], axis=1)[0] * (1.0 + CLOSE)
        if reach == best:
            break
        c = c * np.nextafter(1.0, 2.0 if reach < best else 0.0)
    assert reach == best
    cands = np.array([_off(top, 0.1 * CLOSE)] * 64 + [c])
    simplices = np.array([top_pair] * 65)
    Y, unit, n_unrefined = exact_module._refine(rows, cands, simplices, 2 * best, CLOSE)
    assert n_unrefined == 1 and np.array_equal(Y[-1], c) and (unit == -1).all()


def test_a_unit_vertex_found_by_the_fallback_does_not_count_as_the_best():
    # hexagon(0.25): e_0 (norm 1) is a unit vertex, the cut vertex w has norm
    # 0.87. A normal near e_0 whose own rows pin nothing is recognized as e_0 by
    # the fallback; the best non-unit norm stays 0.87, so every copy of w in the
    # second chunk (reach above 0.87) is still refined below a floor of 1
    rows = prepare(hexagon(0.25)).rows
    w = np.array([0.6, -0.2, 0.6])
    a, b = np.flatnonzero(np.abs(rows @ w) < 1e-12)
    # two rows zero in different columns: they pin (3, 3, -1) / 5, far from e_0
    far = [
        int(np.flatnonzero(np.all(rows == row, axis=1))[0])
        for row in ([0, 0.25, 0.75], [0.25, 0, 0.75])
    ]
    near_e0 = np.eye(3)[0] + 1e-9 * np.array([0.0, 1.0, -1.0])
    cands = np.array([near_e0] + [_off(w, 0.5 * CLOSE)] * 64)
    simplices = np.array([far] + [[a, b]] * 64)
    Y, unit, n_unrefined = exact_module._refine(rows, cands, simplices, 1.0, CLOSE)
    assert unit[0] == 0 and (unit[1:] == -1).all() and n_unrefined == 0
    assert all(got == pytest.approx(w, rel=1e-13) for got in Y[1:])


# ------------------------------------------------------------ the outer approximation


def _start_vertex_cut(by_row_norm: bool) -> np.ndarray:
    """Three rows (the start: each the largest in its column) whose top dual
    vertex v (norm 1.42) a fourth row D cuts by 1e-12 ||D|| (within rounding:
    relative to ||D|| ||v||, 0.7e-12) or by 1e-12 ||v|| (beyond: 2e-12)."""
    R = np.array([[0.979, 0.015, 0.006], [0.194, 0.79, 0.015], [0.03, 0.008, 0.962]])
    v = np.linalg.solve(np.vstack([R[1], R[2], np.ones(3)]), [0.0, 0.0, 1.0])
    assert np.linalg.norm(v) == pytest.approx(1.419, abs=1e-3)
    D, w = np.array([0.4, 0.3, 0.3]), v - v.mean()  # w: along the slice, keeps 1.D = 1
    for _ in range(3):
        target = -1e-12 * (np.linalg.norm(D) if by_row_norm else np.linalg.norm(v))
        D = D + (target - D @ v) / (w @ v) * w
    return np.vstack([R, D])


OUTER_ROUNDS = {
    "capped(6) scattered": (lambda: capped(6, 1 / 3 * 1.01), 1e-9),
    "capped(6) fails (1)": (lambda: capped(6, 1 / 3 * 0.99), 1e-9),
    "capped(7) fails (1)": (lambda: capped(7, 2 / 7 * 0.99), 1e-9),
    "capped(7) fails (1) by 4%": (lambda: capped(7, 2 / 7 * 0.96), 1e-9),
    "capped(6) tangent": (lambda: capped(6, 1 / 3), 1e-9),
    "capped(6), tol 5%": (lambda: capped(6, 1 / 3 * 1.01), 0.05),
    "capped(7), tol 5%": (lambda: capped(7, 2 / 7 * 0.99), 0.05),
    "pairs(5)": (lambda: pairs(5), 1e-9),
    "pairs(6), tol 20%": (lambda: pairs(6), 0.2),
    "paper r=7": (lambda: make_paper_data(7, random_state=1)[2], 1e-9),
    "paper r=7, tol 2%": (lambda: make_paper_data(7, random_state=1)[2], 0.02),
    "paper r=8": (lambda: make_paper_data(8, random_state=0)[2], 1e-9),
    "start vertex cut within rounding": (lambda: _start_vertex_cut(True), 1e-9),
    "start vertex cut beyond rounding": (lambda: _start_vertex_cut(False), 1e-9),
    "centre outside": (lambda: np.array([[0, 1, 0], [0, 0, 1], [1, 0, 3], [1, 3, 0]], float), 1e-9),
    "centre outside, r=5": (
        lambda: 0.7 * prepare(capped(5, 0.3)).rows + 0.3 * np.eye(5)[0],
        1e-9,
    ),
}


@pytest.mark.parametrize("name", sorted(OUTER_ROUNDS))
def test_outer_rounds_add_violated_rows_and_stop_at_the_first_refutation(name, monkeypatch):
    # each round looks at Q's vertices with ||y|| >= 1 - tol (and its 1.y <= 0
    # normals): one in P that refutes (1) (1.y <= 0 or ||y|| > 1 + tol) ends the
    # run at once; otherwise only rows some of them violate join S, and the run
    # ends when all of them are in P (then the top is the largest of those)
    make, tol = OUTER_ROUNDS[name]
    rows = prepare(make()).rows
    rounds = []
    original = exact_module._dual_vertices

    def recording(subset_rows, floor=np.inf):
        found = original(subset_rows, floor=floor)
        rounds.append((subset_rows, found))
        return found

    monkeypatch.setattr(exact_module, "_dual_vertices", recording)
    summary = exact_module.outer_approximation(rows, tol)
    assert summary.strategy == "outer" and len(rounds) == summary.iterations

    def looked_at(found):
        return [*found.halfspace, *found.others[found.norms >= 1.0 - tol]][:50]

    def refutes(y):
        return _in_p(rows, y) and (
            y.sum() <= 1e-12 * np.linalg.norm(y) or np.linalg.norm(y) > 1 + tol
        )

    for (subset, found), (nxt, _) in itertools.pairwise(rounds):
        assert not any(refutes(y) for y in looked_at(found))
        added = [row for row in nxt if not any(np.array_equal(row, s) for s in subset)]
        assert added and all(
            any(
                row @ y < -1e-12 * np.linalg.norm(row) * np.linalg.norm(y) for y in looked_at(found)
            )
            for row in added
        )
    last = looked_at(rounds[-1][1])
    if any(refutes(y) for y in last):
        first = next(y for y in last if refutes(y))
        if summary.halfspace_witness is not None:
            assert np.array_equal(summary.halfspace_witness, first)
            assert summary.top_vertex is None and summary.top_norm == np.inf
        else:
            assert np.array_equal(summary.top_vertex, first)
    else:
        assert all(_in_p(rows, y) for y in last)
        if last:
            assert summary.top_norm == pytest.approx(max(np.linalg.norm(y) for y in last))


def test_a_centre_outside_the_cone_still_counts_unrefined_vertices(joggled_refines):
    # capped(5) moved 30% towards e_0: the centre leaves the cone (a 1.y <= 0
    # facet); joggled, some of the other facets' rows pin no vertex: counted
    failed = joggled_refines  # per refined candidate: whether no row pinned a vertex
    rows = prepare(0.7 * prepare(capped(5, 0.3)).rows + 0.3 * np.eye(5)[0]).rows
    summary = exact_module.enumerate_facets(rows)
    assert summary.halfspace_witness is not None and summary.joggled
    assert summary.n_unrefined == sum(failed) > 0
