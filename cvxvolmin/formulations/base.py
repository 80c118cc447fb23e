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

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import cvxpy as cp
import numpy as np

from ..exceptions import InvalidParameterError
from ..polytopes import AbundancePolytope
from ..reduction import Reduction, svd_reduction


@dataclass(frozen=True)
class Row:
    """The handles a formulation writes one row's constraints with.

    Attributes
    ----------
    q : cvxpy.Expression of shape (r,)
        The row of Q being updated: the LP variable, or an affine expression
        of it (the joint LP of coupled formulations passes one row's
        slice of the flattened Q).
    h : cvxpy.Expression
        ``Xt.T @ q``: the column of H this row produces, in LP units. For
        large N the engine may declare it over a working set of samples only
        (formulations with ``column_separable = True``): write constraints
        on it elementwise, sums over all samples with ``total``, and
        constraints on given samples with :meth:`at`, never by slicing
        ``h`` (the engine refuses both ``cp.sum(row.h)`` and slices of it
        for such formulations).
    unit : float
        The LP value of one unit of H in the user's units.
    total : cvxpy.Expression, optional
        The sum of the column of H over **all** samples, in LP units;
        ``cp.sum(h)`` when not given (h then covers every column).
    """

    q: cp.Expression
    h: cp.Expression
    unit: float
    total: cp.Expression | None = None
    #: The component k this row produces (``H[:, k]``); see :attr:`index`.
    component: int | None = field(default=None, repr=False)
    #: ``samples -> H[samples, k]`` in LP units, over all samples; see :meth:`at`.
    entries: Callable[[np.ndarray], cp.Expression] | None = field(default=None, repr=False)
    #: How many samples the data have (for :meth:`at`).
    n_samples: int | None = field(default=None, repr=False)
    # Set by the engine to learn whether the constraints depend on the component.
    _reads: list | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.total is None:
            object.__setattr__(self, "total", cp.sum(self.h))

    @property
    def index(self) -> int:
        """The component k this row produces: constraints may differ per component.

        A formulation that reads it gets one LP per component (r LPs instead
        of one shared by all rows), e.g. to fix known entries of ``H[:, k]``.
        """
        if self._reads is not None:
            self._reads.append("index")
        if self.component is None:
            raise InvalidParameterError(
                "this Row was built without a component index (Row(..., component=k))."
            )
        return self.component

    def at(self, samples) -> cp.Expression:
        """``H[samples, k]`` in LP units (like :attr:`h`), for sample indices of the whole data.

        Valid at any N: the expression refers to the given samples of X,
        whichever samples a working set holds.

        Parameters
        ----------
        samples : int or sequence of int
            Indices into the N samples (columns of X); negative ones count
            from the end.
        """
        if self.entries is None or self.n_samples is None:
            raise InvalidParameterError(
                "this Row was built without access to the samples (Row(..., entries=..., "
                "n_samples=...)); the engine's rows have it."
            )
        idx = np.atleast_1d(np.asarray(samples))
        if idx.size == 0 or idx.dtype.kind not in "iu" or idx.ndim != 1:
            raise InvalidParameterError(
                f"Row.at takes sample indices (int or a 1-D sequence of int); got {samples!r}."
            )
        n = self.n_samples
        if idx.min() < -n or idx.max() >= n:
            raise InvalidParameterError(
                f"Row.at: sample indices must lie in [-{n}, {n}) for N = {n} samples; got "
                f"{int(idx.min())} to {int(idx.max())}."
            )
        return self.entries(np.where(idx < 0, idx + n, idx))


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
    #: Largest number of starts the engine runs from :meth:`initial_Q`,
    #: keeping the one with the largest ``|det Q|`` and stopping once two
    #: starts agree on it; instances may override it (for an alternating
    #: optimization with local optima).
    n_starts: int = 1
    #: Whether every constraint on ``row.h`` is elementwise, the same for
    #: each column (sums over all columns written with ``row.total``). Then
    #: large problems are solved on working sets of columns, exactly. Not
    #: inherited by a class that defines its own :meth:`row_constraints` or
    #: :meth:`joint_constraints` (a new constraint may couple columns): such
    #: a class is not separable unless its own body sets it again.
    column_separable: ClassVar[bool] = False
    #: Whether :meth:`reduce` handles ``scipy.sparse`` input (the default
    #: SVD reduction does; a formulation with its own reduction must say so).
    #: Not inherited by a class that defines its own :meth:`reduce`.
    accepts_sparse: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        retired = [name for name in ("fixed_row_sum", "row_sum") if name in vars(cls)]
        if retired:
            # Silently ignored, these would drop the class's row-sum constraint.
            raise InvalidParameterError(
                f"{cls.__name__} defines {' and '.join(retired)}, which formulations no "
                "longer use: declare rows of H summing to one as joint_constraints, "
                "returning [cp.sum(H, axis=1) == 1] (as RowSumVolMin does)."
            )
        # A capability holds for the method it describes: redefine the method and
        # the capability must be declared again (else a variant coupling columns
        # would be solved on working sets, where it means something else).
        for method, capability in (
            ("row_constraints", "column_separable"),
            ("joint_constraints", "column_separable"),
            ("reduce", "accepts_sparse"),
        ):
            if method in vars(cls) and capability not in vars(cls):
                setattr(cls, capability, False)

    def reduce(self, X, rank: int) -> Reduction:
        """Reduce the data to the r x N frame the LPs work in.

        Parameters
        ----------
        X : ndarray or scipy.sparse matrix of shape (M, N)
            Validated, finite data (sparse only if ``accepts_sparse``). Never
            write into it.
        rank : int
            r, already checked against min(M, N).

        Returns
        -------
        Reduction
            ``Xt`` (r x N) and ``basis`` (M x r) with ``X ≈ basis @ Xt``,
            X divided by :meth:`column_scale` first (then ``basis @ Xt``
            approximates the scaled columns).
        """
        Xn, scale = self.normalized_columns(X, rank)
        return svd_reduction(Xn, rank, column_scale=scale)

    def column_scale(self, X, rank: int) -> np.ndarray | None:
        """The positive number each column of X is divided by before the fit (at this rank).

        The fitted H is computed for the scaled columns and its rows are
        multiplied back by the scale (:meth:`recover`), so H is in X's units.
        Both :func:`cvxvolmin.fit` (through :meth:`reduce`) and
        :func:`cvxvolmin.robust.fit_robust` normalize by it.

        Returns
        -------
        ndarray of shape (N,) or None
            None (the default): the columns are used as they are. The
            column-sum criteria need no normalization, since they depend
            only on the columns' directions.
        """
        return None

    def normalized_columns(self, X, rank: int) -> tuple[np.ndarray, np.ndarray]:
        """X with its columns divided by :meth:`column_scale`, and that scale.

        X itself (no copy) and ones when the scale is None. Not meant to be
        overridden: override :meth:`column_scale`.
        """
        scale = self.column_scale(X, rank)
        if scale is None:
            return X, np.ones(X.shape[1])
        return X / scale, scale

    def unit(self, reduction: Reduction) -> float:
        """The LP value of one unit of H (see the module notes).

        Returns
        -------
        float
            N by default, so that H's entries are of order one in the LP.
        """
        return float(reduction.n_samples)

    @abstractmethod
    def row_constraints(self, row: Row, reduction: Reduction) -> list[cp.Constraint]:
        """The linear constraints that one row of Q must satisfy.

        Parameters
        ----------
        row : Row
            ``row.q`` (the row of Q), ``row.h`` (the column of H it gives, in
            LP units), ``row.unit`` and ``row.total`` (the sum of the column
            over all samples).
        reduction : Reduction
            The reduced data.

        Returns
        -------
        list of cvxpy.Constraint
            Affine equalities and inequalities in ``row.q`` only: the engine
            refuses anything else, so that every update is an LP.
        """

    def joint_constraints(self, H: cp.Expression, reduction: Reduction) -> list[cp.Constraint]:
        """Linear constraints on the whole H, for criteria that couple components.

        Override it for constraints that tie the components of a sample
        together (each row of H summing to one, as in row-sum VolMin, or
        lying in an l1 ball): the engine then moves all rows of Q at once,
        by conditional-gradient steps over the joint LP, from a feasible
        nonsingular start that it finds itself (phase-one LPs over all the
        constraints) unless the class defines its own :meth:`initial_Q`
        (which must then meet every constraint; the engine checks).

        Constraints that act on each sample alone (shape ``(N,)`` or
        ``(N, k)``, row n of the constraint reading only ``H[n]``) keep
        their meaning on working sets of samples, so a class whose every
        constraint is of this kind (or a sum over all samples through
        ``row.total``) may declare ``column_separable = True``.
        Equalities on every sample (``cp.sum(H, axis=1) == 1``, N rows of
        rank r) are reduced to their independent rows before the solver
        sees them.

        Parameters
        ----------
        H : cvxpy.Expression of shape (N, r)
            ``Xt.T @ Q.T / unit``, affine in Q: H of the data as the
            reduction sees them (divided by :meth:`column_scale`, which
            :meth:`recover` multiplies back into the rows of H).
        reduction : Reduction
            The reduced data of the samples H holds: all of them, or a
            working set's (row n of H is the sample ``reduction.Xt[:, n]``).

        Returns
        -------
        list of cvxpy.Constraint
            Affine in H. Default: none (the components decouple).
        """
        return []

    @property
    def coupled(self) -> bool:
        """Whether the class declares :meth:`joint_constraints` (its rows of Q move together)."""
        return _defining_class(type(self), "joint_constraints") is not Formulation

    def initial_Q(self, reduction: Reduction, rng: np.random.Generator) -> np.ndarray:
        """A nonsingular start; the first sweep makes every row feasible.

        Not used by coupled formulations (joint steps move along segments of
        the feasible set, so their start must be feasible: the engine finds
        one), unless the class overrides it with a feasible start of its
        own, checked against every constraint before the first step.
        """
        return rng.standard_normal((reduction.rank, reduction.rank))

    def recover(self, Q: np.ndarray, reduction: Reduction) -> tuple[np.ndarray, np.ndarray]:
        """The factors in the user's units from the final Q.

        Returns
        -------
        W : ndarray of shape (M, r)
        H : ndarray of shape (N, r)
            ``H = Xt.T @ Q.T / unit``, rows multiplied back by the columns'
            normalization (``reduction.column_scale``).
        """
        unit = self.unit(reduction)
        H = (reduction.Xt.T @ Q.T) * (reduction.column_scale[:, None] / unit)
        W = reduction.basis @ np.linalg.inv(Q) * unit
        return W, H

    def abundance_polytope(self) -> AbundancePolytope | None:
        """The set every column (or row) of H lies in, when it is one with a fast projection.

        The noise-robust solver updates H by projected gradient over it
        instead of a general QP. It must describe exactly the constraints of
        :meth:`row_constraints` and :meth:`joint_constraints`, in the user's
        units. Default None: the robust solver declares the
        constraints in cvxpy (:class:`cvxvolmin.robust.h_step.DeclaredQP`).
        Only trusted when declared by the class that declares the row
        constraints, or below it (see :func:`fast_polytope`).
        """
        return None

    def check_data(self, X: np.ndarray) -> None:
        """Hook for model checks on the data (raise or warn); default: none."""
        return None

    def __repr__(self) -> str:
        # Every constructor parameter stored under its own name, a subclass's
        # own included, so that the repr rebuilds the instance.
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        parameters = inspect.signature(type(self).__init__).parameters.values()
        shown = ", ".join(
            f"{p.name}={getattr(self, p.name)!r}"
            for p in parameters
            if p.kind in kinds and p.name != "self" and hasattr(self, p.name)
        )
        return f"{type(self).__name__}({shown})"


