"""The row-update LP: declared in cvxpy once, re-solved for each direction.

Only the objective direction (and the parameters a formulation declares)
change between row updates. Two solve paths share that declaration:

* ``hot`` (HiGHS only, the default there): cvxpy compiles the problem once
  to solver matrices (public ``Problem.get_problem_data``), and one
  persistent ``highspy.Highs`` model is re-run with only its costs changed,
  so HiGHS restarts from the previous optimal basis. A change of the
  declared parameters recompiles through cvxpy's cached parametrized program
  and updates the model's row bounds (or rebuilds it if the matrix changed).
  Rows are equilibrated (each divided by its largest coefficient) so that
  HiGHS's absolute feasibility tolerance is relative to every constraint.
* ``plain`` (any cvxpy solver): ``Problem.solve`` on cvxpy's parametrized
  (DPP) fast path, one fresh solver call per LP.

Swapping the solver path touches this module alone.

Equalities with more rows than independent ones (``H 1 = 1`` declared on
every sample: N rows, rank r in the r^2 entries of Q) are replaced by an
orthonormal basis of their row space before either path sees them
(:func:`independent_equalities`); HiGHS, given the N dependent rows with
their rounding, reported such LPs infeasible.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import cvxpy as cp
import numpy as np

from .exceptions import InfeasibleError, InvalidParameterError, SolverFailedError

_LINEAR_CONSTRAINTS = (
    cp.constraints.Inequality,
    cp.constraints.Equality,
    cp.constraints.NonPos,
    cp.constraints.NonNeg,
    cp.constraints.Zero,
)
_highs_banner_silenced = False


def weak_duality_bound(
    cost: np.ndarray,
    rows: np.ndarray,
    rhs: np.ndarray,
    dual: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> float:
    """``y.rhs + sum_c min over [lower, upper] of (cost - rows^T y)_c x_c``, for any y >= 0.

    Weak duality on the rows ``rows @ x >= rhs`` with the column bounds kept:
    for every x within the bounds that meets the rows, ``cost.x`` is at least
    this, whatever the dual values given (they are clipped at 0), so a
    solver's rounding of them only loosens the bound.
    """
    y = np.maximum(dual, 0.0)
    reduced = cost - rows.T @ y
    with np.errstate(invalid="ignore"):  # 0 * inf: a free column with no reduced cost
        terms = np.where(reduced > 0, reduced * lower, reduced * upper)
    return float(y @ rhs + np.where(reduced == 0, 0.0, terms).sum())


def new_highs(**options):
    """A silent ``highspy.Highs`` with the given options, each checked.

    HiGHS answers a misspelled option name or an invalid value with a status,
    not an error, and keeps its default: here that is a RuntimeError instead.
    """
    import highspy

    _silence_highs_banner()
    highs = highspy.Highs()
    for name, value in {"output_flag": False, **options}.items():
        if highs.setOptionValue(name, value) != highspy.HighsStatus.kOk:
            raise RuntimeError(f"HiGHS refused the option {name} = {value!r}")
    return highs


def _silence_highs_banner() -> None:
    """Print HiGHS's once-per-process banner into /dev/null, not stdout.

    The banner is written by native code at the first ``Highs()``; it would
    otherwise corrupt machine-readable output such as ``cvxvolmin fit --json``.
    """
    global _highs_banner_silenced
    if _highs_banner_silenced:
        return
    import highspy

    stdout_fd = 1
    saved = os.dup(stdout_fd)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), stdout_fd)
            highspy.Highs()
    finally:
        os.dup2(saved, stdout_fd)
        os.close(saved)
    _highs_banner_silenced = True


def check_linear(
    constraints: Sequence[cp.Constraint],
    owner: str,
    variable: cp.Variable | None = None,
    parameters: Sequence[cp.Parameter] = (),
) -> None:
    """Refuse constraints that would make the row update more than an LP, or vacuous.

    Every constraint must be a linear equality or inequality, affine in
    ``variable`` alone: a cvxpy variable of the constraint's own is not
    optimized by the row update (the constraint would hold for some value of
    it and bind nothing), and a parameter the caller did not declare would
    never be set. Messages name the constraint by position and never print
    it (its expression holds the data).
    """
    for number, constraint in enumerate(constraints, start=1):
        where = f"constraint {number} of {len(constraints)}"
        if not isinstance(constraint, _LINEAR_CONSTRAINTS):
            raise InvalidParameterError(
                f"{owner} declares a {type(constraint).__name__} constraint ({where}); "
                "row updates must be LPs, so only linear equalities and inequalities in "
                "the row variable are allowed."
            )
        if not all(arg.is_affine() for arg in constraint.args):
            raise InvalidParameterError(
                f"{owner} declares a nonlinear constraint ({where}); row updates must be "
                "LPs, so every constraint must be affine in the row variable."
            )
        if variable is not None:
            foreign = [v for v in constraint.variables() if v is not variable]
            if foreign:
                raise InvalidParameterError(
                    f"{owner} declares {where} in a cvxpy variable of its own "
                    f"({foreign[0].name()!r}), which the row update does not optimize, so "
                    "the constraint would bind nothing; write every constraint in the "
                    "row's handles only (row.q, row.h, row.total)."
                )
        unknown = [
            p for p in constraint.parameters() if not any(p is known for known in parameters)
        ]
        if unknown:
            raise InvalidParameterError(
                f"{owner} declares {where} with a cvxpy parameter "
                f"({unknown[0].name()!r}) that the solver never sets; use its value as a "
                "constant (a number or an array) instead."
            )


# Singular values below this fraction of the largest are rounding: the rows
# they belong to depend on the others.
_DEPENDENT = 1e-10
# Dependent equalities whose right-hand side is off their row space by more
# than this (relative) are inconsistent: they are left to the solver, which
# reports the LP infeasible.
_INCONSISTENT = 1e-8


def independent_equalities(
    q: cp.Variable, constraints: Sequence[cp.Constraint]
) -> list[cp.Constraint]:
    """The constraints with every redundant equality replaced by its independent rows.

    An equality ``E q + b == 0`` (parameter-free) with more rows than its
    rank k becomes ``V_k.T q == c``, V_k an orthonormal basis of the row
    space of E (from its SVD): the same set of q whenever the rows are
    consistent, in k well-conditioned rows. E and b are read through cvxpy
    (the constraint's value at 0 and along each unit vector), so this works
    for any declaration. Inconsistent or parametrized equalities, and every
    inequality, are kept as they are.
    """
    kept = list(constraints)
    for index, constraint in enumerate(kept):
        if (
            not isinstance(constraint, (cp.constraints.Equality, cp.constraints.Zero))
            or constraint.size <= 1
            or constraint.parameters()
        ):
            continue
        saved = q.value
        q.value = np.zeros(q.shape)
        b = np.ravel(constraint.expr.value).astype(float)
        E = np.empty((b.size, q.size))
        for j in range(q.size):
            q.value = np.eye(q.size)[j].reshape(q.shape)
            E[:, j] = np.ravel(constraint.expr.value) - b
        q.value = saved
        U, sing, Vt = np.linalg.svd(E, full_matrices=False)
        if sing.size == 0 or sing[0] == 0.0:
            continue
        rank = int(np.sum(sing > _DEPENDENT * sing[0]))
        if rank >= b.size:
            continue
        Uk = U[:, :rank]
        off = np.linalg.norm(b - Uk @ (Uk.T @ b))
        if off > _INCONSISTENT * (np.linalg.norm(b) + sing[0] * np.sqrt(q.size)):
            continue
        c = -(Uk.T @ b) / sing[:rank]
        kept[index] = Vt[:rank] @ cp.vec(q, order="C") == c
    return kept


class RowLP:
    """``maximize d @ q`` over a fixed polytope, for any direction ``d``.

    Parameters
    ----------
    q : cvxpy.Variable
        The row variable.
    constraints : sequence of cvxpy constraints
        Linear constraints in ``q`` (and possibly in ``parameters``).
    solver : str
        Name of an installed cvxpy solver.
    parameters : mapping of str to cvxpy.Parameter, optional
        Parameters of the constraints that change between solves.
    owner : str
        Who declared the constraints, for error messages.
    hot : bool, default True
        With HiGHS, re-solve one persistent model (see the module notes);
        otherwise call ``Problem.solve`` for each LP.
    hint : str, optional
        A sentence appended to the infeasibility error, from the caller, who
        knows the constraints (e.g. that a formulation's own constraints may
        exclude every solution); this layer knows no formulation.
    """

    def __init__(
        self,
        q: cp.Variable,
        constraints: Sequence[cp.Constraint],
        solver: str,
        parameters: Mapping[str, cp.Parameter] | None = None,
        owner: str = "the formulation",
        hot: bool = True,
        hint: str = "",
    ):
        self.parameters = dict(parameters or {})
        check_linear(constraints, owner, q, tuple(self.parameters.values()))
        constraints = independent_equalities(q, constraints)
        self.q = q
        self.direction = cp.Parameter(q.shape[0], name="direction")
        self.problem = cp.Problem(cp.Maximize(self.direction @ q), list(constraints))
        if not self.problem.is_dpp():
            raise InvalidParameterError(
                f"{owner} declares constraints that are not DPP in their parameters; "
                "write them as affine expressions of each cvxpy.Parameter."
            )
        self.solver = solver
        self.owner = owner
        self.hint = hint
        self.n_solves = 0
        if solver == "HIGHS":
            _silence_highs_banner()
        self._persistent = _PersistentHighs(self) if hot and solver == "HIGHS" else None

    def set_parameters(self, **values: np.ndarray) -> None:
        """Set the declared parameters before the next solves."""
        for name, value in values.items():
            self.parameters[name].value = value
        if self._persistent is not None:
            self._persistent.parameters_changed()

    def maximize(self, direction: np.ndarray) -> np.ndarray:
        """Return a maximizer of ``direction @ q`` over the polytope.

        Raises
        ------
        InfeasibleError
            If the polytope is empty.
        SolverFailedError
            If the solver stops without an optimal point.
        """
        self.direction.value = direction
        self.n_solves += 1
        if self._persistent is not None:
            return self._persistent.maximize(direction)
        try:
            self.problem.solve(solver=self.solver)
        except cp.error.SolverError as exc:
            raise SolverFailedError(
                f"solver {self.solver} failed on a row-update LP of {self.owner} ({exc}); "
                "try another solver (solver='HIGHS' or 'ECOS')."
            ) from None
        status = self.problem.status
        if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            raise self.infeasible()
        if status == cp.OPTIMAL_INACCURATE:
            # An inaccurate vertex can be infeasible and even beat the true
            # optimum of |det Q|: never return it as an answer.
            raise SolverFailedError(
                f"solver {self.solver} solved a row-update LP of {self.owner} only "
                "inaccurately; use solver='HIGHS' (exact simplex vertices) or 'ECOS'."
            )
        if status != cp.OPTIMAL or self.q.value is None:
            raise self.failed(status)
        return np.array(self.q.value, dtype=float)

    def infeasible(self) -> InfeasibleError:
        """The error for an empty polytope.

        For column-sum VolMin with no constraints of its own, the polytope
        ``{q : Xt.T q >= 0, (Xt 1) @ q = N}`` is empty exactly when
        ``cone(Xt)`` is the whole space: its dual cone ``{q : Xt.T q >= 0}``
        holds no nonzero q. (A cone that merely contains a line leaves a
        nonempty polytope in a hyperplane: the degenerate case,
        :class:`~cvxvolmin.DegenerateError`.)
        """
        otherwise = "Otherwise, X" if self.hint else "X"
        return InfeasibleError(
            f"the row-update LP of {self.owner} is infeasible: no row of Q gives "
            f"a column of H that meets the constraints.{self.hint} {otherwise} is not "
            "exactly of the form X = W @ H.T with such H at this rank (for column-sum "
            "VolMin: the cone of the data is the whole space). Noise does this (the "
            "exact criterion treats every column's direction as exact): for noisy data "
            "use cvxvolmin.robust.fit_robust(X, rank); otherwise try a smaller rank."
        )

    def failed(self, status: object) -> SolverFailedError:
        """The error for any other non-optimal solver status."""
        return SolverFailedError(
            f"solver {self.solver} returned status {status!r} on a row-update LP "
            f"of {self.owner}; the polytope may be unbounded (missing constraints) "
            "or badly scaled."
        )


def _scale_rows(A, factors: np.ndarray):
    """A (CSC) with row i divided by ``factors[i]``."""
    scaled = A.copy()
    scaled.data = scaled.data / factors[scaled.indices]
    return scaled


class _PersistentHighs:
    """One ``highspy.Highs`` model kept across solves of a :class:`RowLP`.

    Built lazily at the first solve, when every declared parameter has a
    value. cvxpy's compilation maps ``maximize d @ q`` to ``minimize -d @ x[cols]``
    with ``x[cols] = q``; that map is checked when the model is built.

    Each row of the compiled constraints (and its bounds) is divided by its
    largest absolute coefficient before it reaches HiGHS, so that HiGHS's
    absolute tolerances act relative to each constraint (:meth:`_row_scale`).
    Only rows are scaled: the variables, the costs and the solution mapping
    are cvxpy's.
    """

    def __init__(self, lp: RowLP):
        self.lp = lp
        self.highs = None
        self.matrix = None
        self.columns = None

    def _compile(self) -> dict:
        data, _, _ = self.lp.problem.get_problem_data(cp.HIGHS)
        return data

    def _build(self) -> None:
        import highspy

        data = self._compile()
        A = data[cp.settings.A].tocsc()
        n_eq = data[cp.settings.DIMS].zero
        start = data[cp.settings.PARAM_PROB].var_id_to_col[self.lp.q.id]
        self.columns = np.arange(start, start + self.lp.q.size, dtype=np.int32)
        expected = np.zeros(A.shape[1])
        expected[self.columns] = -self.lp.direction.value
        # cvxpy negates the direction exactly; the tolerance only absorbs rounding
        # relative to the direction's size (it is a layout check, not a numeric one).
        layout_tol = 1e-12 * max(np.abs(expected).max(initial=0.0), np.finfo(float).tiny)
        if not np.allclose(data[cp.settings.C], expected, rtol=0.0, atol=layout_tol):
            raise RuntimeError("unexpected objective layout in cvxpy's compiled LP")

        inf = highspy.kHighsInf
        self.row_scale = self._row_scale(A)
        scaled = _scale_rows(A, self.row_scale)
        lower_bounds, upper_bounds = data.get("lower_bounds"), data.get("upper_bounds")
        model = highspy.HighsLp()
        model.num_col_, model.num_row_ = A.shape[1], A.shape[0]
        model.col_cost_ = data[cp.settings.C]
        model.col_lower_ = np.full(A.shape[1], -inf) if lower_bounds is None else lower_bounds
        model.col_upper_ = np.full(A.shape[1], inf) if upper_bounds is None else upper_bounds
        model.row_lower_, model.row_upper_ = self._row_bounds(data[cp.settings.B], n_eq, inf)
        model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        model.a_matrix_.start_ = scaled.indptr
        model.a_matrix_.index_ = scaled.indices
        model.a_matrix_.value_ = scaled.data
        # The rows are equilibrated here; HiGHS's own scaling on top of that
        # left vertices 100 times less accurate (measured on the paper's data,
        # r = 10: H's worst entry -1e-12 instead of -1e-15, MSE 4e-22 instead
        # of 6e-28).
        self.highs = new_highs(simplex_scale_strategy=0)
        self.highs.passModel(model)
        self.matrix, self.n_eq = A, n_eq

    @staticmethod
    def _row_scale(A) -> np.ndarray:
        """Each row's largest absolute coefficient (1 for an empty row).

        Dividing a row and its bounds by it leaves the LP unchanged but makes
        HiGHS's absolute feasibility tolerance (about 1e-7) act relative to
        that constraint's own magnitude: a constraint of a data column with a
        tiny norm is then held as tightly as one of a large column.
        """
        largest = np.zeros(A.shape[0])
        np.maximum.at(largest, A.indices, np.abs(A.data))
        return np.where(largest > 0, largest, 1.0)

    def _row_bounds(self, b: np.ndarray, n_eq: int, inf: float) -> tuple[np.ndarray, np.ndarray]:
        # cvxpy's HiGHS form: rows [0, n_eq) are A x = b, the rest A x <= b;
        # scaled by the same (positive) factors as the rows of A.
        upper = b / self.row_scale
        lower = np.full_like(upper, -inf)
        lower[:n_eq] = upper[:n_eq]
        return lower, upper

    def parameters_changed(self) -> None:
        if self.highs is None:
            return
        import highspy

        data = self._compile()
        A = data[cp.settings.A].tocsc()
        if A.shape != self.matrix.shape or (A != self.matrix).nnz:
            self.highs = None  # parameters multiply the variable: rebuild
            return
        lower, upper = self._row_bounds(data[cp.settings.B], self.n_eq, highspy.kHighsInf)
        rows = np.arange(A.shape[0], dtype=np.int32)
        self.highs.changeRowsBounds(rows.size, rows, lower, upper)

    def maximize(self, direction: np.ndarray) -> np.ndarray:
        import highspy

        if self.highs is None:
            self._build()
        else:
            self.highs.changeColsCost(self.columns.size, self.columns, -direction)
        self.highs.run()
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            raise self.lp.infeasible()
        if status != highspy.HighsModelStatus.kOptimal:
            raise self.lp.failed(self.highs.modelStatusToString(status))
        return np.array(self.highs.getSolution().col_value)[self.columns]
