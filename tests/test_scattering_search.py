"""The refutation search: successive LPs that can only refute condition (1), with a certificate."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvxvolmin.scattering import check_scattering
from cvxvolmin.scattering.exact import decide
from cvxvolmin.scattering.prepare import prepare
from cvxvolmin.scattering.search import search_refutation


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
    assert (found.witness, found.n_starts, found.n_lps) == (None, 0, 0)