def _defining_class(cls: type, name: str) -> type:
    # Formulation defines both methods the trust rule asks about: always found.
    return next(klass for klass in cls.__mro__ if name in vars(klass))


def _meant_for_its_constraints(formulation: Formulation, method: str) -> bool:
    """Whether ``method`` is defined by a class at or below those defining both constraint sets."""
    cls = type(formulation)
    owner = _defining_class(cls, method)
    return all(
        issubclass(owner, _defining_class(cls, constraints))
        for constraints in ("row_constraints", "joint_constraints")
    )


def declares_own_start(formulation: Formulation) -> bool:
    """Whether a coupled formulation's :meth:`~Formulation.initial_Q` is meant for its constraints.

    True when the class defining ``initial_Q`` (other than the base's random
    start) is the one that defines the constraints, or a subclass of it; a
    subclass adding a constraint then gets the engine's phase-one start, not
    a start written for its parent's constraints.
    """
    cls = type(formulation)
    return _defining_class(cls, "initial_Q") is not Formulation and _meant_for_its_constraints(
        formulation, "initial_Q"
    )


def fast_polytope(formulation: Formulation) -> AbundancePolytope | None:
    """The formulation's :meth:`~Formulation.abundance_polytope`, if it can be trusted.

    A subclass that overrides :meth:`~Formulation.row_constraints` (adding a
    bound, say) or :meth:`~Formulation.joint_constraints` and inherits the
    polytope of its parent would have the robust solver silently drop its
    constraints. So the polytope counts only when the class that defines
    ``abundance_polytope`` is the one that defines both constraint methods,
    or a subclass of them; otherwise None, and the constraints are declared
    in cvxpy instead.

    Examples
    --------
    >>> import cvxvolmin
    >>> from cvxvolmin.formulations import ColumnSumVolMin
    >>> fast_polytope(ColumnSumVolMin())
    Simplex(total=1.0, axis=0)
    >>> class Capped(ColumnSumVolMin):
    ...     name = "capped-example"
    ...     def row_constraints(self, row, reduction):
    ...         return super().row_constraints(row, reduction) + [row.h <= 0.5 * row.unit]
    >>> fast_polytope(Capped()) is None
    True
    """
    if not _meant_for_its_constraints(formulation, "abundance_polytope"):
        return None
    return formulation.abundance_polytope()


