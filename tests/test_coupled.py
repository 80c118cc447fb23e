"""Coupled criteria (joint_constraints): the l1-ball PMF and a researcher's own, on joint steps."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvxvolmin
from cvxvolmin import DegenerateError, Formulation, L1BallVolMin
from cvxvolmin.testing import check_formulation


def _on_facets(rank, n, rng, bound=1.0):
    """Rows of H on the l1 ball's facets (70%) or inside it, spread over every facet."""
    H = rng.dirichlet(np.ones(rank), n) * rng.choice([-1.0, 1.0], (n, rank))
    H *= np.where(rng.uniform(size=(n, 1)) < 0.7, 1.0, rng.uniform(size=(n, 1)))
    return rng.standard_normal((20, rank)) @ (bound * H).T, None, bound * H


def _inside(rank, n, rng):
    G = rng.standard_normal((n, rank))
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    H = 0.5 * G * rng.uniform(size=(n, 1)) ** (1.0 / rank)
    return rng.standard_normal((20, rank)) @ H.T, None, H


def test_coupled_is_declared_by_joint_constraints():
    assert not any(
        formulation.coupled
        for formulation in (
            cvxvolmin.get_formulation("column-sum"),
            cvxvolmin.get_formulation("box"),
            cvxvolmin.get_formulation("bounded-abundance", upper=0.5),
        )
    )
    assert L1BallVolMin().coupled
    assert cvxvolmin.RowSumVolMin().coupled  # H 1 = 1 ties each sample's components

    class Larger(L1BallVolMin):
        name = "test-larger-ball"

    assert Larger().coupled


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**16), log_c=st.floats(-8, 8), log_bound=st.floats(-3, 3))
def test_l1_ball_recovers_h_when_rows_reach_its_facets(seed, log_c, log_bound):
    bound = 10.0**log_bound
    X, _, H = _on_facets(3, 150, np.random.default_rng(seed), bound)
    result = cvxvolmin.fit(10.0**log_c * X, 3, formulation=L1BallVolMin(bound), random_state=0)
    assert cvxvolmin.matched_mse(H, result.H, signs=True) < 1e-18
    assert np.abs(result.H).sum(axis=1).max() <= bound * (1 + 1e-9)


def test_l1_ball_does_not_identify_rows_inside_it():
    X, _, H = _inside(3, 200, np.random.default_rng(0))
    result = cvxvolmin.fit(X, 3, formulation="l1-ball", random_state=0)
    assert cvxvolmin.matched_mse(H, result.H, signs=True) > 1e-2
    assert np.isclose(np.abs(result.H).sum(axis=1).max(), 1.0)  # stretched to the ball


class _AtMostOne(Formulation):
    """A researcher's coupled variant: each sample's coefficients nonnegative, summing to <= 1."""

    name = "test-at-most-one"

    def unit(self, reduction):
        return 1.0

    def row_constraints(self, row, reduction):
        return []

    def joint_constraints(self, H, reduction):
        return [H >= 0, cp.sum(H, axis=1) <= 1]


def test_a_users_coupled_variant_needs_nothing_but_its_constraints():
    """No initial_Q: the engine's phase one finds a feasible nonsingular start."""
    rng = np.random.default_rng(1)
    H = rng.dirichlet(np.ones(4), 200)  # rows on the simplex's far face, spread
    H[:4] = np.eye(4)  # and its vertices
    H[4:50] *= rng.uniform(size=(46, 1))  # some inside
    X = rng.standard_normal((15, 4)) @ H.T
    result = cvxvolmin.fit(X, 4, formulation=_AtMostOne(), random_state=0)
    assert cvxvolmin.matched_mse(H, result.H) < 1e-18
    assert result.H.min() >= -1e-12 and result.H.sum(axis=1).max() <= 1 + 1e-12


def test_a_coupled_set_of_singular_matrices_is_degenerate():
    class TiedComponents(_AtMostOne):
        name = "test-tied-components"

        def joint_constraints(self, H, reduction):
            return [*super().joint_constraints(H, reduction), H[:, 0] == H[:, 1]]

    X, _, _ = _on_facets(3, 60, np.random.default_rng(0))
    with pytest.raises(DegenerateError, match=r"no nonsingular Q meets the constraints"):
        cvxvolmin.fit(X, 3, formulation=TiedComponents(), random_state=0)


def test_fit_robust_imposes_the_joint_constraints():
    X, _, H = _on_facets(3, 120, np.random.default_rng(2))
    noisy = cvxvolmin.add_noise(X, 40.0, random_state=3)
    result = cvxvolmin.fit_robust(noisy, 3, formulation="l1-ball", random_state=0)
    assert result.h_solver == "qp"
    assert np.abs(result.H).sum(axis=1).max() <= 1 + 1e-6  # the QP solver's tolerance
    assert cvxvolmin.matched_mse(H, result.H, signs=True) < 1e-2


