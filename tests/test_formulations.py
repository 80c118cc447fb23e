"""The formulation plug-ins: shipped variants, user-defined ones, and the contract."""

from __future__ import annotations

import runpy
import warnings
from pathlib import Path

import cvxpy as cp
import numpy as np
import pytest

import cvxvolmin
from cvxvolmin.declaration import build_row_lp
from cvxvolmin.exceptions import InvalidParameterError
from cvxvolmin.formulations import (
    BoundedAbundanceVolMin,
    ColumnSumAtMostVolMin,
    ColumnSumVolMin,
    Formulation,
    Row,
    RowSumVolMin,
    available_formulations,
    fast_polytope,
    get_formulation,
    register_formulation,
)
from cvxvolmin.polytopes import CappedSimplex, Simplex, SimplexAtMost
from cvxvolmin.reduction import svd_reduction

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
    params = {"upper": 0.5} if name == "bounded-abundance" else {}
    assert type(get_formulation(name, **params)) is cls


def test_a_bound_is_never_defaulted_away():
    # A default upper = rho would bind nothing: `--formulation bounded-abundance` ran
    # unbounded. The bound is required, and the error says how to give it.
    with pytest.raises(InvalidParameterError, match=r"'upper'.*bounded-abundance:name=value"):
        get_formulation("bounded-abundance")


def test_get_formulation_passes_parameters_to_a_name_or_class():
    assert get_formulation("column-sum", rho=2.0).rho == 2.0
    assert get_formulation(BoundedAbundanceVolMin, upper=0.1).upper == 0.1


def test_get_formulation_names_the_signature_on_bad_parameters():
    with pytest.raises(TypeError, match=r"cannot be built with parameters \{'sigma': 1\}") as info:
        get_formulation("column-sum", sigma=1)
    # Named by its registered name; the hint is the constructor's signature.
    assert "formulation 'column-sum' cannot be built" in str(info.value)
    assert "Its signature is ColumnSumVolMin(rho" in str(info.value)

    class Nameless(ColumnSumVolMin):
        name = ""

    with pytest.raises(TypeError, match="formulation 'Nameless' cannot be built"):
        get_formulation(Nameless, sigma=1)  # no name: the class's
    with pytest.raises(TypeError, match="set them when constructing the instance"):
        get_formulation(ColumnSumVolMin(), rho=2.0)


def test_an_unknown_name_lists_every_available_formulation():
    with pytest.raises(ValueError, match="unknown formulation 'no-such'; available: ") as info:
        get_formulation("no-such")
    listed, hint = str(info.value).split("available: ")[1].split(", or ")
    assert listed.split(", ") == available_formulations()
    assert hint == "pass a Formulation instance."


@pytest.mark.parametrize("spec", [3, dict, Row])
def test_get_formulation_refuses_what_is_not_a_formulation(spec):
    # Classes that are not formulations are refused too, not instantiated.
    with pytest.raises(TypeError, match="must be a name, a Formulation subclass or instance; got"):
        get_formulation(spec)


def test_a_class_registered_at_run_time_is_found_by_name():
    class Late(ColumnSumVolMin):
        name = "test-registered-late"

    assert register_formulation(Late) is Late
    assert "test-registered-late" in available_formulations()
    found = get_formulation("test-registered-late", rho=2.0)
    assert type(found) is Late and found.rho == 2.0


def test_register_formulation_refuses_non_formulations_and_nameless_ones():
    with pytest.raises(TypeError, match="<class 'dict'> is not a Formulation subclass"):
        register_formulation(dict)
    with pytest.raises(
        TypeError, match=r"ColumnSumVolMin\(rho=1.0\) is not a Formulation subclass"
    ):
        register_formulation(ColumnSumVolMin())  # an instance, not the class

    class Nameless(ColumnSumVolMin):
        name = ""

    with pytest.raises(ValueError, match="Nameless needs a non-empty class attribute 'name'"):
        register_formulation(Nameless)


