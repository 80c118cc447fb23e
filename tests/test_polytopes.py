"""Exact projections and linear minimization over the abundance polytopes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvxvolmin import InvalidParameterError
from cvxvolmin.polytopes import CappedSimplex, Simplex, SimplexAtMost

_SCALES = st.floats(-8.0, 8.0)  # log10 of a magnitude


def _polytope(kind: str, total: float, n: int, axis: int = 0):
    if kind == "simplex":
        return Simplex(total, axis=axis)
    if kind == "at-most":
        return SimplexAtMost(total, axis=axis)
    # A bound between the smallest feasible one (total / n) and total itself.
    return CappedSimplex(total, upper=total * 2.5 / n, axis=axis)


def _slices(G: np.ndarray, axis: int) -> np.ndarray:
    return G.T if axis == 0 else G


def _assert_projection(polytope, G: np.ndarray, P: np.ndarray) -> None:
    """P is in the set, and no point of the set is closer to G (optimality over vertices)."""
    total = polytope.total
    S = _slices(P, polytope.axis)
    assert S.min() >= 0.0
    sums = S.sum(axis=1)
    # Entries are differences of G's entries: rounding of eps |G| each (the
    # simplex projections rescale to the exact total; the capped one cannot).
    rounding = 1e-12 * total + 4 * S.shape[1] * np.finfo(float).eps * np.abs(G).max()
    if isinstance(polytope, SimplexAtMost):
        assert np.all(sums <= total + rounding)
    elif isinstance(polytope, Simplex):
        np.testing.assert_allclose(sums, total, rtol=1e-12)
    else:
        np.testing.assert_allclose(sums, total, rtol=0, atol=rounding)
        assert S.max() <= polytope.upper + rounding
    # P minimizes ||z - G||^2 over the set iff <P - G, z - P> >= 0 for every z in it,
    # i.e. min over the set of <P - G, z> is <P - G, P> (per slice).
    C = P - G
    lowest = polytope.min_linear(C)
    at_P = _slices(C * P, polytope.axis).sum(axis=1)
    size = np.abs(_slices(C, polytope.axis)).max(axis=1) * (total + np.abs(G).max())
    assert np.all(lowest >= at_P - 1e-10 * np.maximum(size, np.finfo(float).tiny))


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(["simplex", "at-most", "capped"]),
    axis=st.sampled_from([0, 1]),
    shape=st.tuples(st.integers(2, 40), st.integers(1, 6)),
    scale=_SCALES,
    total_exp=_SCALES,
    seed=st.integers(0, 2**32 - 1),
)
def test_projection_is_exact_at_every_scale(kind, axis, shape, scale, total_exp, seed):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal(shape) * 10.0**scale
    n = shape[0] if axis == 0 else shape[1]
    polytope = _polytope(kind, 10.0**total_exp, n, axis)
    before = G.copy()
    P = polytope.project(G)
    np.testing.assert_array_equal(G, before)  # the input is never written
    _assert_projection(polytope, G, P)


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["simplex", "at-most", "capped"]),
    n=st.integers(2, 30),
    c_exp=_SCALES,
    seed=st.integers(0, 2**32 - 1),
)
def test_projection_is_homogeneous_and_permutation_equivariant(kind, n, c_exp, seed):
    """P_{c t}(c G) = c P_t(G) for c > 0, and permuting entries permutes the projection."""
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n, 3))
    c = 10.0**c_exp
    base, scaled = _polytope(kind, 1.0, n), _polytope(kind, c, n)
    P = base.project(G)
    np.testing.assert_allclose(scaled.project(c * G), c * P, rtol=1e-9, atol=1e-12 * c)
    order = rng.permutation(n)
    np.testing.assert_allclose(base.project(G[order]), P[order], rtol=1e-12, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 50), shift=st.floats(-1e3, 1e3), seed=st.integers(0, 2**32 - 1))
def test_simplex_projection_ignores_a_common_shift(n, shift, seed):
    """Adding a constant to a column moves the threshold, not the projection."""
    G = np.random.default_rng(seed).standard_normal((n, 4))
    polytope = Simplex(1.0)
    np.testing.assert_allclose(polytope.project(G + shift), polytope.project(G), atol=1e-9)


@pytest.mark.parametrize("n", [5, 300, 20_000])
def test_warm_started_projection_equals_the_cold_one(n):
    rng = np.random.default_rng(n)
    polytope = Simplex(1.0)
    G = rng.standard_normal((n, 4)) / n + 1.0 / n
    P, state = polytope.project_from(G)
    for spread in (1e-6, 1e-2, 10.0):  # nearby points and a far one (stale state)
        G2 = G + spread * rng.standard_normal(G.shape) / n
        warm, _ = polytope.project_from(G2, state)
        np.testing.assert_allclose(warm, polytope.project(G2), rtol=0, atol=1e-15)
    # A state of the wrong shape is not used.
    warm, _ = polytope.project_from(G, np.zeros(7))
    np.testing.assert_allclose(warm, P, rtol=0, atol=1e-15)


def _vertices(polytope, n: int):
    """Every vertex of one slice's set (small n), by enumeration."""
    if isinstance(polytope, Simplex):
        return [polytope.total * np.eye(n)[i] for i in range(n)]
    if isinstance(polytope, SimplexAtMost):
        return [np.zeros(n)] + [polytope.total * np.eye(n)[i] for i in range(n)]
    full = int(np.floor(polytope.total / polytope.upper))
    rest = polytope.total - full * polytope.upper
    found = []
    for at_bound in itertools.combinations(range(n), full):
        for extra in [i for i in range(n) if i not in at_bound] or [None]:
            v = np.zeros(n)
            v[list(at_bound)] = polytope.upper
            if extra is not None:
                v[extra] = rest
            found.append(v)
    return found


@pytest.mark.parametrize(
    "polytope",
    [Simplex(2.0), SimplexAtMost(0.5), CappedSimplex(1.0, 0.3), CappedSimplex(1.0, 0.25)],
    ids=repr,
)
def test_min_linear_is_the_smallest_value_at_a_vertex(polytope):
    rng = np.random.default_rng(0)
    C = rng.standard_normal((6, 5))
    expected = [min(float(v @ C[:, k]) for v in _vertices(polytope, 6)) for k in range(5)]
    np.testing.assert_allclose(polytope.min_linear(C), expected, rtol=1e-12, atol=1e-15)
    # Row slices (axis=1) see the transpose.
    rowwise = type(polytope)(**{**polytope.__dict__, "axis": 1})
    np.testing.assert_allclose(rowwise.min_linear(C.T), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Simplex(0.0), "total must be a positive finite number"),
        (lambda: Simplex(np.inf), "total must be a positive finite number"),
        (lambda: SimplexAtMost(1.0, axis=2), "axis must be 0 or 1"),
        (lambda: CappedSimplex(1.0, -1.0), "upper must be a positive finite number"),
    ],
)
def test_bad_parameters_are_refused(build, message):
    with pytest.raises(InvalidParameterError, match=message):
        build()


def test_a_bound_no_slice_can_meet_is_refused():
    with pytest.raises(InvalidParameterError, match=r"4 entries at most 0\.2 cannot sum to 1\.0"):
        CappedSimplex(1.0, 0.2).project(np.ones((4, 2)))
