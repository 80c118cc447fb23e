"""BoxVolMin: polytopic factorization with the box (bounded component analysis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvxvolmin
from cvxvolmin import BoxVolMin, InvalidParameterError
from cvxvolmin.testing import check_formulation


def _faces(rank, n, rng, bound=1.0):
    """Rows of H that reach the box's faces in every direction (clipped uniform)."""
    H = bound * np.clip(rng.uniform(-1.3, 1.3, size=(n, rank)), -1.0, 1.0)
    return rng.standard_normal((25, rank)) @ H.T, None, H


def _inside_ball(rank, n, rng):
    """Rows strictly inside the ball of radius 0.9: they never touch the box."""
    G = rng.standard_normal((n, rank))
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    H = 0.9 * G * rng.uniform(size=(n, 1)) ** (1.0 / rank)
    return rng.standard_normal((25, rank)) @ H.T, None, H


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**16), log_c=st.floats(-8, 8), log_bound=st.floats(-3, 3))
def test_recovers_h_up_to_permutation_and_sign_at_any_scale(seed, log_c, log_bound):
    """Scaling X (any c) goes into W; the bound scales H: recovery holds throughout."""
    bound = 10.0**log_bound
    X, _, H = _faces(3, 200, np.random.default_rng(seed), bound)
    result = cvxvolmin.fit(10.0**log_c * X, 3, formulation=BoxVolMin(bound), random_state=0)
    assert cvxvolmin.matched_mse(H, result.H, signs=True) < 1e-18
    assert np.abs(result.H).max() <= bound * (1 + 1e-9)  # the box holds, relative to it


def test_samples_inside_the_box_are_not_identifiable():
    """Theory (Tatli and Erdogan 2021): rows that never reach the faces do not fix the box."""
    X, _, H = _inside_ball(3, 300, np.random.default_rng(0))
    result = cvxvolmin.fit(X, 3, formulation="box", random_state=0)
    assert cvxvolmin.matched_mse(H, result.H, signs=True) > 1e-2
    assert np.isclose(np.abs(result.H).max(), 1.0)  # a larger box was fitted to them


def test_keeps_the_plug_in_contract_on_data_that_reach_the_faces():
    report = check_formulation(
        BoxVolMin(), recovery_cases=(), draw=lambda rank, n, rng: _faces(rank, n, rng)
    )
    assert report["working sets"].startswith("at N = 2100")
    assert report["registry"] == "get_formulation('box') builds a BoxVolMin"


@pytest.mark.parametrize("bound", [0, -1.0, True, "1", float("nan")])
def test_bound_must_be_a_positive_number(bound):
    with pytest.raises(InvalidParameterError, match=r"bound must be a positive number"):
        BoxVolMin(bound)