_REGISTRY: dict[str, type[Formulation]] = {}


def register_formulation(cls: type[Formulation]) -> type[Formulation]:
    """Class decorator: make a formulation available by its ``name``.

    Registering another class under a taken name is refused, except a
    re-definition of the same class (same module and qualified name).

    Examples
    --------
    >>> import cvxvolmin
    >>> @cvxvolmin.register_formulation
    ... class HalfCapped(cvxvolmin.ColumnSumVolMin):
    ...     name = "half-capped-example"
    ...     column_separable = True
    ...     def row_constraints(self, row, reduction):
    ...         return [*super().row_constraints(row, reduction), row.h <= 0.5 * row.unit]
    >>> cvxvolmin.get_formulation("half-capped-example")
    HalfCapped(rho=1.0)
    """
    if not (isinstance(cls, type) and issubclass(cls, Formulation)):
        raise InvalidParameterError(f"{cls!r} is not a Formulation subclass.")
    if not cls.name:
        raise InvalidParameterError(f"{cls.__name__} needs a non-empty class attribute 'name'.")
    known = _REGISTRY.get(cls.name)
    # Re-running the same definition (a notebook cell, a script) replaces it.
    same_definition = known is not None and (known.__module__, known.__qualname__) == (
        cls.__module__,
        cls.__qualname__,
    )
    if known is not None and known is not cls and not same_definition:
        raise InvalidParameterError(
            f"a formulation named {cls.name!r} is already registered "
            f"({known.__module__}.{known.__qualname__}); choose another name."
        )
    _REGISTRY[cls.name] = cls
    return cls