# -- parameters, repr ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "params", "match"),
    [
        (ColumnSumVolMin, {"rho": -1}, "rho must be positive and finite; got -1"),
        (ColumnSumVolMin, {"rho": 0}, "rho must be positive and finite; got 0"),
        (ColumnSumVolMin, {"rho": np.inf}, "rho must be positive and finite; got inf"),
        (ColumnSumVolMin, {"rho": True}, "rho must be a positive number; got True"),
        (ColumnSumVolMin, {"rho": "1"}, "rho must be a positive number; got '1'"),
        (BoundedAbundanceVolMin, {"upper": 0}, "upper must be positive and finite; got 0"),
        (BoundedAbundanceVolMin, {"upper": np.inf}, "upper must be positive and finite; got inf"),
        (BoundedAbundanceVolMin, {"upper": True}, "upper must be a positive number; got True"),
        (BoundedAbundanceVolMin, {"upper": "0.1"}, "upper must be a positive number; got '0.1'"),
        (RowSumVolMin, {"n_restarts": True}, "n_restarts must be a positive integer; got True"),
        (RowSumVolMin, {"n_restarts": 2.0}, "n_restarts must be a positive integer; got 2.0"),
    ],
)
def test_parameters_are_validated_with_the_offending_value(cls, params, match):
    with pytest.raises(ValueError, match=match):
        cls(**params)


@pytest.mark.parametrize(
    ("cls", "params", "text"),
    [
        (ColumnSumVolMin, {}, "ColumnSumVolMin(rho=1.0)"),
        (ColumnSumAtMostVolMin, {"rho": 2}, "ColumnSumAtMostVolMin(rho=2.0)"),
        (
            BoundedAbundanceVolMin,
            {"upper": 2, "rho": 2.0},
            "BoundedAbundanceVolMin(upper=2.0, rho=2.0)",
        ),
        (BoundedAbundanceVolMin, {"upper": 0.25}, "BoundedAbundanceVolMin(upper=0.25, rho=1.0)"),
        (RowSumVolMin, {}, "RowSumVolMin(normalize='auto', n_restarts=5)"),
        (
            RowSumVolMin,
            {"normalize": None, "n_restarts": 2},
            "RowSumVolMin(normalize=None, n_restarts=2)",
        ),
    ],
)
def test_repr_shows_every_parameter_and_rebuilds_the_instance(cls, params, text):
    # Defaults included (rho 1, 5 restarts, as documented).
    # Built here, not at collection, so that the constructor runs under the test.
    assert repr(cls(**params)) == text
    assert repr(eval(text, vars(cvxvolmin.formulations))) == text


class _Banded(ColumnSumVolMin):
    """A subclass with a parameter of its own beside its parent's."""

    name = "test-banded"

    def __init__(self, width: float, rho: float = 1.0, *, strict: bool = False):
        super().__init__(rho)
        self.width, self.strict = width, strict

    def row_constraints(self, row, reduction):
        return [*super().row_constraints(row, reduction), row.h <= self.width * row.unit]


def test_repr_of_a_user_formulation_shows_its_own_parameters():
    """The repr comes from the constructor's signature, a subclass's own parameters included."""
    assert repr(FirstSamplesCapped(0.5)) == "FirstSamplesCapped(cap=0.5)"
    assert repr(_Banded(0.25, rho=2.0, strict=True)) == "_Banded(width=0.25, rho=2.0, strict=True)"

    class Bare(ColumnSumVolMin):
        name = "test-bare"

        def __init__(self):  # no parameters: none shown, none invented
            super().__init__(3.0)

    assert repr(Bare()) == "Bare()"


def test_repr_leaves_out_variadic_parameters():
    """*args and **kwargs cannot be written back as name=value: never shown, even if stored."""

    class Options(ColumnSumVolMin):
        name = "test-options"

        def __init__(self, *extra, rho: float = 1.0, **options):
            super().__init__(rho)
            self.extra, self.options = extra, options

    assert repr(Options(1, 2, rho=2.0, width=3)) == "Options(rho=2.0)"


