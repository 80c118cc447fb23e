"""The formulation plug-ins: shipped variants, user-defined ones, and the contract."""

from __future__ import annotations

import runpy
from pathlib import Path

import cvxpy as cp
import numpy as np
import pytest

import cvxvolmin
from cvxvolmin.declaration import build_row_lp
from cvxvolmin.formulations import (
    BoundedAbundanceVolMin,
    ColumnSumAtMostVolMin,
    ColumnSumVolMin,
    Formulation,
    RowSumVolMin,
    available_formulations,
    get_formulation,
    register_formulation,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def paper_data():
    return cvxvolmin.make_paper_data(5, case=3, random_state=1)


@pytest.fixture(scope="module")
def column_sum_fit(paper_data):
    X, _, _ = paper_data
    return cvxvolmin.fit(X, 5, random_state=0)


# -- registry -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("column-sum", ColumnSumVolMin),
        ("column-sum-leq", ColumnSumAtMostVolMin),
        ("bounded-abundance", BoundedAbundanceVolMin),
        ("row-sum", RowSumVolMin),
    ],
)
def test_shipped_formulations_are_registered(name, cls):
    assert name in available_formulations()
    assert type(get_formulation(name)) is cls


def test_get_formulation_passes_parameters_to_a_name_or_class():
    assert get_formulation("column-sum", rho=2.0).rho == 2.0
    assert get_formulation(BoundedAbundanceVolMin, upper=0.1).upper == 0.1


def test_get_formulation_names_the_signature_on_bad_parameters():
    with pytest.raises(TypeError, match=r"cannot be built with parameters \{'sigma': 1\}"):
        get_formulation("column-sum", sigma=1)
    with pytest.raises(TypeError, match="set them when constructing the instance"):
        get_formulation(ColumnSumVolMin(), rho=2.0)


# -- H.T 1 = rho 1 --------------------------------------------------------------


def test_rho_scales_H_and_nothing_else(paper_data, column_sum_fit):
    X, _, H = paper_data
    result = cvxvolmin.fit(X, 5, formulation=get_formulation("column-sum", rho=3.0), random_state=0)
    np.testing.assert_allclose(result.H.sum(axis=0), 3.0, rtol=1e-12)
    assert result.colsum_error <= 1e-10
    assert cvxvolmin.matched_mse(H, result.H) <= 1e-15
    # The LP is the same for every rho: the answer is the rho = 1 one, scaled.
    np.testing.assert_allclose(result.H, 3.0 * column_sum_fit.H, atol=1e-14)
    np.testing.assert_allclose(result.W @ result.H.T, X, atol=1e-9)


def test_rho_must_be_positive():
    with pytest.raises(ValueError, match="rho must be positive and finite; got -1"):
        ColumnSumVolMin(rho=-1)


# -- H.T 1 <= 1 -----------------------------------------------------------------


def test_column_sum_inequality_is_tight_at_the_optimum(paper_data, column_sum_fit):
    X, _, H = paper_data
    result = cvxvolmin.fit(X, 5, formulation="column-sum-leq", random_state=0)
    # |det Q| grows with each row's scale, so every column sum reaches its bound.
    np.testing.assert_allclose(result.H.sum(axis=0), 1.0, rtol=1e-9)
    assert result.H.min() >= -1e-12
    assert result.logdet == pytest.approx(column_sum_fit.logdet, abs=1e-9)
    assert cvxvolmin.matched_mse(H, result.H) <= 1e-15


def test_column_sum_inequality_rows_stay_bounded(paper_data):
    # The row polytope contains 0 and must be bounded: max of any direction is finite.
    X, _, _ = paper_data
    form = ColumnSumAtMostVolMin()
    reduction = form.reduce(X, 5)
    lp = build_row_lp(form, reduction, "HIGHS")
    for direction in np.eye(5):
        for sign in (1.0, -1.0):
            q = lp.maximize(sign * direction)
            h = reduction.Xt.T @ q / form.unit(reduction)
            assert h.min() >= -1e-9 and h.sum() <= 1.0 + 1e-9


# -- 0 <= H <= upper ------------------------------------------------------------


def test_bounded_abundances_recover_when_the_bound_holds(paper_data):
    X, _, H = paper_data
    top = (H / H.sum(axis=0)).max()
    result = cvxvolmin.fit(
        X, 5, formulation=BoundedAbundanceVolMin(upper=1.05 * top), random_state=0
    )
    assert cvxvolmin.matched_mse(H, result.H) <= 1e-15
    assert result.H.max() <= 1.05 * top + 1e-12