def test_l1_ball_keeps_the_plug_in_contract():
    report = check_formulation(
        L1BallVolMin(), rank=3, recovery_cases=(), draw=lambda r, n, rng: _on_facets(r, n, rng)
    )
    assert report["working sets"].startswith("at N = 2100 the working-set fit equals")
    assert report["registry"] == "get_formulation('l1-ball') builds a L1BallVolMin"


def test_bound_and_rank_are_checked():
    with pytest.raises(cvxvolmin.InvalidParameterError, match=r"bound must be a positive"):
        L1BallVolMin(0.0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 13)) @ rng.standard_normal((13, 40))  # of rank 13
    with pytest.raises(cvxvolmin.InvalidParameterError, match=r"rank 13 exceeds 12"):
        cvxvolmin.fit(X, 13, formulation="l1-ball")


def test_a_row_sum_variant_with_joint_constraints_starts_feasible():
    """The row sum and a cap: the phase-one start meets both, so joint steps keep both."""

    class Capped(cvxvolmin.RowSumVolMin):
        name = "test-row-sum-joint-cap"

        def joint_constraints(self, H, reduction):
            return [*super().joint_constraints(H, reduction), H <= 0.9]

    X, _, _ = cvxvolmin.make_paper_data(3, case=2, n_samples=80, random_state=0)
    result = cvxvolmin.fit(X, 3, formulation=Capped(n_restarts=2), random_state=0)
    norms = np.abs(X).sum(axis=0)
    Hn = result.H[norms > 0] / norms[norms > 0, None]  # the normalized rows
    np.testing.assert_allclose(Hn.sum(axis=1), 1.0, rtol=1e-9)
    assert Hn.max() <= 0.9 + 1e-9 and Hn.min() >= -1e-9


class _SeparableAtMostOne(_AtMostOne):
    """The same constraints, of shapes (N, r) and (N,): each reads one sample."""

    name = "test-at-most-one-separable"
    column_separable = True


def _in_the_simplex(rank, n, rng):
    H = rng.dirichlet(np.ones(rank), n) * rng.uniform(0.5, 1.0, (n, 1))
    H[:rank] = np.eye(rank)  # the simplex's vertices are among the samples
    return rng.standard_normal((15, rank)) @ H.T, H


@pytest.mark.parametrize(
    ("formulation", "draw"),
    [
        (_SeparableAtMostOne(), _in_the_simplex),
        (  # H 1 = 1 on every sample: N equalities, reduced to r before HiGHS
            cvxvolmin.RowSumVolMin(normalize="l1"),
            lambda r, n, rng: cvxvolmin.make_paper_data(r, case=1, n_samples=n, random_state=rng)[
                ::2
            ],
        ),
    ],
    ids=["at-most-one", "row-sum"],
)
def test_sample_wise_joint_constraints_run_on_working_sets(formulation, draw):
    """Above 2000 samples the joint LP holds a working set; the answer is the full LP's."""
    X, H = draw(4, 2500, np.random.default_rng(0))
    on_sets = cvxvolmin.fit(X, 4, formulation=formulation, random_state=0)  # working sets
    whole = cvxvolmin.fit(X, 4, formulation=formulation, random_state=0, working_set=False)
    assert cvxvolmin.matched_mse(H, on_sets.H) < 1e-18
    assert cvxvolmin.matched_mse(whole.H, on_sets.H) < 1e-20


@pytest.mark.parametrize("n_samples", [300, 3000])  # all N samples declared; two sets of them
def test_a_joint_sum_over_the_samples_is_refused_on_working_sets(n_samples):
    class Budget(_SeparableAtMostOne):
        name = "test-joint-budget"
        column_separable = True  # claimed, but the budget sums over the samples held

        def joint_constraints(self, H, reduction):
            return [*super().joint_constraints(H, reduction), cp.sum(H) <= 0.9 * H.shape[0]]

    X, _ = _in_the_simplex(3, n_samples, np.random.default_rng(1))
    with pytest.raises(
        cvxvolmin.InvalidParameterError, match=r"constraint 3 of 3 changes with the set of samples"
    ):
        cvxvolmin.fit(X, 3, formulation=Budget())


def test_the_l1_ball_takes_a_number_and_ranks_up_to_twelve():
    with pytest.raises(cvxvolmin.InvalidParameterError, match=r"bound must be a positive number"):
        L1BallVolMin(True)
    ball = L1BallVolMin(2.0)
    assert len(ball.joint_constraints(cp.Variable((2, 12)), None)) == 2**12  # every facet
    with pytest.raises(cvxvolmin.InvalidParameterError, match=r"rank 13 exceeds 12"):
        ball.joint_constraints(cp.Variable((2, 13)), None)