def test_a_subclass_column_scale_is_what_the_default_reduce_divides_by():
    """The base reduce asks column_scale at the fit's rank, reduces X / scale and keeps the
    scale, so that recover multiplies H back into X's units."""

    class Scaled(ColumnSumVolMin):
        name = "test-scaled"

        def column_scale(self, X, rank):
            self.asked_rank = rank
            return np.linalg.norm(X, axis=0)

    X, _, _ = cvxvolmin.make_paper_data(3, case=1, n_samples=40, random_state=0)
    form = Scaled()
    reduction = form.reduce(X, 3)
    scale = np.linalg.norm(X, axis=0)
    assert form.asked_rank == 3
    np.testing.assert_array_equal(reduction.column_scale, scale)
    np.testing.assert_allclose(reduction.basis @ reduction.Xt, X / scale, atol=1e-12)
    Q = np.eye(3)
    _, H = form.recover(Q, reduction)
    np.testing.assert_allclose(H, reduction.Xt.T * (scale[:, None] / 40), rtol=1e-15)


@pytest.mark.parametrize("retired", ["fixed_row_sum", "row_sum"])
def test_a_class_with_the_retired_row_sum_hooks_is_told_what_to_write(retired):
    # Ignored, they would silently drop the class's constraint that rows of H sum to one.
    body = {"name": "retired-test-only", retired: True}
    with pytest.raises(cvxvolmin.InvalidParameterError, match=rf"defines {retired}, .*joint"):
        type("Retired", (ColumnSumVolMin,), body)


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


def test_the_lp_is_the_same_for_every_rho(paper_data):
    # The LP's column sum is N whatever rho: rho only rescales the recovered H.
    X, _, _ = paper_data
    reduction = ColumnSumVolMin().reduce(X, 5)
    direction = np.random.default_rng(0).standard_normal(5)
    q_one, q_half, q_three = (
        build_row_lp(ColumnSumVolMin(rho=rho), reduction, "HIGHS").maximize(direction)
        for rho in (1.0, 0.5, 3.0)
    )
    np.testing.assert_allclose(q_half, q_one, rtol=1e-9, atol=1e-12 * np.abs(q_one).max())
    np.testing.assert_allclose(q_three, q_one, rtol=1e-9, atol=1e-12 * np.abs(q_one).max())


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
    with pytest.raises(ValueError, match=r"upper=0.001 is below rho / N = 0.005") as info:
        cvxvolmin.fit(X, 5, formulation=BoundedAbundanceVolMin(upper=0.001))
    assert "Choose upper >= 0.005." in str(info.value)


def test_bounded_abundances_accept_the_tightest_reachable_bound():
    # upper * N == rho: the columns equal to rho / N everywhere still meet it.
    BoundedAbundanceVolMin(upper=0.5, rho=2.0).check_data(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"Choose upper >= 0.5\."):
        BoundedAbundanceVolMin(upper=0.25, rho=2.0).check_data(np.ones((3, 4)))


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


class _OwnVariable(ColumnSumVolMin):
    """``row.h >= z`` with z a variable of the constraint's own: vacuous, so refused."""

    name = "test-own-variable"
    column_separable = True  # claimed, so that working sets are tried too

    def row_constraints(self, row, reduction):
        z = cp.Variable(row.h.shape, name="z")
        return [*super().row_constraints(row, reduction), row.h >= z]


@pytest.mark.parametrize("working_set", [False, True])
def test_a_constraint_with_its_own_variable_is_refused_before_any_solve(
    paper_data, working_set, monkeypatch
):
    from cvxvolmin import lp

    def no_solve(*args, **kwargs):
        raise AssertionError("an LP was solved before the constraints were checked")

    monkeypatch.setattr(lp.RowLP, "maximize", no_solve)
    X, _, _ = paper_data
    with pytest.raises(cvxvolmin.InvalidParameterError, match=r"variable of its own \('z'\)"):
        cvxvolmin.fit(X, 5, formulation=_OwnVariable(), working_set=working_set, random_state=0)


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