def available_formulations() -> list[str]:
    """Names of the registered formulations, sorted.

    Examples
    --------
    >>> import cvxvolmin
    >>> {"column-sum", "row-sum", "bounded-abundance"} <= set(cvxvolmin.available_formulations())
    True
    """
    return sorted(_REGISTRY)


def get_formulation(spec: str | Formulation | type[Formulation], **params) -> Formulation:
    """Resolve a name, class or instance to a formulation instance.

    Parameters
    ----------
    spec : str, Formulation subclass or instance
        A registered name (see :func:`available_formulations`), a class, or
        an instance (returned as is).
    **params
        Constructor parameters for a name or a class, e.g.
        ``get_formulation("column-sum", rho=2.0)``.

    Examples
    --------
    >>> get_formulation("column-sum", rho=2.0)
    ColumnSumVolMin(rho=2.0)
    """
    if isinstance(spec, Formulation):
        if params:
            raise InvalidParameterError(
                f"parameters {sorted(params)} given with the instance {spec!r}; set them "
                "when constructing the instance, or pass its name or class instead."
            )
        return spec
    if isinstance(spec, str):
        try:
            cls = _REGISTRY[spec]
        except KeyError:
            raise InvalidParameterError(
                f"unknown formulation {spec!r}; available: "
                f"{', '.join(available_formulations())}, or pass a Formulation instance."
            ) from None
    elif isinstance(spec, type) and issubclass(spec, Formulation):
        cls = spec
    else:
        raise InvalidParameterError(
            f"formulation must be a name, a Formulation subclass or instance; got {spec!r}."
        )
    try:
        inspect.signature(cls).bind(**params)
    except TypeError as exc:
        raise InvalidParameterError(
            f"formulation {cls.name or cls.__name__!r} cannot be built with parameters "
            f"{params}: {exc}. Its signature is {cls.__name__}{inspect.signature(cls)}"
            f" (on the command line: {cls.name or cls.__name__}:name=value,...)."
        ) from None
    return cls(**params)
