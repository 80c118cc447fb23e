"""Errors and warnings raised by cvxvolmin."""

from __future__ import annotations


class InfeasibleError(ValueError):
    """The feasible set of a row update is empty.

    For column-sum VolMin this means no q gives a nonnegative H column:
    the conic hull of the data contains a line, so X is not of the form
    ``W @ H.T`` with ``H >= 0`` at this rank (typically noise, or a rank
    that is too large).
    """


class DegenerateError(ValueError):
    """The feasible set is too thin to hold a nonsingular Q.

    Every feasible point lies in a hyperplane through the origin, so the
    largest attainable ``|det Q|`` is zero and no factorization of this rank
    satisfies the constraints.
    """


class SolverFailedError(RuntimeError):
    """The LP solver stopped without an optimal answer for a row update."""


class ConvergenceWarning(UserWarning):
    """The alternating optimization used all its sweeps before converging."""


class NoisyColumnsWarning(UserWarning):
    """Some columns of X lie far from the rank-r subspace.

    The exact criteria treat every column's direction as exact; a column
    dominated by noise can move the solution arbitrarily.

    Attributes
    ----------
    columns : tuple of int
        The indices of those columns (in a caught warning:
        ``caught.message.columns``).
    """

    def __init__(self, message: str = "", columns=()):
        super().__init__(message)
        self.columns = tuple(int(j) for j in columns)


class ModelMismatchWarning(UserWarning):
    """The data cannot satisfy the formulation's model.

    Raised, for instance, when row-sum VolMin is fitted to mixed-sign data:
    normalization cannot place such data on a simplex, and the answer is
    known to be wrong.
    """