# -- abundance polytopes (the robust solver's fast H update) --------------------------


def test_row_total_defaults_to_the_sum_of_h():
    # Public: a user checking a formulation by hand builds Row(q, h, unit).
    q, h = cp.Variable(2), cp.Constant(np.array([0.5, 1.5, 2.0]))
    assert Row(q, h, 1.0).total.value == pytest.approx(4.0, rel=1e-15)
    given = cp.Constant(7.0)  # over all columns when h covers a working set only
    assert Row(q, h, 1.0, total=given).total is given


def _declared_projection(formulation, G, reduction):
    """The projection of G (in the user's units) onto the set the cvxpy constraints declare.

    Returns the projection and a function giving the constraints' largest
    violation at a point.
    """
    unit = formulation.unit(reduction)
    H = cp.Variable(G.shape)
    constraints = []
    for k in range(G.shape[1]):  # column k of H, in LP units; total defaults to its sum
        row = Row(cp.Variable(reduction.rank), H[:, k] * unit, unit)
        constraints += formulation.row_constraints(row, reduction)
    if formulation.coupled:
        constraints += formulation.joint_constraints(H, reduction)
    tight = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}
    cp.Problem(cp.Minimize(cp.sum_squares(H - G)), constraints).solve(solver="CLARABEL", **tight)
    projection = H.value.copy()

    def violation(point):
        H.value = point
        return max(float(np.max(c.violation())) for c in constraints) / unit

    return projection, violation


@pytest.mark.parametrize(
    "formulation",
    [
        ColumnSumVolMin(rho=2.0),
        ColumnSumAtMostVolMin(rho=0.5),
        BoundedAbundanceVolMin(upper=0.5, rho=2.0),
        RowSumVolMin(),
    ],
    ids=repr,
)
def test_each_abundance_polytope_is_exactly_the_declared_constraints(formulation):
    """Projections onto the polytope satisfy the declared constraints and are the exact
    projection onto the set they declare (a point of the set is its own projection).
    """
    rng = np.random.default_rng(0)
    n, r = 8, 3
    reduction = svd_reduction(rng.uniform(size=(5, n)), r)
    # Columns (and rows) of very different scales: bounds active and inactive.
    G = rng.standard_normal((n, r)) * np.array([0.02, 0.4, 3.0]) + 0.05
    polytope = formulation.abundance_polytope()
    assert fast_polytope(formulation) == polytope  # the built-ins are trusted
    H = polytope.project(G)
    declared, violation = _declared_projection(formulation, G, reduction)
    assert violation(H) <= 1e-12
    np.testing.assert_allclose(H, declared, atol=1e-7 * polytope.total)
    np.testing.assert_allclose(polytope.project(declared), declared, atol=1e-7 * polytope.total)


class CapOnly(ColumnSumVolMin):
    """Adds a bound but keeps the parent's polytope: it must not be trusted."""

    def row_constraints(self, row, reduction):
        return [*super().row_constraints(row, reduction), row.h <= 0.5 * row.unit]


class CapWithPolytope(CapOnly):
    def abundance_polytope(self):
        return CappedSimplex(self.rho, 0.5)


class PolytopeOnly(ColumnSumVolMin):
    """Declared below the class of the constraints: trusted (the subclass vouches for it)."""

    def abundance_polytope(self):
        return SimplexAtMost(self.rho)


class Renamed(BoundedAbundanceVolMin):
    """Overrides neither: both come from the same class, trusted."""