def test_bounded_abundances_hold_even_below_the_truth(paper_data):
    X, _, H = paper_data
    upper = 0.8 * (H / H.sum(axis=0)).max()
    result = cvxvolmin.fit(X, 5, formulation=BoundedAbundanceVolMin(upper=upper), random_state=0)
    assert result.H.max() <= upper + 1e-12
    assert result.H.min() >= -1e-12
    np.testing.assert_allclose(result.H.sum(axis=0), 1.0, rtol=1e-9)
    assert cvxvolmin.matched_mse(H, result.H) > 1e-6  # the truth is not feasible


def test_bounded_abundances_refuse_an_unreachable_bound(paper_data):
    X, _, _ = paper_data
    with pytest.raises(ValueError, match=r"upper=0.001 is below rho / N = 0.005"):
        cvxvolmin.fit(X, 5, formulation=BoundedAbundanceVolMin(upper=0.001))


# -- user-defined formulations ---------------------------------------------------


@register_formulation
class FirstSamplesCapped(Formulation):
    """From scratch: column-sum VolMin with the first ten samples capped at ``cap``."""

    name = "test-first-samples-capped"

    def __init__(self, cap: float = 1.0):
        self.cap = cap

    def row_constraints(self, row, reduction):
        return [row.h >= 0, cp.sum(row.h) == row.unit, row.h[:10] <= self.cap * row.unit]


class CappedRowSum(RowSumVolMin):
    """A fixed-row-sum variant: the engine's pair moves apply the cap to both rows."""

    name = "test-capped-row-sum"

    def __init__(self, cap: float):
        super().__init__(n_restarts=2)
        self.cap = cap

    def row_constraints(self, row, reduction):
        return [*super().row_constraints(row, reduction), row.h <= self.cap * row.unit]


class NormBall(ColumnSumVolMin):
    name = "test-norm-ball"

    def row_constraints(self, row, reduction):
        return [*super().row_constraints(row, reduction), cp.norm(row.q) <= 1]


def test_user_formulation_works_as_instance_and_by_name(paper_data):
    X, _, H = paper_data
    cap = 1.05 * (H / H.sum(axis=0))[:10].max()
    by_instance = cvxvolmin.fit(X, 5, formulation=FirstSamplesCapped(cap), random_state=0)
    assert cvxvolmin.matched_mse(H, by_instance.H) <= 1e-15
    assert by_instance.H[:10].max() <= cap + 1e-12
    by_name = cvxvolmin.fit(X, 5, formulation="test-first-samples-capped", random_state=0)
    assert by_name.formulation.name == "test-first-samples-capped"
    assert cvxvolmin.matched_mse(H, by_name.H) <= 1e-15


def test_user_row_sum_variant_keeps_its_constraints_through_pair_moves():
    X, _, _ = cvxvolmin.make_paper_data(4, case=2, random_state=0)
    result = cvxvolmin.fit(X, 4, formulation=CappedRowSum(cap=0.6), random_state=0)
    norms = np.abs(X).sum(axis=0)
    Hn = result.H[norms > 0] / norms[norms > 0, None]  # back to the normalized rows
    np.testing.assert_allclose(Hn.sum(axis=1), 1.0, rtol=1e-9)
    assert Hn.min() >= -1e-12 and Hn.max() <= 0.6 + 1e-12


def test_nonlinear_constraints_are_refused_before_any_solve(paper_data):
    X, _, _ = paper_data
    with pytest.raises(TypeError) as info:
        cvxvolmin.fit(X, 5, formulation=NormBall(), random_state=0)
    message = str(info.value)
    assert "formulation 'test-norm-ball' declares a nonlinear constraint" in message
    assert "row updates must be LPs, so every constraint must be affine" in message


def test_registering_a_name_twice_is_refused():
    class Other(ColumnSumVolMin):
        name = "test-first-samples-capped"

    with pytest.raises(ValueError, match="already registered"):
        register_formulation(Other)


def test_the_custom_formulation_example_runs_and_can_run_again(capsys):
    for _ in range(2):  # re-running a definition re-registers it
        runpy.run_path(str(EXAMPLES / "custom_formulation.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "slowly-varying" in out and "MSE" in out
