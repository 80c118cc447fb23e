"""The formulation plug-in contract and the registry of formulations.

A formulation says how one volume criterion constrains Q, the inverse of
the reduced mixing matrix: how the data are reduced, which linear
constraints one row ``q`` of Q must satisfy (equivalently the column
``h = Xt.T @ q`` of H it produces), and how W and H are recovered. The
engine maximizes ``|det Q|`` row by row and never looks inside.

Numerics: the LP works in *LP units*, in which H is multiplied by
``unit`` (the number of samples for column-sum criteria) so that its
entries are of order one; solvers' tolerances are absolute. A constraint
``H <= u`` in the user's units reads ``row.h <= u * row.unit``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import cvxpy as cp
import numpy as np

from ..reduction import Reduction, svd_reduction


@dataclass(frozen=True)
class Row:
    """The handles a formulation writes one row's constraints with.

    Attributes
    ----------
    q : cvxpy.Variable of shape (r,)
        The row of Q being updated.
    h : cvxpy.Expression of shape (N,)
        ``Xt.T @ q``: the column of H this row produces, in LP units.
    unit : float
        The LP value of one unit of H in the user's units.
    """

    q: cp.Variable
    h: cp.Expression
    unit: float


class Formulation(ABC):
    """Base class of the volume-minimization criteria.

    Subclasses set ``name`` and implement :meth:`row_constraints`; the other
    methods have defaults suited to column-sum criteria. Constraints must be
    linear in ``row.q``: then every row update is an LP.

    Examples
    --------
    A variant with abundances bounded by 0.02, written outside the library:

    >>> import cvxpy as cp
    >>> from cvxvolmin.formulations import ColumnSumVolMin
    >>> class Capped(ColumnSumVolMin):
    ...     name = "capped"
    ...     def row_constraints(self, row, reduction):
    ...         return super().row_constraints(row, reduction) + [row.h <= 0.02 * row.unit]
    """

    #: Name under which the formulation is registered.
    name: ClassVar[str] = ""
    #: Whether the rows of Q must sum to a fixed vector (row-sum criteria).
    #: Such formulations are updated by pairs of rows.
    fixed_row_sum: ClassVar[bool] = False

    def reduce(self, X: np.ndarray, rank: int) -> Reduction:
        """Reduce X (M x N, validated float copy) to rank ``rank``."""
        return svd_reduction(X, rank)

    def unit(self, reduction: Reduction) -> float:
        """Scale of H inside the LP (see the module notes)."""
        return float(reduction.n_samples)

    @abstractmethod
    def row_constraints(self, row: Row, reduction: Reduction) -> list[cp.Constraint]:
        """Linear constraints that one row of Q must satisfy."""

    def row_sum(self, reduction: Reduction) -> np.ndarray:
        """The fixed sum of the rows of Q (only when ``fixed_row_sum``)."""
        raise NotImplementedError(f"{type(self).__name__} has no fixed row sum.")

    def initial_Q(self, reduction: Reduction, rng: np.random.Generator) -> np.ndarray:
        """A nonsingular start; the first sweep makes every row feasible."""
        return rng.standard_normal((reduction.rank, reduction.rank))

    def recover(self, Q: np.ndarray, reduction: Reduction) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(W, H)`` in the user's units from the final Q."""
        unit = self.unit(reduction)
        H = (reduction.Xt.T @ Q.T) * (reduction.column_scale[:, None] / unit)
        W = reduction.basis @ np.linalg.inv(Q) * unit
        return W, H

    def check_data(self, X: np.ndarray) -> None:
        """Hook for model checks on the data (raise or warn); default: none."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


_REGISTRY: dict[str, type[Formulation]] = {}


def register_formulation(cls: type[Formulation]) -> type[Formulation]:
    """Class decorator: make a formulation available by its ``name``."""
    if not (isinstance(cls, type) and issubclass(cls, Formulation)):
        raise TypeError(f"{cls!r} is not a Formulation subclass.")
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a non-empty class attribute 'name'.")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"a formulation named {cls.name!r} is already registered.")
    _REGISTRY[cls.name] = cls
    return cls


def available_formulations() -> list[str]:
    """Names of the registered formulations."""
    return sorted(_REGISTRY)


def get_formulation(spec: str | Formulation | type[Formulation]) -> Formulation:
    """Resolve a name, class or instance to a formulation instance."""
    if isinstance(spec, Formulation):
        return spec
    if isinstance(spec, type) and issubclass(spec, Formulation):
        return spec()
    if isinstance(spec, str):
        try:
            return _REGISTRY[spec]()
        except KeyError:
            raise ValueError(
                f"unknown formulation {spec!r}; available: "
                f"{', '.join(available_formulations())}, or pass a Formulation instance."
            ) from None
    raise TypeError(
        f"formulation must be a name, a Formulation subclass or instance; got {spec!r}."
    )