@pytest.mark.parametrize(
    ("formulation", "expected"),
    [
        (FirstSamplesCapped(), None),  # the base default
        (CapOnly(), None),
        (CappedRowSum(cap=0.6), None),
        (CapWithPolytope(rho=2.0), CappedSimplex(2.0, 0.5)),
        (PolytopeOnly(rho=2.0), SimplexAtMost(2.0)),
        (Renamed(upper=0.5), CappedSimplex(1.0, 0.5)),
        (RowSumVolMin(), Simplex(1.0, axis=1)),
    ],
    ids=lambda value: type(value).__name__,
)
def test_a_polytope_is_trusted_only_from_the_class_of_the_constraints_or_below(
    formulation, expected
):
    assert fast_polytope(formulation) == expected
    if isinstance(formulation, FirstSamplesCapped):
        assert formulation.abundance_polytope() is None


def test_capabilities_are_not_inherited_by_a_class_that_redefines_their_method():
    """Redefining row_constraints (or reduce) drops column_separable (or accepts_sparse)
    unless the class declares it again: a coupling constraint must not run on working sets."""

    class Coupled(ColumnSumVolMin):
        name = "test-coupled"

        def row_constraints(self, row, reduction):
            return [*super().row_constraints(row, reduction), row.h[1:] - row.h[:-1] <= 1.0]

    class Declared(ColumnSumVolMin):
        name = "test-declared"
        column_separable = True

        def row_constraints(self, row, reduction):
            return [*super().row_constraints(row, reduction), row.h <= row.unit]

    class OwnReduction(ColumnSumVolMin):
        name = "test-own-reduction"

        def reduce(self, X, rank):
            return super().reduce(np.asarray(X), rank)

    class Untouched(ColumnSumVolMin):
        name = "test-untouched"

    assert ColumnSumVolMin.column_separable and ColumnSumVolMin.accepts_sparse
    assert not Coupled.column_separable and Coupled.accepts_sparse
    assert Declared.column_separable
    assert OwnReduction.column_separable and not OwnReduction.accepts_sparse
    assert Untouched.column_separable and Untouched.accepts_sparse
    # Dropped to False itself (a bool, as declared), not to another falsy value.
    assert Coupled.column_separable is False and OwnReduction.accepts_sparse is False
    assert BoundedAbundanceVolMin.column_separable and ColumnSumAtMostVolMin.column_separable
    X, _, _ = cvxvolmin.make_paper_data(3, case=3, n_samples=30, random_state=0)
    with pytest.raises(cvxvolmin.InvalidParameterError, match="column_separable = True"):
        cvxvolmin.fit(X, 3, formulation=Coupled(), working_set=True)


class _KnownEntries(ColumnSumVolMin):
    """Per-component constraints: ``H[samples, k] = values[:, k]`` (columns summing to one)."""

    name = "test-known-entries"
    column_separable = True

    def __init__(self, samples, values):
        super().__init__()
        self.samples, self.values = samples, values

    def row_constraints(self, row, reduction):
        known = row.at(self.samples) == self.values[:, row.index] * row.unit
        return [*super().row_constraints(row, reduction), known]


def test_per_component_constraints_get_one_lp_per_component():
    from cvxvolmin.declaration import build_row_lps

    X, _, H = cvxvolmin.make_paper_data(4, case=3, n_samples=80, random_state=0)
    reduction = svd_reduction(X, 4)
    shared = build_row_lps(ColumnSumVolMin(), reduction, "HIGHS")
    assert len(shared) == 4 and len({id(lp) for lp in shared}) == 1
    truth = H / H.sum(axis=0)
    own = build_row_lps(_KnownEntries([3, -1], truth[[3, -1]]), reduction, "HIGHS")
    assert len({id(lp) for lp in own}) == 4


@pytest.mark.parametrize("n_samples", [300, 2500])
def test_known_entries_mean_the_same_samples_at_every_n(n_samples):
    """Row.at names samples of X: the same answer with and without working sets, and
    the components come in the true order (the known entries break the permutation)."""
    X, _, H = cvxvolmin.make_paper_data(4, case=3, n_samples=n_samples, random_state=1)
    truth = H / H.sum(axis=0)
    samples = [5, n_samples - 7, -1]
    form = _KnownEntries(samples, truth[samples])
    fits = [
        cvxvolmin.fit(X, 4, formulation=form, working_set=ws, random_state=0)
        for ws in (False, True)
    ]
    for result in fits:
        np.testing.assert_allclose(result.H, truth, rtol=0, atol=1e-9 * truth.max())
    np.testing.assert_allclose(fits[0].H, fits[1].H, rtol=0, atol=1e-12 * truth.max())


