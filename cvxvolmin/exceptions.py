"""Errors and warnings raised by cvxvolmin.

The hierarchy::

    CvxvolminError                      every error the library raises itself
    ├── InvalidParameterError           bad input or parameters, raised before any work
    │                                   (also a ValueError and a TypeError)
    ├── InfeasibleError                 the data leave no feasible factor (also a ValueError)
    ├── DegenerateError                 the feasible set holds no nonsingular Q (ValueError)
    └── SolverFailedError               a solver stopped without an answer (RuntimeError)

``except cvxvolmin.CvxvolminError`` catches all of them; anything else that
escapes the library is a bug. The command line exits with status 2 for
:class:`InvalidParameterError`, :class:`InfeasibleError` and
:class:`DegenerateError` (the input's fault) and with status 1 for
everything else.
"""

from __future__ import annotations


class CvxvolminError(Exception):
    """Base class of the errors cvxvolmin raises itself."""


class InvalidParameterError(CvxvolminError, ValueError, TypeError):
    """An argument (data, rank, option, file) is invalid; raised before any solver runs.

    It is both a ``ValueError`` and a ``TypeError``, so code written against
    either keeps working; the message says what is wrong and what to do.
    """


class InfeasibleError(CvxvolminError, ValueError):
    """The feasible set of a row update is empty.

    For column-sum VolMin without further constraints this means that no q
    gives a nonnegative H column: ``cone(Xt)`` is the whole space (its dual
    cone holds no nonzero q), so X is not of the form ``W @ H.T`` with
    ``H >= 0`` at this rank (typically noise, or a rank that is too large).
    A formulation's own constraints (a bound, a known entry) can also leave
    no feasible point.
    """


class DegenerateError(CvxvolminError, ValueError):
    """The feasible set is too thin to hold a nonsingular Q.

    Every feasible point lies in a hyperplane through the origin, so the
    largest attainable ``|det Q|`` is zero and no factorization of this rank
    satisfies the constraints (for column-sum VolMin, e.g., when the data
    cone is a half-space or holds a line).
    """


class SolverFailedError(CvxvolminError, RuntimeError):
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
    no_direction : tuple of int
        Those among them with no resolved part in the subspace at all (below
        ``sqrt(eps)`` of their norm): the fit gives them zero rows of H.
    """

    def __init__(self, message: str = "", columns=(), no_direction=()):
        super().__init__(message)
        self.columns = tuple(int(j) for j in columns)
        self.no_direction = tuple(int(j) for j in no_direction)


class ModelMismatchWarning(UserWarning):
    """The data do not satisfy the formulation's model as normalized.

    Raised, for instance, when l1-normalized row-sum VolMin is fitted to
    mixed-sign data: dividing by the l1 norm puts a column on the simplex
    of W's columns only when ``||W h||_1`` is linear in ``h >= 0`` (W >= 0,
    or each row of W of one sign), so the answer is expected to be wrong.
    """
