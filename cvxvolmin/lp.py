"""The row-update LP: declared in cvxpy once, re-solved for each direction.

Only the objective direction (and the parameters a formulation declares)
change between row updates, so the problem is compiled once and cvxpy's
parametrized (DPP) fast path re-solves it. Swapping the solver path touches
this module alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import cvxpy as cp
import numpy as np

from .exceptions import InfeasibleError, SolverFailedError

_LINEAR_CONSTRAINTS = (
    cp.constraints.Inequality,
    cp.constraints.Equality,
    cp.constraints.NonPos,
    cp.constraints.NonNeg,
    cp.constraints.Zero,
)
_highs_banner_silenced = False


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


def check_linear(constraints: Sequence[cp.Constraint], owner: str) -> None:
    """Refuse constraints that would make the row update more than an LP."""
    for constraint in constraints:
        if not isinstance(constraint, _LINEAR_CONSTRAINTS):
            raise TypeError(
                f"{owner} declares a {type(constraint).__name__} constraint "
                f"({constraint}); row updates must be LPs, so only linear equalities "
                "and inequalities in the row variable are allowed."
            )
        if not all(arg.is_affine() for arg in constraint.args):
            raise TypeError(
                f"{owner} declares a nonlinear constraint ({constraint}); row updates "
                "must be LPs, so every constraint must be affine in the row variable."
            )


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
    """

    def __init__(
        self,
        q: cp.Variable,
        constraints: Sequence[cp.Constraint],
        solver: str,
        parameters: Mapping[str, cp.Parameter] | None = None,
        owner: str = "the formulation",
    ):
        check_linear(constraints, owner)
        self.q = q
        self.direction = cp.Parameter(q.shape[0], name="direction")
        self.parameters = dict(parameters or {})
        self.problem = cp.Problem(cp.Maximize(self.direction @ q), list(constraints))
        if not self.problem.is_dpp():
            raise TypeError(
                f"{owner} declares constraints that are not DPP in their parameters; "
                "write them as affine expressions of each cvxpy.Parameter."
            )
        self.solver = solver
        self.owner = owner
        self.n_solves = 0
        if solver == "HIGHS":
            _silence_highs_banner()

    def set_parameters(self, **values: np.ndarray) -> None:
        """Set the declared parameters before the next solves."""
        for name, value in values.items():
            self.parameters[name].value = value

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
        try:
            self.problem.solve(solver=self.solver)
        except cp.error.SolverError as exc:
            raise SolverFailedError(
                f"solver {self.solver} failed on a row-update LP of {self.owner} ({exc}); "
                "try another solver (solver='HIGHS' or 'ECOS')."
            ) from None
        status = self.problem.status
        if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            raise InfeasibleError(
                f"the row-update LP of {self.owner} is infeasible: no row of Q gives "
                "a column of H that meets the constraints. The data are not of the "
                "form X = W @ H.T with such H at this rank (noise, or a rank that is "
                "too large); try a smaller rank or denoise X."
            )
        if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or self.q.value is None:
            raise SolverFailedError(
                f"solver {self.solver} returned status {status!r} on a row-update LP "
                f"of {self.owner}; the polytope may be unbounded (missing constraints) "
                "or badly scaled."
            )
        return np.array(self.q.value, dtype=float)