@pytest.mark.parametrize(
    ("samples", "match"),
    [
        ([], r"sample indices"),
        ([0.5], r"sample indices"),
        ([[0, 1]], r"sample indices"),
        ([80], r"must lie in \[-80, 80\) for N = 80 samples; got 80 to 80"),
        ([-81, 3], r"got -81 to 3"),
    ],
)
def test_row_at_refuses_what_is_no_sample_index(samples, match):
    X, _, _ = cvxvolmin.make_paper_data(3, case=3, n_samples=80, random_state=0)

    class AtSamples(ColumnSumVolMin):
        name = "test-at-samples"

        def row_constraints(self, row, reduction):
            return [*super().row_constraints(row, reduction), row.at(samples) >= 0]

    with pytest.raises(cvxvolmin.InvalidParameterError, match=match):
        cvxvolmin.fit(X, 3, formulation=AtSamples())


def test_a_row_built_by_hand_has_no_index_or_samples():
    row = Row(cp.Variable(2), cp.Variable(3), 1.0)
    with pytest.raises(cvxvolmin.InvalidParameterError, match=r"without a component index"):
        _ = row.index
    with pytest.raises(cvxvolmin.InvalidParameterError, match=r"without access to the samples"):
        row.at([0])


def test_row_at_needs_both_the_entries_and_the_sample_count():
    """Either one missing is refused, and the hint names both keywords to pass."""
    q, h = cp.Variable(2), cp.Variable(3)
    for row in (
        Row(q, h, 1.0, entries=lambda samples: samples),
        Row(q, h, 1.0, n_samples=3),
    ):
        with pytest.raises(
            cvxvolmin.InvalidParameterError, match=r"\(Row\(\.\.\., entries=\.\.\., n_samples"
        ):
            row.at([0])
    with pytest.raises(cvxvolmin.InvalidParameterError, match=r"\(Row\(\.\.\., component=k\)\)"):
        _ = Row(q, h, 1.0).index


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        ([-5, -1, 0, 4], [0, 4, 0, 4]),  # both ends of [-N, N), negatives from the end
        (2, [2]),  # a single int
        (np.array([3, 1], dtype=np.uint8), [3, 1]),  # unsigned ints are indices too
    ],
)
def test_row_at_passes_the_samples_counted_from_the_end_as_nonnegative(samples, expected):
    # entries returns what it is given, so the indices Row.at resolves are visible.
    row = Row(cp.Variable(2), cp.Variable(5), 1.0, entries=lambda s: s, n_samples=5)
    np.testing.assert_array_equal(row.at(samples), expected)


@pytest.mark.parametrize("n_samples", [60, 3000])  # all N samples declared; two sets of them
def test_slices_of_row_h_are_refused_for_column_separable_formulations_at_any_n(n_samples):
    """row.h[:10] would mean 'the first ten samples held' on a working set: refused up
    front (with a pointer to Row.at), also where no working set would run."""

    class FirstTen(ColumnSumVolMin):
        name = "test-first-ten-sliced"
        column_separable = True

        def row_constraints(self, row, reduction):
            return [*super().row_constraints(row, reduction), row.h[:10] <= 0.5 * row.unit]

    X, _, _ = cvxvolmin.make_paper_data(3, case=3, n_samples=n_samples, random_state=0)
    with pytest.raises(
        cvxvolmin.InvalidParameterError,
        match=r"constraint 3 of 3 changes with the set of samples .* row\.at\(samples\)",
    ):
        cvxvolmin.fit(X, 3, formulation=FirstTen())
    # Not column-separable: no working set ever runs, and the slice means samples 0-9.
    assert cvxvolmin.fit(X, 3, formulation=FirstSamplesCapped(0.5)).H[:10].max() <= 0.5 + 1e-12


