"""cvxvolmin.testing.check_formulation: the plug-in contract, on every shipped formulation
and on the broken ones it exists to catch."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

import cvxvolmin
from cvxvolmin import ColumnSumVolMin, RowSumVolMin
from cvxvolmin.testing import FormulationContractError, check_formulation

SHIPPED = ["column-sum", "column-sum-leq", "bounded-abundance", "row-sum"]
PARAMS = {"bounded-abundance": {"upper": 0.5}}  # a bound the contract's data meet


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_formulation_keeps_the_contract(name):
    report = check_formulation(cvxvolmin.get_formulation(name, **PARAMS.get(name, {})))
    assert report["recovery"].startswith("exact recovery")
    assert report["working sets"].startswith("at N = 2100")
    assert (
        report["registry"]
        == f"get_formulation({name!r}) builds a "
        + type(cvxvolmin.get_formulation(name, **PARAMS.get(name, {}))).__name__
    )


class _Capped(ColumnSumVolMin):
    name = "contract-capped"  # not registered: the registry clause is skipped
    column_separable = True

    def row_constraints(self, row, reduction):
        return [*super().row_constraints(row, reduction), row.h <= 0.5 * row.unit]


def test_a_users_variant_keeps_the_contract():
    report = check_formulation(_Capped())
    assert report["registry"] == "skipped: 'contract-capped' is not registered"
    assert report["sparse"] == "sparse X gives the dense fit"


class _SummedH(ColumnSumVolMin):
    name = "contract-summed-h"
    column_separable = True

    def row_constraints(self, row, reduction):
        return [row.h >= 0, cp.sum(row.h) == row.unit]  # means "the samples held" on a set


class _SingularStart(ColumnSumVolMin):
    name = "contract-singular-start"

    def initial_Q(self, reduction, rng):
        return np.ones((reduction.rank, reduction.rank))


class _OffSumStart(RowSumVolMin):
    name = "contract-off-sum-start"

    def initial_Q(self, reduction, rng):
        return 2.0 * super().initial_Q(reduction, rng)


class _Impostor(ColumnSumVolMin):
    name = "column-sum"  # the shipped criterion's name, another class


class _TooTight(ColumnSumVolMin):
    name = "contract-too-tight"
    column_separable = True

    def row_constraints(self, row, reduction):
        return [*super().row_constraints(row, reduction), row.h <= 0.012 * row.unit]


@pytest.mark.parametrize(
    ("formulation", "match"),
    [
        (_SummedH(), r"the fit raised InvalidParameterError: .* changes with the set of samples"),
        (_SingularStart(), r"initial_Q returned a singular Q"),
        (_OffSumStart(), r"initial_Q's start misses the constraints by 0\.5 \(relative\)"),
        (_Impostor(), r"the registry builds ColumnSumVolMin for 'column-sum', not _Impostor"),
        (_TooTight(), r"case 1 \(r = 4\) .* not an exact recovery .* pass recovery_cases"),
    ],
    ids=["summed-h", "singular-start", "off-sum-start", "impostor", "too-tight"],
)
def test_broken_formulations_are_caught_with_the_clause_named(formulation, match):
    with pytest.raises(FormulationContractError, match=match):
        check_formulation(formulation)


def test_a_variant_without_recovery_promise_passes_with_its_own_data():
    """The author says where recovery holds; structural clauses run on their data."""

    def draw(rank, n, rng):
        return cvxvolmin.make_paper_data(rank, case=2, n_samples=n, random_state=rng)

    report = check_formulation(_TooTight(), recovery_cases=(), draw=draw)
    assert report["recovery"] == "skipped: no case given"