def test_known_entries_through_fit_robust():
    """The robust H update imposes row.at and row.index the same way (declared QP)."""
    X, _, H = cvxvolmin.make_paper_data(3, case=3, n_samples=60, random_state=0)
    truth = H / H.sum(axis=0)
    samples = [0, 30]
    noisy = cvxvolmin.add_noise(X, 40.0, random_state=1)
    result = cvxvolmin.fit_robust(
        noisy, 3, formulation=_KnownEntries(samples, truth[samples]), random_state=0
    )
    assert result.h_solver == "qp"
    np.testing.assert_allclose(result.H[samples], truth[samples], rtol=0, atol=1e-6 * truth.max())


def test_a_slice_in_one_components_constraints_is_refused_too():
    """The pre-flight declares every component's own constraints, not only the first's."""

    class SecondSliced(ColumnSumVolMin):
        name = "test-second-sliced"
        column_separable = True

        def row_constraints(self, row, reduction):
            extra = [row.h[:5] <= 0.5 * row.unit] if row.index == 1 else []
            return [*super().row_constraints(row, reduction), *extra]

    X, _, _ = cvxvolmin.make_paper_data(3, case=3, n_samples=60, random_state=0)
    with pytest.raises(cvxvolmin.InvalidParameterError, match=r"changes with the set of samples"):
        cvxvolmin.fit(X, 3, formulation=SecondSliced())


def test_a_subclass_adding_joint_constraints_loses_its_parents_shortcuts():
    """The parent's polytope and start were written for the parent's constraints only."""
    from cvxvolmin.formulations.base import declares_own_start, fast_polytope

    class JointCap(RowSumVolMin):
        name = "test-joint-cap"

        def joint_constraints(self, H, reduction):
            return [*super().joint_constraints(H, reduction), H <= 0.9]

    assert fast_polytope(RowSumVolMin()) == Simplex(axis=1)
    assert declares_own_start(RowSumVolMin())
    assert fast_polytope(JointCap()) is None  # the robust H update declares the cap
    assert not declares_own_start(JointCap())  # the engine's phase-one start meets it
    assert not declares_own_start(ColumnSumVolMin())  # rows that decouple: the base start


def test_the_retired_hooks_message_names_both_and_the_line_to_write():
    with pytest.raises(cvxvolmin.InvalidParameterError) as info:
        type("Both", (ColumnSumVolMin,), {"name": "both-test-only", "fixed_row_sum": True,
                                         "row_sum": lambda self, reduction: None})  # fmt: skip
    assert str(info.value) == (
        "Both defines fixed_row_sum and row_sum, which formulations no longer use: declare "
        "rows of H summing to one as joint_constraints, returning [cp.sum(H, axis=1) == 1] "
        "(as RowSumVolMin does)."
    )


def test_a_subclass_defining_joint_constraints_must_say_again_that_it_is_separable():
    class Joint(RowSumVolMin):
        name = "joint-redefined-test-only"

        def joint_constraints(self, H, reduction):
            return [*super().joint_constraints(H, reduction), H <= 0.9]

    class Declared(Joint):
        name = "joint-declared-test-only"
        column_separable = True

        def joint_constraints(self, H, reduction):
            return super().joint_constraints(H, reduction)

    assert RowSumVolMin.column_separable and not Joint.column_separable
    assert Declared.column_separable


def test_the_row_sum_model_mismatch_warning_points_at_the_callers_line():
    X, _, _ = cvxvolmin.make_paper_data(3, case=3, n_samples=60, random_state=0)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        cvxvolmin.fit(X, 3, formulation=RowSumVolMin(normalize="l1", n_restarts=1), max_iter=3)
    mismatch = [w for w in record if w.category is cvxvolmin.ModelMismatchWarning]
    assert mismatch and all(w.filename == __file__ for w in mismatch)
